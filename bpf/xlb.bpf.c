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
#include "frag.bpf.h"
#include "conns.bpf.h"
#include "icmp.bpf.h"
#include "acl.bpf.h"
#include "limit.bpf.h"
#include "sched.bpf.h"
#include "novip.bpf.h"
#include "second_chance.bpf.h"

#define AF_INET 2
#define AF_INET6 10

/* Run before other XDP programs on the interface (libxdp dispatcher), and let
 * them see what xlb passes to the kernel. */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xlb_lb);

/* The exact answer, for an address the prefilter let through. */
static __always_inline int vip_addr_known(const struct xlb_flow *flow)
{
	struct xlb_vip_addr_key key = {.addr = flow->dst, .family = flow->family};

	return bpf_map_lookup_elem(&xlb_vip_addrs, &key) != NULL;
}

static __always_inline int is_vip_addr(const struct xlb_flow *flow)
{
	return !surely_not_vip(flow) && vip_addr_known(flow);
}

/* Exact port first, then the all-ports VIP (port 0) of the address, if the
 * address is a VIP's at all (*vip_addr): a hit costs the prefilter and one
 * lookup, traffic for no VIP address the prefilter alone (novip.bpf.h). */
static __always_inline struct xlb_vip *find_vip(const struct xlb_flow *flow, int *vip_addr)
{
	struct xlb_vip_key key = {
		.addr = flow->dst,
		.port = flow->dport,
		.proto = flow->proto,
		.family = flow->family,
	};
	struct xlb_vip *vip;

	*vip_addr = 0;
	if (surely_not_vip(flow))
		return NULL;
	*vip_addr = 1;
	vip = bpf_map_lookup_elem(&xlb_vips, &key);
	if (vip)
		return vip;
	*vip_addr = vip_addr_known(flow);
	if (!*vip_addr)
		return NULL;
	key.port = 0;
	return bpf_map_lookup_elem(&xlb_vips, &key);
}

/* The backend the VIP's ring gives this flow: at its hash's slot (Maglev,
 * sh) or, for a flow to be recorded (advance), at this CPU's turn in an rr
 * or wrr sequence (sched.bpf.h). */
