// SPDX-License-Identifier: GPL-2.0
/* pkt.c: the packet builder behind the BPF fixture tests and the benchmark (see pkt.h). Written
 * straight from the RFCs, sharing no code with the data plane, so that a bug
 * there cannot hide itself in the expected bytes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "pkt.h"

const __u8 pkt_client_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const __u8 pkt_lb_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

__u16 pkt_csum(const void *buf, size_t len, __u32 sum)
{
	const __u8 *b = buf;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(b + i);
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 sum_bytes(const __u8 *b, size_t len)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(b + i);
	return sum;
}

size_t pkt_l3_off(const struct pkt *p)
{
	return get16(p->data + 12) == 0x8100 ? 18 : 14;
}

int pkt_build(struct pkt *p, const struct pkt_spec *s)
{
	__u8 *b = p->data, *l3, *l4;
	size_t l2 = s->vlan ? 18 : 14, l3len, l4len, hdr;
	__u8 src[16] = {0}, dst[16] = {0};
	int af = s->family == 6 ? AF_INET6 : AF_INET;
	__u8 proto = s->proto;

	if (inet_pton(af, s->src, src) != 1 || inet_pton(af, s->dst, dst) != 1)
		return -1;
	memset(p, 0, sizeof(*p));
	memcpy(b, pkt_lb_mac, 6);
	memcpy(b + 6, pkt_client_mac, 6);
	if (s->vlan) {
		put16(b + 12, 0x8100);
		put16(b + 14, s->vlan & 0x0fff);
	}
	put16(b + l2 - 2, s->family == 6 ? 0x86dd : 0x0800);

	l4len = proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP ? 8 : 0;
	if (s->family == 6) {
		size_t ext = s->v6_ext_present ? 8 : 0;

		hdr = 40 + ext;
		l3len = hdr + l4len + s->payload_len;
	} else {
		hdr = 20 + s->ip_opts_len;
		l3len = hdr + l4len + s->payload_len;
	}
	if (l2 + l3len > PKT_MAX)
		return -1;
	l3 = b + l2;
	l4 = l3 + hdr;

	/* L4 first: the IP header's checksum does not cover it, but its
	 * pseudo-header does. */
	for (size_t i = 0; i < s->payload_len; i++)
		l4[l4len + i] = (__u8)(i * 7 + 1);
	if (proto == IPPROTO_TCP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, 0x1234);
		put16(l4 + 6, 0x5678);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x10;
		put16(l4 + 14, 65535);
	} else if (proto == IPPROTO_UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (__u16)(l4len + s->payload_len));
	}
	if (l4len) {
		size_t seg = l4len + s->payload_len;
		__u32 sum = (s->family == 6) ? sum_bytes(src, 16) + sum_bytes(dst, 16)
					       : sum_bytes(src, 4) + sum_bytes(dst, 4);
		__u16 c;

		sum += proto + (__u32)seg;
		c = pkt_csum(l4, seg, sum);
		if (proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
		put16(l4 + (proto == IPPROTO_TCP ? 16 : 6), c);
	}

	if (s->family == 6) {
		__u32 vtf = 6U << 28 | (__u32)s->tos << 20 | (s->flow_label & 0xfffff);

		l3[0] = vtf >> 24;
		l3[1] = (vtf >> 16) & 0xff;
		l3[2] = (vtf >> 8) & 0xff;
		l3[3] = vtf & 0xff;
		put16(l3 + 4, (__u16)(l3len - 40));
		l3[6] = s->v6_ext_present ? s->v6_ext : proto;
		l3[7] = s->ttl ? s->ttl : 64;
		memcpy(l3 + 8, src, 16);
		memcpy(l3 + 24, dst, 16);
		if (s->v6_ext_present) {
			__u8 *e = l3 + 40;

			memset(e, 0, 8);
			e[0] = proto;
			if (s->v6_ext == IPPROTO_FRAGMENT) {
				/* default: offset 0, more fragments */
				put16(e + 2, s->v6_frag_off ? s->v6_frag_off : 0x0001);
				put16(e + 4, (__u16)(s->v6_frag_id >> 16));
				put16(e + 6, (__u16)s->v6_frag_id);
			}
		}
	} else {
		l3[0] = 0x40 | (__u8)(hdr / 4);
		l3[1] = s->tos;
		put16(l3 + 2, (__u16)l3len);
		put16(l3 + 4, s->ip_id ? s->ip_id : 0xbeef);
		put16(l3 + 6, s->frag);
		l3[8] = s->ttl ? s->ttl : 64;
		l3[9] = proto;
		memcpy(l3 + 12, src, 4);
		memcpy(l3 + 16, dst, 4);
		memset(l3 + 20, 1 /* NOP */, s->ip_opts_len);
		put16(l3 + 10, pkt_csum(l3, hdr, 0));
	}
	p->len = l2 + l3len;
	return 0;
}

