// SPDX-License-Identifier: GPL-2.0
/* xlb.bpf.c: the load balancer's XDP entry point. Reads like the packet path
 * in docs/architecture.md: parse, match a VIP, find the flow's backend in the
 * connection table or on the VIP's Maglev ring, encapsulate, send. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "xlb.h"
#include "xlb_hash.h"
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "encap.bpf.h"
#include "stats.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define NSEC_PER_SEC 1000000000ULL

/* Run before other XDP programs on the interface (libxdp dispatcher), and let
 * them see what xlb passes to the kernel. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xlb_lb);

/* Exact port first, then the all-ports VIP (port 0) of the address. */
static __always_inline struct xlb_vip *find_vip(const struct xlb_flow *flow)
{
	struct xlb_vip_key key = {
		.addr = flow->dst,
		.port = flow->dport,
		.proto = flow->proto,
		.family = flow->family,
	};
	struct xlb_vip *vip;

	vip = bpf_map_lookup_elem(&xlb_vips, &key);
	if (vip)
		return vip;
	key.port = 0;
	vip = bpf_map_lookup_elem(&xlb_vips, &key);
	return vip;
}

/* A UDP flow idle for longer than the timeout is a new flow: re-hash it.
 * The timestamp is refreshed at most once a second to keep the shared
 * cache line clean on the hot path. */
static __always_inline int udp_conn_expired(struct xlb_conn *conn, const struct xlb_config *cfg,
					    __u64 now)
{
	__u64 idle = now - conn->last_seen_ns;

	if (idle > (__u64)cfg->udp_timeout_s * NSEC_PER_SEC)
		return 1;
	if (idle > NSEC_PER_SEC)
		conn->last_seen_ns = now;
	return 0;
}

/* The backend of an established flow, if its entry is still usable. An
 * entry that is not goes to *stale, for the caller to rewrite in place. */
static __always_inline struct xlb_backend *lookup_conn(const struct xlb_vip *vip,
						       const struct packet *pkt,
						       const struct xlb_config *cfg, __u64 now,
						       __u32 *backend_id, struct xlb_conn **stale)
{
	struct xlb_backend *be;
	struct xlb_conn *conn;
	__u32 id;

	conn = bpf_map_lookup_elem(&xlb_conns, &pkt->flow);
	if (!conn)
		return NULL;
	*stale = conn;
	id = conn->backend_id;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!be || be->gen != conn->backend_gen || !(be->flags & XLB_BACKEND_F_VALID) ||
	    be->vip_id != vip->id ||
	    (pkt->flow.proto == IPPROTO_UDP && udp_conn_expired(conn, cfg, now))) {
		count_reason(XLB_STAT_CONN_STALE, 0);
		return NULL;
	}
	*stale = NULL;
	*backend_id = id;
	return be;
}

/* The backend the VIP's Maglev ring gives this flow. */
static __always_inline struct xlb_backend *pick_from_ring(const struct xlb_vip *vip,
							  const struct packet *pkt, __u32 hash,
							  __u32 *backend_id)
{
	__u32 vip_id = vip->id, slot, id;
	struct xlb_backend *be;
	__u32 *slot_value;
	void *ring;

	ring = bpf_map_lookup_elem(&xlb_rings, &vip_id);
	if (!ring)
		return NULL;
	if (vip->flags & XLB_VIP_F_SRC_HASH)
		hash = xlb_hash_source(&pkt->flow);
	slot = xlb_ring_slot(hash, xlb_ring_size);
	slot_value = bpf_map_lookup_elem(ring, &slot);
	if (!slot_value)
		return NULL;
	id = *slot_value;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	/* A ring that still names a reused id (for the moment between two
	 * rebuilds) must not send the flow to another VIP's backend. */
	if (!be || !(be->flags & XLB_BACKEND_F_VALID) || be->vip_id != vip->id)
		return NULL;
	*backend_id = id;
	return be;
}

