// SPDX-License-Identifier: GPL-2.0
/* test_refusal.c: a mistake that several layers check (the grammar, the
 * rules value, the load balancer) is refused in the same words by each, and
 * the words carry no "Error:" (only the printing edge adds it). Loads the
 * xlb program (root) but attaches nothing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"
#include "cmd.h"
#include "dataplane.h"
#include "lb.h"
#include "rules.h"
#include "xlb_test.h"

#define V4  "198.18.100.1:80/tcp"
#define V6  "[2001:db8:100::1]:80/tcp"
#define MAX 2 /* VIP and backend slots, in the rules and the data plane */

static struct xlb_dp *dp;
static struct xlb_lb *lb;
static struct xlb_rules rules;
static char buf[256];

static int suite_init(void)
{
	struct xlb_dp_opts opts = {
	    .ring_size = 251, .max_vips = MAX, .max_backends = MAX, .max_conns = 1024};

	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || xlb_lb_new(dp, &lb)) {
		fprintf(stderr, "cannot load the xlb program\n");
		return -1;
	}
	xlb_rules_init(&rules, MAX, MAX);
	return 0;
}

static int suite_cleanup(void)
{
	xlb_rules_free(&rules);
	xlb_lb_free(lb);
	xlb_dp_close(dp);
	return 0;
}

/* Parses one command line; c points into a static buffer until the next. */
static int parse(const char *line, struct xlb_cmd *c, char *err)
{
	char *words[16];
	int n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = xlb_rules_split(buf, words, 16);
	err[0] = 0;
	return xlb_cmd_parse(n, words, c, err, XLB_ERRLEN);
}

/* Applies a command that must parse to the rules value; returns its result. */
static int step(const char *line, char *err)
{
	struct xlb_cmd c;

	CU_ASSERT_FATAL(parse(line, &c, err) == 0);
	err[0] = 0;
	return xlb_rules_step(&rules, &c, err, XLB_ERRLEN);
}

static int lb_vip(const char *text, char *err)
{
	struct xlb_vip_key key;

	CU_ASSERT_FATAL(xlb_vip_key_parse(text, &key, err, XLB_ERRLEN) == 0);
	err[0] = 0;
	return xlb_lb_vip_add(lb, &key, 0, err, XLB_ERRLEN);
}

/* op 'a' add, 'w' set weight. */
static int lb_backend(int op, const char *v, const char *addr, __u32 weight, char *err)
{
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	CU_ASSERT_FATAL(xlb_vip_key_parse(v, &key, err, XLB_ERRLEN) == 0);
	CU_ASSERT_FATAL(xlb_addr_parse(addr, &a, &fam) == 0);
	err[0] = 0;
	if (op == 'a')
		return xlb_lb_backend_add(lb, &key, &a, fam, weight, err, XLB_ERRLEN);
	return xlb_lb_backend_set_weight(lb, &key, &a, fam, weight, err, XLB_ERRLEN);
}

#define SAME(a, b)                                                                                 \
	do {                                                                                       \
		if (strcmp(a, b))                                                                  \
			fprintf(stderr, "\n  '%s'\n  differs from '%s'\n", a, b);                  \
		CU_ASSERT_STRING_EQUAL(a, b);                                                      \
		CU_ASSERT(strncmp(a, "Error", 5) != 0);                                            \
	} while (0)

static void test_same_words(void)
{
	char g[XLB_ERRLEN], r[XLB_ERRLEN], l[XLB_ERRLEN];
	struct xlb_cmd c;

	/* No VIP yet. */
	CU_ASSERT_EQUAL(step("backend add " V4 " 198.18.0.1", r), -ENOENT);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.0.1", 1, l), -ENOENT);
	SAME(r, l);
	SAME(l, "no VIP " V4 ", add it first with 'vip add " V4 "' (see 'list')");

	/* The VIP exists already. */
	CU_ASSERT_EQUAL(step("vip add " V4, r), 0);
	CU_ASSERT_EQUAL(lb_vip(V4, l), 0);
	CU_ASSERT_EQUAL(step("vip add " V4, r), -EEXIST);
	CU_ASSERT_EQUAL(lb_vip(V4, l), -EEXIST);
	SAME(r, l);

	/* An IPv6 VIP takes IPv6 backends only. */
	CU_ASSERT_EQUAL(step("vip add " V6, r), 0);
	CU_ASSERT_EQUAL(lb_vip(V6, l), 0);
	CU_ASSERT_EQUAL(parse("backend add " V6 " 198.18.0.1", &c, g), -EINVAL);
	CU_ASSERT_FATAL(parse("backend add " V6 " 2001:db8::1", &c, r) == 0);
	CU_ASSERT_FATAL(xlb_addr_parse("198.18.0.1", &c.addr, &c.family) == 0);
	CU_ASSERT_EQUAL(xlb_rules_step(&rules, &c, r, sizeof(r)), -EINVAL);
	CU_ASSERT_EQUAL(lb_backend('a', V6, "198.18.0.1", 1, l), -EINVAL);
	SAME(g, r);
	SAME(r, l);
	SAME(l, "backend 198.18.0.1 is IPv4 but VIP " V6 " is IPv6, an IPv6 VIP needs IPv6 "
		"backends (an IPv4 VIP takes either)");

	/* All VIP slots are taken. */
	CU_ASSERT_EQUAL(step("vip add 198.18.100.2:80/tcp", r), -ENOSPC);
	CU_ASSERT_EQUAL(lb_vip("198.18.100.2:80/tcp", l), -ENOSPC);
	SAME(r, l);

	/* The weight is out of range. */
	CU_ASSERT_EQUAL(parse("backend add " V4 " 198.18.0.1 weight 65536", &c, g), -EINVAL);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.0.1", 65536, l), -EINVAL);
	SAME(g, l);

	/* No such backend. */
	CU_ASSERT_EQUAL(step("backend set " V4 " 198.18.0.1 weight 2", r), -ENOENT);
	CU_ASSERT_EQUAL(lb_backend('w', V4, "198.18.0.1", 2, l), -ENOENT);
	SAME(r, l);

	/* The backend exists already. */
	CU_ASSERT_EQUAL(step("backend add " V4 " 198.18.0.1", r), 0);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.0.1", 1, l), 0);
	CU_ASSERT_EQUAL(step("backend add " V4 " 198.18.0.1", r), -EEXIST);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.0.1", 1, l), -EEXIST);
	SAME(r, l);

	/* All backend slots are taken. */
	CU_ASSERT_EQUAL(step("backend add " V4 " 198.18.0.2", r), 0);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.0.2", 1, l), 0);
	CU_ASSERT_EQUAL(step("backend add " V4 " 198.18.0.3", r), -ENOSPC);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.0.3", 1, l), -ENOSPC);
	SAME(r, l);

	/* A lookup's client of the other family. */
	{
		struct xlb_lb_backend *be;
		struct xlb_vip_key key;
		union xlb_addr src;
		__u8 fam;

		CU_ASSERT_EQUAL(parse("lookup " V6 " 198.18.1.2:40000", &c, g), -EINVAL);
		CU_ASSERT_FATAL(xlb_vip_key_parse(V6, &key, l, sizeof(l)) == 0);
		CU_ASSERT_FATAL(xlb_addr_parse("198.18.1.2", &src, &fam) == 0);
		l[0] = 0;
		CU_ASSERT_EQUAL(xlb_lb_lookup(lb, &key, &src, fam, htons(40000), &be, l, sizeof(l)),
				-EINVAL);
		SAME(g, l);
	}
}

