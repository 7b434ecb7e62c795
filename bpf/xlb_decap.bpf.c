// SPDX-License-Identifier: GPL-2.0
/* xlb_decap.bpf.c: the backends' side of xlb's tunnels. Strips the outer header
 * of IPv4-in-IPv4, IPv6-in-IPv6 and IPv4-in-IPv6 packets (and IPv6-in-IPv4)
 * addressed to this host and passes the inner packet to the kernel, which
 * holds the VIP on lo and answers the client directly. Needs no tunnel driver.
 *
 * A tunnel is stripped only when it comes from a configured load balancer
 * (xlb_decap_from, `xlb-decap attach --from`) and carries a packet for this
 * host (xlb_decap_local, the local routes): anything else would let whoever
 * can reach the backend inject packets with any inner source, past the
 * kernel's source checks, and relay them where the backend forwards.
 *
 * Output frame: the received L2 header (both MACs and any 802.1Q tag kept as
 * received, so the stack still sees a frame for this host) with its ethertype
 * set to the inner family, then the inner packet. Everything that is not
 * stripped leaves byte-identical with XDP_PASS, except outer CE over a not-ECT
 * inner packet, which RFC 6040 section 4.2 says to drop, and a load balancer's
 * tunnel to an inner destination that is not ours (see REFUSE_INNER).
 *
 * The second chance (docs/architecture.md): a tunnel whose outer header
 * carries a hint (XLB_HINT_OPT4 / XLB_HINT_OPT6, xlb.h) names the backend the
 * load balancer's previous ring chose. If the inner TCP flow has a socket here
 * (established, request or time-wait: a listener alone does not count), it
 * is stripped as any tunnel; if not, the flow lives on the hinted backend:
 * the packet goes there, its outer destination rewritten, the hint removed,
 * the outer source (the load balancer's, which the next backend accepts)
 * kept, back out of the interface to the neighbour it came from, which
 * routes it on. Without a hint it cannot be forwarded again: one extra hop
 * at most, never a loop.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <xdp/xdp_helpers.h>

#include "xlb.h"
#include "xlb_decap.h"
#include "l2.bpf.h"
#include "csum.bpf.h"

#define IP_MF		    0x2000
#define IP_OFFSET	    0x1fff
#define ECN_MASK	    0x3
#define ECN_NOT_ECT	    0x0
#define ECN_ECT1	    0x1
#define ECN_ECT0	    0x2
#define ECN_CE		    0x3
#define IPPROTO_DSTOPTS_HDR 60 /* IPv6 destination options (RFC 8200 4.6) */
#define TCP_STATE_LISTEN    10 /* BPF_TCP_LISTEN */

/* Addresses of this host, filled by xlb-decap from getifaddrs(3). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_DECAP_MAX_ADDRS);
	__type(key, struct xlb_decap_key);
	__type(value, struct xlb_decap_addr);
} xlb_decap_addrs SEC(".maps");

/* Outer sources tunnels are accepted from: the load balancers' --src4/--src6,
 * filled by xlb-decap from --from. Value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XLB_DECAP_MAX_FROM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_decap_prefix);
	__type(value, __u8);
} xlb_decap_from SEC(".maps");

/* Inner destinations tunnels may carry: the host's local routes (table local,
 * type local: its addresses and the VIP ranges routed to lo), filled by
 * xlb-decap through netlink. Value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XLB_DECAP_MAX_LOCAL);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_decap_prefix);
	__type(value, __u8);
} xlb_decap_local SEC(".maps");

/* Counters by reason (enum xlb_decap_stat), per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, __XLB_DECAP_STAT_MAX);
	__type(key, __u32);
	__type(value, struct xlb_counter);
} xlb_decap_stats SEC(".maps");

/* libxdp dispatcher slot: run early, and let the next program see what we
 * pass (the inner packet after a decap). */
struct {
	__uint(priority, XLB_DECAP_RUN_PRIO);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xlb_decap);

