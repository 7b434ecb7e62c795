/* SPDX-License-Identifier: GPL-2.0 */
/* parse.bpf.h: Ethernet (+ one 802.1Q/802.1ad tag), IPv4/IPv6, TCP/UDP into
 * the flow key. Every read is bounds-checked, and every length the headers
 * claim is checked against the frame, so a packet that passes parsing can be
 * encapsulated without further checks of the inner headers.
 *
 * The rule for what does not parse: xlb only forwards what it fully
 * understands; everything else is handed to the kernel untouched (XDP_PASS)
 * and counted by reason. The kernel validates and drops garbage itself, and
 * no part of a flow is ever sent to a backend that the 5-tuple did not pick:
 * IPv6 routing/AH/ESP headers therefore go to the kernel too. Fragments
 * return PARSE_FRAGMENT with where their fragment information starts, for
 * frag.bpf.h (a datagram's later fragments carry no ports). The exception is what is addressed to a
 * VIP address (xlb.bpf.c, unparsed_verdict): the IP header is valid, so the
 * kernel would forward it, back to the router. flow.family, src and dst are
 * filled as soon as the IP header is known to be valid, so that the caller
 * can tell (family XLB_AF_NONE: no valid IP header).
 */
#ifndef XLB_PARSE_BPF_H
#define XLB_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "xlb.h"
#include "l2.bpf.h"

/* IPv6 extension headers walked before giving up (verifier needs a bound). */
#define XLB_MAX_V6_EXT 4

#define XLB_IP_DF 0x4000
#define XLB_IP_MF 0x2000
#define XLB_IP_OFFSET 0x1fff

struct ipv6_ext_hdr {
	__u8 nexthdr;
	__u8 len; /* in 8-byte units, not counting the first 8 */
};

enum parse_result {
	PARSE_OK,
	PARSE_NOT_IP,
	PARSE_MALFORMED,
	PARSE_FRAGMENT,
	PARSE_UNSUPPORTED,
};

/* What the data plane needs to know about a parsed packet. */
struct packet {
	struct xlb_flow flow;
	__u32 l3_off;   /* L2 header length: 14, or 18 with a VLAN tag */
	__u32 l3_len;   /* inner IP length as its header declares it */
	__be16 ip_id;   /* IPv4 identification, carried to the outer header */
	__be16 ip_df;   /* DF as in frag_off (IPv6 never fragments in flight: set) */
	__u8 tos;       /* TOS / traffic class, carried to the outer header */
	__u8 inner_ipproto; /* IPPROTO_IPIP or IPPROTO_IPV6: the outer's next header */
	__u8 tcp_flags; /* TCP: byte 13 of the header (TCP_F_*); UDP: 0 */
	__u16 frag_off; /* PARSE_FRAGMENT: from the frame's start to the IPv4
			 * payload or the IPv6 fragment header (frag.bpf.h) */
	__u16 l4_off;   /* offset of the L4 header in the frame (ICMP stages read it) */
};

/* The TCP flags the connection table looks at (RFC 9293 header byte 13). */
#define TCP_F_FIN 0x01
#define TCP_F_SYN 0x02
#define TCP_F_RST 0x04
#define TCP_F_ACK 0x10

static __always_inline int parse_l4(void *l4, void *data_end, __u32 room, struct packet *pkt)
{
	if (pkt->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return PARSE_MALFORMED;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || doff > room || l4 + doff > data_end)
			return PARSE_MALFORMED;
		pkt->flow.sport = th->source;
		pkt->flow.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		return PARSE_OK;
	}
	if (pkt->flow.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;
		__u32 ulen;

		if ((void *)(uh + 1) > data_end)
			return PARSE_MALFORMED;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || ulen > room)
			return PARSE_MALFORMED;
		pkt->flow.sport = uh->source;
		pkt->flow.dport = uh->dest;
		return PARSE_OK;
	}
	return PARSE_UNSUPPORTED;
}

static __always_inline int parse_ipv4(void *data, void *data_end, struct packet *pkt)
{
	struct iphdr *iph = data + pkt->l3_off;
	__u32 hlen, tot;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	tot = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || hlen < sizeof(*iph) || tot < hlen ||
	    (void *)iph + tot > data_end)
		return PARSE_MALFORMED;
	pkt->flow.family = XLB_AF_INET;
	pkt->flow.proto = iph->protocol;
	pkt->flow.src.v4 = iph->saddr;
	pkt->flow.dst.v4 = iph->daddr;
	frag = bpf_ntohs(iph->frag_off);
	if (frag & (XLB_IP_MF | XLB_IP_OFFSET)) {
		pkt->frag_off = pkt->l3_off + hlen;
		return PARSE_FRAGMENT;
	}

	pkt->l3_len = tot;
	pkt->ip_id = iph->id;
	pkt->ip_df = iph->frag_off & bpf_htons(XLB_IP_DF);
	pkt->tos = iph->tos;
	pkt->inner_ipproto = IPPROTO_IPIP;
	pkt->l4_off = pkt->l3_off + hlen;
	return parse_l4((void *)iph + hlen, data_end, tot - hlen, pkt);
}

static __always_inline int parse_ipv6(void *data, void *data_end, struct packet *pkt)
{
	struct ipv6hdr *ip6 = data + pkt->l3_off;
	void *l4, *end_of_ip;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_MALFORMED;
	end_of_ip = (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len);
	if (ip6->version != 6 || end_of_ip > data_end)
		return PARSE_MALFORMED;

	pkt->flow.family = XLB_AF_INET6;
	__builtin_memcpy(&pkt->flow.src, &ip6->saddr, 16);
	__builtin_memcpy(&pkt->flow.dst, &ip6->daddr, 16);
	nexthdr = ip6->nexthdr;
	l4 = ip6 + 1;
#pragma unroll
	for (int i = 0; i < XLB_MAX_V6_EXT; i++) {
		struct ipv6_ext_hdr *eh = l4;

		if (nexthdr != IPPROTO_HOPOPTS && nexthdr != IPPROTO_DSTOPTS)
			break;
		if ((void *)(eh + 1) > data_end)
			return PARSE_MALFORMED;
		nexthdr = eh->nexthdr;
		l4 += (eh->len + 1) * 8;
	}
	if (nexthdr == IPPROTO_FRAGMENT) {
		pkt->frag_off = l4 - data;
		return PARSE_FRAGMENT;
	}
	if (l4 > end_of_ip)
		return PARSE_MALFORMED;

	pkt->flow.proto = nexthdr;
	pkt->l3_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	pkt->ip_id = 0;
	pkt->ip_df = bpf_htons(XLB_IP_DF);
	pkt->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	pkt->inner_ipproto = IPPROTO_IPV6;
	pkt->l4_off = l4 - data;
	return parse_l4(l4, data_end, end_of_ip - l4, pkt);
}

/* Fills pkt from the frame; returns enum parse_result. */
static __always_inline int parse_packet(void *data, void *data_end, struct packet *pkt)
{
	__be16 proto;

	if (parse_l2(data, data_end, &proto, &pkt->l3_off))
		return PARSE_MALFORMED;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, pkt);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, pkt);
	return PARSE_NOT_IP;
}

#endif
