// SPDX-License-Identifier: GPL-2.0
/* model.c: the reference model of the data plane (model.h). Each function
 * is one documented rule; the comments cite where the rule is written down.
 * Deliberately plain byte-level C: offsets and lengths are computed from the
 * wire format, not from the BPF code's structures. Times never change a
 * verdict here: the fuzzer runs with the per-CPU budget off and timeouts
 * longer than any run, so no entry goes stale and none is skipped. */
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>

#include "model.h"

/* ---- a small hash table: the model's mirror of an LRU map --------------- */

#define TABLE_BITS 17
#define TABLE_SIZE (1U << TABLE_BITS)
#define KEY_LEN	   40

struct slot {
	__u8 state; /* 0 empty, 1 used, 2 deleted */
	__u8 key[KEY_LEN];
	__u32 backend_id;
	__u32 gen;    /* the backend's generation when it was chosen */
	__u32 hash;   /* fragments: the first fragment's flow hash */
	__u8 closing; /* connections: the client sent a FIN or RST */
};

struct table {
	struct slot *slots;
	size_t count, tombs;
};

struct model {
	struct model_cfg cfg;
	struct table tables[__MODEL_TABLES];
};

static __u32 key_hash(const __u8 *key)
{
	__u32 h = 2166136261U; /* FNV-1a: only spreads the model's own table */

	for (int i = 0; i < KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619U;
	return h;
}

static struct slot *table_find(struct table *t, const __u8 *key)
{
	for (__u32 i = key_hash(key), n = 0; n < TABLE_SIZE; i++, n++) {
		struct slot *s = &t->slots[i & (TABLE_SIZE - 1)];

		if (s->state == 0)
			return NULL;
		if (s->state == 1 && !memcmp(s->key, key, KEY_LEN))
			return s;
	}
	return NULL;
}

/* Insert or replace (BPF_ANY). The fuzzer flushes long before it fills. */
static void table_put(struct table *t, const __u8 *key, __u32 backend_id, __u32 gen, __u32 hash)
{
	struct slot *s = table_find(t, key);

	for (__u32 i = key_hash(key); !s; i++) {
		struct slot *c = &t->slots[i & (TABLE_SIZE - 1)];

		if (c->state != 1) {
			if (c->state == 2)
				t->tombs--;
			s = c;
			s->state = 1;
			memcpy(s->key, key, KEY_LEN);
			t->count++;
		}
	}
	s->backend_id = backend_id;
	s->gen = gen;
	s->hash = hash;
	s->closing = 0;
}

static void table_del(struct table *t, const __u8 *key)
{
	struct slot *s = table_find(t, key);

	if (s) {
		s->state = 2;
		t->count--;
		t->tombs++;
	}
}

size_t model_table_count(const struct model *m, enum model_table t)
{
	return m->tables[t].count + m->tables[t].tombs / 4;
}

int model_table_flush(struct model *m, enum model_table t,
		      int (*cb)(void *ctx, const void *key, size_t key_len), void *ctx)
{
	struct table *tb = &m->tables[t];
	int err = 0;

	for (__u32 i = 0; i < TABLE_SIZE; i++) {
		if (tb->slots[i].state == 1 && cb(ctx, tb->slots[i].key, KEY_LEN))
			err = -1;
	}
	memset(tb->slots, 0, TABLE_SIZE * sizeof(*tb->slots));
	tb->count = tb->tombs = 0;
	return err;
}

int model_new(const struct model_cfg *cfg, struct model **out)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return -1;
	m->cfg = *cfg;
	for (int t = 0; t < __MODEL_TABLES; t++) {
		m->tables[t].slots = calloc(TABLE_SIZE, sizeof(struct slot));
		if (!m->tables[t].slots) {
			model_free(m);
			return -1;
		}
	}
	*out = m;
	return 0;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (int t = 0; t < __MODEL_TABLES; t++)
		free(m->tables[t].slots);
	free(m);
}

/* ---- wire helpers -------------------------------------------------------- */

static __u16 rd16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static void wr16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* A 32-bit word as this host loads it from memory: the flow hash and the
 * outer source's vary bits work on addresses as loaded, not as numbers
 * (include/xlb.h: keys hold network order, the hash mixes the words). */
static __u32 ld32(const __u8 *p)
{
	__u32 v;

	memcpy(&v, p, 4);
	return v;
}

static __u16 ld16(const __u8 *p)
{
	__u16 v;

	memcpy(&v, p, 2);
	return v;
}

/* ---- what the parse learns (README: the data plane's rules) ------------ */

enum parse_rc {
	P_OK,
	P_NOT_IP,
	P_MALFORMED,
	P_UNSUPPORTED,
};

struct parsed {
	size_t l3_off; /* 14, or 18 behind one 802.1Q/802.1ad tag */
	int family;    /* 0 until the IP header is known valid, then 4 or 6 */
	__u8 src[16], dst[16];
	__u8 proto;	/* L4 protocol (a fragment: the fragmented protocol) */
	__u8 ports[4];	/* source and destination port as on the wire */
	size_t l3_len;	/* the IP packet's length as its header declares it */
	size_t l4_off;	/* from the frame's start */
	size_t room;	/* bytes of the IP packet from l4_off on */
	__u8 tos;	/* TOS / traffic class */
	__u8 id[2];	/* IPv4 identification as on the wire */
	int df;		/* IPv4 DF (IPv6: never fragmented in flight, so set) */
	__u8 tcp_flags; /* TCP header byte 13; UDP 0 */
	int fragment;	/* IPv4 MF or offset; IPv6 a fragment header */
	size_t fh_off;	/* IPv6: the fragment header's offset */
};