/* What the outer-header parsers found. */
struct tunnel {
	__u32 outer_len;	  /* bytes of outer header to strip */
	__u32 payload_len;	  /* bytes the outer header says follow it */
	__u8 inner_family;	  /* enum xlb_family of the inner packet */
	__u8 outer_ecn;		  /* ECN field of the outer header */
	__u8 outer_family;	  /* enum xlb_family of the outer header */
	__u8 hinted;		  /* the outer header carries a second-chance hint */
	__u8 next;		  /* IPv6: the next header after the hint's header */
	union xlb_addr outer_src; /* network order */
	union xlb_addr hint;	  /* the hinted backend, network order */
};

/* The hint as xlb's load balancer writes it (encap.bpf.h): IPv4, one option
 * right after the fixed header; IPv6, a destination options header. */
struct hint_opt4 {
	__u8 type;
	__u8 len;
	__u8 flags[2];
	__be32 addr;
};

struct hint_dstopts6 {
	__u8 nexthdr;
	__u8 hdrlen;
	__u8 type;
	__u8 len;
	__u8 addr[16];
	__u8 pad_type;
	__u8 pad_len;
	__u8 pad[2];
};
_Static_assert(sizeof(struct hint_opt4) == XLB_HINT_LEN4, "hint_opt4 layout");
_Static_assert(sizeof(struct hint_dstopts6) == XLB_HINT_LEN6, "hint_dstopts6 layout");

static __always_inline void count(__u32 reason, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_decap_stats, &reason);

	if (!c)
		return;
	c->packets++;
	c->bytes += bytes;
}

static __always_inline int is_local(const union xlb_addr *addr, __u8 family)
{
	struct xlb_decap_key key = {};

	key.addr = *addr;
	key.family = family;
	return bpf_map_lookup_elem(&xlb_decap_addrs, &key) != NULL;
}

/* Whether addr falls in one of the prefixes of an LPM map (xlb_decap_from or
 * xlb_decap_local). */
static __always_inline int in_prefixes(void *map, const union xlb_addr *addr, __u8 family)
{
	struct xlb_decap_prefix key = {};

	key.prefixlen = XLB_DECAP_PREFIX_BITS + (family == XLB_AF_INET6 ? 128 : 32);
	key.family = family;
	key.addr = *addr;
	return bpf_map_lookup_elem(map, &key) != NULL;
}

/* Outer IPv4: IPIP (inner IPv4) or protocol 41 (inner IPv6). Returns
 * XLB_DECAP_STAT_DECAP to go on, or the reason to stop with. */
static __always_inline int parse_outer4(struct iphdr *iph, void *data_end, struct tunnel *t)
{
	union xlb_addr dst = {};
	__u32 hlen, tot_len;

	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
		return XLB_DECAP_STAT_MALFORMED;
	hlen = iph->ihl * 4;
	if (iph->protocol == IPPROTO_IPIP)
		t->inner_family = XLB_AF_INET;
	else if (iph->protocol == IPPROTO_IPV6)
		t->inner_family = XLB_AF_INET6;
	else
		return XLB_DECAP_STAT_PASS_NOT_TUNNEL;
	dst.v4 = iph->daddr;
	if (!is_local(&dst, XLB_AF_INET))
		return XLB_DECAP_STAT_PASS_NOT_LOCAL;
	/* xlb sets DF and never fragments; a fragment needs reassembly, which
	 * only the kernel can do (and then has no tunnel driver for it). */
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return XLB_DECAP_STAT_PASS_FRAGMENT;
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < hlen || tot_len > (__u32)(data_end - (void *)iph))
		return XLB_DECAP_STAT_MALFORMED;
	/* The kernel's ip_rcv would refuse an outer header with a bad
	 * checksum; a decapsulator must not accept more than that. */
	if (!ipv4_csum_ok(iph, data_end))
		return XLB_DECAP_STAT_MALFORMED;
	t->outer_len = hlen;
	t->payload_len = tot_len - hlen;
	t->outer_ecn = iph->tos & ECN_MASK;
	t->outer_family = XLB_AF_INET;
	t->outer_src.v4 = iph->saddr;
	/* Exactly the load balancer's layout: any other option is stripped
	 * with the header, as before. */
	if (hlen == sizeof(*iph) + XLB_HINT_LEN4) {
		struct hint_opt4 *opt = (void *)(iph + 1);

		if ((void *)(opt + 1) <= data_end && opt->type == XLB_HINT_OPT4 &&
		    opt->len == XLB_HINT_LEN4) {
			t->hinted = 1;
			t->hint.v4 = opt->addr;
		}
	}
	return XLB_DECAP_STAT_DECAP;
}

