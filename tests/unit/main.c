// SPDX-License-Identifier: GPL-2.0
/* main.c: runs every CUnit suite that a test file registered with XLB_SUITE.
 * Usage: xlb-unit [SUITE...]  (no argument: all suites). Exit 0 only when
 * every test passed. */
#include <stdio.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "xlb_test.h"

#define MAX_SUITES 64

static struct {
	const char *name;
	CU_InitializeFunc init;
	CU_CleanupFunc cleanup;
	CU_TestInfo *tests;
} suites[MAX_SUITES];
static int n_suites;

void xlb_test_register(const char *name, CU_InitializeFunc init, CU_CleanupFunc cleanup,
		       CU_TestInfo *tests)
{
	if (n_suites == MAX_SUITES) {
		fprintf(stderr, "xlb-unit: more than %d suites, raise MAX_SUITES\n", MAX_SUITES);
		return;
	}
	suites[n_suites].name = name;
	suites[n_suites].init = init;
	suites[n_suites].cleanup = cleanup;
	suites[n_suites].tests = tests;
	n_suites++;
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (int i = 0; i < n_suites; i++) {
		CU_pSuite s;

		if (!wanted(suites[i].name, argc, argv))
			continue;
		s = CU_add_suite(suites[i].name, suites[i].init, suites[i].cleanup);
		if (!s)
			return 1;
		for (CU_TestInfo *t = suites[i].tests; t->pName; t++)
			if (!CU_add_test(s, t->pName, t->pTestFunc))
				return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
