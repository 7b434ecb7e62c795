/* SPDX-License-Identifier: GPL-2.0 */
/* sched.bpf.h: the slot of a VIP's ring a new flow takes. Maglev and sh
 * hash the flow (or its client) onto the ring. rr and wrr VIPs have a
 * sequence in their ring instead: userspace repeats one cycle (each backend
 * in turn, or smooth weighted round robin) over every slot, and a new flow
 * takes the slot at this CPU's cursor, which then moves on. Only flows that
 * will be recorded move it: the entry keeps the flow on its backend. A
 * packet that will not be recorded (a RST, an ICMP error, a CPU over its
 * budget) hashes onto the same sequence instead, so that its flow's next
 * packets find the same backend as long as the sequence is unchanged. */
#ifndef XLB_SCHED_BPF_H
#define XLB_SCHED_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "budget.bpf.h"
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

#endif