/* Outer IPv6: next header 41 (inner IPv6) or 4 (inner IPv4), directly after
 * the fixed header; xlb adds no extension headers. A fragment header in front
 * of a tunnel protocol is reported as a fragment, any other extension header
 * as not a tunnel. */
static __always_inline int parse_outer6(struct ipv6hdr *ip6, void *data_end, struct tunnel *t)
{
	__u32 hlen = sizeof(*ip6);
	__u8 nexthdr;
	int frag = 0;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return XLB_DECAP_STAT_MALFORMED;
	nexthdr = ip6->nexthdr;
	/* A second-chance hint, in exactly the load balancer's layout; any
	 * other destination options header is not xlb's (not a tunnel). */
	if (nexthdr == IPPROTO_DSTOPTS_HDR) {
		struct hint_dstopts6 *d = (void *)(ip6 + 1);

		if ((void *)(d + 1) > data_end)
			return XLB_DECAP_STAT_MALFORMED;
		if (d->hdrlen != XLB_HINT_LEN6 / 8 - 1 || d->type != XLB_HINT_OPT6 ||
		    d->len != sizeof(d->addr))
			return XLB_DECAP_STAT_PASS_NOT_TUNNEL;
		nexthdr = d->nexthdr;
		t->hinted = 1;
		t->next = nexthdr;
		__builtin_memcpy(t->hint.bytes, d->addr, sizeof(t->hint.bytes));
		hlen += XLB_HINT_LEN6;
	} else if (nexthdr == IPPROTO_FRAGMENT) {
		struct frag_hdr {
			__u8 nexthdr;
			__u8 reserved;
			__be16 frag_off;
			__be32 id;
		} *fh = (void *)(ip6 + 1);

		if ((void *)(fh + 1) > data_end)
			return XLB_DECAP_STAT_MALFORMED;
		nexthdr = fh->nexthdr;
		frag = 1;
	}
	if (nexthdr == IPPROTO_IPV6)
		t->inner_family = XLB_AF_INET6;
	else if (nexthdr == IPPROTO_IPIP)
		t->inner_family = XLB_AF_INET;
	else
		return XLB_DECAP_STAT_PASS_NOT_TUNNEL;
	if (!is_local((union xlb_addr *)&ip6->daddr, XLB_AF_INET6))
		return XLB_DECAP_STAT_PASS_NOT_LOCAL;
	if (frag)
		return XLB_DECAP_STAT_PASS_FRAGMENT;
	t->outer_len = hlen;
	t->payload_len = bpf_ntohs(ip6->payload_len);
	if (sizeof(*ip6) + t->payload_len > (__u64)(data_end - (void *)ip6) ||
	    t->payload_len < hlen - sizeof(*ip6))
		return XLB_DECAP_STAT_MALFORMED;
	t->payload_len -= hlen - sizeof(*ip6);
	/* Traffic class straddles the first two bytes; ECN is its low 2 bits. */
	t->outer_ecn = (ip6->flow_lbl[0] >> 4) & ECN_MASK;
	t->outer_family = XLB_AF_INET6;
	__builtin_memcpy(t->outer_src.bytes, &ip6->saddr, sizeof(t->outer_src.bytes));
	return XLB_DECAP_STAT_DECAP;
}

/* The inner header must be the family the outer header announced, complete,
 * and no longer than the outer payload. */
static __always_inline int check_inner(void *inner, void *data_end, const struct tunnel *t)
{
	if (t->inner_family == XLB_AF_INET) {
		struct iphdr *iph = inner;
		__u32 tot_len;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return -1;
		tot_len = bpf_ntohs(iph->tot_len);
		if (tot_len < iph->ihl * 4U || tot_len > t->payload_len)
			return -1;
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return -1;
		if (sizeof(*ip6) + bpf_ntohs(ip6->payload_len) > t->payload_len)
			return -1;
	}
	return 0;
}

