/* SPDX-License-Identifier: GPL-2.0 */
/* explain.h: everything xlb knows about one flow (xlbctl explain), read
 * from the maps the data plane uses: the VIP it matches, its hash and ring
 * slot, the ring's backend, its connection-table entry and whether the
 * data plane would still use it, and so the backend its next packet gets. */
#ifndef XLB_EXPLAIN_H
#define XLB_EXPLAIN_H

#include <stddef.h>
#include "xlb.h"

struct xlb_lb;
struct xlb_lb_vip;
struct xlb_lb_backend;

/* Where the next packet of the flow goes. */
enum xlb_explain_use {
	XLB_EXPLAIN_NONE, /* nowhere: dropped (no_backend) */
	XLB_EXPLAIN_CONN, /* the connection table's backend */
	XLB_EXPLAIN_RING, /* the ring's backend */
};

struct xlb_explain {
	struct xlb_lb_vip *vip;		/* the VIP the flow matches */
	int all_ports;			/* through the port-0 VIP of its address */
	struct xlb_flow flow;		/* the xlb_conns key and hash input */
	__u32 hash;			/* the scheduler's hash (client only for sh) */
	__u32 slot;			/* ring slot of the hash */
	int have_ring;			/* the VIP has a ring (else new flows drop) */
	__u32 ring_id;			/* the slot's backend id */
	struct xlb_lb_backend *ring_be; /* its configuration, NULL if none */
	int have_conn;			/* an xlb_conns entry exists (conntrack on) */
	struct xlb_conn conn;		/* that entry */
	__u64 conn_age_ms; /* idle: since it was last refreshed (at most once a second) */
	struct xlb_lb_backend *conn_be; /* the entry's backend, NULL if its id is free */
	const char *conn_stale;		/* NULL: the data plane uses it; else why not */
	enum xlb_explain_use use;	/* which of the two the next packet gets */
	struct xlb_lb_backend *use_be;	/* that backend, NULL for XLB_EXPLAIN_NONE */
};

/* Fills out for a flow from src:sport to vkey (a VIP, or a port of an
 * all-ports VIP). Returns 0, or a negative errno with err filled (no such
 * VIP, client of the wrong family, a map that cannot be read). */
int xlb_explain_flow(struct xlb_lb *lb, const struct xlb_vip_key *vkey, const union xlb_addr *src,
		     __u8 src_family, __be16 sport, struct xlb_explain *out, char *err,
		     size_t errlen);

#endif