static __always_inline struct xlb_backend *pick_from_ring(const struct xlb_vip *vip,
							  const struct packet *pkt,
							  const struct xlb_config *cfg, __u32 hash,
							  __u64 now, int advance, __u32 *backend_id)
{
	__u32 vip_id = vip->id, slot, id;
	struct xlb_backend *be;
	__u32 *slot_value;
	void *ring;

	ring = bpf_map_lookup_elem(&xlb_rings, &vip_id);
	if (!ring)
		return NULL;
	slot = sched_slot(vip, pkt, cfg, hash, now, advance);
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

/* The scheduler's backend for a flow no table knows: lc and wlc choose by
 * open flows when the flow will be recorded, every other choice is the
 * ring's (sched.bpf.h). */
static __always_inline struct xlb_backend *pick_new(const struct xlb_vip *vip,
						    const struct packet *pkt,
						    const struct xlb_config *cfg, __u32 hash,
						    __u64 now, int record, __u32 *backend_id)
{
	struct xlb_backend *be = NULL;

	if (picks_least(vip, pkt, cfg, now, record))
		be = pick_least(vip, hash, backend_id);
	if (!be)
		be = pick_from_ring(vip, pkt, cfg, hash, now, record, backend_id);
	return be;
}

/* The flow's backend: its entry in the established table, else in the
 * new-flow table, else the ring's choice, recorded as conns.bpf.h says when
 * record (a constant: the flow's own packets). A flow no table knows is
 * first charged to its client's limit (a VIP with XLB_VIP_F_LIMIT). An ICMP
 * error about the flow only reads: it is no packet of the flow, and a
 * spoofed one must neither create, confirm nor move an entry, nor spend a
 * client's limit. NULL with *why the reason to drop. A packet that earns a
 * second chance (second_chance.bpf.h) fills *hint and is not recorded. */
static __always_inline struct xlb_backend *pick_backend(const struct xlb_vip *vip,
							const struct packet *pkt,
							const struct xlb_config *cfg, __u32 hash,
							__u64 now, __u32 *backend_id,
							enum xlb_stat *why, int record,
							struct hint *hint)
{
	struct xlb_conn *stale = NULL;
	struct xlb_backend *be;

	if (vip->flags & XLB_VIP_F_NO_CONNTRACK)
		return pick_from_ring(vip, pkt, cfg, hash, now, 0, backend_id);
	be = lookup_conn(vip, pkt, cfg, now, backend_id, &stale, record);
	if (!be && !stale)
		be = lookup_new_conn(vip, pkt, cfg, now, backend_id, &stale, record);
	if (be) {
		count_event(XLB_STAT_CONN_HIT);
		return be;
	}
	count_event(XLB_STAT_CONN_MISS);
	if (record && (vip->flags & XLB_VIP_F_LIMIT) && !stale && starts_flow(pkt) &&
	    !limit_admits(vip, pkt, now)) {
		count_vip_limit_drop(vip->id);
		*why = XLB_STAT_DROP_LIMIT;
		return NULL;
	}
	be = pick_new(vip, pkt, cfg, hash, now, record, backend_id);
	if (!be || !record)
		return be;
	if (second_chance(vip, pkt, hash, *backend_id, be, hint))
		return be;
	if (stale)
		rewrite_conn(stale, pkt, *backend_id, be, now);
	else
		record_new_conn(pkt, cfg, now, *backend_id, be);
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

/* The verdict of a frame that leaves by the next hop's action. */
static __always_inline __u32 forward_verdict(int action)
{
	return action == XDP_TX ? verdict(XDP_TX, XLB_STAT_TX)
				: verdict(XDP_REDIRECT, XLB_STAT_REDIRECT);
}

/* A failed route lookup, by its cause: each cause has its own counter,
 * which xlbd watches to say what to fix. */
static __always_inline __u32 fib_failure_verdict(int rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return verdict(XDP_PASS, XLB_STAT_FIB_NO_NEIGH);
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return verdict(XDP_DROP, XLB_STAT_TOO_BIG);
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return verdict(XDP_DROP, XLB_STAT_FIB_FWD_DISABLED);
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		return verdict(XDP_DROP, XLB_STAT_FIB_NO_ROUTE);
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return verdict(XDP_DROP, XLB_STAT_FIB_UNREACHABLE);
	default:
		return verdict(XDP_DROP, XLB_STAT_FIB_FAIL);
	}
}

/* The full lookup, for a backend this CPU has no fresh next hop of. Fills
 * nh for XDP_TX and XDP_REDIRECT (worth caching); XDP_PASS is to
 * encapsulate and let the kernel route (no neighbour entry yet, or an
 * egress xlb was not given); XDP_DROP has no route or MTU for it. */
static __always_inline __u32 resolve_next_hop(struct xdp_md *ctx, const struct packet *pkt,
					      const struct xlb_backend *be, __u32 olen,
					      const union xlb_addr *src, struct xlb_nexthop *nh)
{
	__u16 len = pkt->l3_len + olen;
	struct bpf_fib_lookup fib;
	int rc;

	count_event(XLB_STAT_NEXTHOP_MISS);
	fib_prepare(&fib, ctx, pkt, be, src, len);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	/* Too big: the route's MTU, for the ICMP that tells the client. */
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		nh->mtu = fib.mtu_result;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fib_failure_verdict(rc);
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex) {
		nh->action = XDP_TX;
	} else {
		/* A device xlb was not given is the kernel's to route. */
		if (!bpf_map_lookup_elem(&xlb_tx_ports, &nh->ifindex))
			return verdict(XDP_PASS, XLB_STAT_FIB_PASS);
		nh->action = XDP_REDIRECT;
	}
	/* The route's MTU, for the packets that use the cache: a lookup
	 * longer than any MTU fails and says what the MTU is. */
	fib_prepare(&fib, ctx, pkt, be, src, 0xffff);
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	nh->mtu = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0xffff;
	return forward_verdict(nh->action);
}