/* Whether the inner destination is local to this host (check_inner has
 * checked the header is there). */
static __always_inline int inner_is_local(void *inner, void *data_end, const struct tunnel *t)
{
	union xlb_addr dst = {};

	if (t->inner_family == XLB_AF_INET) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > data_end)
			return 0;
		dst.v4 = iph->daddr;
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > data_end)
			return 0;
		__builtin_memcpy(dst.bytes, &ip6->daddr, sizeof(dst.bytes));
	}
	return in_prefixes(&xlb_decap_local, &dst, t->inner_family);
}

/* RFC 6040 section 4.2 (normal mode): the inner ECN field after decap, or -1
 * when the packet must be dropped (CE marked on a transport that cannot
 * understand it). */
static __always_inline int ecn_decap(__u8 inner, __u8 outer)
{
	if (inner == ECN_NOT_ECT)
		return outer == ECN_CE ? -1 : ECN_NOT_ECT;
	if (outer == ECN_CE)
		return ECN_CE;
	if (outer == ECN_ECT1 && inner == ECN_ECT0)
		return ECN_ECT1;
	return inner;
}

/* The inner ECN field after decap (RFC 6040), or -1 to drop. Reads only:
 * the write happens after the strip, so that a frame that is not stripped
 * leaves exactly as it came. */
static __always_inline int inner_ecn(void *inner, void *data_end, const struct tunnel *t)
{
	__u8 ecn;

	if (t->inner_family == XLB_AF_INET) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > data_end)
			return -1;
		ecn = iph->tos & ECN_MASK;
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		ecn = (ip6->flow_lbl[0] >> 4) & ECN_MASK;
	}
	return ecn_decap(ecn, t->outer_ecn);
}

/* Writes the ECN field of the (now outermost) inner header. */
static __always_inline void set_ecn(void *inner, void *data_end, __u8 family, __u8 ecn)
{
	if (family == XLB_AF_INET) {
		struct iphdr *iph = inner;
		__u16 old_word;

		if ((void *)(iph + 1) > data_end || (iph->tos & ECN_MASK) == ecn)
			return;
		/* The TOS shares its checksummed word with version and IHL. */
		old_word = *(__u16 *)iph;
		iph->tos = (iph->tos & ~ECN_MASK) | ecn;
		csum_replace2(&iph->check, old_word, *(__u16 *)iph);
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > data_end)
			return;
		ip6->flow_lbl[0] = (ip6->flow_lbl[0] & ~(ECN_MASK << 4)) | (ecn << 4);
	}
}

/* Moves the L2 header up against the inner packet and gives it the inner
 * ethertype. The header is saved on the stack first, then the head is advanced
 * past the outer header; on failure the frame is as received. */
static __always_inline int strip_outer(struct xdp_md *ctx, __u32 l2_len, const struct tunnel *t,
				       __u8 ecn)
{
	__be16 inner_proto =
	    t->inner_family == XLB_AF_INET ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
	__u32 outer_len = t->outer_len;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, eth_copy;
	struct vlan_hdr *vh = (void *)(eth + 1), vh_copy = {};
	int tagged = l2_len > sizeof(*eth);

	if ((void *)(eth + 1) > data_end)
		return XLB_DECAP_STAT_DECAP_FAIL;
	eth_copy = *eth;
	if (tagged) {
		if ((void *)(vh + 1) > data_end)
			return XLB_DECAP_STAT_DECAP_FAIL;
		vh_copy = *vh;
		vh_copy.proto = inner_proto;
	} else {
		eth_copy.h_proto = inner_proto;
	}

	if (bpf_xdp_adjust_head(ctx, (int)outer_len))
		return XLB_DECAP_STAT_DECAP_FAIL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	vh = (void *)(eth + 1);
	/* Cannot fail: the inner header (>= 20 bytes) was checked to follow
	 * the outer one. The verifier needs it; undo the move if it ever did. */
	if ((void *)(eth + 1) > data_end || (tagged && (void *)(vh + 1) > data_end)) {
		bpf_xdp_adjust_head(ctx, -(int)outer_len);
		return XLB_DECAP_STAT_DECAP_FAIL;
	}
	*eth = eth_copy;
	if (tagged)
		*vh = vh_copy;
	set_ecn(data + (tagged ? sizeof(*eth) + sizeof(*vh) : sizeof(*eth)), data_end,
		t->inner_family, ecn);
	return XLB_DECAP_STAT_DECAP;
}

