// SPDX-License-Identifier: GPL-2.0
/* test_sequence.c: the rr and wrr sequences of user/sequence.c: order,
 * weight 0, smooth interleaving (the known answer of smooth weighted round
 * robin), proportions over a cycle, repetition over the ring. */
#include <errno.h>
#include <string.h>

#include "sequence.h"
#include "xlb_test.h"

#define M 251

static __u32 ring[M];

static void set(struct xlb_maglev_backend *b, size_t n, const __u32 *weights)
{
	memset(b, 0, n * sizeof(*b));
	for (size_t i = 0; i < n; i++) {
		b[i].family = XLB_AF_INET;
		b[i].addr.bytes[0] = 10;
		b[i].addr.bytes[3] = (__u8)(i + 1);
		b[i].weight = weights[i];
		b[i].id = 100 + (__u32)i;
	}
}

/* rr: in input order, weights ignored except 0, repeated over the ring. */
static void test_rr_order(void)
{
	static const __u32 w[] = {1, 0, 7, 3};
	struct xlb_maglev_backend b[4];
	static const __u32 want[] = {100, 102, 103};

	set(b, 4, w);
	CU_ASSERT_EQUAL_FATAL(xlb_sequence_build(b, 4, 0, M, ring), 0);
	for (__u32 s = 0; s < M; s++)
		CU_ASSERT_EQUAL(ring[s], want[s % 3]);
}

/* The known answer of smooth weighted round robin: 5,1,1 -> a a b a c a a. */
static void test_wrr_known_answer(void)
{
	static const __u32 w[] = {5, 1, 1};
	static const __u32 want[] = {100, 100, 101, 100, 102, 100, 100};
	struct xlb_maglev_backend b[3];

	set(b, 3, w);
	CU_ASSERT_EQUAL_FATAL(xlb_sequence_build(b, 3, 1, M, ring), 0);
	for (__u32 s = 0; s < M; s++)
		CU_ASSERT_EQUAL(ring[s], want[s % 7]);
}

/* 1:2:3:4 (and the same scaled by 1000: the gcd keeps the cycle short):
 * each backend its weight's slots in every cycle of 10, no backend twice
 * in a row where the weights leave room (interleaved, not in bursts). */
static void test_wrr_proportional(void)
{
	static const __u32 w1[] = {1, 2, 3, 4}, w1000[] = {1000, 2000, 3000, 4000};
	const __u32 *ws[] = {w1, w1000};
	struct xlb_maglev_backend b[4];

	for (int k = 0; k < 2; k++) {
		unsigned int count[4] = {0}, runs = 0;

		set(b, 4, ws[k]);
		CU_ASSERT_EQUAL_FATAL(xlb_sequence_build(b, 4, 1, M, ring), 0);
		for (__u32 s = 0; s < 10; s++) {
			CU_ASSERT_FATAL(ring[s] >= 100 && ring[s] < 104);
			count[ring[s] - 100]++;
			runs += s && ring[s] == ring[s - 1];
		}
		for (int i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(count[i], (unsigned int)i + 1);
		/* The heaviest (4 of 10) can always be kept apart. */
		CU_ASSERT_EQUAL(runs, 0);
		for (__u32 s = 10; s < M; s++)
			CU_ASSERT_EQUAL(ring[s], ring[s % 10]);
	}
}

/* A cycle longer than the ring is cut at the ring's size. */
static void test_wrr_long_cycle(void)
{
	static const __u32 w[] = {65535, 65534};
	struct xlb_maglev_backend b[2];
	unsigned int count[2] = {0};

	set(b, 2, w);
	CU_ASSERT_EQUAL_FATAL(xlb_sequence_build(b, 2, 1, M, ring), 0);
	for (__u32 s = 0; s < M; s++)
		count[ring[s] - 100]++;
	CU_ASSERT(count[0] >= M / 2 && count[1] >= M / 2 - 1);
}

static void test_errors(void)
{
	static const __u32 w[] = {0, 0};
	struct xlb_maglev_backend b[2];

	set(b, 2, w);
	memset(ring, 0xab, sizeof(ring));
	CU_ASSERT_EQUAL(xlb_sequence_build(b, 2, 0, M, ring), -ENOENT);
	CU_ASSERT_EQUAL(xlb_sequence_build(b, 2, 1, M, ring), -ENOENT);
	CU_ASSERT_EQUAL(xlb_sequence_build(b, 0, 1, M, ring), -ENOENT);
	CU_ASSERT_EQUAL(ring[0], 0xababababU);
}

XLB_SUITE(sequence, NULL, NULL, {"rr: in turn, weight 0 left out", test_rr_order},
	  {"wrr: smooth weighted round robin's known answer", test_wrr_known_answer},
	  {"wrr: 1:2:3:4 proportional and interleaved", test_wrr_proportional},
	  {"wrr: a cycle longer than the ring", test_wrr_long_cycle}, {"errors", test_errors});
