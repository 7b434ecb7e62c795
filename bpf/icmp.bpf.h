/* SPDX-License-Identifier: GPL-2.0 */
/* icmp.bpf.h: the ICMP and ICMPv6 that xlb handles itself, for the VIP
 * addresses it owns: echo requests answered in place (RFC 792, RFC 4443
 * 4.1), errors about a VIP flow read back to that flow's key (the caller
 * sends them to its backend), and the errors xlb generates for packets too
 * big to encapsulate (RFC 1191, RFC 8201), built in place and rate-limited.
 * Everything here runs only for a packet that parse_packet() left unparsed
 * (not TCP/UDP) or that will not fit, never on the forwarding fast path. */
#ifndef XLB_ICMP_BPF_H
#define XLB_ICMP_BPF_H

#include <linux/icmpv6.h>
#include "parse.bpf.h"
#include "csum.bpf.h"
#include "maps.bpf.h"
#include "stats.bpf.h"

#define XLB_ICMP_TTL 64
/* What of the packet too big goes back: RFC 1812 4.3.2.3 (the reply is at
 * most 576 bytes), RFC 4443 2.4 (c) (at most the minimum MTU, 1280). */
#define XLB_ICMP4_MAX_LEN 576
#define XLB_ICMP6_MAX_LEN 1280
/* The smallest MTU each family may report: RFC 791, RFC 8200 section 5. */
#define XLB_IPV4_MIN_MTU 68
#define XLB_IPV6_MIN_MTU 1280
/* Precedence "internetwork control" for ICMP errors (RFC 1812 4.3.2.5). */
#define XLB_TOS_INTERNETWORK 0xc0
/* Longest span csum_span() sums: an IPv6 reply's ICMPv6 part. */
#define XLB_CSUM_SPAN_MAX_WORDS ((XLB_ICMP6_MAX_LEN - 40) / 2)

/* Farthest the quoted transport header may start in the frame: L2 and
 * outer IPv4 with options (18 + 60) or IPv6 with the extension headers
 * parse_ipv6() walks, ICMP header, quoted IP header with options. Bounds
 * packet offsets for the verifier, which tracks no range past 64 KiB. */
#define XLB_ICMP_MAX_QUOTE_OFF 1024

/* Bytes of an ICMP error in front of the packet it quotes (RFC 792, RFC 4443). */
#define XLB_ICMP_HDR_LEN 8

/* ICMP (RFC 792) as used here; <linux/icmp.h> drags in libc's socket
 * headers, which a BPF target does not have. */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4 /* code of ICMP_DEST_UNREACH */
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 rest_hi; /* echo: identifier; frag needed: unused */
	__be16 rest_lo; /* echo: sequence; frag needed: next-hop MTU (RFC 1191) */
};

/* The ICMP header's first two bytes as one checksummed word. */
static __always_inline __u16 icmp_type_word(__u8 type, __u8 code)
{
	__u8 b[2] = {type, code};

	return *(__u16 *)b;
}

/* Sum of len bytes from start, 16-bit words in network order, odd byte
 * padded (RFC 1071); len at most 2 * XLB_CSUM_SPAN_MAX_WORDS. Bounded, one
 * check per word, for the verifier. */
static __always_inline __u32 csum_span(__u32 sum, void *start, __u32 len, void *data_end)
{
	__u16 *w = start;

	for (__u32 i = 0; i < XLB_CSUM_SPAN_MAX_WORDS; i++) {
		__u16 *p = w + i;

		if (2 * i + 2 > len)
			break;
		barrier_var(p);
		if ((void *)(p + 1) > data_end)
			return sum;
		sum += *p;
	}
	if (len & 1 && len <= 2 * XLB_CSUM_SPAN_MAX_WORDS) {
		__u8 *b = start + len - 1;

		if ((void *)(b + 1) <= data_end)
			sum += bpf_htons((__u16)*b << 8);
	}
	return sum;
}

/* ---- echo ---------------------------------------------------------------- */

/* Swaps the frame's MACs: an answer leaves towards the hop it came from. */
static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

/* Turns an echo request into its reply in place: addresses and MACs
 * swapped, fresh TTL / hop limit, type changed, checksums updated
 * incrementally (swapping addresses leaves every sum as it was). A request
 * with a bad checksum gets a reply with a bad checksum, which its sender
 * drops as the kernel would have dropped the request. Returns 0, or -1 when
 * the packet is no echo request xlb answers (IPv4 options, IPv6 extension
 * headers: nothing to reflect blindly; an ICMP header that is not within
 * the IP packet). */
