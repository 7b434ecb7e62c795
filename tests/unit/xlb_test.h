/* SPDX-License-Identifier: GPL-2.0 */
/* xlb_test.h: how a unit-test file registers its CUnit suite. Each file ends
 * with XLB_SUITE(...); main.c runs every registered suite, so adding a test
 * file needs no edit anywhere else. */
#ifndef XLB_TEST_H
#define XLB_TEST_H

#include <CUnit/CUnit.h>

void xlb_test_register(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
		       CU_TestInfo *tests);

#define XLB_SUITE(sname, init, cleanup, ...)                                       \
	static CU_TestInfo sname##_tests[] = {__VA_ARGS__, CU_TEST_INFO_NULL};     \
	__attribute__((constructor)) static void sname##_register(void)            \
	{                                                                          \
		xlb_test_register(#sname, init, cleanup, sname##_tests);          \
	}

#endif
