// SPDX-License-Identifier: GPL-2.0
/* test_cmd.c: the operator's grammar (xlb_cmd_parse in user/cmd.h), shared by
 * xlbctl, the control socket and the rules file: every command with the exact
 * values it parses to, prefixes and help, and bad input with its exact error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"
#include "cmd.h"
#include "expect.h"
#include "log.h"
#include "xlb_test.h"

#define V4 "198.18.100.1:80/tcp"
#define V6 "[2001:db8:100::1]:443/tcp"

#define G_SCHED XLB_CMD_G_SCHED
#define G_CT	XLB_CMD_G_CONNTRACK
#define G_W	XLB_CMD_G_WEIGHT
#define G_FO	XLB_CMD_G_FAIL_OPEN
#define G_CHK	XLB_CMD_G_CHECK
#define G_AL	XLB_CMD_G_ALLOW
#define G_DN	XLB_CMD_G_DENY
#define G_LIM	XLB_CMD_G_LIMIT
#define F_SH	XLB_VIP_F_SRC_HASH
#define F_NOCT	XLB_VIP_F_NO_CONNTRACK

/* A parsed command in printable form: addresses as xlb_*_format prints them
 * (test_addr.c checks those against the wire bytes), the check clause as
 * xlb_hc_cfg_format prints it (test_health.c checks that). */
struct want {
	const char *line;
	enum xlb_cmd_op op;
	__u32 given;
	__u32 vip_flags;
	const char *vip; /* NULL: the key stays zero */
	__u8 family;
	const char *addr; /* NULL: the address stays zero */
	__u16 port;	  /* lookup's client port, host order */
	__u32 weight;
	int fail_close;
	const char *check; /* "" when no clause was given */
	const char *file;
	const char *topic;
	const char *prot; /* as xlb_protect_format prints it; NULL: none */
	__u32 slow_start;
};

