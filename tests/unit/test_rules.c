// SPDX-License-Identifier: GPL-2.0
/* test_rules.c: the configuration as a value (user/rules.h) without a load
 * balancer: splitting rules-file lines, commands stepped onto the rules with
 * every refusal (exact text, nothing changed), the canonical save format,
 * reading rules files with every error, format -> read round trips, and the
 * atomic file write. Files go to a private directory under /tmp. */
#define _GNU_SOURCE /* mkdtemp */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "cmd.h"
#include "expect.h"
#include "log.h"
#include "rules.h"
#include "xlb_test.h"

#define V4   "198.18.100.1:80/tcp"
#define V6   "[2001:db8:100::1]:443/tcp"
#define VALL "198.18.100.2:0/udp"

static char dir[64];

static int suite_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/xlb-unit-rules.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int suite_cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[sizeof(dir) + sizeof(e->d_name) + 1];

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	return rmdir(dir);
}

/* ------------------------------------------------------------ split */

static void test_split(void)
{
	static const struct {
		const char *line;
		int n;		    /* words, or the negative errno */
		const char *joined; /* the words joined with '|' */
	} cases[] = {
	    {"vip add " V4, 3, "vip|add|" V4},
	    {"  backend\tadd  x \r\n", 3, "backend|add|x"},
	    {"", 0, ""},
	    {"   \t\r\n", 0, ""},
	    {"# a comment", 0, ""},
	    {"   # indented comment", 0, ""},
	    {"vip add x # trailing comment", 3, "vip|add|x"},
	    /* '#' starts a comment only at the start of a word. */
	    {"a#b c", 2, "a#b|c"},
	    {"a \"b c\" d", 3, "a|b c|d"},
	    {"a \"#not a comment\"", 2, "a|#not a comment"},
	    {"a x\"b c\"y", 2, "a|xb cy"},
	    {"\"\"", 1, ""},
	    {"a \"\" b", 3, "a||b"},
	    {"send \"p\\\"q\"", 2, "send|p\"q"},
	    {"send \"a\\\\b\"", 2, "send|a\\b"},
	    /* Other backslashes stay for the check grammar's escapes. */
	    {"send \"a\\nb\"", 2, "send|a\\nb"},
	    {"send a\\x20b", 2, "send|a\\x20b"},
	    {"a \"b", -EINVAL, NULL},
	    {"a \"b\\\"", -EINVAL, NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char line[256], *words[8], joined[256];
		size_t off = 0;
		int n;

		snprintf(line, sizeof(line), "%s", cases[i].line);
		n = xlb_rules_split(line, words, (int)ARRAY_SIZE(words));
		expect_int(cases[i].line, "xlb_rules_split", n, cases[i].n);
		if (n < 0)
			continue;
		joined[0] = 0;
		for (int k = 0; k < n; k++)
			off += snprintf(joined + off, sizeof(joined) - off, "%s%s", k ? "|" : "",
					words[k]);
		expect_str(cases[i].line, "words", joined, cases[i].joined);
	}
}

static void test_split_too_many(void)
{
	char line[256], *words[4];

	snprintf(line, sizeof(line), "a b c d");
	expect_int("4 words, room for 4", "split", xlb_rules_split(line, words, 4), 4);
	snprintf(line, sizeof(line), "a b c d e");
	expect_int("5 words, room for 4", "split", xlb_rules_split(line, words, 4), -E2BIG);
	snprintf(line, sizeof(line), "a b c d # e f");
	expect_int("4 words and a comment", "split", xlb_rules_split(line, words, 4), 4);
}

/* ------------------------------------------------------------- step */

/* Parses line (which must be valid) and steps it onto r. */
static int step(struct xlb_rules *r, const char *line, char *err, size_t errlen)
{
	char buf[1024], *argv[EXPECT_WORDS_MAX], perr[XLB_ERRLEN];
	int argc = expect_split(line, buf, sizeof(buf), argv);
	struct xlb_cmd c;

	if (xlb_cmd_parse(argc, argv, &c, perr, sizeof(perr))) {
		fprintf(stderr, "\n  %s: does not parse: %s\n", line, perr);
		CU_FAIL("test line does not parse");
		return -EBADMSG;
	}
	return xlb_rules_step(r, &c, err, errlen);
}

/* Returns the save text of r; the caller frees it. */
static char *saved(const struct xlb_rules *r)
{
	char *s = xlb_rules_format(r);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

struct step_case {
	const char *line;
	int ret;
	const char *err; /* exact, when ret != 0 */
};

/* Steps every case onto r; a refused one must leave r as it was. */
static void run_steps(struct xlb_rules *r, const struct step_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char err[XLB_ERRLEN] = "", *before = saved(r), *after;
		int ret = step(r, cases[i].line, err, sizeof(err));

		after = saved(r);
		expect_int(cases[i].line, "xlb_rules_step", ret, cases[i].ret);
		if (cases[i].ret) {
			expect_str(cases[i].line, "error text", err, cases[i].err);
			expect_str(cases[i].line, "rules unchanged", after, before);
		}
		free(before);
		free(after);
	}
}

static void test_step(void)
{
	static const struct step_case cases[] = {
	    {"vip add " V4, 0, NULL},
	    {"vip add " V6 " sched sh conntrack off", 0, NULL},
	    {"vip add " VALL " fail-open off", 0, NULL},
	    {"vip add " V4 " sched sh", -EEXIST,
	     "VIP " V4 " exists already, change it with 'vip set' or remove it with 'vip del' "
	     "first"},
	    {"vip add 198.18.100.3:80/tcp", -ENOSPC,
	     "cannot add VIP 198.18.100.3:80/tcp: all 3 VIPs are in use (xlbd --max-vips)"},
	    {"vip set " V6 " sched rr", -EINVAL,
	     "VIP " V6 ": sched rr needs conntrack on (a flow's backend is chosen in turn, not by "
	     "hash: only its entry in the connection table keeps its later packets on it), "
	     "expected conntrack on or sched maglev|sh"},
	    {"vip set " V4 " sched wrr conntrack off", -EINVAL,
	     "VIP " V4 ": sched wrr needs conntrack on (a flow's backend is chosen in turn, not by "
	     "hash: only its entry in the connection table keeps its later packets on it), "
	     "expected conntrack on or sched maglev|sh"},
	    {"vip set " V4 " sched wrr", 0, NULL},
	    {"vip set " V4 " sched maglev", 0, NULL},
	    {"vip set 198.18.100.9:80/tcp sched sh", -ENOENT,
	     "no VIP 198.18.100.9:80/tcp, add it first with 'vip add 198.18.100.9:80/tcp' (see "
	     "'list')"},
	    {"vip del 198.18.100.9:80/tcp", -ENOENT,
	     "no VIP 198.18.100.9:80/tcp, add it first with 'vip add 198.18.100.9:80/tcp' (see "
	     "'list')"},
	    /* An all-ports VIP gives no port to check. */
	    {"vip set " VALL " check udp", -EINVAL,
	     "VIP " VALL ": check udp on an all-ports VIP needs a port, expected 'port N' with N "
	     "1-65535"},
	    {"vip set " VALL " check udp port 53 send ping", 0, NULL},
	    {"backend add " V4 " 198.18.0.11", 0, NULL},
	    {"backend add " V4 " 2001:db8::13 weight 2", 0, NULL},
	    {"backend add " V6 " 2001:db8::21 weight 0 check port 8443", 0, NULL},
	    {"backend add " V4 " 198.18.0.11 weight 5", -EEXIST,
	     "backend 198.18.0.11 exists already in VIP " V4 ", change its weight with 'backend "
	     "set'"},
	    {"backend add 198.18.100.9:80/tcp 198.18.0.11", -ENOENT,
	     "no VIP 198.18.100.9:80/tcp, add it first with 'vip add 198.18.100.9:80/tcp' (see "
	     "'list')"},
	    {"backend add " VALL " 198.18.0.31", 0, NULL},
	    {"backend add " VALL " 198.18.0.32", -ENOSPC,
	     "cannot add backend 198.18.0.32: all 4 backends are in use (xlbd --max-backends)"},
	    {"backend set " V4 " 198.18.0.99 weight 3", -ENOENT,
	     "no backend 198.18.0.99 in VIP " V4 ", add it with 'backend add' (see 'list')"},
	    {"backend del " V4 " 198.18.0.99", -ENOENT,
	     "no backend 198.18.0.99 in VIP " V4 ", add it with 'backend add' (see 'list')"},
	    {"backend set " V4 " 198.18.0.11 weight 7", 0, NULL},
	    {"backend set " V4 " 198.18.0.11 check http path /hz", 0, NULL},
	    /* set keeps what it does not name: the weight stays 7. */
	    {"backend set " V4 " 198.18.0.11 check default", 0, NULL},
	    {"vip set " V6 " conntrack on", 0, NULL},
	    {"vip set " V4 " fail-open off check http port 8080 host svc.example", 0, NULL},
	};
	struct xlb_rules r;
	char *text;

	xlb_rules_init(&r, 3, 4);
	run_steps(&r, cases, ARRAY_SIZE(cases));
	text = saved(&r);
	expect_str(
	    "after the steps", "save", text,
	    "vip add " V4 " sched maglev conntrack on fail-open off check http port 8080 host "
	    "svc.example\n"
	    "backend add " V4 " 198.18.0.11 weight 7\n"
	    "backend add " V4 " 2001:db8::13 weight 2\n"
	    "vip add " VALL " sched maglev conntrack on fail-open off check udp port 53 send "
	    "ping\n"
	    "backend add " VALL " 198.18.0.31 weight 1\n"
	    "vip add " V6 " sched sh conntrack on fail-open on\n"
	    "backend add " V6 " 2001:db8::21 weight 0 check port 8443\n");
	free(text);
	expect_int("after the steps", "VIPs", r.n_vips, 3);
	expect_int("after the steps", "backends", r.n_backends, 4);

	/* vip del takes its backends along, and frees their slots. */
	run_steps(&r,
		  (const struct step_case[]){
		      {"vip del " V4, 0, NULL},
		      {"backend add " VALL " 198.18.0.32", 0, NULL},
		      {"backend add " VALL " 198.18.0.33", 0, NULL},
		      {"backend del " VALL " 198.18.0.31", 0, NULL},
		  },
		  4);
	text = saved(&r);
	expect_str("after vip del", "save", text,
		   "vip add " VALL
		   " sched maglev conntrack on fail-open off check udp port 53 send "
		   "ping\n"
		   "backend add " VALL " 198.18.0.32 weight 1\n"
		   "backend add " VALL " 198.18.0.33 weight 1\n"
		   "vip add " V6 " sched sh conntrack on fail-open on\n"
		   "backend add " V6 " 2001:db8::21 weight 0 check port 8443\n");
	free(text);
	xlb_rules_free(&r);
}

static const char *write_tmp(const char *name, const char *text, size_t len);

/* allow/deny/limit: set keeps what it does not name, contradictions and a
 * limit without conntrack refused in either order, save carries them and
 * reads back the same. */
static void test_step_protect(void)
{
	static const struct step_case cases[] = {
	    {"vip add " V4 " allow 198.18.1.0/24,198.18.2.0/24 limit 50/s burst 10", 0, NULL},
	    {"vip set " V4 " deny 198.18.1.128/25", 0, NULL},
	    {"vip set " V4 " deny 198.18.2.0/24", -EINVAL,
	     "VIP " V4 ": prefix 198.18.2.0/24 is in both allow and deny, expected it in one list"},
	    {"vip set " V4 " conntrack off", -EINVAL,
	     "VIP " V4 ": limit needs conntrack on (without the connection table every packet "
	     "would count as a new flow), expected conntrack on or limit off"},
	    {"vip add " V6 " conntrack off limit 5/s", -EINVAL,
	     "VIP " V6 ": limit needs conntrack on (without the connection table every packet "
	     "would count as a new flow), expected conntrack on or limit off"},
	    {"vip add " V6 " conntrack off deny 2001:db8:1::/48", 0, NULL},
	    {"vip set " V6 " limit 5/s", -EINVAL,
	     "VIP " V6 ": limit needs conntrack on (without the connection table every packet "
	     "would count as a new flow), expected conntrack on or limit off"},
	    {"vip set " V6 " limit 5/s conntrack on", 0, NULL},
	};
	char err[XLB_ERRLEN] = "";
	struct xlb_rules r, back;
	char *text, *again;
	const char *path;
	int usage;

	xlb_rules_init(&r, 3, 4);
	run_steps(&r, cases, ARRAY_SIZE(cases));
	text = saved(&r);
	expect_str("protect", "save", text,
		   "vip add " V4 " sched maglev conntrack on fail-open on allow "
		   "198.18.1.0/24,198.18.2.0/24 deny 198.18.1.128/25 limit 50/s burst 10\n"
		   "vip add " V6 " sched maglev conntrack on fail-open on deny 2001:db8:1::/48 "
		   "limit 5/s burst 5\n");
	path = write_tmp("protect.rules", text, strlen(text));
	xlb_rules_init(&back, 3, 4);
	expect_int("protect read", "xlb_rules_read",
		   xlb_rules_read(&back, path, &usage, err, sizeof(err)), 0);
	again = saved(&back);
	expect_str("protect format -> read -> format", "save", again, text);
	free(again);
	free(text);
	xlb_rules_free(&back);
	/* any/none and off clear them */
	run_steps(&r,
		  (const struct step_case[]){
		      {"vip set " V4 " allow any deny none limit off", 0, NULL},
		      {"vip set " V4 " conntrack off", 0, NULL},
		  },
		  2);
	text = saved(&r);
	expect_int("cleared", "no protection left on V4",
		   !!strstr(text, "vip add " V4 " sched maglev conntrack off fail-open on\n"), 1);
	free(text);
	xlb_rules_free(&r);
}

/* What the grammar already refuses, step refuses too (rules built by code). */
static void test_step_refuses_unparsed(void)
{
	char err[XLB_ERRLEN] = "", *before, *after;
	struct xlb_rules r;
	struct xlb_cmd c;

	xlb_rules_init(&r, 4, 4);
	CU_ASSERT_EQUAL(step(&r, "vip add " V6, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(step(&r, "vip add " VALL, err, sizeof(err)), 0);
	before = saved(&r);

	/* An IPv4 backend for an IPv6 VIP. */
	{
		char *argv[] = {"backend", "add", V6, "2001:db8::1"};

		CU_ASSERT_EQUAL_FATAL(xlb_cmd_parse(4, argv, &c, err, sizeof(err)), 0);
	}
	memset(&c.addr, 0, sizeof(c.addr));
	c.addr.bytes[0] = 198;
	c.addr.bytes[1] = 18;
	c.addr.bytes[3] = 1;
	c.family = XLB_AF_INET;
	expect_int("IPv4 backend, IPv6 VIP", "step", xlb_rules_step(&r, &c, err, sizeof(err)),
		   -EINVAL);
	expect_str("IPv4 backend, IPv6 VIP", "error text", err,
		   "backend 198.18.0.1 is IPv4 but VIP " V6 " is IPv6, an IPv6 VIP needs IPv6 "
		   "backends (an IPv4 VIP takes either)");

	/* Commands that change nothing do not belong in rules. */
	{
		char *argv[] = {"list"};

		CU_ASSERT_EQUAL_FATAL(xlb_cmd_parse(1, argv, &c, err, sizeof(err)), 0);
	}
	expect_int("list", "step", xlb_rules_step(&r, &c, err, sizeof(err)), -EINVAL);
	expect_str("list", "error text", err,
		   "only vip and backend commands change the configuration");

	/* A backend's check that cannot run on its all-ports VIP. */
	expect_int("backend check on all-ports VIP", "step",
		   step(&r, "backend add " VALL " 198.18.0.31 check tcp", err, sizeof(err)),
		   -EINVAL);
	expect_str("backend check on all-ports VIP", "error text", err,
		   "backend 198.18.0.31 of VIP " VALL
		   ": check tcp on an all-ports VIP needs a port, "
		   "expected 'port N' with N 1-65535");
	expect_int("vip check on all-ports VIP", "step",
		   step(&r, "vip set " VALL " check tcp", err, sizeof(err)), -EINVAL);
	expect_str("vip check on all-ports VIP", "error text", err,
		   "VIP " VALL
		   ": check tcp on an all-ports VIP needs a port, expected 'port N' with "
		   "N 1-65535");
	after = saved(&r);
	expect_str("refusals", "rules unchanged", after, before);
	free(before);
	free(after);
	xlb_rules_free(&r);
}

/* ----------------------------------------------------------- format */

/* save's order is canonical whatever the order of the commands: family,
 * address, port as a number, protocol; backends by family and address. */
static void test_format_order(void)
{
	static const char *const lines[] = {
	    "vip add [2001:db8:100::1]:80/tcp",
	    "vip add 198.18.100.1:8080/tcp",
	    "vip add 198.18.100.1:443/udp",
	    "vip add 198.18.100.1:443/tcp",
	    "vip add 198.18.100.10:80/tcp",
	    "vip add 198.18.100.1:80/tcp",
	    "backend add 198.18.100.1:80/tcp 2001:db8::2",
	    "backend add 198.18.100.1:80/tcp 198.18.0.20",
	    "backend add 198.18.100.1:80/tcp 198.18.0.3",
	    "backend add 198.18.100.1:80/tcp 2001:db8::10",
	    "backend add [2001:db8:100::1]:80/tcp 2001:db8::1",
	};
	char err[XLB_ERRLEN], *text, *again;
	struct xlb_rules r, copy;

	xlb_rules_init(&r, 16, 16);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		expect_int(lines[i], "step", step(&r, lines[i], err, sizeof(err)), 0);
	text = saved(&r);
	expect_str("canonical order", "save", text,
		   "vip add 198.18.100.1:80/tcp sched maglev conntrack on fail-open on\n"
		   "backend add 198.18.100.1:80/tcp 198.18.0.3 weight 1\n"
		   "backend add 198.18.100.1:80/tcp 198.18.0.20 weight 1\n"
		   "backend add 198.18.100.1:80/tcp 2001:db8::2 weight 1\n"
		   "backend add 198.18.100.1:80/tcp 2001:db8::10 weight 1\n"
		   "vip add 198.18.100.1:443/tcp sched maglev conntrack on fail-open on\n"
		   "vip add 198.18.100.1:443/udp sched maglev conntrack on fail-open on\n"
		   "vip add 198.18.100.1:8080/tcp sched maglev conntrack on fail-open on\n"
		   "vip add 198.18.100.10:80/tcp sched maglev conntrack on fail-open on\n"
		   "vip add [2001:db8:100::1]:80/tcp sched maglev conntrack on fail-open on\n"
		   "backend add [2001:db8:100::1]:80/tcp 2001:db8::1 weight 1\n");
	/* A copy says the same, and changing it leaves the original alone. */
	CU_ASSERT_EQUAL_FATAL(xlb_rules_copy(&copy, &r), 0);
	again = saved(&copy);
	expect_str("copy", "save", again, text);
	free(again);
	expect_int("copy", "step", step(&copy, "vip del 198.18.100.1:80/tcp", err, sizeof(err)), 0);
	again = saved(&r);
	expect_str("original after the copy changed", "save", again, text);
	free(again);
	free(text);
	xlb_rules_free(&copy);
	xlb_rules_free(&r);

	xlb_rules_init(&r, 1, 1);
	text = saved(&r);
	expect_str("no rules", "save", text, "");
	free(text);
	xlb_rules_free(&r);
}

/* ------------------------------------------------------------- read */

static const char *write_tmp(const char *name, const char *text, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(text, 1, len, f), len);
	fclose(f);
	return path;
}

static void test_read_good(void)
{
	static const char file[] =
	    "# the test's rules\n"
	    "\n"
	    "   vip add " V4 "   # indented, comment after\n"
	    "v a " V6 " sched sh\n"
	    "vip add " VALL " conntrack off check udp port 53 send \"a b#\\\"\" expect pong\n"
	    "b a " V4 " 198.18.0.11 weight 4\n"
	    "backend\tadd\t" V4 "\t2001:db8::13\r\n"
	    "backend add " V4 " 198.18.0.12 check http path /healthz status 204\n"
	    "backend add " V6 " [2001:db8::21]\n"
	    "backend add " VALL " 198.18.0.31\n"
	    /* Later lines change earlier ones, as the commands would. */
	    "backend set " V4 " 198.18.0.11 weight 5\n"
	    "vip set " V6 " sched wrr fail-open off\n"
	    "vip set " V4 " sched rr\n"
	    "backend del " VALL " 198.18.0.31\n"
	    "backend add " VALL " 198.18.0.32"; /* no final newline */
	char err[XLB_ERRLEN] = "", *text;
	const char *path = write_tmp("good.rules", file, sizeof(file) - 1);
	struct xlb_rules r;
	int usage = -1;

	xlb_rules_init(&r, 8, 8);
	expect_int("good file", "xlb_rules_read",
		   xlb_rules_read(&r, path, &usage, err, sizeof(err)), 0);
	expect_str("good file", "no error", err, "");
	expect_int("good file", "usage", usage, 0);
	text = saved(&r);
	expect_str("good file", "save", text,
		   "vip add " V4 " sched rr conntrack on fail-open on\n"
		   "backend add " V4 " 198.18.0.11 weight 5\n"
		   "backend add " V4 " 198.18.0.12 weight 1 check http path /healthz status 204\n"
		   "backend add " V4 " 2001:db8::13 weight 1\n"
		   "vip add " VALL
		   " sched maglev conntrack off fail-open on check udp port 53 send "
		   "a\\x20b\\x23\\x22 expect pong\n"
		   "backend add " VALL " 198.18.0.32 weight 1\n"
		   "vip add " V6 " sched wrr conntrack on fail-open off\n"
		   "backend add " V6 " 2001:db8::21 weight 1\n");
	free(text);
	xlb_rules_free(&r);

	path = write_tmp("empty.rules", "", 0);
	xlb_rules_init(&r, 8, 8);
	expect_int("empty file", "xlb_rules_read",
		   xlb_rules_read(&r, path, &usage, err, sizeof(err)), 0);
	expect_int("empty file", "VIPs", r.n_vips, 0);
	xlb_rules_free(&r);
}

#define NUL_TEXT "vip add 198.18.100.1:80/tcp\nvip add 198.18\0.100.2:80/tcp\n"

static void test_read_bad(void)
{
	static const struct {
		const char *name;
		const char *text;
		size_t len; /* 0: strlen(text) */
		int ret, usage;
		const char *err; /* %s: the file's path */
	} cases[] = {
	    {"syntax",
	     "vip add 198.18.100.60:80/tcp\nbackend add 198.18.100.60:80/tcp 198.18.0.500\n", 0,
	     -EINVAL, 1,
	     "%s:2: bad backend address '198.18.0.500', expected an IPv4 or IPv6 address without a "
	     "port"},
	    {"verb", "vip add 198.18.100.60:80/tcp\nlist\n", 0, -EINVAL, 1,
	     "%s:2: 'list' cannot appear in a rules file, expected vip or backend add/set/del "
	     "commands"},
	    {"help", "# only help\nhelp vip\n", 0, -EINVAL, 1,
	     "%s:2: 'help' cannot appear in a rules file, expected vip or backend add/set/del "
	     "commands"},
	    {"restore", "restore /etc/passwd\n", 0, -EINVAL, 1,
	     "%s:1: 'restore' cannot appear in a rules file, expected vip or backend add/set/del "
	     "commands"},
	    {"novip", "backend add 198.18.100.61:80/tcp 198.18.0.5\n", 0, -ENOENT, 0,
	     "%s:1: no VIP 198.18.100.61:80/tcp, add it first with 'vip add 198.18.100.61:80/tcp' "
	     "(see 'list')"},
	    {"dup",
	     "vip add 198.18.100.60:80/tcp\nbackend add 198.18.100.60:80/tcp 198.18.0.5\n"
	     "backend add 198.18.100.60:80/tcp 198.18.0.5\n",
	     0, -EEXIST, 0,
	     "%s:3: backend 198.18.0.5 exists already in VIP 198.18.100.60:80/tcp, change its "
	     "weight with 'backend set'"},
	    {"many",
	     "vip add 198.18.100.1:80/tcp\nvip add 198.18.100.2:80/tcp\nvip add "
	     "198.18.100.3:80/tcp\nvip add 198.18.100.4:80/tcp\n",
	     0, -ENOSPC, 0,
	     "%s:4: cannot add VIP 198.18.100.4:80/tcp: all 3 VIPs are in use (xlbd --max-vips)"},
	    {"quote", "vip add 198.18.100.1:80/tcp check udp send \"ping\n", 0, -EINVAL, 1,
	     "%s:1: unterminated \", expected a closing quote"},
	    {"words",
	     "vip add 198.18.100.1:80/tcp a a a a a a a a a a a a a a a a a a a a a a a a a a a a "
	     "a "
	     "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a\n",
	     0, -EINVAL, 1, "%s:1: too many words, expected one command per line"},
	    {"nul", NUL_TEXT, sizeof(NUL_TEXT) - 1, -EINVAL, 1,
	     "%s:2: NUL byte in line, expected a text file of commands"},
	};
	char err[XLB_ERRLEN], want[XLB_ERRLEN];
	struct xlb_rules r;
	int usage;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *path = write_tmp(cases[i].name, cases[i].text,
					     cases[i].len ? cases[i].len : strlen(cases[i].text));

		err[0] = 0;
		usage = -1;
		xlb_rules_init(&r, 3, 8);
		expect_int(cases[i].name, "xlb_rules_read",
			   xlb_rules_read(&r, path, &usage, err, sizeof(err)), cases[i].ret);
		expect_int(cases[i].name, "usage", usage, cases[i].usage);
		snprintf(want, sizeof(want), cases[i].err, path);
		expect_str(cases[i].name, "error text", err, want);
		xlb_rules_free(&r);
	}
}

static void test_read_limits(void)
{
	char err[XLB_ERRLEN], want[XLB_ERRLEN], line[XLB_RULES_LINE_MAX + 64];
	char missing[sizeof(dir) + 16];
	struct xlb_rules r;
	const char *path;
	size_t len;
	int usage;

	/* A line of exactly XLB_RULES_LINE_MAX bytes, newline included, is
	 * read; one byte more is refused. */
	len = (size_t)snprintf(line, sizeof(line), "vip add " V4 " ");
	memset(line + len, '#', XLB_RULES_LINE_MAX - 1 - len);
	line[XLB_RULES_LINE_MAX - 1] = '\n';
	path = write_tmp("longest", line, XLB_RULES_LINE_MAX);
	xlb_rules_init(&r, 3, 3);
	expect_int("longest line", "xlb_rules_read",
		   xlb_rules_read(&r, path, &usage, err, sizeof(err)), 0);
	expect_int("longest line", "VIPs", r.n_vips, 1);
	xlb_rules_free(&r);

	line[XLB_RULES_LINE_MAX - 1] = '#';
	line[XLB_RULES_LINE_MAX] = '\n';
	path = write_tmp("toolong", line, XLB_RULES_LINE_MAX + 1);
	xlb_rules_init(&r, 3, 3);
	expect_int("line too long", "xlb_rules_read",
		   xlb_rules_read(&r, path, &usage, err, sizeof(err)), -EINVAL);
	expect_int("line too long", "usage", usage, 1);
	snprintf(want, sizeof(want), "%s:1: line longer than %d bytes", path, XLB_RULES_LINE_MAX);
	expect_str("line too long", "error text", err, want);
	xlb_rules_free(&r);

	snprintf(missing, sizeof(missing), "%s/nonexistent", dir);
	xlb_rules_init(&r, 3, 3);
	expect_int("no such file", "xlb_rules_read",
		   xlb_rules_read(&r, missing, &usage, err, sizeof(err)), -ENOENT);
	expect_int("no such file", "usage", usage, 0);
	snprintf(want, sizeof(want), "cannot open rules file %s: No such file or directory",
		 missing);
	expect_str("no such file", "error text", err, want);
	xlb_rules_free(&r);
}

/* ------------------------------------------------------- round trip */

/* What save prints, restore reads back to the same configuration. */
static void test_round_trip(void)
{
	static const char *const lines[] = {
	    "vip add " V4
	    " fail-open off check http port 8080 interval 500 timeout 200 rise 3 fall "
	    "4 path /healthz host svc.example status 204",
	    "vip add " V6 " sched sh conntrack off check none",
	    "vip add " VALL,
	    "vip add 198.18.100.3:53/udp check udp send \\x00\\x01\\tq\\\\\\n expect \\xff",
	    "vip add 198.18.100.4:0/tcp check port 80",
	    "backend add " V4 " 198.18.0.11 weight 65535",
	    "backend add " V4 " 198.18.0.12 weight 0 check port 9000 fall 1",
	    "backend add " V4 " 2001:db8::13 check tcp",
	    "backend add " V6 " 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff check http",
	    "backend add 198.18.100.3:53/udp 198.18.0.31 check send ping",
	    "backend add 198.18.100.4:0/tcp 198.18.0.41 check http port 81 path /a",
	    "vip add [2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/udp",
	    "backend add [2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/udp 2001:db8::1",
	};
	char err[XLB_ERRLEN] = "";
	struct xlb_rules r, back;
	char *text, *again;
	const char *path;
	int usage;

	xlb_rules_init(&r, 8, 8);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		expect_int(lines[i], "step", step(&r, lines[i], err, sizeof(err)), 0);
	text = saved(&r);
	/* Full-length IPv6 VIPs are not cut short. */
	expect_int(
	    "save", "longest VIP kept whole",
	    !!strstr(text, "vip add [2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/udp sched"), 1);
	expect_int("save", "binary send/expect escaped",
		   !!strstr(text, "check udp send \\x00\\x01\\tq\\\\\\n expect \\xff\n"), 1);
	path = write_tmp("saved.rules", text, strlen(text));
	xlb_rules_init(&back, 8, 8);
	expect_int("read saved", "xlb_rules_read",
		   xlb_rules_read(&back, path, &usage, err, sizeof(err)), 0);
	expect_str("read saved", "no error", err, "");
	again = saved(&back);
	expect_str("format -> read -> format", "save", again, text);
	expect_int("format -> read", "VIPs", back.n_vips, r.n_vips);
	expect_int("format -> read", "backends", back.n_backends, r.n_backends);
	free(again);
	free(text);
	xlb_rules_free(&back);
	xlb_rules_free(&r);
}

/* slow-start on a VIP (its backends' default) and on a backend (its own,
 * 0 included, which differs from inheriting the VIP's): set and cleared by
 * set, printed by save only where given, read back to the same text. */
static void test_round_trip_slow_start(void)
{
	static const char *const lines[] = {
	    "vip add " V4 " slow-start 30",
	    "backend add " V4 " 198.18.0.11",
	    "backend add " V4 " 198.18.0.12 slow-start 6 weight 3",
	    "backend add " V4 " 198.18.0.13 slow-start off",
	    "vip add " V6,
	    "backend add " V6 " 2001:db8::1 slow-start 3600",
	    "backend set " V6 " 2001:db8::1 slow-start 0",
	    "vip add " VALL " slow-start 5",
	    "vip set " VALL " slow-start off",
	};
	static const char want[] =
	    "vip add " V4 " sched maglev conntrack on fail-open on slow-start 30\n"
	    "backend add " V4 " 198.18.0.11 weight 1\n"
	    "backend add " V4 " 198.18.0.12 weight 3 slow-start 6\n"
	    "backend add " V4 " 198.18.0.13 weight 1 slow-start 0\n"
	    "vip add " VALL " sched maglev conntrack on fail-open on\n"
	    "vip add " V6 " sched maglev conntrack on fail-open on\n"
	    "backend add " V6 " 2001:db8::1 weight 1 slow-start 0\n";
	char err[XLB_ERRLEN] = "";
	struct xlb_rules r, back;
	char *text, *again;
	const char *path;
	int usage;

	xlb_rules_init(&r, 8, 8);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		expect_int(lines[i], "step", step(&r, lines[i], err, sizeof(err)), 0);
	expect_int("vip add slow-start 30", "the VIP's default", r.vips[0].slow_start, 30);
	expect_int("backend add, no slow-start", "the VIP's (-1)", r.backends[0].slow_start, -1);
	text = saved(&r);
	expect_str("save", "slow-start where given", text, want);
	path = write_tmp("slow.rules", text, strlen(text));
	xlb_rules_init(&back, 8, 8);
	expect_int("read saved", "xlb_rules_read",
		   xlb_rules_read(&back, path, &usage, err, sizeof(err)), 0);
	again = saved(&back);
	expect_str("format -> read -> format", "save", again, text);
	free(again);
	free(text);
	xlb_rules_free(&back);
	xlb_rules_free(&r);
}

/* The rules-file words help, -h and --help, a keyword, or an escape as the
 * value of a check option must come back as the same bytes. */
static const char *const rt_words[] = {"help", "-h", "--help", "send", "check", "vip", "\\x41"};

static void rt_text(char *out, size_t max, int slash)
{
	static const char bad[] = "\"'#\\";
	/* max >= 2: room for one byte and the NUL */
	size_t n = 1 + (size_t)rand() % (max - 1), i = 0;

	if (rand() % 4 == 0 && !slash) {
		snprintf(out, max, "%s", rt_words[rand() % 3]);
		return;
	}
	if (slash)
		out[i++] = '/';
	while (i < n) {
		char c = (char)(0x21 + rand() % (0x7f - 0x21));

		if (!strchr(bad, c))
			out[i++] = c;
	}
	out[i] = 0;
}

static void rt_data(char *out, __u8 *len)
{
	size_t n = 1 + (size_t)rand() % XLB_HC_DATA_MAX;

	if (rand() % 4 == 0) {
		const char *w = rt_words[rand() % ARRAY_SIZE(rt_words)];

		n = strlen(w);
		memcpy(out, w, n);
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = (char)(rand() % 256);
	}
	*len = (__u8)n;
}

static struct xlb_hc_cfg *rt_vip_hc(struct xlb_rules *r, __u8 proto)
{
	for (size_t i = 0; i < r->n_vips; i++)
		if (r->vips[i].key.proto == proto)
			return &r->vips[i].hc;
	CU_FAIL_FATAL("VIP missing");
	return NULL;
}

/* Any send/expect bytes and any path/host the grammar takes go through the
 * save format and the rules-file reader unchanged: a configuration xlbd
 * accepted must read back after a restart. */
static void test_round_trip_random(void)
{
	char err[XLB_ERRLEN] = "", what[64];
	int usage, failed = 0;

	srand(17);
	for (int k = 0; k < 3000 && !failed; k++) {
		struct xlb_rules r, back;
		struct xlb_hc_cfg *u, *h, *bu, *bh;
		char *text, *again;
		const char *path;

		snprintf(what, sizeof(what), "random round trip %d", k);
		xlb_rules_init(&r, 4, 4);
		CU_ASSERT_EQUAL_FATAL(step(&r, "vip add 198.18.100.3:53/udp check udp", err,
					   sizeof(err)), 0);
		CU_ASSERT_EQUAL_FATAL(step(&r, "vip add " V4 " check http", err, sizeof(err)), 0);
		u = rt_vip_hc(&r, IPPROTO_UDP);
		h = rt_vip_hc(&r, IPPROTO_TCP);
		rt_data(u->send, &u->send_len);
		rt_data(u->expect, &u->expect_len);
		u->set |= XLB_HC_F_SEND | XLB_HC_F_EXPECT;
		rt_text(h->path, 2 + (size_t)rand() % (sizeof(h->path) - 2), 1);
		rt_text(h->host, 8 + (size_t)rand() % (sizeof(h->host) - 8), 0);
		h->set |= XLB_HC_F_PATH | XLB_HC_F_HOST;
		text = saved(&r);
		path = write_tmp("random.rules", text, strlen(text));
		xlb_rules_init(&back, 4, 4);
		err[0] = 0;
		if (xlb_rules_read(&back, path, &usage, err, sizeof(err))) {
			fprintf(stderr, "\n  %s: does not read back: %s\n%s", what, err, text);
			failed = 1;
		} else {
			again = saved(&back);
			bu = rt_vip_hc(&back, IPPROTO_UDP);
			bh = rt_vip_hc(&back, IPPROTO_TCP);
			failed = strcmp(again, text) || bu->send_len != u->send_len ||
				 bu->expect_len != u->expect_len ||
				 memcmp(bu->send, u->send, u->send_len) ||
				 memcmp(bu->expect, u->expect, u->expect_len) ||
				 strcmp(bh->path, h->path) || strcmp(bh->host, h->host);
			if (failed)
				fprintf(stderr, "\n  %s: changed:\n%s  read back as:\n%s", what,
					text, again);
			free(again);
		}
		free(text);
		xlb_rules_free(&back);
		xlb_rules_free(&r);
	}
	CU_ASSERT_EQUAL(failed, 0);
}

/* The case: bytes "help" given as \x68elp save and read back. */
static void test_round_trip_help(void)
{
	static const char *const lines[] = {
	    "vip add 198.18.100.3:53/udp check udp send \\x68elp expect -h",
	    "backend add 198.18.100.3:53/udp 198.18.0.31 check send --help",
	    "vip add " V4 " check http host help path /help",
	};
	char err[XLB_ERRLEN] = "";
	struct xlb_rules r, back;
	char *text, *again;
	const char *path;
	int usage;

	xlb_rules_init(&r, 8, 8);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		expect_int(lines[i], "step", step(&r, lines[i], err, sizeof(err)), 0);
	text = saved(&r);
	path = write_tmp("help.rules", text, strlen(text));
	xlb_rules_init(&back, 8, 8);
	expect_int("read saved help", "xlb_rules_read",
		   xlb_rules_read(&back, path, &usage, err, sizeof(err)), 0);
	expect_str("read saved help", "no error", err, "");
	again = saved(&back);
	expect_str("help: format -> read -> format", "save", again, text);
	expect_int("help: send bytes", "send", memcmp(rt_vip_hc(&back, IPPROTO_UDP)->send, "help", 4),
		   0);
	free(again);
	free(text);
	xlb_rules_free(&back);
	xlb_rules_free(&r);
}

/* ------------------------------------------------------------ write */

static void test_write_file(void)
{
	char path[256], bad[256], err[XLB_ERRLEN] = "", buf[64] = "";
	struct stat st;
	struct dirent *e;
	FILE *f;
	DIR *d;
	int files = 0;

	snprintf(path, sizeof(path), "%s/written.rules", dir);
	expect_int("write", "xlb_rules_write_file",
		   xlb_rules_write_file(path, "vip add " V4 "\n", err, sizeof(err)), 0);
	expect_int("rewrite", "xlb_rules_write_file",
		   xlb_rules_write_file(path, "# new\n", err, sizeof(err)), 0);
	expect_str("write", "no error", err, "");
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fread(buf, 1, sizeof(buf) - 1, f), 6);
	fclose(f);
	expect_str("rewrite", "content", buf, "# new\n");
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	expect_int("write", "mode", st.st_mode & 07777, 0644);
	/* No temporary file is left beside it. */
	d = opendir(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)))
		files += !strncmp(e->d_name, "written.rules", 13);
	closedir(d);
	expect_int("write", "files named written.rules*", files, 1);

	snprintf(bad, sizeof(bad), "%s/nodir/x.rules", dir);
	expect_int("no directory", "xlb_rules_write_file",
		   xlb_rules_write_file(bad, "x\n", err, sizeof(err)), -ENOENT);
	expect_int("no directory", "says what it could not create",
		   !strncmp(err, "cannot create ", 14) && strstr(err, "/nodir/x.rules.tmp.") &&
		       strstr(err, ": No such file or directory"),
		   1);
}

