/* SPDX-License-Identifier: GPL-2.0 */
/* xlb_hash.h: the flow hash and the ring slot it selects. Shared verbatim by
 * the XDP program and userspace (xlbctl lookup), so both pick the same
 * backend for the same flow. MurmurHash3's mixing steps over the words that
 * matter for the family: 4 words for IPv4, 10 for IPv6.
 */
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include "xlb.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u32 xlb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 xlb_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51U;
	k = xlb_rotl32(k, 15);
	k *= 0x1b873593U;
	h ^= k;
	h = xlb_rotl32(h, 13);
	return h * 5 + 0xe6546b64U;
}

static __always_inline __u32 xlb_hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bU;
	h ^= h >> 13;
	h *= 0xc2b2ae35U;
	h ^= h >> 16;
	return h;
}

/* Hash of the whole 5-tuple (default scheduler). */
static __always_inline __u32 xlb_hash_flow(const struct xlb_flow *f)
{
	__u32 h = XLB_HASH_SEED;
	__u32 ports = (__u32)f->sport << 16 | f->dport;

	if (f->family == XLB_AF_INET6) {
		h = xlb_hash_mix(h, f->src.v6[0]);
		h = xlb_hash_mix(h, f->src.v6[1]);
		h = xlb_hash_mix(h, f->src.v6[2]);
		h = xlb_hash_mix(h, f->src.v6[3]);
		h = xlb_hash_mix(h, f->dst.v6[0]);
		h = xlb_hash_mix(h, f->dst.v6[1]);
		h = xlb_hash_mix(h, f->dst.v6[2]);
		h = xlb_hash_mix(h, f->dst.v6[3]);
	} else {
		h = xlb_hash_mix(h, f->src.v4);
		h = xlb_hash_mix(h, f->dst.v4);
	}
	h = xlb_hash_mix(h, ports);
	h = xlb_hash_mix(h, f->proto);
	return xlb_hash_final(h);
}

/* Hash of the client address only (source-hash scheduler, "sh"). */
static __always_inline __u32 xlb_hash_source(const struct xlb_flow *f)
{
	__u32 h = XLB_HASH_SEED;

	if (f->family == XLB_AF_INET6) {
		h = xlb_hash_mix(h, f->src.v6[0]);
		h = xlb_hash_mix(h, f->src.v6[1]);
		h = xlb_hash_mix(h, f->src.v6[2]);
		h = xlb_hash_mix(h, f->src.v6[3]);
	} else {
		h = xlb_hash_mix(h, f->src.v4);
	}
	return xlb_hash_final(h);
}

/* An address's bit in xlb_novip: the address folded to 32 bits (IPv6: its
 * low 64 bits, where the VIP addresses of one prefix differ; two words, not
 * four, on the path of every IPv6 packet), then multiply-shift (Fibonacci
 * hashing, the top bits of the product). Shared by the data plane (the
 * packet's destination) and userspace (the VIPs'). */
static __always_inline __u32 xlb_novip_bit(const union xlb_addr *a, __u8 family)
{
	__u32 x = a->v4;

	if (family == XLB_AF_INET6)
		x = a->v6[2] ^ a->v6[3];
	return (x * 0x9e3779b1U) >> (32 - XLB_NOVIP_SHIFT);
}

/* Maps a 32-bit hash onto [0, ring_size) by multiply-shift (Lemire): as
 * uniform as a modulo and no division on the per-packet path. */
static __always_inline __u32 xlb_ring_slot(__u32 hash, __u32 ring_size)
{
	return (__u32)(((__u64)hash * ring_size) >> 32);
}

#endif /* XLB_HASH_H */