static __always_inline int icmp_echo_reply(void *data, void *data_end, const struct packet *pkt)
{
	struct ethhdr *eth = data;
	__u32 l3_off = pkt->l3_off;

	/* Never more; bounds the offset for the verifier. */
	if ((void *)(eth + 1) > data_end || l3_off > sizeof(*eth) + sizeof(struct vlan_hdr))
		return -1;
	if (pkt->flow.family == XLB_AF_INET) {
		struct iphdr *iph = data + l3_off;
		struct icmphdr *ic = (void *)(iph + 1);
		__u16 old;
		__be32 a;

		if ((void *)(ic + 1) > data_end || iph->ihl != 5 ||
		    pkt->l3_len < sizeof(*iph) + sizeof(*ic) || ic->type != ICMP_ECHO ||
		    ic->code != 0)
			return -1;
		a = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = a;
		old = *(__u16 *)&iph->ttl;
		iph->ttl = XLB_ICMP_TTL;
		csum_replace2(&iph->check, old, *(__u16 *)&iph->ttl);
		ic->type = ICMP_ECHOREPLY;
		csum_replace2(&ic->checksum, icmp_type_word(ICMP_ECHO, 0),
			      icmp_type_word(ICMP_ECHOREPLY, 0));
	} else {
		struct ipv6hdr *ip6 = data + l3_off;
		struct icmp6hdr *ic = (void *)(ip6 + 1);
		struct in6_addr a;

		if ((void *)(ic + 1) > data_end || ip6->nexthdr != IPPROTO_ICMPV6 ||
		    pkt->l3_len < sizeof(*ip6) + sizeof(*ic) ||
		    ic->icmp6_type != ICMPV6_ECHO_REQUEST || ic->icmp6_code != 0)
			return -1;
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->hop_limit = XLB_ICMP_TTL;
		ic->icmp6_type = ICMPV6_ECHO_REPLY;
		csum_replace2(&ic->icmp6_cksum, icmp_type_word(ICMPV6_ECHO_REQUEST, 0),
			      icmp_type_word(ICMPV6_ECHO_REPLY, 0));
	}
	swap_macs(eth);
	return 0;
}

/* ---- errors about a VIP flow ------------------------------------------- */

static __always_inline int icmp4_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

static __always_inline int icmp6_is_error(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG ||
	       type == ICMPV6_TIME_EXCEED;
}

/* Ports of the quoted packet into the flow key, swapped: the quote is a
 * packet the backend sent (VIP -> client), the key is the flow's own
 * direction (client -> VIP). Only the 8 bytes RFC 792 guarantees past the
 * quoted IP header are required (ports and TCP sequence number), and they
 * must lie within the ICMP packet: off is theirs in the frame, end the
 * packet's. */
static __always_inline int quoted_ports(void *data, void *data_end, __u32 off, __u32 end,
					struct xlb_flow *flow)
{
	__be16 *ports;

	if (off + 8 > end || off > XLB_ICMP_MAX_QUOTE_OFF)
		return -1;
	ports = data + off;
	if ((void *)ports + 8 > data_end)
		return -1;
	flow->sport = ports[1];
	flow->dport = ports[0];
	return 0;
}

/* The flow an ICMP error to a VIP address is about, from the packet it
 * quotes: a TCP or UDP packet from a VIP (a backend's direct reply that a
 * router could not deliver). Fills flow; returns 0, or -1 when the packet
 * is no such error. Whether the source really is a VIP is the caller's
 * lookup of the key. flow may be &pkt->flow. */
static __always_inline int icmp_error_flow(void *data, void *data_end, const struct packet *pkt,
					   struct xlb_flow *flow)
{
	/* Offsets in the frame: the quote, and the end of the ICMP packet
	 * (parsing checked that the frame holds it). */
	__u32 qoff = pkt->l4_off + XLB_ICMP_HDR_LEN, end = pkt->l3_off + pkt->l3_len;
	void *l4 = data + pkt->l4_off;
	__u8 family = pkt->flow.family; /* flow may be pkt's own */