static void set_verdict(struct model_result *r, int action, enum xlb_stat reason)
{
	r->action = action;
	r->reason = reason;
}

/* An address is "a VIP address" when any VIP (any port, protocol) is on it. */
static int is_vip_addr(const struct model *m, const struct parsed *p)
{
	size_t alen = p->family == 6 ? 16 : 4;

	for (size_t i = 0; i < m->cfg.n_vips; i++) {
		const struct model_vip *v = &m->cfg.vips[i];

		if (v->key.family == p->family && !memcmp(v->key.addr.bytes, p->dst, alen))
			return 1;
	}
	return 0;
}

/* Exact port first, then the all-ports VIP of the address. */
static const struct model_vip *find_vip(const struct model *m, const struct parsed *p)
{
	size_t alen = p->family == 6 ? 16 : 4;
	__u16 dport = ld16(p->ports + 2);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < m->cfg.n_vips; i++) {
			const struct model_vip *v = &m->cfg.vips[i];

			if (v->key.family == p->family && v->key.proto == p->proto &&
			    !memcmp(v->key.addr.bytes, p->dst, alen) &&
			    v->key.port == (pass ? 0 : dport))
				return v;
		}
	}
	return NULL;
}

/* README: what xlb does not fully parse goes to the kernel untouched and
 * counted by reason, unless its (valid) IP header is for a VIP address:
 * dropped, drop_vip_unhandled. A broken IP header always goes to the kernel. */
static void unhandled(const struct model *m, const struct parsed *p, enum xlb_stat reason,
		      struct model_result *r)
{
	if (p->family && is_vip_addr(m, p))
		set_verdict(r, XDP_DROP, XLB_STAT_DROP_VIP_UNHANDLED);
	else
		set_verdict(r, XDP_PASS, reason);
}

static enum xlb_stat reason_of(enum parse_rc rc)
{
	switch (rc) {
	case P_NOT_IP:
		return XLB_STAT_PASS_NOT_IP;
	case P_UNSUPPORTED:
		return XLB_STAT_PASS_UNSUPPORTED;
	default:
		return XLB_STAT_MALFORMED;
	}
}

/* Ethernet and at most one tag (802.1Q 0x8100 or 802.1ad 0x88a8). */
static enum parse_rc parse_l2(const __u8 *f, size_t len, struct parsed *p, __u16 *ethertype)
{
	if (len < 14)
		return P_MALFORMED;
	*ethertype = rd16(f + 12);
	p->l3_off = 14;
	if (*ethertype == 0x8100 || *ethertype == 0x88a8) {
		if (len < 18)
			return P_MALFORMED;
		*ethertype = rd16(f + 16);
		p->l3_off = 18;
	}
	return P_OK;
}

/* RFC 791: version 4, IHL >= 5, total length covering the header and inside
 * the frame (what follows it is trailer). */
static enum parse_rc parse_ipv4(const __u8 *f, size_t len, struct parsed *p)
{
	const __u8 *ip = f + p->l3_off;
	size_t hlen, tot;
	__u16 frag;

	if (len < p->l3_off + 20)
		return P_MALFORMED;
	hlen = (ip[0] & 0x0f) * 4;
	tot = rd16(ip + 2);
	if ((ip[0] >> 4) != 4 || hlen < 20 || tot < hlen || p->l3_off + tot > len)
		return P_MALFORMED;
	p->family = 4;
	memcpy(p->src, ip + 12, 4);
	memcpy(p->dst, ip + 16, 4);
	p->proto = ip[9];
	p->l3_len = tot;
	p->tos = ip[1];
	memcpy(p->id, ip + 4, 2);
	frag = rd16(ip + 6);
	p->df = !!(frag & 0x4000);
	p->fragment = !!(frag & 0x3fff); /* MF or an offset */
	p->l4_off = p->l3_off + hlen;
	p->room = tot - hlen;
	return P_OK;
}

/* RFC 8200: version 6, payload inside the frame; hop-by-hop (0) and
 * destination options (60) headers skipped, at most 4 of them, each whole
 * inside the packet; a fragment header (44) after them makes a fragment.
 * Routing, AH, ESP and anything else are not walked: unsupported. */
static enum parse_rc parse_ipv6(const __u8 *f, size_t len, struct parsed *p)
{
	const __u8 *ip = f + p->l3_off;
	size_t end, off;
	__u8 nh;