/* Whether the inner packet's flow lives here: a TCP socket of exactly its
 * 4-tuple, established, half-open (request) or in time-wait. A listener on
 * the VIP's port is no sign: every backend has one. Anything but TCP lives
 * here (the load balancer hints TCP only). */
static __always_inline int flow_is_here(struct xdp_md *ctx, void *inner, void *data_end,
					const struct tunnel *t)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;
	__u32 size, state;
	__be16 *ports;

	if (t->inner_family == XLB_AF_INET) {
		struct iphdr *iph = inner;

		if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_TCP)
			return 1;
		/* A later fragment has no ports to look up (xlb never hints a
		 * fragment: this guards a forged one). */
		if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return 1;
		/* Bounded for the verifier: IHL 15 at most. */
		ports = inner + (iph->ihl & 0xf) * 4;
		tuple.ipv4.saddr = iph->saddr;
		tuple.ipv4.daddr = iph->daddr;
		size = sizeof(tuple.ipv4);
	} else {
		struct ipv6hdr *ip6 = inner;

		if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
			return 1;
		ports = (void *)(ip6 + 1);
		__builtin_memcpy(tuple.ipv6.saddr, &ip6->saddr, sizeof(tuple.ipv6.saddr));
		__builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, sizeof(tuple.ipv6.daddr));
		size = sizeof(tuple.ipv6);
	}
	if ((void *)(ports + 2) > data_end)
		return 1;
	if (t->inner_family == XLB_AF_INET) {
		tuple.ipv4.sport = ports[0];
		tuple.ipv4.dport = ports[1];
	} else {
		tuple.ipv6.sport = ports[0];
		tuple.ipv6.dport = ports[1];
	}
	sk = bpf_skc_lookup_tcp(ctx, &tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	state = sk->state;
	bpf_sk_release(sk);
	return state != TCP_STATE_LISTEN;
}

/* Sends a hinted tunnel on to the hinted backend: the outer header without
 * the hint, addressed to it, the MACs swapped (back to the neighbour that
 * sent it, a router or the load balancer, whose kernel forwards it), any
 * VLAN tag kept. The outer source stays the load balancer's. Returns
 * XLB_DECAP_STAT_FORWARD (XDP_TX), or DECAP_FAIL with the frame as received. */
