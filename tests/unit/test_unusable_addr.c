// SPDX-License-Identifier: GPL-2.0
/* test_unusable_addr.c: addresses no VIP or backend can have (user/addr_class.h)
 * and their refusal (refusal.h) by the grammar, the rules value and a rules
 * file: every class in both families with its edges, the load balancer's own
 * outer sources (with their vary bits) and a family without one. Pure: the
 * load balancer's refusals in the same words are in test_refusal.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "addr.h"
#include "addr_class.h"
#include "cmd.h"
#include "expect.h"
#include "log.h"
#include "refusal.h"
#include "rules.h"
#include "xlb_test.h"

static const char *const class_names[] = {
    [XLB_ADDR_UNICAST] = "unicast",	  [XLB_ADDR_UNSPECIFIED] = "unspecified",
    [XLB_ADDR_THIS_NET] = "this-net",	  [XLB_ADDR_LOOPBACK] = "loopback",
    [XLB_ADDR_LINK_LOCAL] = "link-local", [XLB_ADDR_MULTICAST] = "multicast",
    [XLB_ADDR_BROADCAST] = "broadcast",	  [XLB_ADDR_V4_MAPPED] = "v4-mapped",
};

/* Each class at its edges, and the unicast neighbours just outside them. */
static const struct {
	const char *addr;
	enum xlb_addr_class class;
} classes[] = {
    {"198.18.0.1", XLB_ADDR_UNICAST},
    {"0.0.0.0", XLB_ADDR_UNSPECIFIED},
    {"0.0.0.1", XLB_ADDR_THIS_NET},
    {"0.255.255.255", XLB_ADDR_THIS_NET},
    {"1.0.0.0", XLB_ADDR_UNICAST},
    {"126.255.255.255", XLB_ADDR_UNICAST},
    {"127.0.0.0", XLB_ADDR_LOOPBACK},
    {"127.0.0.1", XLB_ADDR_LOOPBACK},
    {"127.255.255.255", XLB_ADDR_LOOPBACK},
    {"128.0.0.0", XLB_ADDR_UNICAST},
    {"169.253.255.255", XLB_ADDR_UNICAST},
    {"169.254.0.0", XLB_ADDR_LINK_LOCAL},
    {"169.254.255.255", XLB_ADDR_LINK_LOCAL},
    {"169.255.0.0", XLB_ADDR_UNICAST},
    {"223.255.255.255", XLB_ADDR_UNICAST},
    {"224.0.0.0", XLB_ADDR_MULTICAST},
    {"224.0.0.1", XLB_ADDR_MULTICAST},
    {"239.255.255.255", XLB_ADDR_MULTICAST},
    {"240.0.0.0", XLB_ADDR_UNICAST},
    {"255.255.255.254", XLB_ADDR_UNICAST},
    {"255.255.255.255", XLB_ADDR_BROADCAST},
    {"2001:db8::1", XLB_ADDR_UNICAST},
    {"::", XLB_ADDR_UNSPECIFIED},
    {"::1", XLB_ADDR_LOOPBACK},
    {"::2", XLB_ADDR_UNICAST},
    {"1::1", XLB_ADDR_UNICAST},
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", XLB_ADDR_UNICAST},
    {"fe80::", XLB_ADDR_LINK_LOCAL},
    {"fe80::1", XLB_ADDR_LINK_LOCAL},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", XLB_ADDR_LINK_LOCAL},
    {"fec0::1", XLB_ADDR_UNICAST},
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", XLB_ADDR_UNICAST},
    {"ff00::", XLB_ADDR_MULTICAST},
    {"ff02::1", XLB_ADDR_MULTICAST},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", XLB_ADDR_MULTICAST},
    {"::ffff:0:0", XLB_ADDR_V4_MAPPED},
    {"::ffff:198.18.0.9", XLB_ADDR_V4_MAPPED},
    {"::ffff:255.255.255.255", XLB_ADDR_V4_MAPPED},
    {"::fffe:ffff:ffff", XLB_ADDR_UNICAST},
    {"::1:ffff:0:0", XLB_ADDR_UNICAST},
    {"64:ff9b::198.18.0.9", XLB_ADDR_UNICAST},
};

