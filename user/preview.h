/* SPDX-License-Identifier: GPL-2.0 */
/* preview.h: what making the load balancer equal to a target configuration
 * would do (xlbctl --dry-run), computed without touching it: per VIP the
 * ring slots whose backend would change, and the tracked connections whose
 * backend would go away, counted from the connection table within a time
 * budget. */
#ifndef XLB_PREVIEW_H
#define XLB_PREVIEW_H

#include <stddef.h>
#include "xlb.h"

struct xlb_lb;
struct xlb_rules;

/* How long a preview may walk the connection table: a big table is counted
 * in part, and the preview says so. */
#define XLB_PREVIEW_BUDGET_US 200000

/* What the change does to a VIP's traffic. */
enum xlb_preview_change {
	XLB_PREVIEW_UNCHANGED, /* no flow moves, none breaks */
	XLB_PREVIEW_ADDED,
	XLB_PREVIEW_REMOVED,
	XLB_PREVIEW_CHANGED, /* ring slots move, connections break, or its hash changes */
};

struct xlb_preview_vip {
	struct xlb_vip_key key;
	enum xlb_preview_change change;
	int tracked;	      /* conntrack on (after the change, else before) */
	int rehash;	      /* sched changes: every new flow's hash does */
	__u32 slots_changed;  /* ring slots whose backend changes (of the ring size) */
	__u32 in_ring_before; /* backends in its ring now */
	__u32 in_ring_after;  /* and after */
	__u64 conns_break;    /* usable entries whose backend goes away */
};

struct xlb_preview {
	struct xlb_preview_vip *vips; /* every VIP before or after, changed or not */
	size_t n_vips;
	__u32 ring_size;
	__u64 conns_break;   /* all VIPs together */
	__u64 conns_scanned; /* connection-table entries looked at */
	int conns_complete;  /* the whole table was looked at */
	long long scan_us;   /* how long that took */
};

/* Fills p for making lb equal to target. Returns 0 or a negative errno with
 * err filled; free p with xlb_preview_free() either way. */
int xlb_preview_rules(struct xlb_lb *lb, const struct xlb_rules *target, struct xlb_preview *p,
		      char *err, size_t errlen);
void xlb_preview_free(struct xlb_preview *p);

#endif
