/* SPDX-License-Identifier: GPL-2.0 */
/* frag.bpf.h: IPv4 fragments and IPv6 fragment headers of VIP traffic. Only
 * a datagram's first fragment carries the ports, so it alone can be
 * balanced; it records {source, destination, protocol, identification} ->
 * backend (and flow hash) in the LRU xlb_frags, and later fragments follow
 * that entry to the same backend, with the same outer source and flow label
 * (a backend's RSS then puts all of them on one queue for reassembly).
 *
 * The rule for a later fragment with no entry (it overtook its first
 * fragment, or the entry was evicted): dropped and counted (frag_miss) when
 * it is for a VIP address, since no backend can be named for it; the sender
 * sees a lost datagram, as on any lossy path. Not for a VIP address: the
 * kernel's, as before. Unfragmented packets never reach this file.
 */
#ifndef XLB_FRAG_BPF_H
#define XLB_FRAG_BPF_H

#include "parse.bpf.h"
#include "maps.bpf.h"

#define XLB_IP6_FRAG_OFFSET 0xfff8 /* frag_off bits of the offset (8-byte units) */
#define XLB_FRAG_HDR_MAX_OFF (18 + 40 + XLB_MAX_V6_EXT * 2048)

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

struct frag_info {
	__be32 id;
	int first; /* offset 0: carries the L4 header */
};

/* The ports of a first fragment. Its L4 header must be whole in it (RFC
 * 8200 requires it of IPv6; an IPv4 first fragment that splits it is the
 * tiny-fragment attack of RFC 1858): malformed otherwise. A UDP length
 * counts the whole datagram, which this fragment holds only part of. */
static __always_inline int parse_first_fragment_ports(void *l4, void *data_end, __u32 room,
						      struct packet *pkt)
{
	if (pkt->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return PARSE_MALFORMED;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || doff > room)
			return PARSE_MALFORMED;
		pkt->flow.sport = th->source;
		pkt->flow.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		return PARSE_OK;
	}
	if (pkt->flow.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end || sizeof(*uh) > room ||
		    bpf_ntohs(uh->len) < sizeof(*uh))
			return PARSE_MALFORMED;
		pkt->flow.sport = uh->source;
		pkt->flow.dport = uh->dest;
		return PARSE_OK;
	}
	return PARSE_UNSUPPORTED;
}

/* Completes pkt for a fragment that parse_packet() returned PARSE_FRAGMENT
 * for (lengths and TOS for the encapsulation, protocol, and the ports of a
 * first fragment; a later one has ports 0) and fills fi. Returns
 * enum parse_result. */
static __always_inline int parse_fragment(void *data, void *data_end, struct packet *pkt,
					  struct frag_info *fi)
{
	void *l4;
	__u32 room;

	if (pkt->flow.family == XLB_AF_INET) {
		struct iphdr *iph = data + pkt->l3_off;
		__u32 tot, hlen;

		if ((void *)(iph + 1) > data_end)
			return PARSE_MALFORMED;
		tot = bpf_ntohs(iph->tot_len);
		hlen = iph->ihl * 4;
		pkt->l3_len = tot;
		pkt->ip_id = iph->id;
		pkt->ip_df = iph->frag_off & bpf_htons(XLB_IP_DF);
		pkt->tos = iph->tos;
		pkt->inner_ipproto = IPPROTO_IPIP;
		fi->id = iph->id;
		fi->first = !(iph->frag_off & bpf_htons(XLB_IP_OFFSET));
		l4 = (void *)iph + hlen;
		room = tot - hlen;
	} else {
		struct ipv6hdr *ip6 = data + pkt->l3_off;
		struct ipv6_frag_hdr *fh;
		__u32 payload, off = pkt->frag_off;

		/* A bound the verifier can see (parse_ipv6() walks at most
		 * XLB_MAX_V6_EXT headers of up to 2048 bytes before it). */
		if (off > XLB_FRAG_HDR_MAX_OFF)
			return PARSE_UNSUPPORTED;
		fh = data + off;
		if ((void *)(ip6 + 1) > data_end || (void *)(fh + 1) > data_end)
			return PARSE_MALFORMED;
		payload = bpf_ntohs(ip6->payload_len);
		if ((void *)(fh + 1) > (void *)(ip6 + 1) + payload)
			return PARSE_MALFORMED;
		pkt->flow.proto = fh->nexthdr;
		pkt->l3_len = sizeof(*ip6) + payload;
		pkt->ip_id = 0;
		pkt->ip_df = bpf_htons(XLB_IP_DF);
		pkt->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
		pkt->inner_ipproto = IPPROTO_IPV6;
		fi->id = fh->id;
		fi->first = !(fh->frag_off & bpf_htons(XLB_IP6_FRAG_OFFSET));
		l4 = fh + 1;
		room = (void *)(ip6 + 1) + payload - l4;
	}
	pkt->flow.sport = 0;
	pkt->flow.dport = 0;
	if (!fi->first)
		return PARSE_OK;
	return parse_first_fragment_ports(l4, data_end, room, pkt);
}

static __always_inline void frag_key(const struct packet *pkt, const struct frag_info *fi,
				     struct xlb_frag_key *key)
{
	__builtin_memset(key, 0, sizeof(*key));
	key->src = pkt->flow.src;
	key->dst = pkt->flow.dst;
	key->id = fi->id;
	key->proto = pkt->flow.proto;
	key->family = pkt->flow.family;
}

/* The first fragment's choice, for the rest of the datagram. */
static __always_inline void frag_remember(const struct packet *pkt, const struct frag_info *fi,
					  __u32 backend_id, const struct xlb_backend *be,
					  __u32 hash)
{
	struct xlb_frag_key key;
	struct xlb_frag val = {.backend_id = backend_id, .backend_gen = be->gen, .hash = hash};

	frag_key(pkt, fi, &key);
	bpf_map_update_elem(&xlb_frags, &key, &val, BPF_ANY);
}

/* The backend the datagram's first fragment went to, while it is still
 * that backend (same generation, valid); NULL when there is none. */
static __always_inline struct xlb_backend *frag_backend(const struct packet *pkt,
							const struct frag_info *fi,
							__u32 *backend_id, __u32 *hash)
{
	struct xlb_frag_key key;
	struct xlb_backend *be;
	struct xlb_frag *f;
	__u32 id;

	frag_key(pkt, fi, &key);
	f = bpf_map_lookup_elem(&xlb_frags, &key);
	if (!f)
		return NULL;
	id = f->backend_id;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	if (!be || be->gen != f->backend_gen || !(be->flags & XLB_BACKEND_F_VALID))
		return NULL;
	*backend_id = id;
	*hash = f->hash;
	return be;
}

#endif