	if (pkt->l4_off > XLB_ICMP_MAX_QUOTE_OFF)
		return -1;
	__builtin_memset(flow, 0, sizeof(*flow));
	flow->family = family;
	if (family == XLB_AF_INET) {
		struct icmphdr *ic = l4;
		struct iphdr *q = (void *)(ic + 1);

		if ((void *)(q + 1) > data_end || qoff + sizeof(*q) > end ||
		    !icmp4_is_error(ic->type) || q->version != 4 || q->ihl < 5 ||
		    (q->protocol != IPPROTO_TCP && q->protocol != IPPROTO_UDP) ||
		    (q->frag_off & bpf_htons(XLB_IP_OFFSET)))
			return -1;
		flow->proto = q->protocol;
		flow->src.v4 = q->daddr;
		flow->dst.v4 = q->saddr;
		return quoted_ports(data, data_end, qoff + q->ihl * 4, end, flow);
	} else {
		struct icmp6hdr *ic = l4;
		struct ipv6hdr *q = (void *)(ic + 1);

		/* Backends' replies carry no extension headers: the quoted
		 * transport header follows the fixed one. */
		if ((void *)(q + 1) > data_end || qoff + sizeof(*q) > end ||
		    !icmp6_is_error(ic->icmp6_type) || q->version != 6 ||
		    (q->nexthdr != IPPROTO_TCP && q->nexthdr != IPPROTO_UDP))
			return -1;
		flow->proto = q->nexthdr;
		__builtin_memcpy(&flow->src, &q->daddr, 16);
		__builtin_memcpy(&flow->dst, &q->saddr, 16);
		return quoted_ports(data, data_end, qoff + sizeof(*q), end, flow);
	}
}

/* ---- too big: the error xlb sends ----------------------------------------- */

/* Per-CPU token bucket as a virtual schedule (GCRA): each message moves
 * the bucket's time one interval on; a message is allowed while that time
 * is less than XLB_ICMP_BURST intervals ahead of now. */
static __always_inline int icmp_allowed(__u64 now)
{
	__u64 interval = xlb_icmp_interval_ns, t;
	struct xlb_icmp_bucket *b;
	__u32 zero = 0;

	if (!interval)
		return 0;
	b = bpf_map_lookup_elem(&xlb_icmp_rl, &zero);
	if (!b)
		return 0;
	t = b->tat_ns > now ? b->tat_ns : now;
	if (t + interval - now > XLB_ICMP_BURST * interval) {
		count_event(XLB_STAT_ICMP_RATE_LIMITED);
		return 0;
	}
	b->tat_ns = t + interval;
	return 1;
}

/* Whether an error may go to this source at all (RFC 1812 4.3.2.7, RFC
 * 4443 2.4 (e)): never to an unspecified, loopback, multicast or broadcast
 * one. */
static __always_inline int unicast_source(const struct packet *pkt)
{
	if (pkt->flow.family == XLB_AF_INET) {
		__u32 a = bpf_ntohl(pkt->flow.src.v4);

		return a != 0 && (a >> 24) != 127 && (a >> 28) != 0xe && a != 0xffffffff;
	}
	return pkt->flow.src.bytes[0] != 0xff &&
	       (pkt->flow.src.v6[0] | pkt->flow.src.v6[1] | pkt->flow.src.v6[2] |
		(pkt->flow.src.v6[3] & ~bpf_htonl(1))) != 0;
}

/* Cuts the frame to l2 + keep bytes, then grows it by room in front.
 * Returns 0, or -1 (the frame is then the caller's to drop). */
static __always_inline int reshape(struct xdp_md *ctx, __u32 keep, __u32 room)
{
	long excess = (long)(ctx->data_end - ctx->data) - (long)(sizeof(struct ethhdr) + keep);

	if (excess < 0)
		return -1;
	if (excess && bpf_xdp_adjust_tail(ctx, -(int)excess))
		return -1;
	return bpf_xdp_adjust_head(ctx, -(int)room) ? -1 : 0;
}

/* Writes the new Ethernet header, room bytes in front of the received one,
 * back to where the packet came from. */