/* Next hop of the outer packet: this CPU's cached one while it is fresh
 * and was resolved for this backend (id and generation) and ingress, else
 * resolve_next_hop() into scratch. Returns as resolve_next_hop(); for
 * XDP_TX and XDP_REDIRECT, *nh points at the MACs and egress to use, for
 * too_big at the route's MTU.
 *
 * A VLAN-tagged frame is always the kernel's to route: bpf_fib_lookup()
 * knows only the device the frame arrived on (the tag's parent), not the
 * VLAN device behind the tag, so its next hop and egress would be those of
 * the untagged link. Passed on with its tag, the frame enters the kernel
 * through that VLAN device, which routes it from there. olen: the outer
 * header's length, a hint included. */
static __always_inline __u32 route_outer(struct xdp_md *ctx, const struct packet *pkt,
					 const struct xlb_backend *be, __u32 backend_id, __u32 olen,
					 const union xlb_addr *src, __u64 now,
					 struct xlb_nexthop *scratch, const struct xlb_nexthop **nh)
{
	struct xlb_nexthop *cached;
	__u32 v;
	int action;

	if (pkt->l3_off != sizeof(struct ethhdr))
		return verdict(XDP_PASS, XLB_STAT_FIB_PASS);
	cached = bpf_map_lookup_elem(&xlb_nexthops, &backend_id);
	if (cached && cached->expires_ns > now && cached->gen == be->gen &&
	    cached->ingress == ctx->ingress_ifindex) {
		*nh = cached;
		if (pkt->l3_len + olen > cached->mtu)
			return verdict(XDP_DROP, XLB_STAT_TOO_BIG);
		return forward_verdict(cached->action);
	}
	__builtin_memset(scratch, 0, sizeof(*scratch));
	v = resolve_next_hop(ctx, pkt, be, olen, src, scratch);
	action = verdict_action(v);
	if (verdict_reason(v) == XLB_STAT_TOO_BIG)
		*nh = scratch;
	if (action != XDP_TX && action != XDP_REDIRECT)
		return v;
	if (cached) {
		scratch->expires_ns = now + XLB_NEXTHOP_TTL_NS;
		scratch->gen = be->gen;
		scratch->ingress = ctx->ingress_ifindex;
		*cached = *scratch;
	}
	*nh = scratch;
	return v;
}

/* Encapsulates the packet for the backend and sends it on: addressed to
 * the next hop, or (XDP_PASS) still to this host, whose kernel accepts and
 * forwards it. One too big for the route is answered with an ICMP error to
 * its sender when may_answer (not for an ICMP error: RFC 1122 3.2.2). hint:
 * a second chance's (NULL, a constant, where there is none). */
static __always_inline __u32 forward(struct xdp_md *ctx, const struct packet *pkt,
				     const struct xlb_backend *be, __u32 backend_id,
				     const struct xlb_config *cfg, __u32 hash, __u64 now,
				     int may_answer, const struct hint *hint)
{
	__u32 olen = outer_len(be) + (hint ? hint->len : 0);
	const struct xlb_nexthop *nh = NULL;
	struct xlb_nexthop scratch;
	union xlb_addr src = {};
	__u32 v;

	outer_source(cfg, be->family, hash, &src);
	/* Without this, clang 14 reloaded the outer source for the route
	 * lookup from a stack slot it also used for a connection entry's
	 * pointer, a 4-byte store of a spilled pointer that the verifier
	 * rejects ("invalid size of register spill"), as in the benchmark. */
	asm volatile("" : : "r"(&src) : "memory");
	v = route_outer(ctx, pkt, be, backend_id, olen, &src, now, &scratch, &nh);
	if (verdict_action(v) == XDP_DROP) {
		if (may_answer && nh && verdict_reason(v) == XLB_STAT_TOO_BIG)
			return answer_too_big(ctx, pkt, nh->mtu, olen, now);
		return v;
	}
	if (trim_to_ip(ctx, pkt) || encap_packet(ctx, pkt, be, &src, hash, nh, hint))
		return verdict(XDP_DROP, XLB_STAT_ENCAP_FAIL);
	if (verdict_action(v) == XDP_REDIRECT)
		return verdict(bpf_redirect_map(&xlb_tx_ports, nh->ifindex, 0), XLB_STAT_REDIRECT);
	return v;
}

static __always_inline enum xlb_stat pass_reason(int parse_result)
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