static const struct want good[] = {
    {"conns", XLB_CMD_CONNS, 0, .check = ""},
    {"conns " V4 " backend 198.18.0.12", XLB_CMD_CONNS, XLB_CMD_G_VIP | XLB_CMD_G_BACKEND,
     .vip = V4, .family = XLB_AF_INET, .addr = "198.18.0.12", .check = ""},
    {"conns backend 2001:db8::12 limit 5", XLB_CMD_CONNS, XLB_CMD_G_BACKEND | XLB_CMD_G_CONNS_LIMIT,
     .family = XLB_AF_INET6, .addr = "2001:db8::12", .check = ""},
    {"conns flush " V6, XLB_CMD_CONNS_FLUSH, XLB_CMD_G_VIP, .vip = V6, .check = ""},
    {"vip add " V4 " slow-start 30", XLB_CMD_VIP_ADD, XLB_CMD_G_SLOW_START, .vip = V4, .check = "",
     .slow_start = 30},
    {"vip set " V4 " slow-start off", XLB_CMD_VIP_SET, XLB_CMD_G_SLOW_START, .vip = V4, .check = "",
     .slow_start = 0},
    {"backend add " V4 " 198.18.0.12 slow-start 3600 weight 2", XLB_CMD_BACKEND_ADD,
     XLB_CMD_G_SLOW_START | G_W, .vip = V4, .family = XLB_AF_INET, .addr = "198.18.0.12",
     .weight = 2, .check = "", .slow_start = 3600},
    {"backend set " V4 " 198.18.0.12 slow-start 1", XLB_CMD_BACKEND_SET, XLB_CMD_G_SLOW_START,
     .vip = V4, .family = XLB_AF_INET, .addr = "198.18.0.12", .check = "", .slow_start = 1},
    {"vip add " V4, XLB_CMD_VIP_ADD, .vip = V4, .check = ""},
    {"vip add " V6 " sched sh conntrack off", XLB_CMD_VIP_ADD, G_SCHED | G_CT, F_SH | F_NOCT, V6,
     .check = ""},
    {"vip add 198.18.100.2:0/udp conntrack on fail-open off", XLB_CMD_VIP_ADD, G_CT | G_FO, 0,
     "198.18.100.2:0/udp", .fail_close = 1, .check = ""},
    {"vip add " V4 " fail-open on sched maglev", XLB_CMD_VIP_ADD, G_FO | G_SCHED, 0, V4,
     .check = ""},
    {"vip add " V4 " check http path /healthz host svc.example status 204 interval 500 timeout "
     "200 rise 3 fall 4",
     XLB_CMD_VIP_ADD, G_CHK, 0, V4,
     .check = "check http interval 500 timeout 200 rise 3 fall 4 path /healthz host svc.example "
	      "status 204"},
    /* A check clause ends at the first word that is none of its options. */
    {"vip add " V4 " check none sched sh", XLB_CMD_VIP_ADD, G_CHK | G_SCHED, F_SH, V4,
     .check = "check none"},
    {"vip set " V4 " sched maglev", XLB_CMD_VIP_SET, G_SCHED, 0, V4, .check = ""},
    {"vip set " V4 " fail-open on check udp send ping expect pong", XLB_CMD_VIP_SET, G_FO | G_CHK,
     0, V4, .check = "check udp send ping expect pong"},
    /* "check default" is given (it replaces a clause) but sets nothing. */
    {"vip set " V4 " check default", XLB_CMD_VIP_SET, G_CHK, 0, V4, .check = ""},
    {"vip del " V4, XLB_CMD_VIP_DEL, .vip = V4, .check = ""},
    {"vip add 198.18.100.1:65535/udp", XLB_CMD_VIP_ADD, .vip = "198.18.100.1:65535/udp",
     .check = ""},
    {"backend add " V4 " 198.18.0.11", XLB_CMD_BACKEND_ADD, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.0.11", .check = ""},
    {"backend add " V4 " 2001:db8::13 weight 2", XLB_CMD_BACKEND_ADD, G_W, .vip = V4,
     .family = XLB_AF_INET6, .addr = "2001:db8::13", .weight = 2, .check = ""},
    {"backend add " V6 " [2001:db8::21]", XLB_CMD_BACKEND_ADD, .vip = V6, .family = XLB_AF_INET6,
     .addr = "2001:db8::21", .check = ""},
    {"backend add " V4 " 198.18.0.12 weight 0 check port 9000 fall 1", XLB_CMD_BACKEND_ADD,
     G_W | G_CHK, .vip = V4, .family = XLB_AF_INET, .addr = "198.18.0.12", .weight = 0,
     .check = "check port 9000 fall 1"},
    {"backend add " V4 " 198.18.0.12 weight 007", XLB_CMD_BACKEND_ADD, G_W, .vip = V4,
     .family = XLB_AF_INET, .addr = "198.18.0.12", .weight = 7, .check = ""},
    {"backend set " V4 " 198.18.0.12 weight 65535", XLB_CMD_BACKEND_SET, G_W, .vip = V4,
     .family = XLB_AF_INET, .addr = "198.18.0.12", .weight = 65535, .check = ""},
    {"backend set " V4 " 198.18.0.12 check none", XLB_CMD_BACKEND_SET, G_CHK, .vip = V4,
     .family = XLB_AF_INET, .addr = "198.18.0.12", .check = "check none"},
    {"backend set " V4 " 198.18.0.12 check default weight 1", XLB_CMD_BACKEND_SET, G_CHK | G_W,
     .vip = V4, .family = XLB_AF_INET, .addr = "198.18.0.12", .weight = 1, .check = ""},
    {"backend del " V4 " 198.18.0.12", XLB_CMD_BACKEND_DEL, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.0.12", .check = ""},
    {"backend del " V4 " 2001:DB8:0:0::13", XLB_CMD_BACKEND_DEL, .vip = V4, .family = XLB_AF_INET6,
     .addr = "2001:db8::13", .check = ""},
    {"list", XLB_CMD_LIST, .check = ""},
    {"stats", XLB_CMD_STATS, .check = ""},
    {"lookup " V4 " 198.18.1.2:40000", XLB_CMD_LOOKUP, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.1.2", .port = 40000, .check = ""},
    {"lookup [2001:db8:100::1]:443/udp [2001:db8:1::2]:1", XLB_CMD_LOOKUP,
     .vip = "[2001:db8:100::1]:443/udp", .family = XLB_AF_INET6, .addr = "2001:db8:1::2", .port = 1,
     .check = ""},
    {"explain " V4 " 198.18.1.2:40000", XLB_CMD_EXPLAIN, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.1.2", .port = 40000, .check = ""},
    {"explain [2001:db8:100::1]:0/udp [2001:db8:1::2]:53", XLB_CMD_EXPLAIN,
     .vip = "[2001:db8:100::1]:0/udp", .family = XLB_AF_INET6, .addr = "2001:db8:1::2", .port = 53,
     .check = ""},
    {"top", XLB_CMD_TOP, .check = ""},
    {"save", XLB_CMD_SAVE, .check = ""},
    {"restore", XLB_CMD_RESTORE, .check = ""},
    {"restore /tmp/x.rules", XLB_CMD_RESTORE, .file = "/tmp/x.rules", .check = ""},
    {"detach", XLB_CMD_DETACH, .check = ""},
    /* Unique prefixes of objects and verbs. */
    {"v a " V4, XLB_CMD_VIP_ADD, .vip = V4, .check = ""},
    {"vi s " V4 " sched sh", XLB_CMD_VIP_SET, G_SCHED, F_SH, V4, .check = ""},
    {"vip set " V4 " sched rr", XLB_CMD_VIP_SET, G_SCHED, XLB_VIP_F_RR, V4, .check = ""},
    {"vip add " V4 " sched wrr", XLB_CMD_VIP_ADD, G_SCHED, XLB_VIP_F_WRR, V4, .check = ""},
    {"b a " V4 " 198.18.0.11", XLB_CMD_BACKEND_ADD, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.0.11", .check = ""},
    {"b d " V4 " 198.18.0.11", XLB_CMD_BACKEND_DEL, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.0.11", .check = ""},
    {"li", XLB_CMD_LIST, .check = ""},
    {"st", XLB_CMD_STATS, .check = ""},
    {"lo " V4 " 198.18.1.2:1", XLB_CMD_LOOKUP, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.1.2", .port = 1, .check = ""},
    {"sa", XLB_CMD_SAVE, .check = ""},
    {"e " V4 " 198.18.1.2:1", XLB_CMD_EXPLAIN, .vip = V4, .family = XLB_AF_INET,
     .addr = "198.18.1.2", .port = 1, .check = ""},
    {"r x", XLB_CMD_RESTORE, .file = "x", .check = ""},
    /* help in place of a command word or keyword, with the object asked about */
    {"help", XLB_CMD_HELP, .check = ""},
    {"h", XLB_CMD_HELP, .check = ""},
    {"-h", XLB_CMD_HELP, .check = ""},
    {"--help", XLB_CMD_HELP, .check = ""},
    {"help vip", XLB_CMD_HELP, .topic = "vip", .check = ""},
    {"help b", XLB_CMD_HELP, .topic = "backend", .check = ""},
    {"help backend add", XLB_CMD_HELP, .topic = "backend", .check = ""},
    {"help frob", XLB_CMD_HELP, .check = ""},
    {"vip help", XLB_CMD_HELP, .topic = "vip", .check = ""},
    {"backend add -h", XLB_CMD_HELP, .topic = "backend", .check = ""},
    {"vip add 198.18.100.300:80/tcp --help", XLB_CMD_HELP, .topic = "vip", .check = ""},
    {"lookup --help", XLB_CMD_HELP, .topic = "lookup", .check = ""},
    {"vip add " V4 " check udp -h", XLB_CMD_HELP, .topic = "vip", .check = ""},
    /* ...but an option's value is a value, whatever it spells. */
    {"vip add " V4 " check udp send help expect --help", XLB_CMD_VIP_ADD, G_CHK, 0, V4,
     .check = "check udp send \\x68elp expect \\x2d-help"},
    {"vip add " V4 " check http host -h", XLB_CMD_VIP_ADD, G_CHK, 0, V4,
     .check = "check http host -h"},
    /* protection: lists sorted, an address alone is its /32 or /128 */
    {"vip add " V4 " allow 198.18.2.0/24,198.18.1.7", XLB_CMD_VIP_ADD, G_AL, 0, V4, .check = "",
     .prot = " allow 198.18.1.7/32,198.18.2.0/24"},
    {"vip set " V6 " deny 2001:db8:1::/48 allow 2001:db8::/32,2001:db8:2::9", XLB_CMD_VIP_SET,
     G_AL | G_DN, 0, V6, .check = "",
     .prot = " allow 2001:db8::/32,2001:db8:2::9/128 deny 2001:db8:1::/48"},
    {"vip set " V4 " allow 0.0.0.0/0 deny 198.18.1.0/24", XLB_CMD_VIP_SET, G_AL | G_DN, 0, V4,
     .check = "", .prot = " allow 0.0.0.0/0 deny 198.18.1.0/24"},
    {"vip set " V4 " allow any deny none", XLB_CMD_VIP_SET, G_AL | G_DN, 0, V4, .check = ""},
    {"vip set " V4 " limit 50/s burst 10", XLB_CMD_VIP_SET, G_LIM, 0, V4, .check = "",
     .prot = " limit 50/s burst 10"},
    {"vip set " V4 " limit 50/s check tcp", XLB_CMD_VIP_SET, G_LIM | G_CHK, 0, V4,
     .check = "check tcp", .prot = " limit 50/s burst 50"},
    {"vip set " V4 " limit 1000000/s burst 1000000", XLB_CMD_VIP_SET, G_LIM, 0, V4, .check = "",
     .prot = " limit 1000000/s burst 1000000"},
    {"vip set " V4 " limit 1/s burst 1", XLB_CMD_VIP_SET, G_LIM, 0, V4, .check = "",
     .prot = " limit 1/s burst 1"},
    {"vip set " V4 " limit off", XLB_CMD_VIP_SET, G_LIM, 0, V4, .check = ""},
    /* help as a list's value is a value (and a bad prefix) */
};

static void check_good(const struct want *w, const char *line)
{
	char buf[1024], *argv[EXPECT_WORDS_MAX], err[XLB_ERRLEN] = "";
	char text[XLB_ADDR_STRLEN], chk[1024];
	int argc = expect_split(line, buf, sizeof(buf), argv);
	struct xlb_cmd c;

	memset(&c, 0xa5, sizeof(c));
	expect_int(line, "xlb_cmd_parse", xlb_cmd_parse(argc, argv, &c, err, sizeof(err)), 0);
	expect_str(line, "no error text", err, "");
	expect_int(line, "op", c.op, w->op);
	expect_int(line, "given", c.given, w->given);
	expect_int(line, "vip_flags", c.vip_flags, w->vip_flags);
	if (w->vip) {
		xlb_vip_key_format(&c.vip, text, sizeof(text));
		expect_str(line, "vip", text, w->vip);
	} else {
		static const struct xlb_vip_key zero;

		expect_int(line, "vip zero", memcmp(&c.vip, &zero, sizeof(zero)), 0);
	}
	expect_int(line, "family", c.family, w->family);
	if (w->addr) {
		xlb_addr_format(&c.addr, c.family, text, sizeof(text));
		expect_str(line, "addr", text, w->addr);
	} else {
		static const union xlb_addr zero;

		expect_int(line, "addr zero", memcmp(&c.addr, &zero, sizeof(zero)), 0);
	}
	expect_int(line, "port", ntohs(c.port), w->port);
	expect_int(line, "weight", c.weight, w->weight);
	expect_int(line, "slow_start", c.slow_start, w->slow_start);
	expect_int(line, "fail_close", c.fail_close, w->fail_close);
	expect_int(line, "check format", xlb_hc_cfg_format(&c.hc, chk, sizeof(chk)) >= 0, 1);
	expect_str(line, "check", chk, w->check);
	expect_str(line, "file", c.file, w->file);
	expect_str(line, "topic", c.topic, w->topic);
	{
		char prot[4096];

		expect_int(line, "protect format",
			   xlb_protect_format(&c.prot, prot, sizeof(prot)) >= 0, 1);
		expect_str(line, "protect", prot, w->prot ? w->prot : "");
	}
}

static void test_parse_good(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		check_good(&good[i], good[i].line);
}

static const struct {
	const char *line;
	const char *err;
} bad[] = {
    /* objects and verbs */
    {"", "missing command, expected vip, backend, list, stats, lookup, explain, top, save, "
	 "restore, detach, conns or help"},
    {"''", "unknown command '', expected one of vip, backend, list, stats, lookup, explain, top, "
	   "save, restore, detach, conns, help"},
    {"frob", "unknown command 'frob', expected one of vip, backend, list, stats, lookup, explain, "
	     "top, save, restore, detach, conns, help"},
    {"s", "ambiguous command 's' (stats, save), expected a unique prefix"},
    {"l", "ambiguous command 'l' (list, lookup), expected a unique prefix"},
    /* detach must be written out: a typo must not take xlb off. */
    {"detac",
     "unknown command 'detac', expected one of vip, backend, list, stats, lookup, explain, "
     "top, save, restore, detach, conns, help"},
    {"d", "unknown command 'd', expected one of vip, backend, list, stats, lookup, explain, "
	  "top, save, restore, detach, conns, help"},
    {"vip", "'vip' needs a verb, expected add, set, del"},
    /* conns */
    {"conns limit 0", "bad limit '0', expected limit 1-10000 (flows to list)"},
    {"conns limit 10001", "bad limit '10001', expected limit 1-10000 (flows to list)"},
    {"conns limit", "bad limit '', expected limit 1-10000 (flows to list)"},
    {"conns backend 198.18.0.x",
     "bad backend address '198.18.0.x', expected an IPv4 or IPv6 address without a port"},
    {"conns backend", "'backend' needs an address, expected backend ADDR (an IPv4 or IPv6 address "
		      "without a port)"},
    {"conns flush",
     "'conns flush' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp"},
    {"conns flush " V4 " limit 3",
     "unexpected 'limit' after 'conns flush " V4 "', expected: conns flush VIP"},
    {"conns limit 3 limit 4", "'limit' given twice, expected it at most once"},
    {"vip frob " V4, "unknown verb 'frob' for 'vip', expected add, set, del"},
    {"v x " V4, "unknown verb 'x' for 'vip', expected add, set, del"},
    {"backend", "'backend' needs a verb, expected add, set, del"},
    /* VIPs */
    {"vip add", "'vip add' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp"},
    {"vip del", "'vip del' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp"},
    {"b s", "'backend set' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp"},
    {"vip add 198.18.100.300:80/tcp",
     "bad VIP address '198.18.100.300', expected an IPv4 or IPv6 address"},
    {"vip add 198.18.100.9:65536/tcp",
     "bad port '65536' in VIP '198.18.100.9:65536/tcp', expected 0-65535 (0 = all ports)"},
    {"vip add 198.18.100.9:-1/tcp",
     "bad port '-1' in VIP '198.18.100.9:-1/tcp', expected 0-65535 (0 = all ports)"},
    {"vip add 198.18.100.9:80/sctp",
     "bad protocol 'sctp' in VIP '198.18.100.9:80/sctp', expected tcp or udp"},
    {"vip add 198.18.100.9:80",
     "bad VIP '198.18.100.9:80', expected ADDR:PORT/PROTO with PROTO tcp or udp"},
    {"vip add 2001:db8::9:80/tcp", "bad VIP '2001:db8::9:80/tcp', expected ADDR:PORT/PROTO, e.g. "
				   "198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp"},
    /* VIP options */
    {"vip add " V4 " slow-start 3601",
     "bad slow-start '3601', expected 1-3600 seconds, or 0 or off for none"},
    {"vip set " V4 " slow-start -1",
     "bad slow-start '-1', expected 1-3600 seconds, or 0 or off for none"},
    {"backend add " V4 " 198.18.0.12 slow-start 6s",
     "bad slow-start '6s', expected 1-3600 seconds, or 0 or off for none"},
    {"backend set " V4 " 198.18.0.12 slow-start",
     "'slow-start' needs a value, expected slow-start 1-3600 (seconds) or off"},
    {"vip add " V4 " slow-start 5 slow-start 6",
     "'slow-start' given twice, expected it at most once"},
    {"vip add " V4 " sched random",
     "unknown scheduler 'random', expected maglev (whole flow), sh (source address), rr (in "
     "turn), wrr (in turn by weight), lc (fewest connections) or wlc (fewest connections per "
     "weight)"},
    {"vip add " V4 " sched least",
     "unknown scheduler 'least', expected maglev (whole flow), sh (source address), rr (in "
     "turn), wrr (in turn by weight), lc (fewest connections) or wlc (fewest connections per "
     "weight)"},
    {"vip add " V4 " sched", "'sched' needs a value, expected sched maglev|sh|rr|wrr|lc|wlc"},
    {"vip add " V4 " sched sh sched maglev", "'sched' given twice, expected it at most once"},
    {"vip add " V4 " conntrack maybe", "bad conntrack value 'maybe', expected on or off"},
    {"vip a " V4 " conntrack", "'conntrack' needs a value, expected conntrack on|off"},
    {"vip add " V4 " fail-open maybe",
     "bad fail-open value 'maybe', expected on or off (every backend down: on forwards to all "
     "of them, off drops)"},
    {"vip add " V4 " fail-open", "'fail-open' needs a value, expected fail-open on|off"},
    {"vip add " V4 " frobnicate",
     "unknown keyword 'frobnicate' for 'vip add', expected sched or conntrack or fail-open or "
     "allow or deny or limit or slow-start or check (vip add VIP [sched maglev|sh|rr|wrr|lc|wlc] [conntrack "
     "on|off] "
     "[fail-open on|off] [PROTECT] [slow-start S] [CHECK])"},
    {"vip add " V4 " weight 3",
     "unknown keyword 'weight' for 'vip add', expected sched or conntrack or fail-open or allow "
     "or deny or limit or slow-start or check (vip add VIP [sched maglev|sh|rr|wrr|lc|wlc] [conntrack on|off] "
     "[fail-open "
     "on|off] [PROTECT] [slow-start S] [CHECK])"},
    /* source ACLs */
    {"vip set " V4 " allow",
     "'allow' needs a value, expected allow PREFIX[,PREFIX...] or allow any"},
    {"vip set " V4 " deny", "'deny' needs a value, expected deny PREFIX[,PREFIX...] or deny none"},
    {"vip set " V4 " allow frob",
     "allow: bad prefix 'frob', expected an IPv4 or IPv6 address with an optional /LEN, e.g. "
     "198.18.0.0/24 or 2001:db8::2 (or allow any)"},
    {"vip set " V4 " deny any",
     "deny: bad prefix 'any', expected an IPv4 or IPv6 address with an optional /LEN, e.g. "
     "198.18.0.0/24 or 2001:db8::2 (or deny none)"},
    {"vip set " V4 " allow 198.18.1.0/33",
     "allow: bad prefix length in '198.18.1.0/33', expected /0-32 (or allow any)"},
    {"vip set " V6 " deny 2001:db8::/129",
     "deny: bad prefix length in '2001:db8::/129', expected /0-128 (or deny none)"},
    {"vip set " V4 " allow 198.18.1.1/24",
     "allow: prefix '198.18.1.1/24' has bits set beyond /24, expected 198.18.1.0/24 (or allow "
     "any)"},
    {"vip set " V4 " allow 198.18.1.0/24,2001:db8::/32",
     "allow prefix '2001:db8::/32' is IPv6 but the VIP is IPv4, expected IPv4 prefixes"},
    {"vip set " V6 " deny 198.18.1.0/24",
     "deny prefix '198.18.1.0/24' is IPv4 but the VIP is IPv6, expected IPv6 prefixes"},
    {"vip set " V4 " allow 198.18.1.0/24,198.18.1.0/24",
     "allow prefix '198.18.1.0/24' given twice, expected each once"},
    {"vip set " V4 " allow 198.18.1.0/24,,198.18.2.0/24",
     "bad allow list '198.18.1.0/24,,198.18.2.0/24', expected PREFIX[,PREFIX...] without empty "
     "items or allow any"},
    {"vip set " V4 " deny 198.18.1.0/24,",
     "bad deny list '198.18.1.0/24,', expected PREFIX[,PREFIX...] without empty items or deny "
     "none"},
    {"vip set " V4 " allow ,", "bad allow list ',', expected PREFIX[,PREFIX...] without empty "
			       "items or allow any"},
    {"vip set " V4 " allow 198.18.1.0/24 allow any",
     "'allow' given twice, expected it at most once"},
    /* limits */
    {"vip set " V4 " limit", "'limit' needs a value, expected limit N/s [burst B] or limit off"},
    {"vip set " V4 " limit 50",
     "bad limit '50', expected N/s (new flows per second and client, N 1-1000000) or off"},
    {"vip set " V4 " limit 50/m",
     "bad limit '50/m', expected N/s (new flows per second and client, N 1-1000000) or off"},
    {"vip set " V4 " limit 0/s",
     "bad limit rate '0/s', expected 1-1000000 new flows per second (N/s)"},
    {"vip set " V4 " limit 1000001/s",
     "bad limit rate '1000001/s', expected 1-1000000 new flows per second (N/s)"},
    {"vip set " V4 " limit -5/s",
     "bad limit rate '-5/s', expected 1-1000000 new flows per second (N/s)"},
    {"vip set " V4 " limit 50/s burst 0",
     "bad burst '0', expected 1-1000000 (new flows a client may open at once)"},
    {"vip set " V4 " limit 50/s burst 1000001",
     "bad burst '1000001', expected 1-1000000 (new flows a client may open at once)"},
    {"vip set " V4 " limit 50/s burst", "'burst' needs a value, expected burst 1-1000000"},
    {"vip set " V4 " limit off burst 3",
     "unknown keyword 'burst' for 'vip set', expected sched or conntrack or fail-open or allow "
     "or deny or limit or slow-start or check (vip set VIP [sched maglev|sh|rr|wrr|lc|wlc] [conntrack on|off] "
     "[fail-open "
     "on|off] [PROTECT] [slow-start S] [CHECK])"},
    {"vip del " V4 " sched sh", "unexpected 'sched' after 'vip del', expected: vip del VIP"},
    /* check clauses, as far as the grammar adds to health.h's */
    {"vip add " V4 " check",
     "check needs a kind or an option, expected tcp|http|udp|none (or default)"},
    {"vip add " V4 " check icmp",
     "bad check kind 'icmp', expected tcp|http|udp|none or an option (port interval timeout "
     "rise fall path host status send expect)"},
    {"vip add " V4 " check tcp check udp", "'check' given twice, expected it at most once"},
    {"vip add " V4 " check default check tcp", "'check' given twice, expected it at most once"},
    {"vip add " V4 " check tcp rise 2 rise 3", "rise given twice, expected each option once"},
    {"vip add " V4 " check tcp interval 50",
     "bad interval '50', expected milliseconds 100-3600000"},
    {"vip add " V4 " check tcp interval +500",
     "bad interval '+500', expected milliseconds 100-3600000"},
    {"vip add " V4 " check tcp interval -500",
     "bad interval '-500', expected milliseconds 100-3600000"},
    {"vip add " V4 " check tcp port +80", "bad port '+80', expected 1-65535"},
    {"vip add " V4 " check tcp rise -1", "bad rise '-1', expected 1-100"},
    {"vip add " V4 " check tcp fall 0x2", "bad fall '0x2', expected 1-100"},
    /* backends */
    {"backend add " V4,
     "'backend add' needs a backend address after the VIP, expected an IPv4 or IPv6 address"},
    {"backend add " V4 " 198.18.0.256",
     "bad backend address '198.18.0.256', expected an IPv4 or IPv6 address without a port"},
    {"backend add " V4 " 198.18.0.1:80",
     "bad backend address '198.18.0.1:80', expected an IPv4 or IPv6 address without a port"},
    {"backend add " V6 " 198.18.0.1",
     "backend 198.18.0.1 is IPv4 but VIP [2001:db8:100::1]:443/tcp is IPv6, an IPv6 VIP needs "
     "IPv6 backends (an IPv4 VIP takes either)"},
    {"backend add " V4 " 198.18.0.77 weight 65536",
     "bad weight '65536', expected 0-65535 (0 = drain)"},
    {"backend add " V4 " 198.18.0.77 weight -1", "bad weight '-1', expected 0-65535 (0 = drain)"},
    {"backend add " V4 " 198.18.0.77 weight +5", "bad weight '+5', expected 0-65535 (0 = drain)"},
    {"backend add " V4 " 198.18.0.77 weight 0x10",
     "bad weight '0x10', expected 0-65535 (0 = drain)"},
    {"backend add " V4 " 198.18.0.77 weight abc", "bad weight 'abc', expected 0-65535 (0 = drain)"},
    {"backend add " V4 " 198.18.0.77 weight 99999999999",
     "bad weight '99999999999', expected 0-65535 (0 = drain)"},
    {"backend add " V4 " 198.18.0.77 weight", "'weight' needs a value, expected weight 0-65535"},
    {"backend add " V4 " 198.18.0.77 weight 1 weight 2",
     "'weight' given twice, expected it at most once"},
    {"backend add " V4 " 198.18.0.77 sched sh",
     "unknown keyword 'sched' for 'backend add', expected weight or slow-start or check (backend "
     "add VIP ADDR "
     "[weight N] [slow-start S] [CHECK])"},
    {"backend set " V4 " 198.18.0.11", "'backend set' needs weight, slow-start or check, expected: "
				       "backend set VIP ADDR [weight N] [slow-start S] [CHECK]"},
    {"backend del " V4 " 198.18.0.11 extra",
     "unexpected 'extra' after 'backend del', expected: backend del VIP ADDR"},
    {"backend del " V4 " 198.18.0.11 weight 3",
     "unexpected 'weight' after 'backend del', expected: backend del VIP ADDR"},
    /* the rest */
    {"list extra", "unexpected 'extra' after 'list', expected: list"},
    {"stats extra", "unexpected 'extra' after 'stats', expected: stats"},
    {"save x", "unexpected 'x' after 'save', expected: save"},
    {"detach now", "unexpected 'now' after 'detach', expected: detach"},
    {"lookup", "'lookup' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp"},
    {"lookup " V4, "'lookup' needs the client after the VIP, expected SRC_ADDR:SRC_PORT, e.g. "
		   "198.18.1.2:40000"},
    {"lookup " V4 " 198.18.1.1", "bad endpoint '198.18.1.1', expected ADDR:PORT, e.g. "
				 "198.18.1.2:40000 or [2001:db8:1::2]:40000"},
    {"lookup " V4 " 198.18.1.1:0", "bad port '0' in '198.18.1.1:0', expected 1-65535"},
    {"lookup " V4 " [2001:db8::1]:5",
     "client [2001:db8::1]:5 and the VIP differ in address family, expected an IPv4 client"},
    {"lookup " V6 " 198.18.1.1:5",
     "client 198.18.1.1:5 and the VIP differ in address family, expected an IPv6 client"},
    {"lookup " V4 " 198.18.1.1:5 x",
     "unexpected 'x' after 'lookup', expected: lookup VIP SRC_ADDR:SRC_PORT"},
    {"explain", "'explain' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp"},
    {"explain " V4, "'explain' needs the client after the VIP, expected SRC_ADDR:SRC_PORT, e.g. "
		    "198.18.1.2:40000"},
    {"explain " V4 " [2001:db8::1]:5",
     "client [2001:db8::1]:5 and the VIP differ in address family, expected an IPv4 client"},
    {"explain " V4 " 198.18.1.1:5 x",
     "unexpected 'x' after 'explain', expected: explain VIP SRC_ADDR:SRC_PORT"},
    {"top count 0", "bad count '0', expected count 1-1000000 (intervals of a second)"},
    {"top count", "bad count '', expected count 1-1000000 (intervals of a second)"},
    {"restore a b", "unexpected 'b' after 'restore', expected: restore [FILE]"},
    {"restore ''", "empty file name, expected restore [FILE]"},
};

static void test_parse_bad(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char buf[1024], *argv[EXPECT_WORDS_MAX], err[XLB_ERRLEN] = "";
		int argc = expect_split(bad[i].line, buf, sizeof(buf), argv);
		struct xlb_cmd c;

		expect_int(bad[i].line, "xlb_cmd_parse",
			   xlb_cmd_parse(argc, argv, &c, err, sizeof(err)), -EINVAL);
		expect_str(bad[i].line, "error text", err, bad[i].err);
	}
}

/* A short error buffer gets a cut message, never an overflow. */
static void test_parse_short_err(void)
{
	char *argv[] = {"frob"};
	char err[16];
	struct xlb_cmd c;

	memset(err, 'x', sizeof(err));
	CU_ASSERT_EQUAL(xlb_cmd_parse(1, argv, &c, err, sizeof(err)), -EINVAL);
	expect_str("frob", "cut error text", err, "unknown command");
}

static void test_mutates(void)
{
	static const struct {
		enum xlb_cmd_op op;
		const char *name;
		int mutates;
	} ops[] = {
	    {XLB_CMD_HELP, "help", 0},
	    {XLB_CMD_VIP_ADD, "vip add", 1},
	    {XLB_CMD_VIP_SET, "vip set", 1},
	    {XLB_CMD_VIP_DEL, "vip del", 1},
	    {XLB_CMD_BACKEND_ADD, "backend add", 1},
	    {XLB_CMD_BACKEND_SET, "backend set", 1},
	    {XLB_CMD_BACKEND_DEL, "backend del", 1},
	    {XLB_CMD_LIST, "list", 0},
	    {XLB_CMD_STATS, "stats", 0},
	    {XLB_CMD_LOOKUP, "lookup", 0},
	    {XLB_CMD_EXPLAIN, "explain", 0},
	    {XLB_CMD_TOP, "top", 0},
	    {XLB_CMD_SAVE, "save", 0},
	    {XLB_CMD_RESTORE, "restore", 0},
	    {XLB_CMD_DETACH, "detach", 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		expect_int(ops[i].name, "xlb_cmd_mutates", xlb_cmd_mutates(ops[i].op),
			   ops[i].mutates);
}

/* A list holds XLB_ACL_MAX_PREFIXES prefixes, not one more. */
static void test_acl_list_limit(void)
{
	char line[1024], *argv[8], err[XLB_ERRLEN] = "";
	size_t off = (size_t)snprintf(line, sizeof(line), "vip set " V4 " deny ");
	struct xlb_cmd c;
	int argc;

	for (int i = 0; i < XLB_ACL_MAX_PREFIXES; i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s198.18.%d.0/24",
					i ? "," : "", i);
	{
		char buf[1024];

		argc = expect_split(line, buf, sizeof(buf), argv);
		expect_int("32 prefixes", "parse", xlb_cmd_parse(argc, argv, &c, err, sizeof(err)),
			   0);
		expect_int("32 prefixes", "n_deny", c.prot.n_deny, XLB_ACL_MAX_PREFIXES);
	}
	snprintf(line + off, sizeof(line) - off, ",198.18.200.0/24");
	{
		char buf[1024];

		argc = expect_split(line, buf, sizeof(buf), argv);
		expect_int("33 prefixes", "parse", xlb_cmd_parse(argc, argv, &c, err, sizeof(err)),
			   -EINVAL);
		expect_str("33 prefixes", "error", err,
			   "deny list has more than 32 prefixes ('198.18.200.0/24' is one too "
			   "many), expected at most 32");
	}
}

/* The usage text lists every verb's line once, and a topic only its own. */
static void test_usage(void)
{
	static const char *const lines[] = {
	    "  vip add VIP [sched maglev|sh|rr|wrr|lc|wlc] [conntrack on|off] [fail-open on|off] [PROTECT] "
	    "[slow-start S] [CHECK]\n",
	    "  vip set VIP [sched maglev|sh|rr|wrr|lc|wlc] [conntrack on|off] [fail-open on|off] [PROTECT] "
	    "[slow-start S] [CHECK]\n",
	    "  vip del VIP\n",
	    "  backend add VIP ADDR [weight N] [slow-start S] [CHECK]\n",
	    "  backend set VIP ADDR [weight N] [slow-start S] [CHECK]\n",
	    "  backend del VIP ADDR\n",
	    "  list\n",
	    "  stats\n",
	    "  lookup VIP SRC_ADDR:SRC_PORT\n",
	    "  explain VIP SRC_ADDR:SRC_PORT\n",
	    "  top [count N]\n",
	    "  save\n",
	    "  restore [FILE]\n",
	    "  detach\n",
	    "  conns [VIP] [backend ADDR] [limit N]\n",
	    "  conns flush VIP\n",
	    "  help [OBJECT]\n",
	};
	char all[8192], head[4096];
	size_t off = 0;

	snprintf(all, sizeof(all), "%s", xlb_cmd_usage(NULL));
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
		off += snprintf(head + off, sizeof(head) - off, "%s", lines[i]);
	/* The grammar, in table order, then the notes on VIP, ADDR, CHECK. */
	expect_int("usage", "starts with every command line", strncmp(all, head, off), 0);
	expect_int("usage", "then the notes", strncmp(all + off, "VIP is ADDR:PORT/PROTO", 22), 0);
	expect_int("usage", "explains CHECK", !!strstr(all, "CHECK is a health check: check "), 1);
	expect_int("usage", "explains PROTECT", !!strstr(all, "PROTECT is any of: allow "), 1);
	snprintf(all, sizeof(all), "%s", xlb_cmd_usage("vip"));
	expect_int("usage vip", "the vip lines, then the notes",
		   strncmp(all, lines[0], strlen(lines[0])) == 0 &&
		       !!strstr(all, "  vip del VIP\nVIP is "),
		   1);
	expect_int("usage vip", "no backend line", !strstr(all, "backend add VIP"), 1);
	expect_int("usage lookup", "the lookup line, then the notes",
		   strncmp(xlb_cmd_usage("lookup"), "  lookup VIP SRC_ADDR:SRC_PORT\nVIP is ", 38),
		   0);
}

XLB_SUITE(cmd, NULL, NULL, {"parse: every command, exact values", test_parse_good},
	  {"parse: bad input, exact error text", test_parse_bad},
	  {"parse: short error buffer", test_parse_short_err},
	  {"mutates: only vip and backend commands", test_mutates},
	  {"allow/deny lists: 32 prefixes, not 33", test_acl_list_limit},
	  {"usage: every command line, topics", test_usage});