static void parse_addr(const char *text, union xlb_addr *a, __u8 *fam)
{
	CU_ASSERT_FATAL(xlb_addr_parse(text, a, fam) == 0);
}

static void test_classify(void)
{
	int seen[__XLB_ADDR_CLASS_MAX][2] = {{0}};

	for (size_t i = 0; i < ARRAY_SIZE(classes); i++) {
		union xlb_addr a;
		__u8 fam;

		parse_addr(classes[i].addr, &a, &fam);
		expect_str(classes[i].addr, "class", class_names[xlb_addr_classify(&a, fam)],
			   class_names[classes[i].class]);
		seen[classes[i].class][fam == XLB_AF_INET6]++;
	}
	/* The table covers every class in each family it exists in. */
	for (int c = 0; c < __XLB_ADDR_CLASS_MAX; c++) {
		expect_int(class_names[c], "IPv4 rows", !!seen[c][0], c != XLB_ADDR_V4_MAPPED);
		expect_int(class_names[c], "IPv6 rows", !!seen[c][1],
			   c != XLB_ADDR_THIS_NET && c != XLB_ADDR_BROADCAST);
	}
}

/* A VIP of every refused class is refused saying what it is; unicast ones
 * pass. */
static void test_vip_refused(void)
{
	static const struct {
		const char *vip;
		const char *err; /* NULL: accepted */
	} cases[] = {
	    {"198.18.100.1:80/tcp", NULL},
	    {"[2001:db8:100::1]:443/udp", NULL},
	    {"0.0.0.0:80/tcp", "VIP 0.0.0.0:80/tcp: its address 0.0.0.0 is the unspecified "
			       "address, which names no host, expected a unicast address that is "
			       "routed to this load balancer"},
	    {"[::]:80/tcp", "VIP [::]:80/tcp: its address :: is the unspecified address, which "
			    "names no host, expected a unicast address that is routed to this "
			    "load balancer"},
	    {"0.1.2.3:80/tcp", "VIP 0.1.2.3:80/tcp: its address 0.1.2.3 is in 0.0.0.0/8, which "
			       "a host uses only as a source (RFC 1122), expected a unicast "
			       "address that is routed to this load balancer"},
	    {"127.0.0.1:80/tcp", "VIP 127.0.0.1:80/tcp: its address 127.0.0.1 is a loopback "
				 "address, which never leaves its host, expected a unicast "
				 "address that is routed to this load balancer"},
	    {"[::1]:80/udp", "VIP [::1]:80/udp: its address ::1 is a loopback address, which "
			     "never leaves its host, expected a unicast address that is routed "
			     "to this load balancer"},
	    {"169.254.1.1:80/tcp", "VIP 169.254.1.1:80/tcp: its address 169.254.1.1 is "
				   "link-local, which is valid on one link only and has no "
				   "route, expected a unicast address that is routed to this load "
				   "balancer"},
	    {"[fe80::1]:80/tcp", "VIP [fe80::1]:80/tcp: its address fe80::1 is link-local, "
				 "which is valid on one link only and has no route, expected a "
				 "unicast address that is routed to this load balancer"},
	    {"224.0.0.1:0/udp", "VIP 224.0.0.1:0/udp: its address 224.0.0.1 is a multicast "
				"address, which names a group, not one host, expected a unicast "
				"address that is routed to this load balancer"},
	    {"[ff02::1]:53/udp", "VIP [ff02::1]:53/udp: its address ff02::1 is a multicast "
				 "address, which names a group, not one host, expected a unicast "
				 "address that is routed to this load balancer"},
	    {"255.255.255.255:80/udp", "VIP 255.255.255.255:80/udp: its address "
				       "255.255.255.255 is the broadcast address, which names "
				       "every host on a link, expected a unicast address that is "
				       "routed to this load balancer"},
	    {"[::ffff:198.18.100.1]:80/tcp", "VIP [::ffff:198.18.100.1]:80/tcp: its address "
					     "::ffff:198.18.100.1 is IPv4-mapped, which leaves "
					     "its family ambiguous, expected the IPv4 VIP "
					     "198.18.100.1:80/tcp"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[XLB_ERRLEN] = "";
		struct xlb_vip_key key;

		CU_ASSERT_FATAL(xlb_vip_key_parse(cases[i].vip, &key, err, sizeof(err)) == 0);
		expect_int(cases[i].vip, "xlb_check_vip_addr",
			   xlb_check_vip_addr(&key, err, sizeof(err)), cases[i].err ? -EINVAL : 0);
		expect_str(cases[i].vip, "error", err, cases[i].err ? cases[i].err : "");
	}
}

#define BE_VALID "expected the unicast address of another host that this load balancer routes to"

/* Backends of every refused class, without the daemon's context. */
static void test_backend_refused(void)
{
	static const struct {
		const char *addr;
		const char *err; /* NULL: accepted */
	} cases[] = {
	    {"198.18.0.11", NULL},
	    {"2001:db8::11", NULL},
	    {"0.0.0.0",
	     "backend 0.0.0.0 is the unspecified address, which names no host, " BE_VALID},
	    {"::", "backend :: is the unspecified address, which names no host, " BE_VALID},
	    {"0.0.0.7", "backend 0.0.0.7 is in 0.0.0.0/8, which a host uses only as a source "
			"(RFC 1122), " BE_VALID},
	    {"127.0.0.1", "backend 127.0.0.1 is a loopback address, which never leaves its "
			  "host, " BE_VALID},
	    {"127.1.2.3", "backend 127.1.2.3 is a loopback address, which never leaves its "
			  "host, " BE_VALID},
	    {"::1", "backend ::1 is a loopback address, which never leaves its host, " BE_VALID},
	    {"169.254.0.1", "backend 169.254.0.1 is link-local, which is valid on one link only "
			    "and has no route, " BE_VALID},
	    {"fe80::2", "backend fe80::2 is link-local, which is valid on one link only and has "
			"no route, " BE_VALID},
	    {"224.0.0.5", "backend 224.0.0.5 is a multicast address, which names a group, not "
			  "one host, " BE_VALID},
	    {"239.1.1.1", "backend 239.1.1.1 is a multicast address, which names a group, not "
			  "one host, " BE_VALID},
	    {"ff05::2", "backend ff05::2 is a multicast address, which names a group, not one "
			"host, " BE_VALID},
	    {"255.255.255.255", "backend 255.255.255.255 is the broadcast address, which names "
				"every host on a link, " BE_VALID},
	    {"::ffff:198.18.0.9", "backend ::ffff:198.18.0.9 is IPv4-mapped, which leaves its "
				  "family ambiguous, expected the IPv4 backend 198.18.0.9"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[XLB_ERRLEN] = "";
		union xlb_addr a;
		__u8 fam;

		parse_addr(cases[i].addr, &a, &fam);
		expect_int(cases[i].addr, "xlb_check_backend_addr",
			   xlb_check_backend_addr(&a, fam, NULL, err, sizeof(err)),
			   cases[i].err ? -EINVAL : 0);
		expect_str(cases[i].addr, "error", err, cases[i].err ? cases[i].err : "");
	}
}

/* An outer-source configuration as xlbd writes it: "ADDR[/LEN]" per family,
 * NULL for none; the vary bits as xlbd's parse_src() computes them. */
static struct xlb_config outer(const char *src4, unsigned int len4, const char *src6,
			       unsigned int len6)
{
	struct xlb_config cfg = {0};
	union xlb_addr a;
	__u8 fam;

	if (src4) {
		parse_addr(src4, &a, &fam);
		cfg.src4 = a.v4;
		cfg.src4_vary = len4 == 32 ? 0 : htonl(0xffffffffU >> len4);
	}
	if (src6) {
		parse_addr(src6, &cfg.src6, &fam);
		cfg.src6_vary = len6 == 128 ? 0 : htonl(0xffffffffU >> (len6 - 96));
	}
	return cfg;
}

#define OWN_TAIL ": its tunnels would be addressed to itself, expected the address of another host"
#define NO6                                                                                        \
	" needs an IPv6 outer source and this xlbd has none (no --src6, no global IPv6 address "   \
	"on its interface), expected xlbd started with --src6 ADDR"
#define NO4                                                                                        \
	" needs an IPv4 outer source and this xlbd has none (no --src4, no IPv4 address on its "   \
	"interface), expected xlbd started with --src4 ADDR"

/* The daemon's context: its own outer sources (a range with --srcN
 * ADDR/LEN), and families it has none for. */
static void test_backend_outer(void)
{
	const struct xlb_config one = outer("198.18.7.1", 32, "2001:db8:7::1", 128);
	const struct xlb_config range = outer("198.18.0.2", 30, "2001:db8::100", 120);
	const struct xlb_config only4 = outer("198.18.7.1", 32, NULL, 0);
	const struct xlb_config only6 = outer(NULL, 0, "2001:db8:7::1", 128);
	static const struct xlb_config none;
	const struct {
		const struct xlb_config *cfg;
		const char *addr;
		const char *err; /* NULL: accepted */
	} cases[] = {
	    {&one, "198.18.7.2", NULL},
	    {&one, "2001:db8:7::2", NULL},
	    {&one, "198.18.7.1",
	     "backend 198.18.7.1 is this load balancer's own outer source "
	     "(198.18.7.1)" OWN_TAIL},
	    {&one, "2001:db8:7::1",
	     "backend 2001:db8:7::1 is this load balancer's own outer "
	     "source (2001:db8:7::1)" OWN_TAIL},
	    {&range, "198.18.0.0",
	     "backend 198.18.0.0 is this load balancer's own outer "
	     "source (198.18.0.0/30)" OWN_TAIL},
	    {&range, "198.18.0.3",
	     "backend 198.18.0.3 is this load balancer's own outer "
	     "source (198.18.0.0/30)" OWN_TAIL},
	    {&range, "198.18.0.4", NULL},
	    {&range, "198.17.255.255", NULL},
	    {&range, "2001:db8::1ff",
	     "backend 2001:db8::1ff is this load balancer's own outer "
	     "source (2001:db8::100/120)" OWN_TAIL},
	    {&range, "2001:db8::200", NULL},
	    {&range, "2001:db8:1::100", NULL},
	    {&only4, "198.18.0.11", NULL},
	    {&only4, "2001:db8::11", "backend 2001:db8::11" NO6},
	    {&only6, "2001:db8::11", NULL},
	    {&only6, "198.18.0.11", "backend 198.18.0.11" NO4},
	    {&none, "198.18.0.11", "backend 198.18.0.11" NO4},
	    {&none, "2001:db8::11", "backend 2001:db8::11" NO6},
	    /* The class comes first: it is wrong whatever the daemon has. */
	    {&none, "127.0.0.1",
	     "backend 127.0.0.1 is a loopback address, which never leaves "
	     "its host, " BE_VALID},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[XLB_ERRLEN] = "";
		union xlb_addr a;
		__u8 fam;

		parse_addr(cases[i].addr, &a, &fam);
		expect_int(cases[i].addr, "xlb_check_backend_addr",
			   xlb_check_backend_addr(&a, fam, cases[i].cfg, err, sizeof(err)),
			   cases[i].err ? -EINVAL : 0);
		expect_str(cases[i].addr, "error", err, cases[i].err ? cases[i].err : "");
		/* Without the context only the class counts. */
		if (xlb_addr_classify(&a, fam) == XLB_ADDR_UNICAST)
			expect_int(cases[i].addr, "no context",
				   xlb_check_backend_addr(&a, fam, NULL, err, sizeof(err)), 0);
	}
}

static int parse_line(const char *line, struct xlb_cmd *c, char *err)
{
	static char buf[512];
	char *words[EXPECT_WORDS_MAX];
	int n = expect_split(line, buf, sizeof(buf), words);

	err[0] = 0;
	return xlb_cmd_parse(n, words, c, err, XLB_ERRLEN);
}

/* The grammar refuses them on add only: what exists can still be changed or
 * removed, and a lookup names a client, not a backend. */
static void test_grammar(void)
{
	static const struct {
		const char *line;
		int ret;
	} cases[] = {
	    {"vip add 0.0.0.0:80/tcp", -EINVAL},
	    {"vip add [::]:80/tcp", -EINVAL},
	    {"vip add 239.0.0.1:80/udp", -EINVAL},
	    {"vip add [ff0e::1]:80/udp", -EINVAL},
	    {"vip add [::ffff:198.18.100.1]:80/tcp", -EINVAL},
	    {"vip add 198.18.100.1:80/tcp", 0},
	    {"vip set 0.0.0.0:80/tcp sched sh", 0},
	    {"vip del [::]:80/tcp", 0},
	    {"backend add 198.18.100.1:80/tcp 127.0.0.1", -EINVAL},
	    {"backend add 198.18.100.1:80/tcp 255.255.255.255 weight 2", -EINVAL},
	    {"backend add 198.18.100.1:80/tcp ::", -EINVAL},
	    {"backend add 198.18.100.1:80/tcp ::ffff:198.18.0.9", -EINVAL},
	    {"backend add [2001:db8:100::1]:80/tcp fe80::1", -EINVAL},
	    {"backend add 198.18.100.1:80/tcp 198.18.0.11", 0},
	    {"backend set 198.18.100.1:80/tcp 127.0.0.1 weight 0", 0},
	    {"backend del 198.18.100.1:80/tcp 224.0.0.1", 0},
	    {"lookup 198.18.100.1:80/tcp 0.0.0.0:5", 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[XLB_ERRLEN];
		struct xlb_cmd c;

		expect_int(cases[i].line, "xlb_cmd_parse", parse_line(cases[i].line, &c, err),
			   cases[i].ret);
		if (cases[i].ret)
			CU_ASSERT(strstr(err, ", expected ") != NULL);
	}
}

/* The rules value refuses what the grammar does (for callers that fill a
 * command themselves) and, given the daemon's outer sources, those too;
 * nothing changes. */
static void test_rules_step(void)
{
	const struct xlb_config cfg = outer("198.18.7.1", 32, NULL, 0);
	char err[XLB_ERRLEN], *before, *after;
	struct xlb_rules r;
	struct xlb_cmd c;

	xlb_rules_init(&r, 8, 8);
	CU_ASSERT_FATAL(parse_line("vip add 198.18.100.1:80/tcp", &c, err) == 0);
	CU_ASSERT_FATAL(xlb_rules_step(&r, &c, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(parse_line("backend add 198.18.100.1:80/tcp 2001:db8::11", &c, err) == 0);
	/* Unknown outer sources: an IPv6 backend is not refused... */
	expect_int("no context", "IPv6 backend", xlb_rules_step(&r, &c, err, sizeof(err)), 0);
	CU_ASSERT_FATAL(parse_line("backend del 198.18.100.1:80/tcp 2001:db8::11", &c, err) == 0);
	CU_ASSERT_FATAL(xlb_rules_step(&r, &c, err, sizeof(err)) == 0);
	/* ... known, and only IPv4 ones: it is, as is the LB itself. */
	xlb_rules_set_outer(&r, &cfg);
	before = xlb_rules_format(&r);
	CU_ASSERT_FATAL(parse_line("backend add 198.18.100.1:80/tcp 2001:db8::11", &c, err) == 0);
	expect_int("IPv4 only", "IPv6 backend", xlb_rules_step(&r, &c, err, sizeof(err)), -EINVAL);
	expect_str("IPv4 only", "error", err, "backend 2001:db8::11" NO6);
	CU_ASSERT_FATAL(parse_line("backend add 198.18.100.1:80/tcp 198.18.7.1", &c, err) == 0);
	expect_int("own source", "step", xlb_rules_step(&r, &c, err, sizeof(err)), -EINVAL);
	expect_str(
	    "own source", "error", err,
	    "backend 198.18.7.1 is this load balancer's own outer source (198.18.7.1)" OWN_TAIL);
	/* A command filled by hand, past the grammar. */
	CU_ASSERT_FATAL(parse_line("backend add 198.18.100.1:80/tcp 198.18.0.11", &c, err) == 0);
	parse_addr("224.0.0.1", &c.addr, &c.family);
	expect_int("multicast by hand", "step", xlb_rules_step(&r, &c, err, sizeof(err)), -EINVAL);
	CU_ASSERT_FATAL(parse_line("vip add 198.18.100.2:80/tcp", &c, err) == 0);
	parse_addr("0.0.0.0", &c.vip.addr, &c.vip.family);
	expect_int("unspecified VIP by hand", "step", xlb_rules_step(&r, &c, err, sizeof(err)),
		   -EINVAL);
	after = xlb_rules_format(&r);
	expect_str("refusals", "rules unchanged", after, before);
	/* The context travels with a copy. */
	{
		struct xlb_rules copy;

		CU_ASSERT_FATAL(xlb_rules_copy(&copy, &r) == 0);
		CU_ASSERT_FATAL(parse_line("backend add 198.18.100.1:80/tcp 198.18.7.1", &c, err) ==
				0);
		expect_int("copy", "own source", xlb_rules_step(&copy, &c, err, sizeof(err)),
			   -EINVAL);
		xlb_rules_free(&copy);
	}
	free(before);
	free(after);
	xlb_rules_free(&r);
}

/* A rules file with such a backend is refused at its line. */
static void test_rules_file(void)
{
	static const char text[] = "vip add 198.18.100.1:80/tcp\n"
				   "backend add 198.18.100.1:80/tcp 198.18.0.11\n"
				   "backend add 198.18.100.1:80/tcp 2001:db8::11\n";
	const struct xlb_config cfg = outer("198.18.7.1", 32, NULL, 0);
	char path[] = "/tmp/xlb-unusable.XXXXXX", err[XLB_ERRLEN], want[XLB_ERRLEN + 64];
	struct xlb_rules r;
	int fd = mkstemp(path), usage = -1;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	xlb_rules_init(&r, 8, 8);
	xlb_rules_set_outer(&r, &cfg);
	err[0] = 0;
	expect_int("file", "xlb_rules_read", xlb_rules_read(&r, path, &usage, err, sizeof(err)),
		   -EINVAL);
	snprintf(want, sizeof(want), "%s:3: backend 2001:db8::11" NO6, path);
	expect_str("file", "error", err, want);
	expect_int("file", "usage", usage, 0);
	xlb_rules_free(&r);
	unlink(path);
}

XLB_SUITE(unusable_addr, NULL, NULL, {"classify: every class, both families, edges", test_classify},
	  {"VIP: each refused class says what it is", test_vip_refused},
	  {"backend: each refused class says what it is", test_backend_refused},
	  {"backend: own outer sources, a family without one", test_backend_outer},
	  {"grammar: refused on add only", test_grammar},
	  {"rules: refused with the daemon's context, unchanged", test_rules_step},
	  {"rules file: refused at its line", test_rules_file});