static __always_inline int forward_hinted(struct xdp_md *ctx, __u32 l2_len, const struct tunnel *t)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, eth_copy;
	struct vlan_hdr *vh = (void *)(eth + 1), vh_copy = {};
	int tagged = l2_len > sizeof(*eth);
	struct ipv6hdr ip6_copy;
	struct iphdr ip_copy;
	__u32 cut;
	void *l3;

	if ((void *)(eth + 1) > data_end || (tagged && (void *)(vh + 1) > data_end))
		return XLB_DECAP_STAT_DECAP_FAIL;
	__builtin_memcpy(eth_copy.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth_copy.h_source, eth->h_dest, ETH_ALEN);
	eth_copy.h_proto = eth->h_proto;
	if (tagged)
		vh_copy = *vh;
	l3 = data + (tagged ? sizeof(*eth) + sizeof(*vh) : sizeof(*eth));
	if (t->outer_family == XLB_AF_INET) {
		struct iphdr *iph = l3;

		if ((void *)(iph + 1) > data_end)
			return XLB_DECAP_STAT_DECAP_FAIL;
		ip_copy = *iph;
		ip_copy.ihl = 5;
		ip_copy.tot_len = bpf_htons(bpf_ntohs(iph->tot_len) - XLB_HINT_LEN4);
		ip_copy.daddr = t->hint.v4;
		ip_copy.check = 0;
		ip_copy.check = csum_ipv4_header(&ip_copy);
		cut = XLB_HINT_LEN4;
	} else {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > data_end)
			return XLB_DECAP_STAT_DECAP_FAIL;
		ip6_copy = *ip6;
		ip6_copy.nexthdr = t->next;
		ip6_copy.payload_len = bpf_htons(bpf_ntohs(ip6->payload_len) - XLB_HINT_LEN6);
		__builtin_memcpy(&ip6_copy.daddr, t->hint.bytes, sizeof(ip6_copy.daddr));
		cut = XLB_HINT_LEN6;
	}

	if (bpf_xdp_adjust_head(ctx, (int)cut))
		return XLB_DECAP_STAT_DECAP_FAIL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	vh = (void *)(eth + 1);
	l3 = data + (tagged ? sizeof(*eth) + sizeof(*vh) : sizeof(*eth));
	/* Cannot fail (the inner packet followed the hint); the verifier
	 * needs it. */
	if (l3 + sizeof(struct ipv6hdr) > data_end) {
		bpf_xdp_adjust_head(ctx, -(int)cut);
		return XLB_DECAP_STAT_DECAP_FAIL;
	}
	*eth = eth_copy;
	if (tagged)
		*vh = vh_copy;
	if (t->outer_family == XLB_AF_INET)
		__builtin_memcpy(l3, &ip_copy, sizeof(ip_copy));
	else
		__builtin_memcpy(l3, &ip6_copy, sizeof(ip6_copy));
	return XLB_DECAP_STAT_FORWARD;
}

static __always_inline int decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tunnel t = {};
	__u32 l2_len;
	__be16 proto;
	void *l3, *inner;
	int ret, ecn;

	if (parse_l2(data, data_end, &proto, &l2_len))
		return XLB_DECAP_STAT_MALFORMED;
	l3 = data + l2_len;
	if (proto == bpf_htons(ETH_P_IP))
		ret = parse_outer4(l3, data_end, &t);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = parse_outer6(l3, data_end, &t);
	else
		return XLB_DECAP_STAT_PASS_NOT_TUNNEL;
	if (ret != XLB_DECAP_STAT_DECAP)
		return ret;
	/* Not from a load balancer: not ours to open. The kernel sees it as if
	 * xlb-decap were not there (its own tunnel devices, if any, decide). */
	if (!in_prefixes(&xlb_decap_from, &t.outer_src, t.outer_family))
		return XLB_DECAP_STAT_REFUSE_SOURCE;

	/* Bounded for the verifier: IHL 15 at most, or IPv6 and a hint. */
	if (t.outer_len > 64)
		return XLB_DECAP_STAT_MALFORMED;
	inner = l3 + t.outer_len;
	if (check_inner(inner, data_end, &t))
		return XLB_DECAP_STAT_MALFORMED;
	/* A load balancer sends only what a VIP held here receives; anything
	 * else, stripped or handed to a kernel tunnel device, would be relayed. */
	if (!inner_is_local(inner, data_end, &t))
		return XLB_DECAP_STAT_REFUSE_INNER;
	/* The second chance: a hinted flow that is not here goes to the
	 * hinted backend (never this host's own address: no loop). */
	if (t.hinted && !is_local(&t.hint, t.outer_family) &&
	    !flow_is_here(ctx, inner, data_end, &t))
		return forward_hinted(ctx, l2_len, &t);
	ecn = inner_ecn(inner, data_end, &t);
	if (ecn < 0)
		return XLB_DECAP_STAT_DROP_ECN;
	ret = strip_outer(ctx, l2_len, &t, (__u8)ecn);
	if (ret == XLB_DECAP_STAT_DECAP && t.hinted)
		return XLB_DECAP_STAT_HINT_LOCAL;
	return ret;
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	int reason = decap(ctx);

	count(reason, bytes);
	if (reason == XLB_DECAP_STAT_FORWARD)
		return XDP_TX;
	return reason == XLB_DECAP_STAT_DROP_ECN || reason == XLB_DECAP_STAT_REFUSE_INNER
		   ? XDP_DROP
		   : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
