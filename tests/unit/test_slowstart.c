// SPDX-License-Identifier: GPL-2.0
/* test_slowstart.c: the ramp of slow start (slowstart.c): linear, never
 * falling, at least 1 while it ramps, the whole weight exactly at its end,
 * and the scale that keeps ring weights within XLB_MAX_WEIGHT. */
#include "slowstart.h"
#include "xlb.h"
#include "expect.h"
#include "xlb_test.h"

static void test_ramp_walk(void)
{
	static const __u32 fulls[] = {1, 2, 7, 1000, 65535};
	static const __u32 secs[] = {1, 6, 3600};

	for (size_t i = 0; i < sizeof(fulls) / sizeof(fulls[0]); i++)
		for (size_t j = 0; j < sizeof(secs) / sizeof(secs[0]); j++) {
			__u32 full = fulls[i], s = secs[j], prev = 0;
			__u64 end = (__u64)s * 1000, step = end / 997 ? end / 997 : 1;
			int mono = 1, floor1 = 1, capped = 1;

			for (__u64 t = 0; t < end; t += step) {
				__u32 w = xlb_slowstart_weight(full, s, t);

				mono &= w >= prev;
				floor1 &= w >= 1;
				capped &= w <= full;
				prev = w;
			}
			CU_ASSERT(mono);
			CU_ASSERT(floor1);
			CU_ASSERT(capped);
			/* Exactly the whole weight at the end and after, not one ms before
			 * (for weights fine enough to tell). */
			CU_ASSERT_EQUAL(xlb_slowstart_weight(full, s, end), full);
			CU_ASSERT_EQUAL(xlb_slowstart_weight(full, s, end + 12345), full);
			CU_ASSERT_EQUAL(xlb_slowstart_ramping(s, end - 1), 1);
			CU_ASSERT_EQUAL(xlb_slowstart_ramping(s, end), 0);
			if (full >= 1000)
				CU_ASSERT(xlb_slowstart_weight(full, s, end - 1) < full);
		}
}

static void test_ramp_values(void)
{
	/* Linear: a quarter, half, three quarters of the way. */
	expect_int("weight 1000 over 6 s", "at 0 ms: at least 1", xlb_slowstart_weight(1000, 6, 0),
		   1);
	expect_int("weight 1000 over 6 s", "at 1.5 s", xlb_slowstart_weight(1000, 6, 1500), 250);
	expect_int("weight 1000 over 6 s", "at 3 s", xlb_slowstart_weight(1000, 6, 3000), 500);
	expect_int("weight 1000 over 6 s", "at 4.5 s", xlb_slowstart_weight(1000, 6, 4500), 750);
	expect_int("weight 1000 over 6 s", "at 6 s", xlb_slowstart_weight(1000, 6, 6000), 1000);
	/* No ramp, or nothing to ramp. */
	expect_int("slow-start 0", "the whole weight at once", xlb_slowstart_weight(5, 0, 0), 5);
	expect_int("weight 0", "stays 0 (drained)", xlb_slowstart_weight(0, 6, 100), 0);
	expect_int("slow-start 0", "never ramping", xlb_slowstart_ramping(0, 0), 0);
	/* Largest inputs: no overflow. */
	expect_int("weight 65535 over 3600 s", "half way",
		   xlb_slowstart_weight(65535, XLB_SLOW_START_MAX, 1800000), 32767);
}

static void test_scale(void)
{
	expect_int("scale", "weights of 1: the finest step", xlb_slowstart_scale(1),
		   XLB_SLOW_START_SCALE);
	expect_int("scale", "weight 100: 655", xlb_slowstart_scale(100), 655);
	expect_int("scale", "weight 65535: 1", xlb_slowstart_scale(XLB_MAX_WEIGHT), 1);
	expect_int("scale", "no weight: 1", xlb_slowstart_scale(0), 1);
	for (__u32 w = 1; w <= XLB_MAX_WEIGHT; w += 97)
		CU_ASSERT((__u64)w * xlb_slowstart_scale(w) <= XLB_MAX_WEIGHT);
}

XLB_SUITE(slowstart, NULL, NULL, {"ramp: monotonic, >= 1, whole weight at the end", test_ramp_walk},
	  {"ramp: linear values, no ramp, no overflow", test_ramp_values},
	  {"scale: finest step within XLB_MAX_WEIGHT", test_scale});