	if (len < p->l3_off + 40)
		return P_MALFORMED;
	end = p->l3_off + 40 + rd16(ip + 4);
	if ((ip[0] >> 4) != 6 || end > len)
		return P_MALFORMED;
	p->family = 6;
	memcpy(p->src, ip + 8, 16);
	memcpy(p->dst, ip + 24, 16);
	p->l3_len = end - p->l3_off;
	p->tos = (__u8)((ip[0] & 0x0f) << 4 | ip[1] >> 4);
	memset(p->id, 0, 2);
	p->df = 1;
	nh = ip[6];
	off = p->l3_off + 40;
	for (int i = 0; i < 4 && (nh == 0 || nh == 60); i++) {
		if (off + 2 > end || off + (f[off + 1] + 1) * 8 > end)
			return P_MALFORMED;
		nh = f[off];
		off += (f[off + 1] + 1) * 8;
	}
	if (nh == 44) {
		p->fragment = 1;
		p->fh_off = off;
		/* the fragment header: 8 bytes inside the packet */
		if (off + 8 > end)
			return P_MALFORMED;
		p->proto = f[off];
		p->l4_off = off + 8;
		p->room = end - p->l4_off;
		return P_OK;
	}
	p->proto = nh;
	p->l4_off = off;
	p->room = end - off;
	return P_OK;
}

/* TCP (data offset 5..15 words, inside the IP packet) and UDP (8 bytes,
 * its length from 8 to what the IP packet holds; a first fragment holds
 * only part of the datagram the UDP length counts, so there only >= 8). */
static enum parse_rc parse_ports(const __u8 *f, struct parsed *p, int first_fragment)
{
	const __u8 *l4 = f + p->l4_off;

	if (p->proto == 6) {
		size_t doff;

		if (p->room < 20)
			return P_MALFORMED;
		doff = (l4[12] >> 4) * 4;
		if (doff < 20 || doff > p->room)
			return P_MALFORMED;
		p->tcp_flags = l4[13];
	} else if (p->proto == 17) {
		size_t ulen;

		if (p->room < 8)
			return P_MALFORMED;
		ulen = rd16(l4 + 4);
		if (ulen < 8 || (!first_fragment && ulen > p->room))
			return P_MALFORMED;
		p->tcp_flags = 0;
	} else {
		return P_UNSUPPORTED;
	}
	memcpy(p->ports, l4, 4);
	return P_OK;
}

/* ---- flow hash and backend choice (docs/architecture.md) --------------- */

/* MurmurHash3 (x86, 32-bit) steps: one mix per 32-bit word, seed
 * XLB_HASH_SEED, the finaliser at the end. */
static __u32 rotl(__u32 x, int r)
{
	return x << r | x >> (32 - r);
}

static __u32 murmur_step(__u32 h, __u32 k)
{
	k = rotl(k * 0xcc9e2d51U, 15) * 0x1b873593U;
	h = rotl(h ^ k, 13);
	return h * 5 + 0xe6546b64U;
}

static __u32 murmur_fmix(__u32 h)
{
	h = (h ^ (h >> 16)) * 0x85ebca6bU;
	h = (h ^ (h >> 13)) * 0xc2b2ae35U;
	return h ^ (h >> 16);
}

/* The words: source address, destination address (1 word each for IPv4, 4
 * for IPv6), source port << 16 | destination port, protocol. */
static __u32 flow_hash(const struct parsed *p)
{
	int words = p->family == 6 ? 4 : 1;
	__u32 h = XLB_HASH_SEED;

	for (int i = 0; i < words; i++)
		h = murmur_step(h, ld32(p->src + 4 * i));
	for (int i = 0; i < words; i++)
		h = murmur_step(h, ld32(p->dst + 4 * i));
	h = murmur_step(h, (__u32)ld16(p->ports) << 16 | ld16(p->ports + 2));
	h = murmur_step(h, p->proto);
	return murmur_fmix(h);
}

/* Source-hash VIPs ("sh"): the client address only. */
static __u32 source_hash(const struct parsed *p)
{
	__u32 h = XLB_HASH_SEED;

	for (int i = 0; i < (p->family == 6 ? 4 : 1); i++)
		h = murmur_step(h, ld32(p->src + 4 * i));
	return murmur_fmix(h);
}

/* slot = (hash * M) >> 32; the slot's backend must exist and be this VIP's. */
static int ring_pick(const struct model *m, const struct model_vip *v, __u32 hash, __u32 *id)
{
	__u32 slot = (__u32)(((__u64)hash * m->cfg.ring_size) >> 32);

	if (!v->has_ring || m->cfg.ring(m->cfg.ring_ctx, v->id, slot, id))
		return -1;
	if (*id >= m->cfg.n_backends || !m->cfg.backends[*id].valid ||
	    m->cfg.backends[*id].vip_id != v->id)
		return -1;
	return 0;
}

/* A second chance's hint (docs/architecture.md): len bytes after the outer
 * header (0: none) naming addr, the previous ring's backend. */
struct hint {
	size_t len;
	__u8 addr[16];
};

/* A TCP packet neither SYN nor RST that no table knows, of a VIP whose
 * choice is a function of the flow (not rr/wrr/lc/wlc), whose previous ring
 * names at the same slot another backend, valid, of this VIP and of the
 * chosen one's family: it goes to the choice, hinted with the other. */
