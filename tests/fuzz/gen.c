// SPDX-License-Identifier: GPL-2.0
/* gen.c: the fuzzer's frame generator (gen.h). A frame is built valid from
 * a random description, then possibly mutated; a small pool of clients,
 * ports and fragment ids makes flows and datagrams repeat, so that
 * connection entries are hit, confirmed and followed. */
#include <string.h>

#include "gen.h"

struct rng {
	__u64 s;
};

/* splitmix64: tiny, and seeded per frame from (seed, index). */
static __u64 next(struct rng *r)
{
	__u64 z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 below(struct rng *r, __u32 n)
{
	return n ? (__u32)(next(r) % n) : 0;
}

static int chance(struct rng *r, __u32 percent)
{
	return below(r, 100) < percent;
}

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void fill(struct rng *r, __u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (__u8)next(r);
}

/* What a frame is to be, before it is written. */
struct spec {
	int family;
	__u8 src[16], dst[16];
	__u8 proto; /* L4 (or ICMP 1/58, or anything) */
	__u16 sport, dport;
	__u8 tcp_flags;
	size_t payload;
	int vlan; /* 0, 1 tag, 2 tags */
	__u16 tpid;
	__u8 tos;
	int df;
	__u16 ip_id;
	size_t ip_opts; /* IPv4 option bytes, multiple of 4 */
	int n_ext;	/* IPv6 extension headers before L4 */
	__u8 ext_type[6];
	__u8 ext_len[6];
	size_t tcp_opts; /* TCP option bytes, multiple of 4 */
	int frag;	 /* 0 none, 1 first, 2 later */
	int frag_more;
	__u16 frag_off8; /* offset in 8-byte units (later fragments) */
	__u32 frag_id;
	__u16 udp_len_extra; /* first fragments: the datagram is longer */
	int icmp;	     /* ICMP type to build (embedded packet for errors) */
	size_t quote_opts;   /* IPv4 option bytes of the quoted header */
	size_t trailer;
};

/* Offsets of the fields the mutations aim at. */
struct layout {
	size_t l3, l4, len;
	int family;
	__u8 proto;
};

static void client_addr(struct rng *r, int family, __u8 *a)
{
	memset(a, 0, 16);
	if (family == 4) {
		a[0] = 198, a[1] = 18, a[2] = 1, a[3] = (__u8)below(r, 16);
	} else {
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[5] = 1;
		a[15] = (__u8)below(r, 16);
	}
}

/* An address no VIP is on (or, rarely, anything at all). */
static void other_addr(struct rng *r, int family, __u8 *a)
{
	memset(a, 0, 16);
	if (chance(r, 10)) {
		fill(r, a, family == 4 ? 4 : 16);
		return;
	}
	if (family == 4) {
		a[0] = 198, a[1] = 18, a[2] = chance(r, 50) ? 0 : 200, a[3] = (__u8)below(r, 4);
	} else {
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[5] = 0x02;
		a[15] = (__u8)below(r, 4);
	}
}

/* Sources no error may go to, and their neighbours (RFC 1812 4.3.2.7). */
static void special_addr(struct rng *r, int family, __u8 *a)
{
	static const __u8 v4[][4] = {{0, 0, 0, 0},	   {127, 0, 0, 1}, {224, 0, 0, 1},
				     {239, 1, 2, 3},	   {240, 0, 0, 1}, {255, 255, 255, 255},
				     {255, 255, 255, 254}, {0, 0, 0, 1},   {126, 255, 255, 255}};
	__u32 i = below(r, 9);

	memset(a, 0, 16);
	if (family == 4) {
		memcpy(a, v4[i], 4);
		return;
	}
	if (i < 3) {
		a[15] = (__u8)i; /* ::, ::1, ::2 */
	} else if (i < 6) {
		a[0] = 0xff, a[1] = 0x02, a[15] = 1;
	} else {
		a[0] = 0xfe, a[1] = 0x80, a[15] = (__u8)i;
	}
}

static const __u8 tcp_flag_choices[] = {0x02, 0x10, 0x12, 0x04, 0x14, 0x11, 0x18, 0x10, 0x10};

static size_t payload_len(struct rng *r)
{
	__u32 roll = below(r, 100);

	if (roll < 60)
		return below(r, 200);
	if (roll < 85)
		return 200 + below(r, 1200);
	return 1400 + below(r, 200); /* around the 1500-byte MTU */
}

static void describe(struct rng *r, const struct gen_cfg *cfg, struct spec *s)
{
	__u32 kind = below(r, 100);
	const struct gen_target *t = &cfg->vips[below(r, (__u32)cfg->n_vips)];

	memset(s, 0, sizeof(*s));
	s->family = t->family;
	memcpy(s->dst, t->addr, 16);
	s->proto = t->proto;
	s->dport = t->port ? t->port : (__u16)(chance(r, 50) ? 80 : 1 + below(r, 65535));
	client_addr(r, s->family, s->src);
	if (chance(r, 3))
		special_addr(r, s->family, s->src);
	s->sport = (__u16)(40000 + below(r, 32));
	s->tcp_flags = tcp_flag_choices[below(r, sizeof(tcp_flag_choices))];
	if (chance(r, 5))
		s->tcp_flags = (__u8)next(r);
	s->payload = payload_len(r);
	s->tos = chance(r, 25) ? (__u8)next(r) : 0;
	s->df = chance(r, 50);
	s->ip_id = (__u16)next(r);
	if (kind < 60) {
		/* a VIP's flow, as above */
	} else if (kind < 68) {
		/* a VIP's address, another port or protocol */
		s->proto = chance(r, 50) ? 6 : 17;
		s->dport = (__u16)below(r, 65536);
		if (chance(r, 20))
			s->proto = (__u8)next(r);
	} else if (kind < 78) {
		other_addr(r, s->family, s->dst);
		s->proto = chance(r, 50) ? 6 : 17;
		if (chance(r, 10))
			s->proto = (__u8)next(r);
	} else if (kind < 86) {
		static const __u8 v4types[] = {8, 0, 3, 11, 12, 5, 13};
		static const __u8 v6types[] = {128, 129, 1, 2, 3, 4, 135};

		s->icmp = s->family == 4 ? v4types[below(r, sizeof(v4types))]
					 : v6types[below(r, sizeof(v6types))];
		s->proto = s->family == 4 ? 1 : 58;
		if (chance(r, 20))
			other_addr(r, s->family, s->dst);
		s->payload = chance(r, 10) ? payload_len(r) : below(r, 100);
		s->quote_opts = chance(r, 20) ? 4 * (1 + below(r, 2)) : 0;
		if (chance(r, 10)) {
			/* a fragmented echo request or error */
			s->frag = chance(r, 50) ? 1 : 2;
			s->frag_id = below(r, 8);
			s->ip_id = (__u16)s->frag_id;
			s->frag_more = s->frag == 1 ? 1 : chance(r, 50);
			s->frag_off8 = (__u16)(1 + below(r, 185));
		}
	} else {
		/* fragments: ids from a small pool so that later ones follow */
		s->frag = chance(r, 50) ? 1 : 2;
		s->frag_id = below(r, 8);
		s->ip_id = (__u16)s->frag_id;
		s->frag_more = s->frag == 1 ? 1 : chance(r, 50);
		s->frag_off8 = (__u16)(1 + below(r, 185));
		s->udp_len_extra = (__u16)below(r, 1500);
		if (chance(r, 10))
			other_addr(r, s->family, s->dst);
		if (chance(r, 5))
			s->proto = (__u8)(chance(r, 50) ? 1 : next(r));
		s->df = chance(r, 5);
		/* a first fragment's ports must be the flow's, a pool too */
	}
	if (chance(r, 12)) {
		s->vlan = chance(r, 85) ? 1 : 2;
		s->tpid = chance(r, 70) ? 0x8100 : 0x88a8;
	}
	if (s->family == 4 && chance(r, 15))
		s->ip_opts = 4 * (1 + below(r, 10));
	if (s->family == 6 && chance(r, 15)) {
		s->n_ext = 1 + (int)below(r, 5);
		for (int i = 0; i < s->n_ext; i++) {
			s->ext_type[i] = chance(r, 50) ? 0 : 60;
			if (chance(r, 5))
				s->ext_type[i] = chance(r, 50) ? 43 : 51; /* routing, AH */
			s->ext_len[i] = (__u8)(chance(r, 3) ? 100 + below(r, 40) : below(r, 3));
		}
	}
	if (s->proto == 6 && chance(r, 20))
		s->tcp_opts = 4 * (1 + below(r, 10));
	if (chance(r, 10))
		s->trailer = 1 + below(r, 64);
}

/* L4 bytes after the IP header(s): TCP, UDP, ICMP or raw. */
static size_t write_l4(struct rng *r, const struct spec *s, __u8 *p, size_t room)
{
	size_t n = 0;

	if (s->icmp && room >= 8 + 60 + 8) {
		size_t inner_l3 = s->family == 4 ? 20 + s->quote_opts : 40;

		p[0] = (__u8)s->icmp;
		p[1] = (__u8)below(r, 5);
		fill(r, p + 2, 6);
		n = 8;
		/* errors embed the packet they are about: VIP -> client */
		if (s->icmp == 3 || s->icmp == 11 || s->icmp == 12 || s->icmp == 1 ||
		    s->icmp == 2 || s->icmp == 4 || s->icmp == 5) {
			__u8 *e = p + n;

			memset(e, 0, inner_l3 + 8);
			if (s->family == 4) {
				e[0] = (__u8)(0x40 | inner_l3 / 4);
				put16(e + 2, (__u16)(20 + 8 + below(r, 1500)));
				e[8] = 64;
				e[9] = chance(r, 50) ? 6 : 17;
				memcpy(e + 12, s->dst, 4);
				memcpy(e + 16, s->src, 4);
			} else {
				e[0] = 0x60;
				put16(e + 4, (__u16)(8 + below(r, 1500)));
				e[6] = chance(r, 50) ? 6 : 17;
				e[7] = 64;
				memcpy(e + 8, s->dst, 16);
				memcpy(e + 24, s->src, 16);
			}
			put16(e + inner_l3, s->dport);
			put16(e + inner_l3 + 2, s->sport);
			fill(r, e + inner_l3 + 4, 4);
			n += inner_l3 + 8;
		}
	} else if (s->proto == 6 && !(s->frag == 2)) {
		size_t hl = 20 + s->tcp_opts;

		put16(p, s->sport);
		put16(p + 2, s->dport);
		fill(r, p + 4, 8);
		p[12] = (__u8)((hl / 4) << 4);
		p[13] = s->tcp_flags;
		fill(r, p + 14, 6);
		memset(p + 20, 1, s->tcp_opts); /* NOPs */
		n = hl;
	} else if (s->proto == 17 && !(s->frag == 2)) {
		put16(p, s->sport);
		put16(p + 2, s->dport);
		put16(p + 4, (__u16)(8 + s->payload + (s->frag == 1 ? s->udp_len_extra : 0)));
		fill(r, p + 6, 2);
		n = 8;
	}
	if (n + s->payload > room)
		return n > room ? room : n;
	fill(r, p + n, s->payload);
	return n + s->payload;
}

static size_t build(struct rng *r, const struct gen_cfg *cfg, const struct spec *s, __u8 *b,
		    struct layout *lay)
{
	size_t off = 12, l3, l4, len, ip_end_room;

	memcpy(b, cfg->lb_mac, 6);
	memcpy(b + 6, cfg->client_mac, 6);
	for (int i = 0; i < s->vlan; i++) {
		put16(b + off, i ? 0x8100 : s->tpid);
		put16(b + off + 2, (__u16)below(r, 4096));
		off += 4;
	}
	put16(b + off, s->family == 4 ? 0x0800 : 0x86dd);
	l3 = off + 2;
	lay->l3 = l3;
	lay->family = s->family;
	lay->proto = s->proto;
	if (s->family == 4) {
		__u8 *ip = b + l3;
		size_t hl = 20 + s->ip_opts;
		__u16 frag = s->df ? 0x4000 : 0;

		ip[0] = (__u8)(0x40 | hl / 4);
		ip[1] = s->tos;
		put16(ip + 4, s->ip_id);
		if (s->frag == 1)
			frag |= 0x2000;
		if (s->frag == 2)
			frag |= (s->frag_more ? 0x2000 : 0) | s->frag_off8;
		put16(ip + 6, frag);
		ip[8] = (__u8)(1 + below(r, 255));
		ip[9] = s->proto;
		fill(r, ip + 10, 2); /* xlb never checks the inner checksum */
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		for (size_t i = 0; i < s->ip_opts; i++)
			ip[20 + i] = chance(r, 90) ? 1 : (__u8)next(r);
		l4 = l3 + hl;
		ip_end_room = GEN_FRAME_MAX - 64 - l4;
		len = l4 + write_l4(r, s, b + l4, ip_end_room);
		put16(ip + 2, (__u16)(len - l3));
	} else {
		__u8 *ip = b + l3;
		__u32 w = 6U << 28 | (__u32)s->tos << 20 | (__u32)below(r, 1 << 20);
		__u8 *nh = ip + 6;

		ip[0] = w >> 24, ip[1] = (w >> 16) & 0xff, ip[2] = (w >> 8) & 0xff,
		ip[3] = w & 0xff;
		ip[7] = (__u8)(1 + below(r, 255));
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
		l4 = l3 + 40;
		for (int i = 0; i < s->n_ext; i++) {
			__u8 elen = s->ext_len[i];
			size_t el;

			if (l4 + (elen + 1) * 8 > GEN_FRAME_MAX - 256)
				elen = 0; /* the frame must hold it */
			el = (elen + 1) * 8;
			*nh = s->ext_type[i];
			memset(b + l4, 0, el);
			b[l4 + 1] = elen;
			if (s->ext_type[i] == 51) /* AH counts in 4-byte units minus 2 */
				b[l4 + 1] = (__u8)(el / 4 - 2);
			nh = b + l4;
			l4 += el;
		}
		if (s->frag) {
			__u16 fo = s->frag == 1 ? 1 : (__u16)(s->frag_off8 << 3 | s->frag_more);

			*nh = 44;
			b[l4] = 0;
			b[l4 + 1] = 0;
			put16(b + l4 + 2, fo);
			b[l4 + 4] = 0, b[l4 + 5] = 0, b[l4 + 6] = 0, b[l4 + 7] = (__u8)s->frag_id;
			nh = b + l4;
			l4 += 8;
		}
		*nh = s->proto;
		ip_end_room = GEN_FRAME_MAX - 64 - l4;
		len = l4 + write_l4(r, s, b + l4, ip_end_room);
		put16(ip + 4, (__u16)(len - l3 - 40));
	}
	lay->l4 = l4;
	if (s->trailer) {
		fill(r, b + len, s->trailer);
		len += s->trailer;
	}
	lay->len = len;
	return len;
}

/* One mutation: bit flips, bytes, header fields at edge values, cuts. */
static size_t mutate(struct rng *r, __u8 *b, size_t len, const struct layout *lay)
{
	__u32 what = below(r, 100);
	__u8 *ip = b + lay->l3;
	__u8 *l4 = b + lay->l4;
	static const __s16 deltas[] = {-64, -9, -8, -4, -2, -1, 1, 2, 4, 8, 9, 64};
	__s16 d = deltas[below(r, sizeof(deltas) / sizeof(deltas[0]))];

	if (what < 30) {
		size_t at = below(r, (__u32)(len < 96 ? len : 96));

		b[at] ^= (__u8)(1 << below(r, 8));
	} else if (what < 38) {
		b[below(r, (__u32)len)] = (__u8)next(r);
	} else if (what < 48 && lay->l3 + 8 <= len) {
		/* version / IHL / traffic class nibble */
		ip[0] = chance(r, 50) ? (__u8)((ip[0] & 0xf0) | below(r, 16))
				      : (__u8)((ip[0] & 0x0f) | below(r, 16) << 4);
	} else if (what < 60 && lay->l3 + 8 <= len) {
		/* total length / payload length */
		__u8 *f = ip + (lay->family == 4 ? 2 : 4);
		__u16 v = (__u16)(f[0] << 8 | f[1]);

		put16(f, chance(r, 20) ? (__u16)next(r) : (__u16)(v + d));
	} else if (what < 66 && lay->l3 + 10 <= len) {
		/* fragment field (IPv4) or next header (IPv6) */
		if (lay->family == 4)
			put16(ip + 6,
			      (__u16)(chance(r, 50) ? next(r) : (below(r, 2) << 13 | below(r, 3))));
		else
			ip[6] = chance(r, 50) ? (__u8)next(r) : (__u8)(chance(r, 50) ? 44 : 0);
	} else if (what < 70 && lay->l3 + 10 <= len && lay->family == 4) {
		ip[9] = chance(r, 50) ? (__u8)next(r) : (__u8)(chance(r, 50) ? 6 : 17);
	} else if (what < 78 && lay->l4 + 14 <= len) {
		/* TCP data offset / UDP length */
		if (lay->proto == 6)
			l4[12] = (__u8)(below(r, 16) << 4 | (l4[12] & 0x0f));
		else
			put16(l4 + 4, chance(r, 30) ? (__u16)below(r, 16)
						    : (__u16)((l4[4] << 8 | l4[5]) + d));
	} else if (what < 90) {
		/* truncation anywhere, more often inside the headers */
		size_t cut = chance(r, 50) ? below(r, (__u32)(lay->l4 + 24)) : below(r, (__u32)len);

		if (cut < len)
			len = cut;
	} else if (what < 95 && len + 64 <= GEN_FRAME_MAX) {
		size_t n = 1 + below(r, 64);

		fill(r, b + len, n);
		len += n;
	} else {
		/* the ethertype */
		static const __u16 types[] = {0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806, 0x88cc};

		put16(b + 12, types[below(r, sizeof(types) / sizeof(types[0]))]);
	}
	return len < GEN_FRAME_MIN ? GEN_FRAME_MIN : len;
}

size_t gen_frame(const struct gen_cfg *cfg, __u64 seed, __u64 index, __u8 *buf)
{
	struct rng r = {.s = seed * 0x2545f4914f6cdd1dULL ^ (index + 1) * 0x9e3779b97f4a7c15ULL};
	struct layout lay;
	struct spec s;
	size_t len;

	memset(buf, 0, GEN_FRAME_MAX);
	next(&r);
	if (chance(&r, 1)) {
		/* pure noise behind an Ethernet header */
		len = GEN_FRAME_MIN + below(&r, 200);
		fill(&r, buf, len);
		if (chance(&r, 50))
			put16(buf + 12, chance(&r, 50) ? 0x0800 : 0x86dd);
		return len;
	}
	describe(&r, cfg, &s);
	len = build(&r, cfg, &s, buf, &lay);
	if (chance(&r, 40)) {
		int n = 1 + (int)below(&r, 3);

		for (int i = 0; i < n; i++)
			len = mutate(&r, buf, len, &lay);
	}
	return len;
}