static __always_inline struct xlb_backend *pick_backend(const struct xlb_vip *vip,
							const struct packet *pkt,
							const struct xlb_config *cfg, __u32 hash,
							__u64 now, __u32 *backend_id)
{
	int track = !(vip->flags & XLB_VIP_F_NO_CONNTRACK);
	struct xlb_conn conn, *stale = NULL;
	struct xlb_backend *be;

	if (track) {
		be = lookup_conn(vip, pkt, cfg, now, backend_id, &stale);
		if (be) {
			count_reason(XLB_STAT_CONN_HIT, 0);
			return be;
		}
		count_reason(XLB_STAT_CONN_MISS, 0);
	}
	be = pick_from_ring(vip, pkt, hash, backend_id);
	if (!be || !track)
		return be;
	if (stale) {
		/* In place: an update would unlink and relink the LRU entry,
		 * several times the cost. A reader on another CPU may see old
		 * and new fields mixed for a moment; lookup_conn() rejects a
		 * mix that does not name a valid backend of this VIP, and the
		 * re-hash lands on the same ring slot. */
		stale->backend_id = *backend_id;
		stale->backend_gen = be->gen;
		stale->last_seen_ns = now;
		return be;
	}
	conn.backend_id = *backend_id;
	conn.backend_gen = be->gen;
	conn.last_seen_ns = now;
	/* A full table evicts its least recently used flow: losing an idle
	 * entry only matters if the ring changed meanwhile. */
	bpf_map_update_elem(&xlb_conns, &pkt->flow, &conn, BPF_ANY);
	return be;
}

/* Fills a lookup of the outer packet's route; tot_len is the outer L3
 * length the route's MTU must take. */
static __always_inline void fib_prepare(struct bpf_fib_lookup *fib, struct xdp_md *ctx,
					const struct packet *pkt, const struct xlb_backend *be,
					const union xlb_addr *src, __u16 tot_len)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = ctx->ingress_ifindex;
	fib->tot_len = tot_len;
	fib->l4_protocol = pkt->inner_ipproto;
	if (be->family == XLB_AF_INET6) {
		fib->family = AF_INET6;
		for (int i = 0; i < 4; i++) {
			fib->ipv6_src[i] = src->v6[i];
			fib->ipv6_dst[i] = be->addr.v6[i];
		}
	} else {
		fib->family = AF_INET;
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = be->addr.v4;
	}
}

/* The full lookup, for a backend this CPU has no fresh next hop of. Fills
 * nh and returns XDP_TX or XDP_REDIRECT (nh worth caching), XDP_PASS
 * (encapsulate, let the kernel route it: no neighbour entry yet, or an
 * egress xlb was not given) or XDP_DROP (counted). */
static __always_inline int resolve_next_hop(struct xdp_md *ctx, const struct packet *pkt,
					    const struct xlb_backend *be,
					    const union xlb_addr *src, struct xlb_nexthop *nh,
					    __u64 bytes)
{
	__u16 len = pkt->l3_len + outer_len(be);
	struct bpf_fib_lookup fib;
	int rc;

	count_reason(XLB_STAT_NEXTHOP_MISS, 0);
	fib_prepare(&fib, ctx, pkt, be, src, len);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return XDP_PASS;
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		count_reason(XLB_STAT_TOO_BIG, bytes);
		return XDP_DROP;
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS) {
		count_reason(XLB_STAT_FIB_FAIL, bytes);
		return XDP_DROP;
	}
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex) {
		nh->action = XDP_TX;
	} else {
		/* A tagged frame leaving by another device, or a device xlb
		 * was not given, is the kernel's to route: it knows VLANs and
		 * bonds. */
		if (pkt->l3_off != sizeof(struct ethhdr) ||
		    !bpf_map_lookup_elem(&xlb_tx_ports, &nh->ifindex))
			return XDP_PASS;
		nh->action = XDP_REDIRECT;
	}
	/* The route's MTU, for the packets that use the cache: a lookup
	 * longer than any MTU fails and says what the MTU is. */
	fib_prepare(&fib, ctx, pkt, be, src, 0xffff);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	nh->mtu = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0xffff;
	return nh->action;
}

/* Next hop of the outer packet: this CPU's cached one while it is fresh
 * and was resolved for this backend (id and generation) and ingress, else
 * resolve_next_hop() into scratch. Returns as resolve_next_hop(); for
 * XDP_TX and XDP_REDIRECT, *nh points at the MACs and egress to use. */