static __always_inline int answer_l2(void *data, void *data_end, __u32 room, __be16 proto)
{
	struct ethhdr *eth = data, *old = data + room;

	if ((void *)(old + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, old->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, old->h_dest, ETH_ALEN);
	eth->h_proto = proto;
	return 0;
}

/* IPv4: fragmentation needed (type 3 code 4) with the next-hop MTU, from the
 * VIP to the client, quoting the packet's first bytes up to 576 in all. */
static __always_inline int build_frag_needed(struct xdp_md *ctx, const struct packet *pkt,
					     __u32 mtu)
{
	const __u32 room = sizeof(struct iphdr) + XLB_ICMP_HDR_LEN;
	__u32 quote = pkt->l3_len < XLB_ICMP4_MAX_LEN - room ? pkt->l3_len
							     : XLB_ICMP4_MAX_LEN - room;
	void *data, *data_end;
	struct iphdr *ip;
	struct icmphdr *ic;

	if (reshape(ctx, quote, room))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (answer_l2(data, data_end, room, bpf_htons(ETH_P_IP)))
		return -1;
	ip = data + sizeof(struct ethhdr);
	ic = (void *)(ip + 1);
	if ((void *)(ic + 1) > data_end)
		return -1;
	*(__u8 *)ip = 0x45;
	ip->tos = XLB_TOS_INTERNETWORK;
	ip->tot_len = bpf_htons(room + quote);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = XLB_ICMP_TTL;
	ip->protocol = IPPROTO_ICMP;
	ip->check = 0;
	ip->saddr = pkt->flow.dst.v4;
	ip->daddr = pkt->flow.src.v4;
	ip->check = csum_ipv4_header(ip);
	ic->type = ICMP_DEST_UNREACH;
	ic->code = ICMP_FRAG_NEEDED;
	ic->checksum = 0;
	ic->rest_hi = 0;
	ic->rest_lo = bpf_htons(mtu < XLB_IPV4_MIN_MTU ? XLB_IPV4_MIN_MTU : mtu);
	ic->checksum = csum_fold(csum_span(0, ic, XLB_ICMP_HDR_LEN + quote, data_end));
	return 0;
}

/* IPv6: packet too big (type 2) with the MTU, from the VIP to the client,
 * quoting as much of the packet as fits in 1280 bytes. */
static __always_inline int build_pkt_too_big(struct xdp_md *ctx, const struct packet *pkt,
					     __u32 mtu)
{
	const __u32 room = sizeof(struct ipv6hdr) + XLB_ICMP_HDR_LEN;
	__u32 quote = pkt->l3_len < XLB_ICMP6_MAX_LEN - room ? pkt->l3_len
							     : XLB_ICMP6_MAX_LEN - room;
	__u32 len = XLB_ICMP_HDR_LEN + quote, sum;
	void *data, *data_end;
	struct ipv6hdr *ip6;
	struct icmp6hdr *ic;

	if (reshape(ctx, quote, room))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (answer_l2(data, data_end, room, bpf_htons(ETH_P_IPV6)))
		return -1;
	ip6 = data + sizeof(struct ethhdr);
	ic = (void *)(ip6 + 1);
	if ((void *)(ic + 1) > data_end)
		return -1;
	*(__be32 *)ip6 = bpf_htonl(6U << 28);
	ip6->payload_len = bpf_htons(len);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = XLB_ICMP_TTL;
	__builtin_memcpy(&ip6->saddr, &pkt->flow.dst, 16);
	__builtin_memcpy(&ip6->daddr, &pkt->flow.src, 16);
	ic->icmp6_type = ICMPV6_PKT_TOOBIG;
	ic->icmp6_code = 0;
	ic->icmp6_cksum = 0;
	ic->icmp6_mtu = bpf_htonl(mtu < XLB_IPV6_MIN_MTU ? XLB_IPV6_MIN_MTU : mtu);
	/* Pseudo-header (RFC 8200 8.1): addresses, length, next header. */
	sum = csum_span(0, &ip6->saddr, 32, data_end);
	sum += bpf_htons(len) + bpf_htons(IPPROTO_ICMPV6);
	ic->icmp6_cksum = csum_fold(csum_span(sum, ic, len, data_end));
	return 0;
}

/* A packet that will not fit the route to its backend once encapsulated
 * (outer header olen bytes, route MTU mtu): answered in place, to its
 * client, with the MTU that leaves room for the encapsulation. IPv4 gets
 * fragmentation needed whether DF is set or not: xlb never fragments (an
 * XDP decapsulator on the backend could not reassemble), and a Linux sender
 * without DF lowers its route's MTU and fragments to it. Returns the
 * verdict: XDP_TX (icmp_too_big), or XDP_DROP (too_big) when no error may
 * go: rate limit, a non-unicast source, a tagged frame (never here:
 * route_outer passes those), or the frame could not be reshaped. */
static __always_inline __u32 answer_too_big(struct xdp_md *ctx, const struct packet *pkt,
					    __u32 mtu, __u32 olen, __u64 now)
{
	__u32 inner_mtu = mtu > olen ? mtu - olen : 0;
	int err;

	if (pkt->l3_off != sizeof(struct ethhdr) || !unicast_source(pkt) || !icmp_allowed(now))
		return verdict(XDP_DROP, XLB_STAT_TOO_BIG);
	if (pkt->flow.family == XLB_AF_INET)
		err = build_frag_needed(ctx, pkt, inner_mtu);
	else
		err = build_pkt_too_big(ctx, pkt, inner_mtu);
	if (err)
		return verdict(XDP_DROP, XLB_STAT_TOO_BIG);
	return verdict(XDP_TX, XLB_STAT_ICMP_TOO_BIG);
}

#endif