static int second_chance(const struct model *m, const struct parsed *p, const struct model_vip *v,
			 __u32 h, __u32 id, struct hint *hint)
{
	__u32 slot = (__u32)(((__u64)h * m->cfg.ring_size) >> 32), prev;
	const struct model_backend *pb, *be = &m->cfg.backends[id];

	if (p->proto != 6 || (p->tcp_flags & 0x06) ||
	    (v->flags & (XLB_VIP_F_IN_TURN | XLB_VIP_F_LEAST)))
		return 0;
	if (!m->cfg.prev_ring || m->cfg.prev_ring(m->cfg.ring_ctx, v->id, slot, &prev))
		return 0;
	if (prev == id || prev >= m->cfg.n_backends)
		return 0;
	pb = &m->cfg.backends[prev];
	if (!pb->valid || pb->vip_id != v->id || pb->family != be->family)
		return 0;
	hint->len = be->family == 6 ? XLB_HINT_LEN6 : XLB_HINT_LEN4;
	memcpy(hint->addr, pb->addr.bytes, 16);
	return 1;
}

static void flow_key(const struct parsed *p, __u8 *key)
{
	struct xlb_flow k;

	memset(&k, 0, sizeof(k));
	memcpy(&k.src, p->src, p->family == 6 ? 16 : 4);
	memcpy(&k.dst, p->dst, p->family == 6 ? 16 : 4);
	memcpy(&k.sport, p->ports, 2);
	memcpy(&k.dport, p->ports + 2, 2);
	k.proto = p->proto;
	k.family = p->family;
	memcpy(key, &k, KEY_LEN);
}

/* {source, destination, identification, protocol} names a datagram (RFC 791,
 * RFC 8200). The IPv4 identification is 16 bits, held in the key's 32. */
static void frag_key(const struct parsed *p, const __u8 *f, __u8 *key)
{
	struct xlb_frag_key k;

	memset(&k, 0, sizeof(k));
	memcpy(&k.src, p->src, p->family == 6 ? 16 : 4);
	memcpy(&k.dst, p->dst, p->family == 6 ? 16 : 4);
	if (p->family == 6)
		memcpy(&k.id, f + p->fh_off + 4, 4);
	else
		k.id = ld16(p->id);
	k.proto = p->proto;
	k.family = p->family;
	memcpy(key, &k, KEY_LEN);
}

/* ---- encapsulation (docs/architecture.md forward, README VLAN/trailer) -- */

