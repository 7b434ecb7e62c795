/* SPDX-License-Identifier: GPL-2.0 */
/* second_chance.bpf.h: the load balancer's half of the second chance. A
 * mid-connection TCP packet that no connection table knows (ECMP moved its
 * flow here from another instance) follows the ring; if the ring changed
 * meanwhile, the flow may live on the backend the previous ring chose. Such
 * a packet goes to the current choice as always, carrying the previous
 * choice's address as a hint: the backend's xlb-decap keeps it if the flow
 * has a socket there and sends it on to the hinted backend otherwise. Only
 * misses pay for this; a hinted flow is not recorded, so that its next
 * packets are hinted too, for as long as xlbd keeps the previous ring. */
#ifndef XLB_SECOND_CHANCE_BPF_H
#define XLB_SECOND_CHANCE_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "stats.bpf.h"
#include "xlb_hash.h"

/* What encap_packet() adds after the outer header. */
struct hint {
	__u32 len;	     /* bytes added: XLB_HINT_LEN4 or XLB_HINT_LEN6; 0: no hint */
	union xlb_addr addr; /* the previous ring's backend, network order */
};

/* Whether the VIP's previous ring names another backend for this packet
 * than the current choice (backend_id, be): fills *hint and returns 1.
 * Never for a SYN (a new flow belongs to the current ring), a RST, UDP, an
 * rr/wrr VIP (its ring is a sequence, not a function of the flow) or an
 * lc/wlc VIP (its flows were placed by counts, which no ring remembers).
 * The previous choice must still be a valid backend of this VIP and of the
 * current choice's family (the hint travels in the outer header). */
static __always_inline int second_chance(const struct xlb_vip *vip, const struct packet *pkt,
					 __u32 hash, __u32 backend_id,
					 const struct xlb_backend *be, struct hint *hint)
{
	__u32 vip_id = vip->id, slot, id;
	struct xlb_backend *prev;
	__u32 *slot_value;
	void *ring;

	if (pkt->flow.proto != IPPROTO_TCP || (pkt->tcp_flags & (TCP_F_SYN | TCP_F_RST)) ||
	    (vip->flags & (XLB_VIP_F_IN_TURN | XLB_VIP_F_LEAST)))
		return 0;
	ring = bpf_map_lookup_elem(&xlb_rings_prev, &vip_id);
	if (!ring)
		return 0;
	if (vip->flags & XLB_VIP_F_SRC_HASH)
		hash = xlb_hash_source(&pkt->flow);
	slot = xlb_ring_slot(hash, xlb_ring_size);
	slot_value = bpf_map_lookup_elem(ring, &slot);
	if (!slot_value || *slot_value == backend_id)
		return 0;
	id = *slot_value;
	prev = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!prev || !(prev->flags & XLB_BACKEND_F_VALID) || prev->vip_id != vip->id ||
	    prev->family != be->family)
		return 0;
	hint->addr = prev->addr;
	hint->len = be->family == XLB_AF_INET6 ? XLB_HINT_LEN6 : XLB_HINT_LEN4;
	count_event(XLB_STAT_SECOND_CHANCE);
	return 1;
}

#endif
