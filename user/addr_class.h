/* SPDX-License-Identifier: GPL-2.0 */
/* addr_class.h: which addresses can be a VIP or a backend. Pure: the class of
 * an address by its bits, and whether it is one of the load balancer's own
 * outer sources (given its xlb_config). The wording of the refusals built on
 * these lives in refusal.h. */
#ifndef XLB_ADDR_CLASS_H
#define XLB_ADDR_CLASS_H

#include "xlb.h"

/* Every class but UNICAST is refused as a VIP and as a backend: no packet
 * addressed to one reaches a single host through a router and a FIB lookup. */
enum xlb_addr_class {
	XLB_ADDR_UNICAST,     /* usable: any other address */
	XLB_ADDR_UNSPECIFIED, /* 0.0.0.0, :: */
	XLB_ADDR_THIS_NET,    /* 0.0.0.0/8 but 0.0.0.0: a source only (RFC 1122 3.2.1.3) */
	XLB_ADDR_LOOPBACK,    /* 127.0.0.0/8, ::1 */
	XLB_ADDR_LINK_LOCAL,  /* 169.254.0.0/16, fe80::/10: one link, no route (RFC 3927, 4291) */
	XLB_ADDR_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
	XLB_ADDR_BROADCAST,   /* 255.255.255.255 */
	XLB_ADDR_V4_MAPPED,   /* ::ffff:0:0/96: an IPv4 address in IPv6 clothes */
	__XLB_ADDR_CLASS_MAX,
};

enum xlb_addr_class xlb_addr_classify(const union xlb_addr *addr, __u8 family);

/* Why an address of class c cannot be a VIP or a backend, as a clause that
 * follows "is": "a loopback address, which never leaves its host". */
const char *xlb_addr_class_why(enum xlb_addr_class c);

/* 1 when cfg gives tunnels of this family an outer source (src4 or src6 is
 * not all zeroes: xlbd writes zeroes when it has none). */
int xlb_outer_has_family(const struct xlb_config *cfg, __u8 family);

/* 1 when addr is one the data plane may put as outer source: src4 or src6
 * with any value in its vary bits. */
int xlb_outer_is_source(const struct xlb_config *cfg, const union xlb_addr *addr, __u8 family);

#endif