static __u16 csum16(const __u8 *b, size_t len)
{
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(b + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The outer source: the configured address with its vary bits taken from
 * the flow hash (the last word for IPv6). */
static void outer_source(const struct model *m, int family, __u32 hash, __u8 *src)
{
	const struct xlb_config *c = &m->cfg.outer;
	__u32 w;

	if (family == 6) {
		memcpy(src, &c->src6, 16);
		w = (ld32(src + 12) & ~c->src6_vary) | (hash & c->src6_vary);
		memcpy(src + 12, &w, 4);
	} else {
		w = (c->src4 & ~c->src4_vary) | (hash & c->src4_vary);
		memcpy(src, &w, 4);
	}
}

/* Writes L2 (given MACs; a tag as received) + outer header + the IP packet,
 * cut to its declared length. */
static void encapsulate(const struct model *m, const __u8 *f, const struct parsed *p,
			const struct model_backend *be, __u32 hash, const __u8 *dmac,
			const __u8 *smac, const struct hint *hint, struct model_result *r)
{
	__u8 *o = r->out, src[16];
	size_t l2 = p->l3_off, hlen = hint ? hint->len : 0,
	       olen = (be->family == 6 ? 40 : 20) + hlen;
	__u8 inner = p->family == 6 ? 41 : 4;

	memcpy(o, dmac, 6);
	memcpy(o + 6, smac, 6);
	if (l2 == 18)
		memcpy(o + 12, f + 12, 4); /* TPID and TCI as received */
	wr16(o + l2 - 2, be->family == 6 ? 0x86dd : 0x0800);
	outer_source(m, be->family, hash, src);
	if (be->family == 6) {
		__u8 *h = o + l2;
		__u32 w = 6U << 28 | (__u32)p->tos << 20 | (hash & 0xfffff);

		h[0] = w >> 24;
		h[1] = (w >> 16) & 0xff;
		h[2] = (w >> 8) & 0xff;
		h[3] = w & 0xff;
		wr16(h + 4, (__u16)(p->l3_len + hlen));
		h[6] = inner;
		h[7] = XLB_ENCAP_TTL;
		memcpy(h + 8, src, 16);
		memcpy(h + 24, be->addr.bytes, 16);
		if (hlen) {
			/* destination options (60): the hint option, then PadN */
			__u8 *d = h + 40;

			h[6] = 60;
			d[0] = inner;
			d[1] = XLB_HINT_LEN6 / 8 - 1;
			d[2] = XLB_HINT_OPT6;
			d[3] = 16;
			memcpy(d + 4, hint->addr, 16);
			d[20] = 1;
			d[21] = 2;
			d[22] = 0;
			d[23] = 0;
		}
	} else {
		__u8 *h = o + l2;

		h[0] = (__u8)(0x40 | olen / 4);
		h[1] = p->tos;
		wr16(h + 2, (__u16)(p->l3_len + olen));
		memcpy(h + 4, p->id, 2);
		wr16(h + 6, p->df ? 0x4000 : 0);
		h[8] = XLB_ENCAP_TTL;
		h[9] = inner;
		wr16(h + 10, 0);
		memcpy(h + 12, src, 4);
		memcpy(h + 16, be->addr.bytes, 4);
		if (hlen) {
			/* one option: type, length, two zero bytes, the address */
			h[20] = XLB_HINT_OPT4;
			h[21] = XLB_HINT_LEN4;
			h[22] = 0;
			h[23] = 0;
			memcpy(h + 24, hint->addr, 4);
		}
		wr16(h + 10, csum16(h, olen));
	}
	memcpy(o + l2 + olen, f + p->l3_off, p->l3_len);
	r->out_len = l2 + olen + p->l3_len;
}

static int answer_too_big(const __u8 *f, const struct parsed *p, size_t mtu,
			  struct model_result *r);

/* Tagged frames: the kernel routes them (fib_pass), with the received MACs
 * and no MTU check here. Untagged: the backend's route decides: none, or
 * one that refuses, drops (fib_no_route, fib_unreachable); the outer packet
 * must fit the route's MTU, else the client is told (icmp_too_big) when
 * may_answer (not about an ICMP error) and it may be, or it is dropped
 * (too_big); then XDP_TX to a known neighbour on the receiving link,
 * redirect to one behind another interface given to xlb, else
 * encapsulated and passed for the kernel to route (fib_no_neigh: the
 * neighbour unknown; fib_pass: an interface not xlb's). */
static void forward(const struct model *m, const __u8 *f, const struct parsed *p, __u32 backend_id,
		    __u32 hash, int may_answer, const struct hint *hint, struct model_result *r)
{
	const struct model_backend *be = &m->cfg.backends[backend_id];
	size_t olen = (be->family == 6 ? 40 : 20) + (hint ? hint->len : 0);

	if (p->l3_off != 14) {
		set_verdict(r, XDP_PASS, XLB_STAT_FIB_PASS);
		encapsulate(m, f, p, be, hash, f, f + 6, hint, r);
		return;
	}
	if (be->route == MODEL_ROUTE_UNREACHABLE) {
		set_verdict(r, XDP_DROP, XLB_STAT_FIB_UNREACHABLE);
		return;
	}
	if (be->route == MODEL_ROUTE_NO_ROUTE) {
		set_verdict(r, XDP_DROP, XLB_STAT_FIB_NO_ROUTE);
		return;
	}
	if (p->l3_len + olen > be->mtu) {
		if (!may_answer || answer_too_big(f, p, be->mtu - olen, r))
			set_verdict(r, XDP_DROP, XLB_STAT_TOO_BIG);
		return;
	}
	switch (be->route) {
	case MODEL_ROUTE_NO_NEIGH:
		set_verdict(r, XDP_PASS, XLB_STAT_FIB_NO_NEIGH);
		encapsulate(m, f, p, be, hash, f, f + 6, hint, r);
		return;
	case MODEL_ROUTE_OTHER_DEV:
		set_verdict(r, XDP_PASS, XLB_STAT_FIB_PASS);
		encapsulate(m, f, p, be, hash, f, f + 6, hint, r);
		return;
	case MODEL_ROUTE_REDIRECT:
		set_verdict(r, XDP_REDIRECT, XLB_STAT_REDIRECT);
		break;
	default:
		set_verdict(r, XDP_TX, XLB_STAT_TX);
	}
	encapsulate(m, f, p, be, hash, be->dmac, be->smac, hint, r);
}

/* ---- the connection tables (README Protection, bpf/conns.bpf.h) -------- */

/* An entry names the backend it chose while that backend is valid, of the
 * same generation (not a reused id) and of this VIP. */
static int entry_usable(const struct model *m, const struct model_vip *v, const struct slot *s)
{
	const struct model_backend *be;

	if (s->backend_id >= m->cfg.n_backends)
		return 0;
	be = &m->cfg.backends[s->backend_id];
	return be->valid && be->gen == s->gen && be->vip_id == v->id;
}

/* A packet that opens a flow: a TCP SYN without ACK or RST, any UDP. */
static int opens_flow(const struct parsed *p)
{
	return p->proto != 6 || (p->tcp_flags & 0x16) == 0x02;
}

/* Established table first, then the new-flow table (whose entry moves to
 * the established one on a packet that is neither SYN nor RST), else the
 * ring, recorded in the new-flow table unless it is a RST. An entry that is
 * no longer usable is stale: the flow re-hashes and the entry, in whichever
 * table it is, is rewritten with the ring's choice. A client's FIN or RST
 * marks its flow's entry closing; a SYN that finds a closing entry opens a
 * new flow: stale too. A VIP with conntrack off uses the ring alone. Only
 * the flow's own packets (record) write the tables; an ICMP error about
 * the flow reads them. Returns -1 when there is no backend. */
static int choose_backend(struct model *m, const struct parsed *p, const struct model_vip *v,
			  __u32 hash, int record, __u32 *id, struct hint *hint,
			  struct model_result *r)
{
	__u8 key[KEY_LEN];
	struct slot *s, *stale = NULL;
	__u32 h = v->flags & XLB_VIP_F_SRC_HASH ? source_hash(p) : hash;
	int closes = p->proto == 6 && (p->tcp_flags & 0x05);

	if (v->flags & XLB_VIP_F_NO_CONNTRACK)
		return ring_pick(m, v, h, id);
	flow_key(p, key);
	s = table_find(&m->tables[MODEL_CONNS], key);
	if (s && entry_usable(m, v, s) && !(s->closing && opens_flow(p))) {
		r->events[XLB_STAT_CONN_HIT]++;
		*id = s->backend_id;
		if (record && closes)
			s->closing = 1;
		return 0;
	}
	if (s) {
		stale = s;
		r->events[XLB_STAT_CONN_STALE]++;
	} else {
		s = table_find(&m->tables[MODEL_CONNS_NEW], key);
		if (s && entry_usable(m, v, s) && !(s->closing && opens_flow(p))) {
			r->events[XLB_STAT_CONN_HIT]++;
			*id = s->backend_id;
			if (record && closes)
				s->closing = 1;
			if (record && !(p->tcp_flags & 0x06)) {
				__u32 gen = s->gen;
				__u8 closing = s->closing;

				table_del(&m->tables[MODEL_CONNS_NEW], key);
				table_put(&m->tables[MODEL_CONNS], key, *id, gen, 0);
				table_find(&m->tables[MODEL_CONNS], key)->closing = closing;
				r->events[XLB_STAT_CONN_PROMOTE]++;
			}
			return 0;
		}
		if (s) {
			stale = s;
			r->events[XLB_STAT_CONN_STALE]++;
		}
	}
	r->events[XLB_STAT_CONN_MISS]++;
	if (ring_pick(m, v, h, id))
		return -1;
	if (!record)
		return 0;
	/* hinted: not recorded, so that the flow's next packets are hinted too */
	if (second_chance(m, p, v, h, *id, hint)) {
		r->events[XLB_STAT_SECOND_CHANCE]++;
		return 0;
	}
	if (stale) {
		stale->backend_id = *id;
		stale->gen = m->cfg.backends[*id].gen;
		stale->closing = closes;
	} else if (!(p->tcp_flags & 0x04)) {
		table_put(&m->tables[MODEL_CONNS_NEW], key, *id, m->cfg.backends[*id].gen, 0);
		table_find(&m->tables[MODEL_CONNS_NEW], key)->closing = closes;
		r->events[XLB_STAT_CONN_INSERT]++;
	}
	return 0;
}

/* A VIP's packet (or a datagram's first fragment, which also records where
 * its datagram goes) from backend choice to the frame that leaves. */
static void balance(struct model *m, const __u8 *f, const struct parsed *p,
		    const struct model_vip *v, int first_fragment, struct model_result *r)
{
	__u32 hash = flow_hash(p), id;
	struct hint hint = {0};

	if (choose_backend(m, p, v, hash, 1, &id, &hint, r)) {
		set_verdict(r, XDP_DROP, XLB_STAT_NO_BACKEND);
		return;
	}
	if (first_fragment) {
		__u8 key[KEY_LEN];

		frag_key(p, f, key);
		table_put(&m->tables[MODEL_FRAGS], key, id, m->cfg.backends[id].gen, hash);
		r->events[XLB_STAT_FRAG_FIRST]++;
		/* no hint: the datagram's later fragments would go without it */
		hint.len = 0;
	}
	forward(m, f, p, id, hash, 1, &hint, r);
}

/* ---- ICMP (one place: the rules for ICMP and ICMPv6 frames) ------------- */

/* RFC 1071 sum of len bytes (an odd last byte padded), not yet folded. */
static __u32 sum16(__u32 sum, const __u8 *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(b + i);
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	return sum;
}

static __u16 fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* RFC 1624 eqn. 3: a checksum after one 16-bit word changed m -> m'. */
static void csum_update(__u8 *field, __u16 old_word, __u16 new_word)
{
	__u32 sum = (__u16)~rd16(field);

	sum += (__u16)~old_word;
	sum += new_word;
	wr16(field, fold(sum));
}

/* Where an error may go at all (RFC 1812 4.3.2.7, RFC 4443 2.4 (e)): not
 * to an unspecified, loopback, multicast or broadcast source. */
static int unicast_source(const struct parsed *p)
{
	static const __u8 zero[16];

	if (p->family == 4) {
		return memcmp(p->src, zero, 4) && p->src[0] != 127 && (p->src[0] >> 4) != 0xe &&
		       !(p->src[0] == 255 && p->src[1] == 255 && p->src[2] == 255 &&
			 p->src[3] == 255);
	}
	if (p->src[0] == 0xff)
		return 0;
	return memcmp(p->src, zero, 15) || (p->src[15] != 0 && p->src[15] != 1);
}

/* README: a packet too big for the route once encapsulated gets, back to
 * its client from the VIP, IPv4 "fragmentation needed" (DF or not) with
 * next-hop MTU = route MTU - outer header (at least 68), quoting up to 576
 * bytes in all; IPv6 "packet too big" with max(1280, MTU - outer), up to
 * 1280 bytes. mtu: the route's minus the outer header. Returns 0 when
 * answered, -1 when it may not be. The rate limit is the fuzzer's to keep
 * out of the way (it refills the bucket). */
static int answer_too_big(const __u8 *f, const struct parsed *p, size_t mtu, struct model_result *r)
{
	size_t hl = p->family == 6 ? 40 : 20;
	size_t quote = p->l3_len, max = p->family == 6 ? 1280 : 576;
	__u8 *o = r->out, *ip = o + 14, *ic = ip + hl;

	if (p->l3_off != 14 || !unicast_source(p))
		return -1;
	if (quote > max - hl - 8)
		quote = max - hl - 8;
	memcpy(o, f + 6, 6);
	memcpy(o + 6, f, 6);
	wr16(o + 12, p->family == 6 ? 0x86dd : 0x0800);
	memmove(ic + 8, f + 14, quote);
	memset(ic, 0, 8);
	if (p->family == 4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[1] = 0xc0; /* internetwork control (RFC 1812 4.3.2.5) */
		wr16(ip + 2, (__u16)(28 + quote));
		ip[8] = 64;
		ip[9] = 1;
		memcpy(ip + 12, p->dst, 4);
		memcpy(ip + 16, p->src, 4);
		wr16(ip + 10, csum16(ip, 20));
		ic[0] = 3;
		ic[1] = 4;
		wr16(ic + 6, (__u16)(mtu < 68 ? 68 : mtu));
		wr16(ic + 2, fold(sum16(0, ic, 8 + quote)));
	} else {
		__u32 sum;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		wr16(ip + 4, (__u16)(8 + quote));
		ip[6] = 58;
		ip[7] = 64;
		memcpy(ip + 8, p->dst, 16);
		memcpy(ip + 24, p->src, 16);
		ic[0] = 2;
		mtu = mtu < 1280 ? 1280 : mtu;
		ic[4] = (__u8)(mtu >> 24), ic[5] = (__u8)(mtu >> 16);
		ic[6] = (__u8)(mtu >> 8), ic[7] = (__u8)mtu;
		sum = sum16(0, ip + 8, 32) + (__u32)(8 + quote) + 58; /* pseudo-header */
		wr16(ic + 2, fold(sum16(sum, ic, 8 + quote)));
	}
	r->out_len = 14 + hl + 8 + quote;
	set_verdict(r, XDP_TX, XLB_STAT_ICMP_TOO_BIG);
	return 0;
}

/* An echo request (type 8 / 128, code 0) without IPv4 options or IPv6
 * extension headers is answered in place: addresses and MACs swapped, TTL
 * or hop limit 64, type 0 / 129, checksums updated incrementally; a
 * trailer and a tag stay as received. Returns 0 when answered. */
static int echo_reply(const __u8 *f, const struct parsed *p, struct model_result *r)
{
	__u8 *o = r->out, *ip = o + p->l3_off, *ic = o + p->l4_off, tmp[16];
	size_t alen = p->family == 6 ? 16 : 4;
	size_t hl = p->family == 6 ? 40 : 20;

	(void)f;
	if (p->l4_off != p->l3_off + hl || p->l3_len < hl + 8)
		return -1;
	if (p->family == 4 ? (ic[0] != 8 || ic[1]) : (ic[0] != 128 || ic[1]))
		return -1;
	memcpy(tmp, p->src, alen);
	memcpy(ip + (p->family == 6 ? 8 : 12), p->dst, alen);
	memcpy(ip + (p->family == 6 ? 24 : 16), tmp, alen);
	if (p->family == 4) {
		__u16 old = rd16(ip + 8);

		ip[8] = 64;
		csum_update(ip + 10, old, rd16(ip + 8));
		ic[0] = 0;
		csum_update(ic + 2, 0x0800, 0x0000);
	} else {
		ip[7] = 64;
		ic[0] = 129;
		csum_update(ic + 2, 0x8000, 0x8100);
	}
	memcpy(tmp, o, 6);
	memcpy(o, o + 6, 6);
	memcpy(o + 6, tmp, 6);
	set_verdict(r, XDP_TX, XLB_STAT_ICMP_ECHO_REPLY);
	return 0;
}

/* The flow an error is about: IPv4 destination unreachable, time exceeded,
 * parameter problem (3, 11, 12), ICMPv6 destination unreachable, packet
 * too big, time exceeded (1, 2, 3), quoting an IP header of the same
 * family (IPv4: IHL >= 5, not a later fragment; IPv6: no extension
 * headers) of TCP or UDP and the 8 bytes after it (RFC 792), all inside
 * the ICMP packet. The key is the flow's own direction: quoted destination
 * -> quoted source, ports swapped. Returns 0 with *q filled. */
static int error_flow(const __u8 *f, const struct parsed *p, struct parsed *q)
{
	size_t end = p->l3_off + p->l3_len, qoff = p->l4_off + 8, ports;
	const __u8 *ic = f + p->l4_off, *qip = f + qoff;
	size_t alen = p->family == 6 ? 16 : 4;

	/* the data plane reads no deeper than 1024 bytes into a frame for this */
	if (p->l4_off > 1024)
		return -1;
	*q = *p;
	if (p->family == 4) {
		if (qoff + 20 > end || (ic[0] != 3 && ic[0] != 11 && ic[0] != 12) ||
		    (qip[0] >> 4) != 4 || (qip[0] & 0x0f) < 5 || (qip[9] != 6 && qip[9] != 17) ||
		    (rd16(qip + 6) & 0x1fff))
			return -1;
		q->proto = qip[9];
		memcpy(q->src, qip + 16, 4);
		memcpy(q->dst, qip + 12, 4);
		ports = qoff + (qip[0] & 0x0f) * 4;
	} else {
		if (qoff + 40 > end || (ic[0] != 1 && ic[0] != 2 && ic[0] != 3) ||
		    (qip[0] >> 4) != 6 || (qip[6] != 6 && qip[6] != 17))
			return -1;
		q->proto = qip[6];
		memcpy(q->src, qip + 24, 16);
		memcpy(q->dst, qip + 8, 16);
		ports = qoff + 40;
	}
	(void)alen;
	if (ports + 8 > end || ports > 1024)
		return -1;
	memcpy(q->ports, f + ports + 2, 2);
	memcpy(q->ports + 2, f + ports, 2);
	q->tcp_flags = 0;
	return 0;
}

/* ICMP (IPv4 protocol 1) and ICMPv6 (next header 58), unfragmented. To an
 * address no VIP is on: the kernel's (pass_unsupported). To a VIP address:
 * an echo request is answered; an error about a VIP flow goes, whole and
 * encapsulated, to the flow's backend as its own packets would (its
 * connection entry, else the ring; it records nothing, being no packet of
 * the flow), never answered itself when too big (RFC 1122 3.2.2); anything
 * else is dropped
 * (drop_vip_unhandled). */
static void model_icmp(struct model *m, const __u8 *f, const struct parsed *p,
		       struct model_result *r)
{
	const struct model_vip *v;
	struct parsed q;
	__u32 hash, id;

	if (!is_vip_addr(m, p)) {
		set_verdict(r, XDP_PASS, XLB_STAT_PASS_UNSUPPORTED);
		return;
	}
	if (!echo_reply(f, p, r))
		return;
	if (error_flow(f, p, &q) || !(v = find_vip(m, &q))) {
		set_verdict(r, XDP_DROP, XLB_STAT_DROP_VIP_UNHANDLED);
		return;
	}
	hash = flow_hash(&q);
	if (choose_backend(m, &q, v, hash, 0, &id, NULL, r)) {
		set_verdict(r, XDP_DROP, XLB_STAT_NO_BACKEND);
		return;
	}
	r->events[XLB_STAT_ICMP_ERROR_FWD]++;
	forward(m, f, &q, id, hash, 0, NULL, r);
}

/* ---- fragments (bpf/frag.bpf.h's rule, README) ------------------------- */

/* The first fragment (offset 0) carries the ports and is balanced as any
 * packet, its whole L4 header inside it (RFC 1858, RFC 8200); later ones go
 * where their datagram's first went, or are dropped (frag_miss) when for a
 * VIP address and unknown, else the kernel's (fragment). */
static void model_fragment(struct model *m, const __u8 *f, struct parsed *p, struct model_result *r)
{
	int first;
	__u8 key[KEY_LEN];
	struct slot *s;

	if (p->family == 6)
		first = !(rd16(f + p->fh_off + 2) & 0xfff8);
	else
		first = !(rd16(f + p->l3_off + 6) & 0x1fff);
	memset(p->ports, 0, 4);
	if (first) {
		enum parse_rc rc = parse_ports(f, p, 1);
		const struct model_vip *v;

		if (rc != P_OK) {
			unhandled(m, p, reason_of(rc), r);
			return;
		}
		v = find_vip(m, p);
		if (!v) {
			unhandled(m, p, XLB_STAT_FRAGMENT, r);
			return;
		}
		balance(m, f, p, v, 1, r);
		return;
	}
	frag_key(p, f, key);
	s = table_find(&m->tables[MODEL_FRAGS], key);
	/* the entry holds while its backend is valid and not a reused id */
	if (s &&
	    (!m->cfg.backends[s->backend_id].valid || m->cfg.backends[s->backend_id].gen != s->gen))
		s = NULL;
	if (!s) {
		if (is_vip_addr(m, p))
			set_verdict(r, XDP_DROP, XLB_STAT_FRAG_MISS);
		else
			set_verdict(r, XDP_PASS, XLB_STAT_FRAGMENT);
		return;
	}
	r->events[XLB_STAT_FRAG_FOLLOW]++;
	forward(m, f, p, s->backend_id, s->hash, 1, NULL, r);
}

/* ---- the packet path --------------------------------------------------- */

void model_run(struct model *m, const __u8 *f, size_t len, struct model_result *r)
{
	struct parsed p;
	enum parse_rc rc;
	__u16 ethertype;
	const struct model_vip *v;

	memset(&p, 0, sizeof(p));
	memset(r->events, 0, sizeof(r->events));
	/* Untouched unless encapsulated. */
	memcpy(r->out, f, len);
	r->out_len = len;

	rc = parse_l2(f, len, &p, &ethertype);
	if (rc == P_OK) {
		if (ethertype == 0x0800)
			rc = parse_ipv4(f, len, &p);
		else if (ethertype == 0x86dd)
			rc = parse_ipv6(f, len, &p);
		else
			rc = P_NOT_IP;
	}
	if (rc != P_OK) {
		unhandled(m, &p, reason_of(rc), r);
		return;
	}
	if (p.fragment) {
		model_fragment(m, f, &p, r);
		return;
	}
	if ((p.family == 4 && p.proto == 1) || (p.family == 6 && p.proto == 58)) {
		model_icmp(m, f, &p, r);
		return;
	}
	rc = parse_ports(f, &p, 0);
	if (rc != P_OK) {
		unhandled(m, &p, reason_of(rc), r);
		return;
	}
	v = find_vip(m, &p);
	if (!v) {
		unhandled(m, &p, XLB_STAT_PASS_NOT_VIP, r);
		return;
	}
	balance(m, f, &p, v, 0, r);
}
