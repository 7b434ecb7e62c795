/* SPDX-License-Identifier: GPL-2.0 */
/* expect.h: what the table-driven unit tests share: a test line split into
 * words as a shell would (without quoting), and exact comparisons that print
 * the case they belong to, so that a failing row of a table names itself. */
#ifndef XLB_TEST_EXPECT_H
#define XLB_TEST_EXPECT_H

#include <stddef.h>

#define EXPECT_WORDS_MAX 64

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Splits a copy of line (in buf) at spaces into words; the word '' stands for
 * an empty argument. Returns the number of words. */
int expect_split(const char *line, char *buf, size_t size, char **words);

/* CU_ASSERTs that got equals want (NULL equals only NULL); on a mismatch
 * prints the case, what was compared, and both values. */
void expect_str(const char *tcase, const char *what, const char *got, const char *want);
void expect_int(const char *tcase, const char *what, long long got, long long want);

#endif