/* lc and wlc need the connection table and scan at most 64 backends. */
static void test_step_least(void)
{
	static const struct step_case cases[] = {
	    {"vip add " V4 " sched lc", 0, NULL},
	    {"vip set " V4 " conntrack off", -EINVAL,
	     "VIP " V4 ": sched lc needs conntrack on (it counts each backend's open "
	     "connections from the connection table, whose entry also keeps a flow's later "
	     "packets on the backend it chose), expected conntrack on or sched maglev|sh"},
	    {"vip add " V6 " sched wlc conntrack off", -EINVAL,
	     "VIP " V6 ": sched wlc needs conntrack on (it counts each backend's open "
	     "connections from the connection table, whose entry also keeps a flow's later "
	     "packets on the backend it chose), expected conntrack on or sched maglev|sh"},
	    {"vip add " V6, 0, NULL},
	};
	char line[128], err[XLB_ERRLEN];
	struct xlb_rules r;
	char *before, *after;
	int ret;

	xlb_rules_init(&r, 3, 200);
	run_steps(&r, cases, ARRAY_SIZE(cases));
	for (int i = 0; i < XLB_LC_MAX_BACKENDS; i++) {
		snprintf(line, sizeof(line), "backend add " V4 " 198.18.0.%d", 10 + i);
		expect_int(line, "xlb_rules_step", step(&r, line, err, sizeof(err)), 0);
		snprintf(line, sizeof(line), "backend add " V6 " 2001:db8::%x", 0x10 + i);
		expect_int(line, "xlb_rules_step", step(&r, line, err, sizeof(err)), 0);
	}
	before = saved(&r);
	ret = step(&r, "backend add " V4 " 198.18.0.200", err, sizeof(err));
	expect_int("65th backend of an lc VIP", "xlb_rules_step", ret, -EINVAL);
	expect_str("65th backend of an lc VIP", "error text", err,
		   "VIP " V4 ": sched lc takes at most 64 backends (the data plane looks at every "
		   "one for each new flow), it would have 65; expected at most 64 backends or sched "
		   "maglev|sh|rr|wrr");
	expect_int("a maglev VIP takes a 65th", "xlb_rules_step",
		   step(&r, "backend add " V6 " 2001:db8::200", err, sizeof(err)), 0);
	free(before);
	before = saved(&r);
	ret = step(&r, "vip set " V6 " sched wlc", err, sizeof(err));
	expect_int("vip set sched wlc with 65 backends", "xlb_rules_step", ret, -EINVAL);
	expect_str("vip set sched wlc with 65 backends", "error text", err,
		   "VIP " V6 ": sched wlc takes at most 64 backends (the data plane looks at every "
		   "one for each new flow), it would have 65; expected at most 64 backends or sched "
		   "maglev|sh|rr|wrr");
	after = saved(&r);
	expect_str("vip set sched wlc with 65 backends", "rules unchanged", after, before);
	free(before);
	free(after);
	expect_int("backend del, then wlc", "xlb_rules_step",
		   step(&r, "backend del " V6 " 2001:db8::200", err, sizeof(err)) ||
		       step(&r, "vip set " V6 " sched wlc", err, sizeof(err)),
		   0);
	xlb_rules_free(&r);
}

XLB_SUITE(rules, suite_init, suite_cleanup, {"split: words, quotes, comments", test_split},
	  {"split: word limit", test_split_too_many},
	  {"step: every refusal, exact text, nothing changed", test_step},
	  {"step: lc and wlc need conntrack, at most 64 backends", test_step_least},
	  {"step: allow, deny, limit; save and read them back", test_step_protect},
	  {"step: refusals of commands the grammar never makes", test_step_refuses_unparsed},
	  {"format: canonical order, copy", test_format_order},
	  {"read: comments, quotes, prefixes, later lines win", test_read_good},
	  {"read: every error names FILE:LINE", test_read_bad},
	  {"read: line length, missing file", test_read_limits},
	  {"round trip: format -> read -> format", test_round_trip},
	  {"round trip: random send/expect/path/host", test_round_trip_random},
	  {"round trip: help words as values", test_round_trip_help},
	  {"round trip: slow-start on VIPs and backends", test_round_trip_slow_start},
	  {"write: atomic, mode 0644, errors", test_write_file});
