// SPDX-License-Identifier: GPL-2.0
/* test_pressure.c: entering and leaving connection-table pressure, one line
 * each, from conn_skip samples (user/pressure.c). */
#include <string.h>

#include "pressure.h"
#include "xlb_test.h"

static void test_enter_leave(void)
{
	struct xlb_pressure p = {0};
	char msg[512];
	long long t = 1000;

	/* The first sample is the baseline, however high. */
	CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 500, t, 10, msg, sizeof(msg)), XLB_PRESSURE_SAME);
	CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 500, t += 1000, 10, msg, sizeof(msg)),
			XLB_PRESSURE_SAME);
	CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 530, t += 1000, 10, msg, sizeof(msg)),
			XLB_PRESSURE_ENTER);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "30 new flows over the budget of 10"));
	/* Still skipping, then quiet: one line each way, not one a second. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(
		    xlb_pressure_sample(&p, 540 + (__u64)i, t += 1000, 10, msg, sizeof(msg)),
		    XLB_PRESSURE_SAME);
	for (int i = 0; i < 9; i++)
		CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 544, t += 1000, 10, msg, sizeof(msg)),
				XLB_PRESSURE_SAME);
	CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 544, t += 1000, 10, msg, sizeof(msg)),
			XLB_PRESSURE_LEAVE);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "after 5 s: 44 new flows"));
	CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 544, t += 1000, 10, msg, sizeof(msg)),
			XLB_PRESSURE_SAME);
	CU_ASSERT_EQUAL(msg[0], 0);
	CU_ASSERT_EQUAL(xlb_pressure_sample(&p, 545, t += 1000, 10, msg, sizeof(msg)),
			XLB_PRESSURE_ENTER);
}

XLB_SUITE(pressure, NULL, NULL,
	  {"enter and leave: one line each, baseline first", test_enter_leave})
