/* SPDX-License-Identifier: GPL-2.0 */
/* announce_plan.h: which VIP addresses this load balancer announces, and
 * what to change in the announcement table to get there. Pure logic, no
 * sockets (announce.c does the rtnetlink). An address is announced while at
 * least one VIP on it has a backend in its ring: up with a weight above 0,
 * or any weighted backend while the VIP fails open (xlb_hc_ring_members()).
 * A VIP whose backends are all down and fail-open off, all draining, or
 * without backends, does not hold its address up. */
#ifndef XLB_ANNOUNCE_PLAN_H
#define XLB_ANNOUNCE_PLAN_H

#include <stddef.h>
#include "xlb.h"

/* One announceable address: a /32 or /128 route. */
struct xlb_announce_addr {
	union xlb_addr addr; /* network order */
	__u8 family;	     /* enum xlb_family */
};

/* A VIP as the plan sees it. */
struct xlb_announce_vip {
	union xlb_addr addr; /* the VIP's address, network order */
	__u8 family;	     /* enum xlb_family */
	__u32 n_in_ring;     /* backends in its ring now */
};

/* 1 when a VIP with n_in_ring backends in its ring keeps its address
 * announced. */
int xlb_announce_vip_usable(__u32 n_in_ring);

/* 1 when a and b are the same address of the same family. */
int xlb_announce_addr_eq(const struct xlb_announce_addr *a, const struct xlb_announce_addr *b);
/* 1 when addr is one of set[0..n). */
int xlb_announce_addr_in(const struct xlb_announce_addr *set, size_t n,
			 const struct xlb_announce_addr *addr);

/* The addresses wanted: every address of which at least one VIP is usable,
 * each once, in the order of vips. Returns how many (at most max), or
 * -E2BIG when out is too small. */
int xlb_announce_wanted(const struct xlb_announce_vip *vips, size_t n,
			struct xlb_announce_addr *out, size_t max);

/* What to change: add what is wanted and not there, delete what is there
 * and not wanted. add holds nw entries at most, del nh. */
void xlb_announce_plan(const struct xlb_announce_addr *want, size_t nw,
		       const struct xlb_announce_addr *have, size_t nh,
		       struct xlb_announce_addr *add, size_t *nadd, struct xlb_announce_addr *del,
		       size_t *ndel);

#endif