/* What xlb does not balance is the kernel's, unless it is for a VIP address:
 * nothing on this host owns one and forwarding is on, so the kernel would
 * route it back to the router, which returns it, until the TTL runs out
 * (and TTL-exceeded errors went to sources that may be spoofed). */
static __always_inline __u32 unbalanced_verdict(int vip_addr, enum xlb_stat pass_reason)
{
	if (vip_addr)
		return verdict(XDP_DROP, XLB_STAT_DROP_VIP_UNHANDLED);
	return verdict(XDP_PASS, pass_reason);
}

static __always_inline int is_icmp(const struct packet *pkt)
{
	return pkt->flow.proto ==
	       (pkt->flow.family == XLB_AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
}

/* ICMP to a VIP address (icmp.bpf.h): an echo request is answered; an
 * error about a VIP flow goes to the backend its own packets go to (the
 * connection table, else the ring), encapsulated whole, so that the
 * backend's stack learns of it (path MTU above all); anything else is
 * dropped as all unbalanced traffic to a VIP address is. pkt->flow becomes
 * the flow the error is about. */
static __always_inline __u32 icmp_verdict(struct xdp_md *ctx, struct packet *pkt, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	enum xlb_stat why = XLB_STAT_NO_BACKEND;
	__u32 zero = 0, backend_id = 0, hash;
	const struct xlb_config *cfg;
	struct xlb_backend *be;
	struct xlb_vip *vip;
	int vip_addr;
	__u64 now;

	if (!icmp_echo_reply(data, data_end, pkt))
		return verdict(XDP_TX, XLB_STAT_ICMP_ECHO_REPLY);
	if (icmp_error_flow(data, data_end, pkt, &pkt->flow))
		return verdict(XDP_DROP, XLB_STAT_DROP_VIP_UNHANDLED);
	vip = find_vip(&pkt->flow, &vip_addr);
	if (!vip)
		return verdict(XDP_DROP, XLB_STAT_DROP_VIP_UNHANDLED);
	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return verdict(XDP_PASS, XLB_STAT_NO_CONFIG);
	count_vip(vip->id, bytes);
	now = bpf_ktime_get_coarse_ns();
	hash = xlb_hash_flow(&pkt->flow);
	be = pick_backend(vip, pkt, cfg, hash, now, &backend_id, &why, 0, NULL);
	if (!be)
		return verdict(XDP_DROP, why);
	count_event(XLB_STAT_ICMP_ERROR_FWD);
	count_backend(backend_id, bytes);
	return forward(ctx, pkt, be, backend_id, cfg, hash, now, 0, NULL);
}

/* A packet that did not parse to a flow: a fragment, not TCP/UDP (ICMP...),
 * malformed. Whether it is for a VIP address is known once its IP header
 * is (flow.family set, see parse.bpf.h); a broken IP header goes to the
 * kernel, which drops it itself. ICMP to a VIP address is xlb's own
 * (icmp_verdict). Fragments come here only when frag.bpf.h could not
 * complete them. */
static __always_inline __u32 unparsed_verdict(struct xdp_md *ctx, struct packet *pkt,
					      int parse_result, __u64 bytes)
{
	int vip_addr = pkt->flow.family != XLB_AF_NONE && is_vip_addr(&pkt->flow);

	if (vip_addr && parse_result == PARSE_UNSUPPORTED && is_icmp(pkt))
		return icmp_verdict(ctx, pkt, bytes);
	return unbalanced_verdict(vip_addr, pass_reason(parse_result));
}

/* A matched VIP's packet, from backend choice to its verdict. fi: a first
 * fragment's information, whose choice the rest of its datagram follows
 * (NULL, a constant, for every other packet). */
static __always_inline __u32 balance(struct xdp_md *ctx, const struct packet *pkt,
				     const struct xlb_vip *vip, __u64 bytes,
				     const struct frag_info *fi)
{
	enum xlb_stat why = XLB_STAT_NO_BACKEND;
	const struct xlb_config *cfg;
	struct hint hint = {};
	struct xlb_backend *be;
	__u32 zero = 0, backend_id = 0, hash;
	__u64 now;

	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return verdict(XDP_PASS, XLB_STAT_NO_CONFIG);
	count_vip(vip->id, bytes);
	/* Every packet, established flows' too: a changed ACL applies at once. */
	if ((vip->flags & XLB_VIP_F_ACL) && acl_denies(vip, pkt)) {
		count_vip_acl_drop(vip->id);
		return verdict(XDP_DROP, XLB_STAT_DROP_ACL);
	}

	/* One clock read for the packet: UDP idle time and next-hop age. */
	now = bpf_ktime_get_coarse_ns();
	hash = xlb_hash_flow(&pkt->flow);
	be = pick_backend(vip, pkt, cfg, hash, now, &backend_id, &why, 1, &hint);
	if (!be)
		return verdict(XDP_DROP, why);
	if (fi) {
		frag_remember(pkt, fi, backend_id, be, hash);
		count_event(XLB_STAT_FRAG_FIRST);
		/* Its later fragments carry no hint: a hinted first one could
		 * be forwarded without them. */
		hint.len = 0;
	}
	count_backend(backend_id, bytes);
	return forward(ctx, pkt, be, backend_id, cfg, hash, now, 1, &hint);
}

/* A fragment (frag.bpf.h): the first is balanced as any packet; later ones
 * go where it went, or, for a VIP address, are dropped when it is unknown. */
static __always_inline __u32 fragment_path(struct xdp_md *ctx, struct packet *pkt, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct xlb_config *cfg;
	struct xlb_backend *be;
	struct frag_info fi;
	struct xlb_vip *vip;
	__u32 zero = 0, backend_id = 0, hash = 0;
	int rc, vip_addr;

	rc = parse_fragment(data, data_end, pkt, &fi);
	/* Not unparsed_verdict(): a fragment of an ICMP message is no whole
	 * message to answer or to read a quote from. */
	if (rc != PARSE_OK)
		return unbalanced_verdict(is_vip_addr(&pkt->flow), pass_reason(rc));
	if (fi.first) {
		vip = find_vip(&pkt->flow, &vip_addr);
		if (!vip)
			return unbalanced_verdict(vip_addr, XLB_STAT_FRAGMENT);
		return balance(ctx, pkt, vip, bytes, &fi);
	}
	be = frag_backend(pkt, &fi, &backend_id, &hash);
	if (!be)
		return is_vip_addr(&pkt->flow) ? verdict(XDP_DROP, XLB_STAT_FRAG_MISS)
					       : verdict(XDP_PASS, XLB_STAT_FRAGMENT);
	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return verdict(XDP_PASS, XLB_STAT_NO_CONFIG);
	count_event(XLB_STAT_FRAG_FOLLOW);
	count_vip(be->vip_id, bytes);
	count_backend(backend_id, bytes);
	return forward(ctx, pkt, be, backend_id, cfg, hash, bpf_ktime_get_coarse_ns(), 1, NULL);
}

/* The packet path, to its verdict. Per-VIP and per-backend traffic is
 * counted as the packet reaches them; the verdict's reason by the caller. */
static __always_inline __u32 lb_path(struct xdp_md *ctx, __u64 bytes)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct packet pkt = {};
	struct xlb_vip *vip;
	int rc, vip_addr;

	rc = parse_packet(data, data_end, &pkt);
	if (rc == PARSE_FRAGMENT)
		return fragment_path(ctx, &pkt, bytes);
	if (rc != PARSE_OK)
		return unparsed_verdict(ctx, &pkt, rc, bytes);
	vip = find_vip(&pkt.flow, &vip_addr);
	if (!vip)
		return unbalanced_verdict(vip_addr, XLB_STAT_PASS_NOT_VIP);
	return balance(ctx, &pkt, vip, bytes, NULL);
}

/* The entry point's body, inlined into xlb_lb below and into the
 * benchmark's wrapper (bench/xlb_bench.bpf.c includes this file): every
 * frame is counted once, under its verdict's reason, with its length as
 * received. */
static __always_inline int lb_process(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;

	return count_verdict(lb_path(ctx, bytes), bytes);
}

SEC("xdp")
int xlb_lb(struct xdp_md *ctx)
{
	return lb_process(ctx);
}

char LICENSE[] SEC("license") = "GPL";