/* Unusable addresses (refusal.h): the class from every layer, the daemon's
 * own outer source from the two that know it. Runs last: the outer sources
 * stay set. */
static void test_unusable_same_words(void)
{
	struct xlb_config cfg = {0};
	char g[XLB_ERRLEN], r[XLB_ERRLEN], l[XLB_ERRLEN];
	struct xlb_cmd c;
	union xlb_addr a;
	__u8 fam;

	/* A loopback backend. */
	CU_ASSERT_EQUAL(parse("backend add " V4 " 127.0.0.1", &c, g), -EINVAL);
	CU_ASSERT_FATAL(parse("backend add " V4 " 198.18.0.9", &c, r) == 0);
	CU_ASSERT_FATAL(xlb_addr_parse("127.0.0.1", &c.addr, &c.family) == 0);
	CU_ASSERT_EQUAL(xlb_rules_step(&rules, &c, r, sizeof(r)), -EINVAL);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "127.0.0.1", 1, l), -EINVAL);
	SAME(g, r);
	SAME(r, l);
	SAME(l, "backend 127.0.0.1 is a loopback address, which never leaves its host, expected "
		"the unicast address of another host that this load balancer routes to");

	/* An unspecified VIP. */
	CU_ASSERT_EQUAL(parse("vip add [::]:80/tcp", &c, g), -EINVAL);
	CU_ASSERT_FATAL(parse("vip add " V6, &c, r) == 0);
	memset(&c.vip.addr, 0, sizeof(c.vip.addr));
	CU_ASSERT_EQUAL(xlb_rules_step(&rules, &c, r, sizeof(r)), -EINVAL);
	CU_ASSERT_EQUAL(lb_vip("[::]:80/tcp", l), -EINVAL);
	SAME(g, r);
	SAME(r, l);

	/* The daemon's own outer source, and a family it has none for. */
	CU_ASSERT_FATAL(xlb_addr_parse("198.18.7.1", &a, &fam) == 0);
	cfg.src4 = a.v4;
	xlb_rules_set_outer(&rules, &cfg);
	xlb_lb_set_outer(lb, &cfg);
	CU_ASSERT_EQUAL(step("backend add " V4 " 198.18.7.1", r), -EINVAL);
	CU_ASSERT_EQUAL(lb_backend('a', V4, "198.18.7.1", 1, l), -EINVAL);
	SAME(r, l);
	SAME(l, "backend 198.18.7.1 is this load balancer's own outer source (198.18.7.1): its "
		"tunnels would be addressed to itself, expected the address of another host");
	CU_ASSERT_EQUAL(step("backend add " V6 " 2001:db8::5", r), -EINVAL);
	CU_ASSERT_EQUAL(lb_backend('a', V6, "2001:db8::5", 1, l), -EINVAL);
	SAME(r, l);
	CU_ASSERT(strstr(l, "--src6") != NULL);
	/* A rules value taken from the load balancer knows them too. */
	{
		struct xlb_rules from;

		CU_ASSERT_FATAL(xlb_rules_from_lb(&from, lb) == 0);
		CU_ASSERT_FATAL(parse("backend add " V4 " 198.18.7.1", &c, r) == 0);
		CU_ASSERT_EQUAL(xlb_rules_step(&from, &c, r, sizeof(r)), -EINVAL);
		CU_ASSERT(strstr(r, "own outer source (198.18.7.1)") != NULL);
		xlb_rules_free(&from);
	}
}

XLB_SUITE(refusal, suite_init, suite_cleanup,
	  {"grammar, rules and load balancer refuse in the same words", test_same_words},
	  {"unusable addresses: the same words from each layer", test_unusable_same_words});