static __always_inline int route_outer(struct xdp_md *ctx, const struct packet *pkt,
				       const struct xlb_backend *be, __u32 backend_id,
				       const union xlb_addr *src, __u64 now,
				       struct xlb_nexthop *scratch,
				       const struct xlb_nexthop **nh, __u64 bytes)
{
	struct xlb_nexthop *cached = bpf_map_lookup_elem(&xlb_nexthops, &backend_id);
	int action;

	if (cached && cached->expires_ns > now && cached->gen == be->gen &&
	    cached->ingress == ctx->ingress_ifindex) {
		if (pkt->l3_len + outer_len(be) > cached->mtu) {
			count_reason(XLB_STAT_TOO_BIG, bytes);
			return XDP_DROP;
		}
		/* As resolve_next_hop(): tagged frames are not redirected. */
		if (cached->action == XDP_REDIRECT && pkt->l3_off != sizeof(struct ethhdr))
			return XDP_PASS;
		*nh = cached;
		return cached->action;
	}
	__builtin_memset(scratch, 0, sizeof(*scratch));
	action = resolve_next_hop(ctx, pkt, be, src, scratch, bytes);
	if (cached && (action == XDP_TX || action == XDP_REDIRECT)) {
		scratch->expires_ns = now + XLB_NEXTHOP_TTL_NS;
		scratch->gen = be->gen;
		scratch->ingress = ctx->ingress_ifindex;
		*cached = *scratch;
	}
	*nh = scratch;
	return action;
}

/* Addresses the encapsulated frame to the next hop. Returns 0, or -1 when
 * the frame is too short (it never is once encapsulated). */
static __always_inline int write_macs(struct xdp_md *ctx, const struct xlb_nexthop *nh)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	return 0;
}

static __always_inline int forward(struct xdp_md *ctx, const struct packet *pkt,
				   const struct xlb_backend *be, __u32 backend_id,
				   const struct xlb_config *cfg, __u32 hash, __u64 now, __u64 bytes)
{
	const struct xlb_nexthop *nh = NULL;
	struct xlb_nexthop scratch;
	union xlb_addr src = {};
	int action;

	outer_source(cfg, be->family, hash, &src);
	action = route_outer(ctx, pkt, be, backend_id, &src, now, &scratch, &nh, bytes);
	if (action == XDP_DROP)
		return XDP_DROP;
	if (encap_packet(ctx, pkt, be, &src, hash)) {
		count_reason(XLB_STAT_ENCAP_FAIL, bytes);
		return XDP_DROP;
	}
	if (action == XDP_PASS) {
		/* The L2 header is still the received one, addressed to this
		 * host, so the kernel accepts and forwards the packet. */
		count_reason(XLB_STAT_FIB_PASS, bytes);
		return XDP_PASS;
	}
	if (write_macs(ctx, nh))
		return XDP_DROP;
	if (action == XDP_TX) {
		count_reason(XLB_STAT_TX, bytes);
		return XDP_TX;
	}
	count_reason(XLB_STAT_REDIRECT, bytes);
	return bpf_redirect_map(&xlb_tx_ports, nh->ifindex, 0);
}

static __always_inline int pass_reason(int parse_result)
{
	switch (parse_result) {
	case PARSE_NOT_IP:
		return XLB_STAT_PASS_NOT_IP;
	case PARSE_FRAGMENT:
		return XLB_STAT_FRAGMENT;
	case PARSE_UNSUPPORTED:
		return XLB_STAT_PASS_UNSUPPORTED;
	default:
		return XLB_STAT_MALFORMED;
	}
}

/* The whole packet path; inlined into the entry point below and into the
 * benchmark's wrapper (bench/xlb_bench.bpf.c includes this file). */
static __always_inline int lb_process(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 bytes = data_end - data;
	const struct xlb_config *cfg;
	struct packet pkt = {};
	struct xlb_backend *be;
	struct xlb_vip *vip;
	__u32 zero = 0, backend_id = 0, hash;
	__u64 now;
	int rc;

	rc = parse_packet(data, data_end, &pkt);
	if (rc != PARSE_OK) {
		count_reason(pass_reason(rc), bytes);
		return XDP_PASS;
	}
	vip = find_vip(&pkt.flow);
	if (!vip) {
		count_reason(XLB_STAT_PASS_NOT_VIP, bytes);
		return XDP_PASS;
	}
	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return XDP_PASS;
	count_vip(vip->id, bytes);

	/* One clock read for the packet: UDP idle time and next-hop age. */
	now = bpf_ktime_get_coarse_ns();
	hash = xlb_hash_flow(&pkt.flow);
	be = pick_backend(vip, &pkt, cfg, hash, now, &backend_id);
	if (!be) {
		count_reason(XLB_STAT_NO_BACKEND, bytes);
		return XDP_DROP;
	}
	count_backend(backend_id, bytes);
	return forward(ctx, &pkt, be, backend_id, cfg, hash, now, bytes);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	return lb_process(ctx);
}

char LICENSE[] SEC("license") = "GPL";