int pkt_build_icmp(struct pkt *p, const struct pkt_spec *spec, __u8 type, __u8 code, __u32 rest,
		   const __u8 *body, size_t body_len)
{
	struct pkt_spec s = *spec;
	size_t l3, l4, len = 8 + body_len;
	__u8 *ic;
	__u32 sum = 0;

	s.proto = s.family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	s.payload_len = len;
	if (pkt_build(p, &s))
		return -1;
	l3 = pkt_l3_off(p);
	l4 = l3 + (s.family == 6 ? 40 + (s.v6_ext_present ? 8 : 0) : 20 + s.ip_opts_len);
	ic = p->data + l4;
	ic[0] = type;
	ic[1] = code;
	put16(ic + 2, 0);
	put16(ic + 4, (__u16)(rest >> 16));
	put16(ic + 6, (__u16)rest);
	memcpy(ic + 8, body, body_len);
	if (s.family == 6) /* RFC 8200 8.1: source, destination, length, next header */
		sum = sum_bytes(p->data + l3 + 8, 32) + (__u32)len + IPPROTO_ICMPV6;
	put16(ic + 2, pkt_csum(ic, len, sum));
	return 0;
}

void pkt_set_ipv4_id(struct pkt *p, __u16 id)
{
	__u8 *l3 = p->data + pkt_l3_off(p);

	put16(l3 + 4, id);
	put16(l3 + 10, 0);
	put16(l3 + 10, pkt_csum(l3, (size_t)(l3[0] & 15) * 4, 0));
}

void pkt_swap_macs(struct pkt *p)
{
	__u8 tmp[6];

	memcpy(tmp, p->data, 6);
	memcpy(p->data, p->data + 6, 6);
	memcpy(p->data + 6, tmp, 6);
}

int pkt_add_hint(struct pkt *p, const char *hint)
{
	size_t l3 = pkt_l3_off(p), olen, hlen;
	__u8 h[24] = {0}, *ip = p->data + l3;

	if ((ip[0] >> 4) == 4) {
		olen = 20;
		hlen = 8;
		h[0] = 0x1e;
		h[1] = 8;
		if (inet_pton(AF_INET, hint, h + 4) != 1)
			return -1;
	} else {
		olen = 40;
		hlen = 24;
		h[0] = ip[6]; /* the tunnel's protocol moves here */
		h[1] = 2;
		h[2] = 0x1e;
		h[3] = 16;
		if (inet_pton(AF_INET6, hint, h + 4) != 1)
			return -1;
		h[20] = 1; /* PadN, 2 bytes of zeros */
		h[21] = 2;
	}
	if (p->len + hlen > sizeof(p->data))
		return -1;
	memmove(ip + olen + hlen, ip + olen, p->len - l3 - olen);
	memcpy(ip + olen, h, hlen);
	p->len += hlen;
	if (olen == 20) {
		__u16 tot = (__u16)((ip[2] << 8 | ip[3]) + hlen), c;

		ip[0] = 0x47;
		ip[2] = tot >> 8;
		ip[3] = tot & 0xff;
		ip[10] = ip[11] = 0;
		c = pkt_csum(ip, 28, 0);
		ip[10] = c >> 8;
		ip[11] = c & 0xff;
	} else {
		__u16 pl = (__u16)((ip[4] << 8 | ip[5]) + hlen);

		ip[4] = pl >> 8;
		ip[5] = pl & 0xff;
		ip[6] = 60;
	}
	return 0;
}

