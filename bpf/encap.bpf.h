/* SPDX-License-Identifier: GPL-2.0 */
/* encap.bpf.h: prepend the outer IPv4 or IPv6 header in front of the client's
 * packet (IPIP, IP6IP6, 4in6, 6in4), keeping the inner packet byte for byte.
 * The outer source is the LB's address with some bits varied per flow, and
 * the IPv6 flow label carries the flow hash: a backend NIC's RSS hashes the
 * outer header only, so this spreads flows over its queues. */
#ifndef XLB_ENCAP_BPF_H
#define XLB_ENCAP_BPF_H

#include "parse.bpf.h"
#include "csum.bpf.h"
#include "second_chance.bpf.h"

#define IPPROTO_DSTOPTS_HDR 60 /* IPv6 destination options (RFC 8200 4.6) */

static __always_inline __u32 outer_len(const struct xlb_backend *be)
{
	return be->family == XLB_AF_INET6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
}

/* The outer source for this flow: the configured address with the bits of
 * *_vary taken from the flow hash. */
static __always_inline void outer_source(const struct xlb_config *cfg, __u8 family, __u32 hash,
					 union xlb_addr *src)
{
	if (family == XLB_AF_INET6) {
		src->v6[0] = cfg->src6.v6[0];
		src->v6[1] = cfg->src6.v6[1];
		src->v6[2] = cfg->src6.v6[2];
		src->v6[3] = (cfg->src6.v6[3] & ~cfg->src6_vary) | (hash & cfg->src6_vary);
	} else {
		src->v4 = (cfg->src4 & ~cfg->src4_vary) | (hash & cfg->src4_vary);
	}
}

/* Cuts what follows the IP packet off the frame (Ethernet padding, junk):
 * the outer header's length and the MTU check count the IP packet only, and
 * so must what is sent. Parsing made sure the frame holds the whole packet.
 * Returns 0, or -1 when the tail cannot be moved. */
static __always_inline int trim_to_ip(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	long excess = (data_end - data) - (long)(pkt->l3_off + pkt->l3_len);

	if (excess <= 0)
		return 0;
	return bpf_xdp_adjust_tail(ctx, -(int)excess) ? -1 : 0;
}

/* The IPv4 hint: one option after the fixed header (XLB_HINT_OPT4). */
struct hint_opt4 {
	__u8 type;     /* XLB_HINT_OPT4 */
	__u8 len;      /* XLB_HINT_LEN4 */
	__u8 flags[2]; /* 0 */
	__be32 addr;
};

/* The IPv6 hint: a destination options header (XLB_HINT_OPT6, PadN). */
struct hint_dstopts6 {
	__u8 nexthdr;
	__u8 hdrlen; /* 8-octet units after the first: 2 */
	__u8 type;   /* XLB_HINT_OPT6 */
	__u8 len;    /* 16 */
	__u8 addr[16];
	__u8 pad_type; /* 1: PadN */
	__u8 pad_len;  /* 2 */
	__u8 pad[2];
};
_Static_assert(sizeof(struct hint_opt4) == XLB_HINT_LEN4, "hint_opt4 layout");
_Static_assert(sizeof(struct hint_dstopts6) == XLB_HINT_LEN6, "hint_dstopts6 layout");

/* Checksum of an outer IPv4 header followed by the hint option (14 words). */
static __always_inline __u16 csum_ipv4_hinted(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)((sizeof(*iph) + XLB_HINT_LEN4) / 2); i++)
		sum += w[i];
	return csum_fold(sum);
}

/* Grows the frame at the front and writes L2 + outer header, and the hint
 * after it when hint->len (NULL, a constant: none). The MACs are the next
 * hop's, or without one (a frame for the kernel to route) the received
 * ones; a VLAN tag is carried over as received. Returns 0, or -1 when the
 * frame has no headroom left. */
