/* SPDX-License-Identifier: GPL-2.0 */
/* limit.bpf.h: a VIP's limit of new flows per client: a token bucket per
 * {VIP, client address} (IPv6: its /64), kept in nanoseconds of credit. A
 * flow costs xlb_limit.cost_ns; credit grows with time up to burst_ns.
 * Only packets that would start a flow are charged (starts_flow); flows in
 * the connection tables are never limited. */
#ifndef XLB_LIMIT_BPF_H
#define XLB_LIMIT_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

/* A packet that opens a flow when no table knows it: a TCP SYN (no ACK, no
 * RST), any UDP datagram. Other TCP misses (an ACK of a flow ECMP moved
 * here, one the budget left unrecorded) are no new connection. */
static __always_inline int starts_flow(const struct packet *pkt)
{
	if (pkt->flow.proto != IPPROTO_TCP)
		return 1;
	return (pkt->tcp_flags & (TCP_F_SYN | TCP_F_ACK | TCP_F_RST)) == TCP_F_SYN;
}

/* 1 when the client may open one more flow now (its credit taken), 0 when
 * it is over its limit. Two CPUs taking the same client's last token at
 * the same moment may both pass (the update is not atomic): the limit is
 * exact to within a flow per CPU. A clock that went back (a test's
 * last_ns in the future) refills nothing. */
static __always_inline int limit_admits(const struct xlb_vip *vip, const struct packet *pkt,
					__u64 now)
{
	struct xlb_bucket_key key = {
	    .src = pkt->flow.src,
	    .vip_id = vip->id,
	    .family = pkt->flow.family,
	};
	const struct xlb_limit *lim;
	struct xlb_bucket *b;
	__u32 id = vip->id;
	__u64 credit;

	lim = bpf_map_lookup_elem(&xlb_limits, &id);
	if (!lim || !lim->cost_ns)
		return 1;
	if (key.family == XLB_AF_INET6) {
		key.src.v6[2] = 0;
		key.src.v6[3] = 0;
	}
	b = bpf_map_lookup_elem(&xlb_buckets, &key);
	if (!b) {
		struct xlb_bucket fresh = {
		    .last_ns = now,
		    .credit_ns = lim->burst_ns - lim->cost_ns,
		};

		bpf_map_update_elem(&xlb_buckets, &key, &fresh, BPF_NOEXIST);
		return 1;
	}
	credit = b->credit_ns;
	if ((__s64)(now - b->last_ns) > 0) {
		credit += now - b->last_ns;
		if (credit > lim->burst_ns)
			credit = lim->burst_ns;
		b->last_ns = now;
	}
	if (credit < lim->cost_ns) {
		b->credit_ns = credit;
		return 0;
	}
	b->credit_ns = credit - lim->cost_ns;
	return 1;
}

#endif