int pkt_encap(struct pkt *p, int outer_family, const char *src, const char *dst,
	      __u32 flow_label, const __u8 *smac, const __u8 *dmac)
{
	size_t l2 = pkt_l3_off(p);
	size_t olen = outer_family == 6 ? 40 : 20;
	__u8 *in = p->data + l2, o[40] = {0};
	int inner6 = (in[0] >> 4) == 6;
	__u16 inner_len = inner6 ? get16(in + 4) + 40 : get16(in + 2);
	__u8 tos = inner6 ? (__u8)((in[0] << 4) | (in[1] >> 4)) : in[1];
	__u8 proto = inner6 ? IPPROTO_IPV6 : IPPROTO_IPIP;

	if (p->len + olen > PKT_MAX)
		return -1;
	if (outer_family == 6) {
		__u32 vtf = 6U << 28 | (__u32)tos << 20 | (flow_label & 0xfffff);

		o[0] = vtf >> 24;
		o[1] = (vtf >> 16) & 0xff;
		o[2] = (vtf >> 8) & 0xff;
		o[3] = vtf & 0xff;
		put16(o + 4, inner_len);
		o[6] = proto;
		o[7] = 64;
		if (inet_pton(AF_INET6, src, o + 8) != 1 || inet_pton(AF_INET6, dst, o + 24) != 1)
			return -1;
	} else {
		o[0] = 0x45;
		o[1] = tos;
		put16(o + 2, (__u16)(inner_len + 20));
		if (!inner6) {
			memcpy(o + 4, in + 4, 2);     /* id */
			put16(o + 6, get16(in + 6) & 0x4000); /* DF only */
		} else {
			put16(o + 6, 0x4000);
		}
		o[8] = 64;
		o[9] = proto;
		if (inet_pton(AF_INET, src, o + 12) != 1 || inet_pton(AF_INET, dst, o + 16) != 1)
			return -1;
		put16(o + 10, pkt_csum(o, 20, 0));
	}
	memmove(p->data + l2 + olen, p->data + l2, p->len - l2);
	memcpy(p->data + l2, o, olen);
	memcpy(p->data, dmac, 6);
	memcpy(p->data + 6, smac, 6);
	put16(p->data + l2 - 2, outer_family == 6 ? 0x86dd : 0x0800);
	p->len += olen;
	return 0;
}

int pkt_diff(const char *what, const __u8 *got, size_t got_len, const __u8 *want,
	     size_t want_len)
{
	size_t n = got_len > want_len ? got_len : want_len;

	if (got_len == want_len && !memcmp(got, want, got_len))
		return 0;
	fprintf(stderr, "\n%s: output differs (got %zu bytes, want %zu)\n", what, got_len,
		want_len);
	for (size_t row = 0; row < n; row += 16) {
		int differs = 0;

		for (size_t i = row; i < row + 16 && i < n; i++)
			if (i >= got_len || i >= want_len || got[i] != want[i])
				differs = 1;
		if (!differs)
			continue;
		fprintf(stderr, "  %04zx got :", row);
		for (size_t i = row; i < row + 16 && i < n; i++)
			fprintf(stderr, i < got_len ? " %02x" : " --", i < got_len ? got[i] : 0);
		fprintf(stderr, "\n  %04zx want:", row);
		for (size_t i = row; i < row + 16 && i < n; i++)
			fprintf(stderr, i < want_len ? " %02x" : " --", i < want_len ? want[i] : 0);
		fprintf(stderr, "\n");
	}
	return 1;
}