static __always_inline int encap_packet(struct xdp_md *ctx, const struct packet *pkt,
					const struct xlb_backend *be, const union xlb_addr *src,
					__u32 hash, const struct xlb_nexthop *nh,
					const struct hint *hint)
{
	__u32 hlen = hint ? hint->len : 0;
	__u32 olen = outer_len(be) + hlen;
	__u32 l2 = pkt->l3_off == sizeof(struct ethhdr) ? sizeof(struct ethhdr)
							: sizeof(struct ethhdr) + sizeof(struct vlan_hdr);
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	/* Old L2 header now sits olen bytes in; olen >= 20 > 18, no overlap.
	 * Never short (an IP header follows it), but the verifier needs it;
	 * checked for the longer L2 header, so that it holds whichever clang
	 * makes of l2 on the way. */
	if (data + olen + sizeof(struct ethhdr) + sizeof(struct vlan_hdr) > data_end)
		return -1;
	if (nh) {
		__builtin_memcpy(data, nh->dmac, ETH_ALEN);
		__builtin_memcpy(data + ETH_ALEN, nh->smac, ETH_ALEN);
	} else {
		__builtin_memcpy(data, data + olen, 2 * ETH_ALEN);
	}
	if (l2 > sizeof(struct ethhdr))
		__builtin_memcpy(data + 12, data + olen + 12, sizeof(struct vlan_hdr));

	if (be->family == XLB_AF_INET6) {
		struct ipv6hdr *o = data + l2;

		if ((void *)(o + 1) > data_end)
			return -1;
		*(__be16 *)(data + l2 - 2) = bpf_htons(ETH_P_IPV6);
		*(__be32 *)o = bpf_htonl(6U << 28 | (__u32)pkt->tos << 20 | (hash & 0xfffff));
		o->payload_len = bpf_htons(pkt->l3_len + hlen);
		o->nexthdr = pkt->inner_ipproto;
		o->hop_limit = XLB_ENCAP_TTL;
		__builtin_memcpy(&o->saddr, src, 16);
		__builtin_memcpy(&o->daddr, &be->addr, 16);
		if (hlen) {
			struct hint_dstopts6 *d = (void *)(o + 1);

			if ((void *)(d + 1) > data_end)
				return -1;
			o->nexthdr = IPPROTO_DSTOPTS_HDR;
			d->nexthdr = pkt->inner_ipproto;
			d->hdrlen = XLB_HINT_LEN6 / 8 - 1;
			d->type = XLB_HINT_OPT6;
			d->len = sizeof(d->addr);
			__builtin_memcpy(d->addr, &hint->addr, sizeof(d->addr));
			d->pad_type = 1;
			d->pad_len = sizeof(d->pad);
			d->pad[0] = 0;
			d->pad[1] = 0;
		}
	} else {
		struct iphdr *o = data + l2;

		if ((void *)(o + 1) > data_end)
			return -1;
		*(__be16 *)(data + l2 - 2) = bpf_htons(ETH_P_IP);
		*(__u8 *)o = 0x45; /* version 4, no options */
		o->tos = pkt->tos;
		o->tot_len = bpf_htons(pkt->l3_len + sizeof(*o) + hlen);
		o->id = pkt->ip_id;
		o->frag_off = pkt->ip_df;
		o->ttl = XLB_ENCAP_TTL;
		o->protocol = pkt->inner_ipproto;
		o->check = 0;
		o->saddr = src->v4;
		o->daddr = be->addr.v4;
		if (hlen) {
			struct hint_opt4 *opt = (void *)(o + 1);

			if ((void *)(opt + 1) > data_end)
				return -1;
			*(__u8 *)o = 0x40 | (sizeof(*o) + sizeof(*opt)) / 4;
			opt->type = XLB_HINT_OPT4;
			opt->len = sizeof(*opt);
			opt->flags[0] = 0;
			opt->flags[1] = 0;
			opt->addr = hint->addr.v4;
			o->check = csum_ipv4_hinted(o);
		} else {
			o->check = csum_ipv4_header(o);
		}
	}
	return 0;
}

#endif
