/* SPDX-License-Identifier: GPL-2.0 */
/* sched.bpf.h: the slot of a VIP's ring a new flow takes. Maglev and sh
 * hash the flow (or its client) onto the ring. rr and wrr VIPs have a
 * sequence in their ring instead: userspace repeats one cycle (each backend
 * in turn, or smooth weighted round robin) over every slot, and a new flow
 * takes the slot at this CPU's cursor, which then moves on. Only flows that
 * will be recorded move it: the entry keeps the flow on its backend. A
 * packet that will not be recorded (a RST, an ICMP error, a CPU over its
 * budget) hashes onto the same sequence instead, so that its flow's next
 * packets find the same backend as long as the sequence is unchanged.
 *
 * lc and wlc VIPs choose by the open-flow counts instead (pick_least), for
 * a packet that opens a flow and will be recorded; every other packet of
 * theirs hashes onto their ring, a weighted Maglev ring as any VIP's. */
#ifndef XLB_SCHED_BPF_H
#define XLB_SCHED_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "budget.bpf.h"
#include "limit.bpf.h"
#include "xlb_hash.h"

/* The next slot of this CPU's cursor, moving it on; the hash's slot when
 * the cursor is missing (never, for an array). The sequence fills the
 * whole ring, so wrapping at the ring size skips part of a cycle once per
 * xlb_ring_size new flows of the CPU: 1 in 65537 by default. */
static __always_inline __u32 take_turn(__u32 vip_id, __u32 hash)
{
	__u32 *cursor = bpf_map_lookup_elem(&xlb_cursors, &vip_id);
	__u32 slot;

	if (!cursor)
		return xlb_ring_slot(hash, xlb_ring_size);
	slot = *cursor;
	if (slot >= xlb_ring_size)
		slot = 0;
	*cursor = slot + 1;
	return slot;
}

/* The ring slot of the VIP's choice for this packet; advance: the flow is
 * to be recorded (a packet of the flow that will create its entry). */
static __always_inline __u32 sched_slot(const struct xlb_vip *vip, const struct packet *pkt,
					const struct xlb_config *cfg, __u32 hash, __u64 now,
					int advance)
{
	if (vip->flags & XLB_VIP_F_SRC_HASH)
		hash = xlb_hash_source(&pkt->flow);
	if (!(vip->flags & XLB_VIP_F_IN_TURN) || !advance || (pkt->tcp_flags & TCP_F_RST) ||
	    !budget_left(cfg, now))
		return xlb_ring_slot(hash, xlb_ring_size);
	return take_turn(vip->id, hash);
}

/* 1 if this packet takes an lc or wlc VIP's choice by counts: it opens a
 * flow and its entry will be recorded (so that the count it adds to is
 * real), as take_turn's flows. */
static __always_inline int picks_least(const struct xlb_vip *vip, const struct packet *pkt,
				       const struct xlb_config *cfg, __u64 now, int record)
{
	return (vip->flags & XLB_VIP_F_LEAST) && record && starts_flow(pkt) &&
	       budget_left(cfg, now);
}

/* A member's open flows; a count below 0 (a close counted before the
 * sweep's correction of a silent eviction) is 0. */
static __always_inline __u64 member_load(__u32 id)
{
	struct xlb_backend_conns *c = bpf_map_lookup_elem(&xlb_backend_conns, &id);

	return c && c->active > 0 ? (__u64)c->active : 0;
}

/* The id of the VIP's member with the fewest open flows (lc), or per unit
 * of weight (weighted: wlc; a/wa < b/wb compared as a*wb < b*wa, no
 * division); -1 when the VIP has no members. An exact scan of at most
 * XLB_LC_MAX_BACKENDS members, started at an offset from the flow hash: of
 * equally loaded members the first found wins, so equal members share a
 * burst evenly instead of the first taking it all. A global function, so
 * that the verifier checks the loop once, not at each place the packet
 * path inlines it (which took it past its limit of 1M instructions). */
__attribute__((noinline)) int xlb_least_member(__u32 vip_id, __u32 weighted, __u32 hash)
{
	__u64 best_load = ~0ULL, best_weight = 1;
	struct xlb_members *ms;
	__u32 n, start, best = 0;

	ms = bpf_map_lookup_elem(&xlb_members, &vip_id);
	if (!ms)
		return -1;
	n = ms->count;
	if (!n || n > XLB_LC_MAX_BACKENDS)
		return -1;
	start = xlb_ring_slot(hash, n);
	for (__u32 i = 0; i < XLB_LC_MAX_BACKENDS && i < n; i++) {
		__u32 k = (start + i < n ? start + i : start + i - n) & (XLB_LC_MAX_BACKENDS - 1);
		__u64 load = member_load(ms->m[k].id);
		__u64 weight = weighted ? ms->m[k].weight : 1;

		if (best_load == ~0ULL || load * best_weight < best_load * weight) {
			best = k;
			best_load = load;
			best_weight = weight;
		}
	}
	return (int)(ms->m[best & (XLB_LC_MAX_BACKENDS - 1)].id & 0x7fffffff);
}

/* The lc or wlc choice for a new flow as a backend of this VIP; NULL when
 * there is none (the ring decides). */
static __always_inline struct xlb_backend *pick_least(const struct xlb_vip *vip, __u32 hash,
						       __u32 *backend_id)
{
	int member = xlb_least_member(vip->id, !!(vip->flags & XLB_VIP_F_WLC), hash);
	struct xlb_backend *be;
	__u32 id;

	if (member < 0)
		return NULL;
	id = (__u32)member;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!be || !(be->flags & XLB_BACKEND_F_VALID) || be->vip_id != vip->id)
		return NULL;
	*backend_id = id;
	return be;
}

#endif
