// SPDX-License-Identifier: GPL-2.0
/* expect.c: helpers of the table-driven unit tests (see expect.h). */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "expect.h"

int expect_split(const char *line, char *buf, size_t size, char **words)
{
	char *save = NULL, *tok;
	int n = 0;

	snprintf(buf, size, "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && n < EXPECT_WORDS_MAX;
	     tok = strtok_r(NULL, " ", &save))
		words[n++] = strcmp(tok, "''") ? tok : tok + 2;
	return n;
}

void expect_str(const char *tcase, const char *what, const char *got, const char *want)
{
	int same = got && want ? !strcmp(got, want) : got == want;

	if (!same)
		fprintf(stderr, "\n  %s: %s\n    got  '%s'\n    want '%s'\n", tcase, what,
			got ? got : "(null)", want ? want : "(null)");
	CU_ASSERT(same);
}

void expect_int(const char *tcase, const char *what, long long got, long long want)
{
	if (got != want)
		fprintf(stderr, "\n  %s: %s: got %lld, want %lld\n", tcase, what, got, want);
	CU_ASSERT(got == want);
}
