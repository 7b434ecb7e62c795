// SPDX-License-Identifier: GPL-2.0
/* test_health.c: health checks: the rise/fall state machine, fail-open ring
 * membership, the check grammar (every error, round trips), config merging,
 * and the engine against TCP/HTTP/UDP responders on loopback.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "health.h"
#include "xlb_test.h"

/* ------------------------------------------------------------- helpers */

#define MAX_TOKENS 64

/* Splits a copy of line at spaces, as the rules file and the socket do. */
static int split(const char *line, char *copy, size_t size, char **argv)
{
	int argc = 0;
	char *save = NULL, *tok;

	snprintf(copy, size, "%s", line);
	for (tok = strtok_r(copy, " ", &save); tok && argc < MAX_TOKENS;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	return argc;
}

static int parse_line(const char *line, struct xlb_hc_cfg *cfg, int *consumed, char *err,
		      size_t errlen)
{
	char copy[1024], *argv[MAX_TOKENS];
	int argc = split(line, copy, sizeof(copy), argv);

	err[0] = '\0';
	return xlb_hc_cfg_parse(argc, argv, consumed, cfg, err, errlen);
}

/* Parses a clause that must be valid. */
static struct xlb_hc_cfg cfg_of(const char *line)
{
	struct xlb_hc_cfg cfg;
	char err[256];
	int consumed, ret;

	ret = parse_line(line, &cfg, &consumed, err, sizeof(err));
	if (ret)
		fprintf(stderr, "\n  parse of '%s' failed: %s\n", line, err);
	CU_ASSERT_FATAL(ret == 0);
	return cfg;
}

static int cfg_eq(const struct xlb_hc_cfg *a, const struct xlb_hc_cfg *b)
{
	return a->kind == b->kind && a->set == b->set && a->port == b->port &&
	       a->status == b->status && a->interval_ms == b->interval_ms &&
	       a->timeout_ms == b->timeout_ms && a->rise == b->rise && a->fall == b->fall &&
	       !strcmp(a->path, b->path) && !strcmp(a->host, b->host) &&
	       a->send_len == b->send_len && !memcmp(a->send, b->send, a->send_len) &&
	       a->expect_len == b->expect_len && !memcmp(a->expect, b->expect, a->expect_len);
}

static __u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000 + (__u64)ts.tv_nsec / 1000;
}

/* ------------------------------------------------------- state machine */

static void test_state_initial(void)
{
	struct xlb_hc_state st;

	memset(&st, 0xa5, sizeof(st));
	xlb_hc_state_init(&st, 1234);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(st.ok_streak, 0);
	CU_ASSERT_EQUAL(st.fail_streak, 0);
	CU_ASSERT_EQUAL(st.since_ms, 1234);
	CU_ASSERT_EQUAL(st.transitions, 0);
	CU_ASSERT_EQUAL(st.last, XLB_HC_PENDING);
	/* PENDING and unknown values are not results. */
	CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_PENDING, 2, 2, 1), -EINVAL);
	CU_ASSERT_EQUAL(xlb_hc_state_update(&st, __XLB_HC_RESULT_MAX, 2, 2, 1), -EINVAL);
	CU_ASSERT_EQUAL(st.fail_streak, 0);
	CU_ASSERT_EQUAL(st.up, 1);
}

/* For several (rise, fall): exactly `fall` failures take it down, exactly
 * `rise` successes bring it back, each with one change reported. */
static void test_state_rise_fall(void)
{
	static const __u32 params[][2] = {{1, 1}, {2, 2}, {3, 5}, {5, 3}, {100, 100}};
	static const enum xlb_hc_result fails[] = {
	    XLB_HC_REFUSED, XLB_HC_TIMEOUT, XLB_HC_BAD_STATUS, XLB_HC_BAD_REPLY, XLB_HC_ERROR};

	for (size_t p = 0; p < sizeof(params) / sizeof(params[0]); p++) {
		__u32 rise = params[p][0], fall = params[p][1];
		struct xlb_hc_state st;
		__u64 t = 0;

		xlb_hc_state_init(&st, 0);
		for (__u32 i = 1; i < fall; i++) {
			CU_ASSERT_EQUAL(xlb_hc_state_update(&st, fails[i % 5], rise, fall, ++t), 0);
			CU_ASSERT_EQUAL(st.up, 1);
			CU_ASSERT_EQUAL(st.fail_streak, i);
		}
		CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_TIMEOUT, rise, fall, ++t), 1);
		CU_ASSERT_EQUAL(st.up, 0);
		CU_ASSERT_EQUAL(st.transitions, 1);
		CU_ASSERT_EQUAL(st.last, XLB_HC_TIMEOUT);
		/* more failures while down change nothing */
		CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_REFUSED, rise, fall, ++t), 0);
		CU_ASSERT_EQUAL(st.up, 0);
		for (__u32 i = 1; i < rise; i++) {
			CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_OK, rise, fall, ++t), 0);
			CU_ASSERT_EQUAL(st.up, 0);
			CU_ASSERT_EQUAL(st.ok_streak, i);
		}
		CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_OK, rise, fall, ++t), 1);
		CU_ASSERT_EQUAL(st.up, 1);
		CU_ASSERT_EQUAL(st.transitions, 2);
		CU_ASSERT_EQUAL(st.fail_streak, 0);
		CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_OK, rise, fall, ++t), 0);
		CU_ASSERT_EQUAL(st.up, 1);
	}
}

/* Alternating results never flap a rise 2 / fall 2 backend, up or down. */
static void test_state_hysteresis(void)
{
	struct xlb_hc_state st;
	int changes = 0;

	xlb_hc_state_init(&st, 0);
	for (int i = 0; i < 200; i++)
		changes += xlb_hc_state_update(&st, i & 1 ? XLB_HC_OK : XLB_HC_REFUSED, 2, 2, i);
	CU_ASSERT_EQUAL(changes, 0);
	CU_ASSERT_EQUAL(st.up, 1);

	/* Down, then alternating: stays down. */
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 2, 2, 300);
	CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_REFUSED, 2, 2, 301), 1);
	changes = 0;
	for (int i = 0; i < 200; i++)
		changes +=
		    xlb_hc_state_update(&st, i & 1 ? XLB_HC_TIMEOUT : XLB_HC_OK, 2, 2, 400 + i);
	CU_ASSERT_EQUAL(changes, 0);
	CU_ASSERT_EQUAL(st.up, 0);

	/* Without hysteresis (1/1) the same input flips every time. */
	xlb_hc_state_init(&st, 0);
	changes = 0;
	for (int i = 0; i < 10; i++)
		changes += xlb_hc_state_update(&st, i & 1 ? XLB_HC_OK : XLB_HC_REFUSED, 1, 1, i);
	CU_ASSERT_EQUAL(changes, 10);
}

/* One success resets a failure streak and vice versa. */
static void test_state_streak_reset(void)
{
	struct xlb_hc_state st;

	xlb_hc_state_init(&st, 0);
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 3, 3, 1);
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 3, 3, 2);
	CU_ASSERT_EQUAL(st.fail_streak, 2);
	xlb_hc_state_update(&st, XLB_HC_OK, 3, 3, 3);
	CU_ASSERT_EQUAL(st.fail_streak, 0);
	CU_ASSERT_EQUAL(st.ok_streak, 1);
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 3, 3, 4);
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 3, 3, 5);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_REFUSED, 3, 3, 6), 1);
	xlb_hc_state_update(&st, XLB_HC_OK, 3, 3, 7);
	xlb_hc_state_update(&st, XLB_HC_OK, 3, 3, 8);
	xlb_hc_state_update(&st, XLB_HC_BAD_REPLY, 3, 3, 9);
	CU_ASSERT_EQUAL(st.ok_streak, 0);
	xlb_hc_state_update(&st, XLB_HC_OK, 3, 3, 10);
	xlb_hc_state_update(&st, XLB_HC_OK, 3, 3, 11);
	CU_ASSERT_EQUAL(st.up, 0);
	CU_ASSERT_EQUAL(xlb_hc_state_update(&st, XLB_HC_OK, 3, 3, 12), 1);
}

/* since_ms moves only on a change; prev_ms is how long the old state held. */
static void test_state_times(void)
{
	struct xlb_hc_state st;

	xlb_hc_state_init(&st, 1000);
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 2, 2, 1500);
	CU_ASSERT_EQUAL(st.since_ms, 1000);
	xlb_hc_state_update(&st, XLB_HC_REFUSED, 2, 2, 2500);
	CU_ASSERT_EQUAL(st.since_ms, 2500);
	CU_ASSERT_EQUAL(st.prev_ms, 1500);
	xlb_hc_state_update(&st, XLB_HC_OK, 2, 2, 3000);
	xlb_hc_state_update(&st, XLB_HC_OK, 2, 2, 9500);
	CU_ASSERT_EQUAL(st.since_ms, 9500);
	CU_ASSERT_EQUAL(st.prev_ms, 7000);
	CU_ASSERT_EQUAL(st.transitions, 2);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
}

static void test_result_str(void)
{
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_PENDING), "pending");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_OK), "ok");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_REFUSED), "refused");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_TIMEOUT), "timeout");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_BAD_STATUS), "bad_status");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_BAD_REPLY), "bad_reply");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(XLB_HC_ERROR), "error");
	CU_ASSERT_STRING_EQUAL(xlb_hc_result_str(__XLB_HC_RESULT_MAX), "unknown");
	CU_ASSERT_STRING_EQUAL(xlb_hc_kind_str(XLB_HC_HTTP), "http");
	CU_ASSERT_STRING_EQUAL(xlb_hc_kind_str(__XLB_HC_KIND_MAX), "unknown");
}

/* ------------------------------------------------------------ fail-open */

static void test_ring_members(void)
{
	static const struct {
		const char *what;
		int n;
		int up[4];
		__u32 weight[4];
		int fail_open;
		int want_ret;
		int want[4];
	} t[] = {
	    {"all up", 3, {1, 1, 1}, {1, 2, 3}, 1, 0, {1, 1, 1}},
	    {"one down", 3, {1, 0, 1}, {1, 1, 1}, 1, 0, {1, 0, 1}},
	    {"drained but up stays out", 3, {1, 1, 1}, {1, 0, 1}, 1, 0, {1, 0, 1}},
	    {"all down, fail-open: every weighted one", 3, {0, 0, 0}, {1, 5, 1}, 1, 1, {1, 1, 1}},
	    {"all down, fail-closed: none", 3, {0, 0, 0}, {1, 5, 1}, 0, 0, {0, 0, 0}},
	    {"fail-open never brings back drained",
	     4,
	     {0, 0, 0, 0},
	     {1, 0, 1, 0},
	     1,
	     1,
	     {1, 0, 1, 0}},
	    {"only the drained one is up: still fail-open",
	     3,
	     {0, 1, 0},
	     {1, 0, 1},
	     1,
	     1,
	     {1, 0, 1}},
	    {"all drained: empty, not fail-open", 2, {1, 0}, {0, 0}, 1, 0, {0, 0}},
	    {"one up of four", 4, {0, 0, 1, 0}, {1, 1, 1, 1}, 1, 0, {0, 0, 1, 0}},
	    {"no backends", 0, {0}, {0}, 1, 0, {0}},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int in[4] = {-1, -1, -1, -1}, ret;

		ret = xlb_hc_ring_members(t[i].up, t[i].weight, (size_t)t[i].n, t[i].fail_open, in);
		if (ret != t[i].want_ret || memcmp(in, t[i].want, sizeof(int) * (size_t)t[i].n))
			fprintf(stderr, "\n  ring members case '%s' wrong\n", t[i].what);
		CU_ASSERT_EQUAL(ret, t[i].want_ret);
		CU_ASSERT(!memcmp(in, t[i].want, sizeof(int) * (size_t)t[i].n));
	}
}

/* -------------------------------------------------------------- grammar */

static void test_cfg_parse_ok(void)
{
	struct xlb_hc_cfg c;
	char err[256];
	int consumed;

	CU_ASSERT_EQUAL(parse_line("check tcp", &c, &consumed, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(consumed, 2);
	CU_ASSERT_EQUAL(c.kind, XLB_HC_TCP);
	CU_ASSERT_EQUAL(c.set, XLB_HC_F_KIND);

	/* Stops at the first token that is not a check option. */
	CU_ASSERT_EQUAL(parse_line("check http port 8080 path /healthz host www.example.com "
				   "status 204 interval 2000 timeout 500 rise 3 fall 4 weight 5",
				   &c, &consumed, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(consumed, 18);
	CU_ASSERT_EQUAL(c.kind, XLB_HC_HTTP);
	CU_ASSERT_EQUAL(c.port, 8080);
	CU_ASSERT_STRING_EQUAL(c.path, "/healthz");
	CU_ASSERT_STRING_EQUAL(c.host, "www.example.com");
	CU_ASSERT_EQUAL(c.status, 204);
	CU_ASSERT_EQUAL(c.interval_ms, 2000);
	CU_ASSERT_EQUAL(c.timeout_ms, 500);
	CU_ASSERT_EQUAL(c.rise, 3);
	CU_ASSERT_EQUAL(c.fall, 4);
	CU_ASSERT_EQUAL(c.set, XLB_HC_F_KIND | XLB_HC_F_PORT | XLB_HC_F_PATH | XLB_HC_F_HOST |
				   XLB_HC_F_STATUS | XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT |
				   XLB_HC_F_RISE | XLB_HC_F_FALL);

	/* A kind-less override sets one field and leaves defaults elsewhere. */
	CU_ASSERT_EQUAL(parse_line("check interval 500", &c, &consumed, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(consumed, 3);
	CU_ASSERT_EQUAL(c.set, XLB_HC_F_INTERVAL);
	CU_ASSERT_EQUAL(c.interval_ms, 500);
	CU_ASSERT_EQUAL(c.timeout_ms, XLB_HC_TIMEOUT_MS_DEFAULT);
	CU_ASSERT_EQUAL(c.rise, XLB_HC_RISE_DEFAULT);
	CU_ASSERT_EQUAL(c.fall, XLB_HC_FALL_DEFAULT);
	CU_ASSERT_EQUAL(c.status, XLB_HC_STATUS_DEFAULT);
	/* ...which may carry http options for the VIP's http check */
	CU_ASSERT_EQUAL(parse_line("check path /x", &c, &consumed, err, sizeof(err)), 0);

	CU_ASSERT_EQUAL(parse_line("check udp send \\x00\\x01ab\\n expect \\r\\\\\\t", &c,
				   &consumed, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(consumed, 6);
	CU_ASSERT_EQUAL(c.send_len, 5);
	CU_ASSERT(!memcmp(c.send, "\0\001ab\n", 5));
	CU_ASSERT_EQUAL(c.expect_len, 3);
	CU_ASSERT(!memcmp(c.expect, "\r\\\t", 3));

	CU_ASSERT_EQUAL(parse_line("check none", &c, &consumed, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(c.kind, XLB_HC_NONE);
	CU_ASSERT_EQUAL(consumed, 2);
	CU_ASSERT_EQUAL(parse_line("check none weight 3", &c, &consumed, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(consumed, 2);

	/* Range boundaries are inclusive. */
	c = cfg_of("check tcp port 1 interval 100 timeout 100 rise 1 fall 100");
	CU_ASSERT_EQUAL(c.port, 1);
	CU_ASSERT_EQUAL(c.timeout_ms, 100);
	c = cfg_of("check tcp port 65535 interval 3600000 timeout 10 rise 100 fall 1");
	CU_ASSERT_EQUAL(c.port, 65535);
	CU_ASSERT_EQUAL(c.interval_ms, 3600000);
	CU_ASSERT_EQUAL(c.timeout_ms, 10);
	c = cfg_of("check timeout 3600000");
	CU_ASSERT_EQUAL(c.timeout_ms, 3600000);
	c = cfg_of("check http status 100");
	CU_ASSERT_EQUAL(c.status, 100);
	c = cfg_of("check http status 599");
	CU_ASSERT_EQUAL(c.status, 599);
	{
		char line[400], path[128];

		memset(path, 'p', 127);
		path[0] = '/';
		path[127] = '\0';
		snprintf(line, sizeof(line), "check http path %s host %s", path, path + 1);
		c = cfg_of(line);
		CU_ASSERT_STRING_EQUAL(c.path, path);
		CU_ASSERT_EQUAL(strlen(c.host), 126);
		c = cfg_of("check udp send 0123456789012345678901234567890123456789012345678901234"
			   "567890123");
		CU_ASSERT_EQUAL(c.send_len, 64);
	}
}

/* Path and host go into requests and rules files: what they refuse. */
#define PATH_VALID "expected /PATH, up to 127 characters without spaces, control characters or \" ' # \\"
#define HOST_VALID                                                                                 \
	"expected a host name up to 127 characters without spaces, control characters or \" ' # \\"

static void test_cfg_parse_errors(void)
{
	static const struct {
		const char *in;
		const char *msg;
	} t[] = {
	    {"", "expected 'check'"},
	    {"chek tcp", "expected 'check'"},
	    {"check", "check needs a kind or an option, expected tcp|http|udp|none"},
	    {"check foo",
	     "bad check kind 'foo', expected tcp|http|udp|none or an option (port "
	     "interval timeout rise fall path host status send expect)"},
	    {"check TCP",
	     "bad check kind 'TCP', expected tcp|http|udp|none or an option (port "
	     "interval timeout rise fall path host status send expect)"},
	    {"check tcp port", "port needs a value, expected 1-65535"},
	    {"check tcp port 0", "bad port '0', expected 1-65535"},
	    {"check tcp port 65536", "bad port '65536', expected 1-65535"},
	    {"check tcp port -1", "bad port '-1', expected 1-65535"},
	    {"check tcp port 80x", "bad port '80x', expected 1-65535"},
	    {"check tcp port 0x50", "bad port '0x50', expected 1-65535"},
	    {"check tcp interval x", "bad interval 'x', expected milliseconds 100-3600000"},
	    {"check tcp interval 99",
	     "bad interval '99', expected milliseconds 100-3600000"},
	    {"check tcp interval 3600001",
	     "bad interval '3600001', expected milliseconds 100-3600000"},
	    {"check tcp interval 99999999999999999999999",
	     "bad interval '99999999999999999999999', expected milliseconds "
	     "100-3600000"},
	    {"check interval", "interval needs a value, expected milliseconds 100-3600000"},
	    {"check tcp timeout 9",
	     "bad timeout '9', expected milliseconds 10-3600000, at most the interval"},
	    {"check tcp timeout 3600001",
	     "bad timeout '3600001', expected milliseconds 10-3600000, at most the "
	     "interval"},
	    {"check tcp interval 500 timeout 600",
	     "bad timeout '600', expected milliseconds 10-500 (the interval)"},
	    {"check tcp timeout 600 interval 500",
	     "bad timeout '600', expected milliseconds 10-500 (the interval)"},
	    {"check tcp rise 0", "bad rise '0', expected 1-100"},
	    {"check tcp rise 101", "bad rise '101', expected 1-100"},
	    {"check tcp fall 0", "bad fall '0', expected 1-100"},
	    {"check tcp fall 101", "bad fall '101', expected 1-100"},
	    {"check tcp fall", "fall needs a value, expected 1-100"},
	    {"check http status 99", "bad status '99', expected an HTTP status 100-599"},
	    {"check http status 600", "bad status '600', expected an HTTP status 100-599"},
	    {"check http path health", "bad path 'health', " PATH_VALID},
	    {"check http path /a\tb", "bad path '/a\tb', " PATH_VALID},
	    {"check http path /a\"b", "bad path '/a\"b', " PATH_VALID},
	    {"check http path /a#b", "bad path '/a#b', " PATH_VALID},
	    {"check http host a\rb", "bad host 'a\rb', " HOST_VALID},
	    {"check http host a'b", "bad host 'a'b', " HOST_VALID},
	    {"check http host a\\b", "bad host 'a\\b', " HOST_VALID},
	    {"check udp send \\q",
	     "bad send '\\q', expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
	    {"check udp send ab\\",
	     "bad send 'ab\\', expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
	    {"check udp expect \\x4",
	     "bad expect '\\x4', expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
	    {"check udp expect \\xg0",
	     "bad expect '\\xg0', expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
	    {"check udp send "
	     "01234567890123456789012345678901234567890123456789012345678901234",
	     "bad send '01234567890123456789012345678901234567890123456789012345678901234"
	     "', expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
	    {"check tcp port 80 port 81", "port given twice, expected each option once"},
	    {"check rise 2 rise 2", "rise given twice, expected each option once"},
	    {"check none port 80", "'check none' takes no options, found 'port'"},
	    {"check tcp path /x",
	     "path does not apply to tcp checks, expected it with check http"},
	    {"check udp status 200",
	     "status does not apply to udp checks, expected it with check http"},
	    {"check http send x",
	     "send does not apply to http checks, expected it with check udp"},
	    {"check tcp expect x",
	     "expect does not apply to tcp checks, expected it with check udp"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct xlb_hc_cfg c, before;
		char err[256];
		int consumed = -7, ret;

		memset(&c, 0x5a, sizeof(c));
		memcpy(&before, &c, sizeof(c));
		ret = parse_line(t[i].in, &c, &consumed, err, sizeof(err));
		if (ret != -EINVAL || strcmp(err, t[i].msg))
			fprintf(stderr, "\n  '%s': got %d '%s'\n  expected '%s'\n", t[i].in, ret,
				err, t[i].msg);
		CU_ASSERT_EQUAL(ret, -EINVAL);
		CU_ASSERT_STRING_EQUAL(err, t[i].msg);
		/* nothing is written on error */
		CU_ASSERT(!memcmp(&c, &before, sizeof(c)));
		CU_ASSERT_EQUAL(consumed, -7);
	}
	/* One character too long. */
	{
		char line[400], path[129];
		struct xlb_hc_cfg c;
		char err[512];
		int consumed;

		memset(path, 'p', 128);
		path[0] = '/';
		path[128] = '\0';
		snprintf(line, sizeof(line), "check http path %s", path);
		CU_ASSERT_EQUAL(parse_line(line, &c, &consumed, err, sizeof(err)), -EINVAL);
		CU_ASSERT(strstr(err, "bad path '/ppp") == err);
		path[0] = 'h';
		snprintf(line, sizeof(line), "check http host %s", path);
		CU_ASSERT_EQUAL(parse_line(line, &c, &consumed, err, sizeof(err)), -EINVAL);
		CU_ASSERT(strstr(err, "bad host 'hpp") == err);
	}
}

/* format prints exactly what was set, in an order that parse reads back. */
static void test_cfg_format_roundtrip(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"check tcp", "check tcp"},
	    {"check none", "check none"},
	    {"check interval 500", "check interval 500"},
	    {"check fall 3 rise 4 timeout 200 port 22", "check port 22 timeout 200 rise 4 fall 3"},
	    {"check http status 204 host www.example.com path /healthz?full=1 port 8080 "
	     "interval 2000 timeout 500 rise 3 fall 4",
	     "check http port 8080 interval 2000 timeout 500 rise 3 fall 4 path /healthz?full=1 "
	     "host www.example.com status 204"},
	    {"check udp send \\x00\\x01ab\\n expect #\\x22'\\x20x\\\\\\t\\xff\\r",
	     "check udp send \\x00\\x01ab\\n expect \\x23\\x22\\x27\\x20x\\\\\\t\\xff\\r"},
	    {"check udp send PING expect PONG", "check udp send PING expect PONG"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct xlb_hc_cfg a = cfg_of(t[i].in), b;
		char out[512], again[512];

		CU_ASSERT_EQUAL(xlb_hc_cfg_format(&a, out, sizeof(out)), (int)strlen(t[i].out));
		if (strcmp(out, t[i].out))
			fprintf(stderr, "\n  format of '%s':\n  got  '%s'\n  want '%s'\n", t[i].in,
				out, t[i].out);
		CU_ASSERT_STRING_EQUAL(out, t[i].out);
		b = cfg_of(out);
		CU_ASSERT(cfg_eq(&a, &b));
		xlb_hc_cfg_format(&b, again, sizeof(again));
		CU_ASSERT_STRING_EQUAL(again, out);
	}
	{
		struct xlb_hc_cfg c;
		char buf[16];

		xlb_hc_cfg_init(&c);
		strcpy(buf, "junk");
		CU_ASSERT_EQUAL(xlb_hc_cfg_format(&c, buf, sizeof(buf)), 0);
		CU_ASSERT_STRING_EQUAL(buf, "");
		c = cfg_of("check http path /a/long/path");
		CU_ASSERT_EQUAL(xlb_hc_cfg_format(&c, buf, sizeof(buf)), -ENOSPC);
		CU_ASSERT_STRING_EQUAL(buf, "");
		CU_ASSERT_EQUAL(xlb_hc_cfg_format(&c, buf, 0), -ENOSPC);
	}
}

static void test_cfg_merge(void)
{
	struct xlb_hc_cfg vip, be, out;

	xlb_hc_cfg_merge(&out, NULL, NULL);
	CU_ASSERT_EQUAL(out.set, 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_TCP);
	CU_ASSERT_EQUAL(out.port, 0);
	CU_ASSERT_EQUAL(out.interval_ms, 1000);
	CU_ASSERT_EQUAL(out.timeout_ms, 1000);
	CU_ASSERT_EQUAL(out.rise, 2);
	CU_ASSERT_EQUAL(out.fall, 2);
	CU_ASSERT_EQUAL(out.status, 200);
	CU_ASSERT_STRING_EQUAL(out.path, "/");
	CU_ASSERT_STRING_EQUAL(out.host, "");

	/* backend over VIP over defaults, field by field */
	vip = cfg_of("check http path /v host v.example interval 3000 timeout 2500 rise 5");
	be = cfg_of("check port 8080 path /b interval 2000");
	xlb_hc_cfg_merge(&out, &vip, &be);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_HTTP);
	CU_ASSERT_EQUAL(out.port, 8080);
	CU_ASSERT_STRING_EQUAL(out.path, "/b");
	CU_ASSERT_STRING_EQUAL(out.host, "v.example");
	CU_ASSERT_EQUAL(out.interval_ms, 2000);
	CU_ASSERT_EQUAL(out.timeout_ms, 2000); /* VIP's 2500 clamped to the new interval */
	CU_ASSERT_EQUAL(out.rise, 5);
	CU_ASSERT_EQUAL(out.fall, 2);
	CU_ASSERT_EQUAL(out.set, vip.set | be.set);

	/* a VIP interval below the default timeout clamps it */
	vip = cfg_of("check interval 200");
	xlb_hc_cfg_merge(&out, &vip, NULL);
	CU_ASSERT_EQUAL(out.timeout_ms, 200);

	/* none on a backend turns its VIP's check off; the reverse too */
	vip = cfg_of("check http path /v");
	be = cfg_of("check none");
	xlb_hc_cfg_merge(&out, &vip, &be);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_NONE);
	xlb_hc_cfg_merge(&out, &be, &vip);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_HTTP);

	/* binary payloads overlay with their lengths */
	vip = cfg_of("check udp send longpayload expect ok");
	be = cfg_of("check send ab");
	xlb_hc_cfg_merge(&out, &vip, &be);
	CU_ASSERT_EQUAL(out.send_len, 2);
	CU_ASSERT(!memcmp(out.send, "ab", 2));
	CU_ASSERT_EQUAL(out.expect_len, 2);

	/* merging an existing override with a new one (backend set ... check) */
	vip = cfg_of("check port 81 rise 3");
	be = cfg_of("check rise 4");
	xlb_hc_cfg_merge(&out, &vip, &be);
	{
		char buf[128];

		xlb_hc_cfg_format(&out, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, "check port 81 rise 4");
	}
}

static void test_cfg_resolve(void)
{
	struct xlb_hc_cfg vip, be, out;
	char err[256] = "";

	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, NULL, NULL, IPPROTO_TCP, 80, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_TCP);
	CU_ASSERT_EQUAL(out.port, 80);
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, NULL, NULL, IPPROTO_UDP, 53, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_NONE);
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, NULL, NULL, IPPROTO_TCP, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_NONE);

	vip = cfg_of("check udp send ping");
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, &vip, NULL, IPPROTO_UDP, 53, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_UDP);
	CU_ASSERT_EQUAL(out.port, 53);

	be = cfg_of("check port 8080");
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, NULL, &be, IPPROTO_TCP, 80, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_TCP);
	CU_ASSERT_EQUAL(out.port, 8080);
	/* an all-ports VIP checks only where told which port */
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, NULL, &be, IPPROTO_TCP, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.kind, XLB_HC_NONE);
	vip = cfg_of("check tcp port 22");
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, &vip, NULL, IPPROTO_TCP, 0, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(out.port, 22);
	vip = cfg_of("check tcp");
	CU_ASSERT_EQUAL(xlb_hc_cfg_resolve(&out, &vip, NULL, IPPROTO_TCP, 0, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "check tcp on an all-ports VIP needs a port, expected "
				    "'port N' with N 1-65535");
}

/* ----------------------------------------------------- engine fixtures */

/* A TCP/HTTP or UDP server on 127.0.0.1, run by a thread so that the engine
 * under test has the main thread to itself. */
struct responder {
	int fd;		   /* listening TCP socket or bound UDP socket */
	int type;	   /* SOCK_STREAM or SOCK_DGRAM */
	__u16 port;	   /* host order */
	const char *reply; /* NULL: TCP accepts and closes, UDP never answers */
	char first[512];   /* the first request / datagram received */
	size_t first_len;
	int seen; /* requests served */
	volatile int stop;
	pthread_t th;
};

static int bound_socket(int type, __u16 port, __u16 *out_port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	CU_ASSERT_FATAL(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	if (type == SOCK_STREAM)
		CU_ASSERT_FATAL(listen(fd, 4096) == 0);
	*out_port = ntohs(sa.sin_port);
	return fd;
}

/* A port nothing listens on: bound once to find it, then closed. */
static __u16 closed_port(int type)
{
	__u16 port;
	int fd = bound_socket(type, 0, &port);

	close(fd);
	return port;
}

static void *responder_main(void *arg)
{
	struct responder *r = arg;

	/* bounded: 1500 * 20 ms = 30 s at most, even if a test forgets stop */
	for (int i = 0; i < 1500 && !r->stop; i++) {
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		char buf[512];
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		if (r->type == SOCK_DGRAM) {
			struct sockaddr_storage from;
			socklen_t fl = sizeof(from);

			n = recvfrom(r->fd, buf, sizeof(buf), MSG_DONTWAIT,
				     (struct sockaddr *)&from, &fl);
			if (n < 0)
				continue;
			if (!r->seen++) {
				memcpy(r->first, buf, (size_t)n);
				r->first_len = (size_t)n;
			}
			if (r->reply)
				sendto(r->fd, r->reply, strlen(r->reply), 0,
				       (struct sockaddr *)&from, fl);
			continue;
		}
		int c = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
		struct timeval tv = {.tv_usec = 200000};
		size_t got = 0;

		if (c < 0)
			continue;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (r->reply && got < sizeof(buf) - 1) {
			n = recv(c, buf + got, sizeof(buf) - 1 - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		if (!r->seen++) {
			memcpy(r->first, buf, got);
			r->first_len = got;
		}
		if (r->reply)
			send(c, r->reply, strlen(r->reply), MSG_NOSIGNAL);
		close(c);
	}
	return NULL;
}

static void responder_start(struct responder *r, int type, const char *reply)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->reply = reply;
	r->fd = bound_socket(type, 0, &r->port);
	CU_ASSERT_FATAL(pthread_create(&r->th, NULL, responder_main, r) == 0);
}

static void responder_stop(struct responder *r)
{
	r->stop = 1;
	pthread_join(r->th, NULL);
	close(r->fd);
}

/* What the callback saw. */
struct rec {
	int calls;
	__u64 key;
	struct xlb_hc_state st;
	__u64 at_ms;
	struct xlb_hc *del_hc; /* if set, the callback deletes key and key + 1 */
};

static void record(void *ctx, __u64 key, const struct xlb_hc_state *st)
{
	struct rec *r = ctx;

	r->calls++;
	r->key = key;
	r->st = *st;
	r->at_ms = xlb_hc_now_ms();
	if (r->del_hc) {
		xlb_hc_del(r->del_hc, key);
		xlb_hc_del(r->del_hc, key + 1);
	}
}

struct logcap {
	char last[512];
	char all[4096]; /* every line, as far as it fits */
	int lines;
	enum xlb_log_level level; /* of the last line */
};

static void capture_log(void *ctx, enum xlb_log_level level, const char *msg)
{
	struct logcap *l = ctx;
	size_t used = strlen(l->all);

	l->level = level;
	snprintf(l->last, sizeof(l->last), "%s", msg);
	snprintf(l->all + used, sizeof(l->all) - used, "%s\n", msg);
	l->lines++;
}

static struct {
	__u64 max_dispatch_us; /* longest single xlb_hc_dispatch() */
	int wakeups;	       /* epoll_wait returns in the last drive() */
} drv;

/* Runs the daemon's side of the contract: the engine's fd inside an outer
 * epoll, dispatch when readable. Stops after ms or when done() says so. */
static void drive(struct xlb_hc *hc, int ms, int (*done)(struct xlb_hc *, void *), void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN};
	__u64 end = xlb_hc_now_ms() + (__u64)ms;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	CU_ASSERT_FATAL(ep >= 0);
	CU_ASSERT_FATAL(epoll_ctl(ep, EPOLL_CTL_ADD, xlb_hc_fd(hc), &ev) == 0);
	drv.wakeups = 0;
	for (int i = 0; i < 100000; i++) {
		__u64 now = xlb_hc_now_ms(), t0;

		if (now >= end || (done && done(hc, arg)))
			break;
		if (epoll_wait(ep, &ev, 1, (int)(end - now)) <= 0)
			continue;
		drv.wakeups++;
		t0 = now_us();
		CU_ASSERT(xlb_hc_dispatch(hc) == 0);
		if (now_us() - t0 > drv.max_dispatch_us)
			drv.max_dispatch_us = now_us() - t0;
	}
	close(ep);
}

static int is_up(struct xlb_hc *hc, void *key)
{
	struct xlb_hc_state st;

	return !xlb_hc_get(hc, *(__u64 *)key, &st) && st.up;
}

static const __u8 lo4[4] = {127, 0, 0, 1};

static struct xlb_hc_cfg engine_cfg(const char *line, __u16 port)
{
	struct xlb_hc_cfg layer = cfg_of(line), out;
	char err[256];

	CU_ASSERT_FATAL(
	    xlb_hc_cfg_resolve(&out, &layer, NULL, IPPROTO_TCP, port, err, sizeof(err)) == 0);
	return out;
}

/* ---------------------------------------------------------------- engine */

static void test_engine_api(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct xlb_hc_cfg cfg = engine_cfg("check tcp", 80), bad;
	struct xlb_hc_counters cnt;
	struct xlb_hc_state st;
	__u8 lo6[16] = {0};

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	CU_ASSERT(xlb_hc_fd(hc) >= 0);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 1, AF_INET, lo4, &cfg, NULL, NULL), 0);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 1, AF_INET, lo4, &cfg, NULL, NULL), -EEXIST);
	lo6[15] = 1;
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 2, XLB_AF_INET6, lo6, &cfg, NULL, NULL), 0);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 3, XLB_AF_INET, lo4, &cfg, NULL, NULL), 0);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, 99, lo4, &cfg, NULL, NULL), -EAFNOSUPPORT);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, AF_INET, NULL, &cfg, NULL, NULL), -EINVAL);
	bad = cfg;
	bad.port = 0;
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, AF_INET, lo4, &bad, NULL, NULL), -EINVAL);
	bad = cfg;
	bad.timeout_ms = bad.interval_ms + 1;
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, AF_INET, lo4, &bad, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlb_hc_update(hc, 1, &bad), -EINVAL);
	bad = cfg;
	bad.rise = 0;
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, AF_INET, lo4, &bad, NULL, NULL), -EINVAL);
	/* a port is not needed when nothing is checked */
	bad = cfg;
	bad.kind = XLB_HC_NONE;
	bad.port = 0;
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, AF_INET, lo4, &bad, NULL, NULL), 0);

	CU_ASSERT_EQUAL(xlb_hc_get(hc, 1, &st), 0);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(st.last, XLB_HC_PENDING);
	CU_ASSERT_EQUAL(xlb_hc_get(hc, 9, &st), -ENOENT);
	CU_ASSERT_EQUAL(xlb_hc_update(hc, 9, &cfg), -ENOENT);
	CU_ASSERT_EQUAL(xlb_hc_update(hc, 1, &cfg), 0);
	CU_ASSERT_EQUAL(xlb_hc_del(hc, 9), -ENOENT);
	/* mark_down (a backend that was down before a restart) */
	CU_ASSERT_EQUAL(xlb_hc_mark_down(hc, 3), 0);
	CU_ASSERT_EQUAL(xlb_hc_get(hc, 3, &st), 0);
	CU_ASSERT_EQUAL(st.up, 0);
	CU_ASSERT_EQUAL(st.ok_streak, 0);
	CU_ASSERT_EQUAL(st.transitions, 0);
	CU_ASSERT_EQUAL(xlb_hc_mark_down(hc, 4), -EINVAL); /* kind none: never down */
	CU_ASSERT_EQUAL(xlb_hc_mark_down(hc, 9), -ENOENT);
	xlb_hc_counters_get(hc, &cnt);
	CU_ASSERT_EQUAL(cnt.backends, 4);
	CU_ASSERT_EQUAL(xlb_hc_del(hc, 1), 0);
	CU_ASSERT_EQUAL(xlb_hc_del(hc, 1), -ENOENT);
	CU_ASSERT_EQUAL(xlb_hc_get(hc, 1, &st), -ENOENT);
	xlb_hc_counters_get(hc, &cnt);
	CU_ASSERT_EQUAL(cnt.backends, 3);

	/* many keys: the table grows and every key stays reachable */
	for (__u64 k = 100; k < 1100; k++)
		CU_ASSERT_EQUAL(xlb_hc_add(hc, k * 7919, AF_INET, lo4, &cfg, NULL, NULL), 0);
	for (__u64 k = 100; k < 1100; k += 2)
		CU_ASSERT_EQUAL(xlb_hc_del(hc, k * 7919), 0);
	for (__u64 k = 101; k < 1100; k += 2)
		CU_ASSERT_EQUAL(xlb_hc_get(hc, k * 7919, &st), 0);
	xlb_hc_counters_get(hc, &cnt);
	CU_ASSERT_EQUAL(cnt.backends, 503);
	xlb_hc_free(hc);
}

/* A listener is up; a closed port goes down as refused within fall
 * intervals, with a log line that names the reason and the time; opening the
 * port brings it back within rise intervals. */
static void test_engine_tcp(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct logcap log = {0};
	struct rec good = {0}, bad = {0}, v6 = {0};
	struct xlb_hc_state st;
	__u16 lport, cport = closed_port(SOCK_STREAM);
	int lfd = bound_socket(SOCK_STREAM, 0, &lport), lfd2;
	struct xlb_hc_cfg cfg;
	__u64 t0, key = 2;
	__u8 lo6[16] = {0};

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, capture_log, &log);
	cfg = engine_cfg("check tcp interval 100 timeout 80", lport);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 1, AF_INET, lo4, &cfg, record, &good), 0);
	cfg = engine_cfg("check tcp interval 100 timeout 80", cport);
	t0 = xlb_hc_now_ms();
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 2, AF_INET, lo4, &cfg, record, &bad), 0);

	/* IPv6 to a v6 listener on ::1 */
	{
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
		socklen_t len = sizeof(sa);
		int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

		lo6[15] = 1;
		memcpy(&sa.sin6_addr, lo6, 16);
		CU_ASSERT_FATAL(fd6 >= 0);
		CU_ASSERT_FATAL(bind(fd6, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		CU_ASSERT_FATAL(listen(fd6, 64) == 0);
		getsockname(fd6, (struct sockaddr *)&sa, &len);
		cfg = engine_cfg("check tcp interval 100 timeout 80", ntohs(sa.sin6_port));
		CU_ASSERT_EQUAL(xlb_hc_add(hc, 3, AF_INET6, lo6, &cfg, record, &v6), 0);
		drive(hc, 600, NULL, NULL);
		close(fd6);
	}
	CU_ASSERT(drv.wakeups < 200); /* ~20 checks: the fd must not spin */

	CU_ASSERT_EQUAL(xlb_hc_get(hc, 1, &st), 0);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
	CU_ASSERT(st.ok_streak >= 3);
	CU_ASSERT_EQUAL(good.calls, 0);
	CU_ASSERT_EQUAL(xlb_hc_get(hc, 3, &st), 0);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
	CU_ASSERT(st.ok_streak >= 3);
	CU_ASSERT_EQUAL(v6.calls, 0);

	CU_ASSERT_EQUAL(bad.calls, 1);
	CU_ASSERT_EQUAL(bad.key, 2);
	CU_ASSERT_EQUAL(bad.st.up, 0);
	CU_ASSERT_EQUAL(bad.st.last, XLB_HC_REFUSED);
	CU_ASSERT_EQUAL(bad.st.last_code, ECONNREFUSED);
	CU_ASSERT_EQUAL(bad.st.transitions, 1);
	/* first check within one interval, the second one interval (+10%)
	 * later: down within fall * interval * 1.1, plus scheduling slack */
	CU_ASSERT(bad.at_ms - t0 <= 2 * 110 + 150);
	CU_ASSERT(strstr(log.last, "DOWN") != NULL);
	CU_ASSERT(strstr(log.last, "(refused)") != NULL);
	CU_ASSERT(strstr(log.last, "was up for 0.") != NULL);
	CU_ASSERT(strstr(log.last, "127.0.0.1:") != NULL);
	CU_ASSERT_EQUAL(log.lines, 1);
	CU_ASSERT_EQUAL(log.level, XLB_LOG_WARN);

	/* the port opens: back after rise (2) successes */
	lfd2 = bound_socket(SOCK_STREAM, cport, &cport);
	t0 = xlb_hc_now_ms();
	drive(hc, 800, is_up, &key);
	CU_ASSERT_EQUAL(bad.calls, 2);
	CU_ASSERT_EQUAL(bad.st.up, 1);
	CU_ASSERT_EQUAL(bad.st.last, XLB_HC_OK);
	CU_ASSERT_EQUAL(bad.st.transitions, 2);
	CU_ASSERT(bad.at_ms - t0 <= 2 * 110 + 150);
	/* Not necessarily the last line: on a loaded machine another backend
	 * may time out and log after it. */
	if (!strstr(log.all, "UP after 2 success"))
		fprintf(stderr, "\n  log lines:\n%s", log.all);
	CU_ASSERT(strstr(log.all, "UP after 2 success(es) in a row; was down for") != NULL);
	xlb_hc_free(hc);
	close(lfd);
	close(lfd2);
}

static int all_checked(struct xlb_hc *hc, void *arg)
{
	const __u64 *keys = arg;
	struct xlb_hc_state st;

	for (; *keys; keys++)
		if (xlb_hc_get(hc, *keys, &st) || st.last == XLB_HC_PENDING ||
		    (st.up && st.last != XLB_HC_OK) || (st.up && st.ok_streak < 2))
			return 0;
	return 1;
}

static void test_engine_http(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct responder ok, unavail, garbage, nocontent;
	struct rec r[4] = {{0}};
	struct xlb_hc_state st;
	struct xlb_hc_cfg cfg;
	char want[128];
	__u64 keys[] = {1, 2, 3, 4, 0};

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	responder_start(&ok, SOCK_STREAM, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
	responder_start(&unavail, SOCK_STREAM, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
	responder_start(&garbage, SOCK_STREAM, "SSH-2.0-OpenSSH_9.2\r\n");
	responder_start(&nocontent, SOCK_STREAM, "HTTP/1.1 204 No Content\r\n\r\n");

	cfg = engine_cfg("check http path /health interval 100 timeout 80", ok.port);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 1, AF_INET, lo4, &cfg, record, &r[0]), 0);
	cfg = engine_cfg("check http path /health interval 100 timeout 80", unavail.port);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 2, AF_INET, lo4, &cfg, record, &r[1]), 0);
	cfg = engine_cfg("check http interval 100 timeout 80", garbage.port);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 3, AF_INET, lo4, &cfg, record, &r[2]), 0);
	cfg = engine_cfg("check http host www.example.test status 204 interval 100 timeout 80",
			 nocontent.port);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 4, AF_INET, lo4, &cfg, record, &r[3]), 0);
	drive(hc, 1500, all_checked, keys);
	responder_stop(&ok);
	responder_stop(&unavail);
	responder_stop(&garbage);
	responder_stop(&nocontent);

	CU_ASSERT_EQUAL(xlb_hc_get(hc, 1, &st), 0);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
	CU_ASSERT_EQUAL(st.last_code, 200);
	CU_ASSERT_EQUAL(r[0].calls, 0);
	snprintf(want, sizeof(want), "GET /health HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n", ok.port);
	ok.first[ok.first_len] = '\0';
	CU_ASSERT(strstr(ok.first, want) == ok.first);
	CU_ASSERT(strstr(ok.first, "\r\nConnection: close\r\n") != NULL);
	CU_ASSERT(strstr(ok.first, "\r\n\r\n") == ok.first + ok.first_len - 4);

	CU_ASSERT_EQUAL(r[1].calls, 1);
	CU_ASSERT_EQUAL(r[1].st.up, 0);
	CU_ASSERT_EQUAL(r[1].st.last, XLB_HC_BAD_STATUS);
	CU_ASSERT_EQUAL(r[1].st.last_code, 503);

	CU_ASSERT_EQUAL(r[2].calls, 1);
	CU_ASSERT_EQUAL(r[2].st.up, 0);
	CU_ASSERT_EQUAL(r[2].st.last, XLB_HC_BAD_REPLY);
	garbage.first[garbage.first_len] = '\0';
	CU_ASSERT(strstr(garbage.first, "GET / HTTP/1.0\r\n") == garbage.first);

	CU_ASSERT_EQUAL(xlb_hc_get(hc, 4, &st), 0);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
	CU_ASSERT_EQUAL(r[3].calls, 0);
	nocontent.first[nocontent.first_len] = '\0';
	CU_ASSERT(strstr(nocontent.first, "\r\nHost: www.example.test\r\n") != NULL);
	xlb_hc_free(hc);
}

static void test_engine_udp(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct responder pong, wrong;
	struct rec r[3] = {{0}};
	struct xlb_hc_state st;
	struct xlb_hc_cfg layer, cfg;
	char err[256];
	__u64 keys[] = {1, 2, 3, 0};

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	responder_start(&pong, SOCK_DGRAM, "pong 1");
	responder_start(&wrong, SOCK_DGRAM, "nope");
	layer = cfg_of("check udp send ping\\r\\n expect pong interval 100 timeout 80");
	xlb_hc_cfg_resolve(&cfg, &layer, NULL, IPPROTO_UDP, pong.port, err, sizeof(err));
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 1, AF_INET, lo4, &cfg, record, &r[0]), 0);
	xlb_hc_cfg_resolve(&cfg, &layer, NULL, IPPROTO_UDP, wrong.port, err, sizeof(err));
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 2, AF_INET, lo4, &cfg, record, &r[1]), 0);
	/* nothing bound: ICMP port unreachable comes back as ECONNREFUSED */
	xlb_hc_cfg_resolve(&cfg, &layer, NULL, IPPROTO_UDP, closed_port(SOCK_DGRAM), err,
			   sizeof(err));
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 3, AF_INET, lo4, &cfg, record, &r[2]), 0);
	drive(hc, 1500, all_checked, keys);
	responder_stop(&pong);
	responder_stop(&wrong);

	CU_ASSERT_EQUAL(xlb_hc_get(hc, 1, &st), 0);
	CU_ASSERT_EQUAL(st.up, 1);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
	CU_ASSERT_EQUAL(r[0].calls, 0);
	CU_ASSERT_EQUAL(pong.first_len, 6);
	CU_ASSERT(!memcmp(pong.first, "ping\r\n", 6));
	CU_ASSERT_EQUAL(r[1].calls, 1);
	CU_ASSERT_EQUAL(r[1].st.last, XLB_HC_BAD_REPLY);
	CU_ASSERT_EQUAL(r[2].calls, 1);
	CU_ASSERT_EQUAL(r[2].st.last, XLB_HC_REFUSED);
	CU_ASSERT_EQUAL(r[2].st.up, 0);
	xlb_hc_free(hc);
}

/* Checks against a server that never answers time out after their timeout,
 * not before, and do not delay a fast check running beside them. */
#define N_HUNG 50
static void test_engine_timeout_isolated(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct rec hung[N_HUNG] = {{0}}, fast = {0};
	struct xlb_hc_counters cnt;
	struct xlb_hc_state st;
	struct xlb_hc_cfg cfg, layer;
	__u16 sport, lport;
	int silent = bound_socket(SOCK_DGRAM, 0, &sport); /* never read */
	int lfd = bound_socket(SOCK_STREAM, 0, &lport);
	char err[256];
	__u64 t0 = xlb_hc_now_ms();

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	layer = cfg_of("check udp send hello interval 500 timeout 400 fall 1");
	xlb_hc_cfg_resolve(&cfg, &layer, NULL, IPPROTO_UDP, sport, err, sizeof(err));
	for (int i = 0; i < N_HUNG; i++)
		CU_ASSERT_EQUAL(xlb_hc_add(hc, 100 + i, AF_INET, lo4, &cfg, record, &hung[i]), 0);
	cfg = engine_cfg("check tcp interval 100 timeout 50", lport);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 1, AF_INET, lo4, &cfg, record, &fast), 0);
	drv.max_dispatch_us = 0;
	drive(hc, 1100, NULL, NULL);

	for (int i = 0; i < N_HUNG; i++) {
		CU_ASSERT_EQUAL(hung[i].calls, 1);
		CU_ASSERT_EQUAL(hung[i].st.last, XLB_HC_TIMEOUT);
		/* first start in [0, 500), then exactly timeout later */
		CU_ASSERT(hung[i].at_ms - t0 >= 400);
		CU_ASSERT(hung[i].at_ms - t0 <= 500 + 400 + 150);
	}
	xlb_hc_counters_get(hc, &cnt);
	CU_ASSERT(cnt.results[XLB_HC_TIMEOUT] >= N_HUNG);
	/* ~10 checks in 1.1 s at 100 ms +-10% even with 50 hung sockets open
	 * (at least 5 in a row: a loaded machine may time one out) */
	CU_ASSERT_EQUAL(xlb_hc_get(hc, 1, &st), 0);
	CU_ASSERT_EQUAL(st.last, XLB_HC_OK);
	CU_ASSERT(st.ok_streak >= 5);
	CU_ASSERT_EQUAL(fast.calls, 0);
	/* dispatch never waits for a socket */
	CU_ASSERT(drv.max_dispatch_us < 20000);
	xlb_hc_free(hc);
	close(silent);
	close(lfd);
}

static int count_checked(struct xlb_hc *hc, const __u64 *keys, int n)
{
	struct xlb_hc_state st;
	int checked = 0;

	for (int i = 0; i < n; i++)
		checked += !xlb_hc_get(hc, keys[i], &st) && st.last != XLB_HC_PENDING;
	return checked;
}

/* 200 backends added at once: their first checks spread over the interval
 * instead of firing together. */
#define N_SPREAD 200
static void test_engine_first_spread(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct xlb_hc_cfg cfg;
	__u64 keys[N_SPREAD];
	__u16 lport;
	int lfd = bound_socket(SOCK_STREAM, 0, &lport), half;

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	cfg = engine_cfg("check tcp interval 1000 timeout 500", lport);
	for (int i = 0; i < N_SPREAD; i++) {
		keys[i] = 1000 + (__u64)i;
		CU_ASSERT_EQUAL(xlb_hc_add(hc, keys[i], AF_INET, lo4, &cfg, NULL, NULL), 0);
	}
	drive(hc, 500, NULL, NULL);
	half = count_checked(hc, keys, N_SPREAD);
	/* binomial(200, 0.5): 25%..75% is more than 7 standard deviations */
	CU_ASSERT(half >= N_SPREAD / 4 && half <= N_SPREAD * 3 / 4);
	drive(hc, 560, NULL, NULL);
	CU_ASSERT_EQUAL(count_checked(hc, keys, N_SPREAD), N_SPREAD);
	xlb_hc_free(hc);
	close(lfd);
}

/* After a stall (the daemon busy, the host suspended) every check is due at
 * once: one dispatch does a bounded share, leaves the fd readable, and the
 * following dispatches finish the rest. */
#define N_BURST 600
static void test_engine_burst_bounded(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct xlb_hc_counters cnt;
	struct xlb_hc_cfg layer = cfg_of("check udp interval 200 timeout 100"), cfg;
	__u64 keys[N_BURST];
	__u16 sport;
	/* silent, so that only the engine's timer can make its fd readable */
	int sfd = bound_socket(SOCK_DGRAM, 0, &sport);
	struct pollfd p;
	char err[256];

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	xlb_hc_cfg_resolve(&cfg, &layer, NULL, IPPROTO_UDP, sport, err, sizeof(err));
	for (int i = 0; i < N_BURST; i++) {
		keys[i] = (__u64)i;
		CU_ASSERT_EQUAL(xlb_hc_add(hc, keys[i], AF_INET, lo4, &cfg, NULL, NULL), 0);
	}
	usleep(250 * 1000);
	CU_ASSERT_EQUAL(xlb_hc_dispatch(hc), 0);
	xlb_hc_counters_get(hc, &cnt);
	CU_ASSERT(cnt.started > 0 && cnt.started < N_BURST);
	p = (struct pollfd){.fd = xlb_hc_fd(hc), .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&p, 1, 0), 1);
	drive(hc, 300, NULL, NULL);
	CU_ASSERT_EQUAL(count_checked(hc, keys, N_BURST), N_BURST);
	xlb_hc_free(hc);
	close(sfd);
}

/* Turning checks off brings a down backend up (with a callback) and stops
 * checking it; an identical update changes nothing. */
static void test_engine_update_none(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct rec r = {0};
	struct xlb_hc_counters before, after;
	struct xlb_hc_state st;
	struct xlb_hc_cfg cfg = engine_cfg("check tcp interval 100 timeout 50 fall 1",
					   closed_port(SOCK_STREAM)),
			  off = cfg;

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	CU_ASSERT_EQUAL(xlb_hc_add(hc, 7, AF_INET, lo4, &cfg, record, &r), 0);
	drive(hc, 300, NULL, NULL);
	CU_ASSERT_EQUAL(r.calls, 1);
	CU_ASSERT_EQUAL(r.st.up, 0);
	CU_ASSERT_EQUAL(xlb_hc_update(hc, 7, &cfg), 0); /* same: no-op */
	CU_ASSERT_EQUAL(r.calls, 1);

	off.kind = XLB_HC_NONE;
	CU_ASSERT_EQUAL(xlb_hc_update(hc, 7, &off), 0);
	CU_ASSERT_EQUAL(r.calls, 2);
	CU_ASSERT_EQUAL(r.st.up, 1);
	CU_ASSERT_EQUAL(r.st.transitions, 2);
	xlb_hc_counters_get(hc, &before);
	drive(hc, 300, NULL, NULL);
	xlb_hc_counters_get(hc, &after);
	CU_ASSERT_EQUAL(after.started, before.started);
	CU_ASSERT_EQUAL(r.calls, 2);
	CU_ASSERT_EQUAL(xlb_hc_get(hc, 7, &st), 0);
	CU_ASSERT_EQUAL(st.up, 1);

	/* checks on again: the kept state goes down again after fall */
	CU_ASSERT_EQUAL(xlb_hc_update(hc, 7, &cfg), 0);
	drive(hc, 300, NULL, NULL);
	CU_ASSERT_EQUAL(r.calls, 3);
	CU_ASSERT_EQUAL(r.st.up, 0);
	CU_ASSERT_EQUAL(r.st.transitions, 3);
	xlb_hc_free(hc);
}

/* A callback may delete backends, even ones whose results are waiting in
 * the same batch of events: the first change here deletes all of them, and no
 * other callback may follow. UDP to a closed port makes every result an
 * event (the ICMP error), and 200 backends over 100 ms put several in one
 * batch. Run under ASan/valgrind this also proves no freed backend is read. */
#define N_DEL 200
struct del_all {
	struct xlb_hc *hc;
	int calls;
};

static void del_all_cb(void *ctx, __u64 key, const struct xlb_hc_state *st)
{
	struct del_all *d = ctx;

	(void)key;
	(void)st;
	d->calls++;
	for (int i = 0; i < N_DEL; i++)
		xlb_hc_del(d->hc, (__u64)i);
}

static void test_engine_del_in_callback(void)
{
	struct xlb_hc *hc = xlb_hc_new();
	struct del_all d = {.hc = hc};
	struct xlb_hc_counters cnt;
	struct xlb_hc_cfg layer = cfg_of("check udp interval 100 timeout 50 fall 1"), cfg;
	char err[256];

	CU_ASSERT_FATAL(hc != NULL);
	xlb_hc_set_log(hc, NULL, NULL);
	xlb_hc_cfg_resolve(&cfg, &layer, NULL, IPPROTO_UDP, closed_port(SOCK_DGRAM), err,
			   sizeof(err));
	for (int i = 0; i < N_DEL; i++)
		CU_ASSERT_EQUAL(xlb_hc_add(hc, (__u64)i, AF_INET, lo4, &cfg, del_all_cb, &d), 0);
	drive(hc, 300, NULL, NULL);
	CU_ASSERT_EQUAL(d.calls, 1);
	xlb_hc_counters_get(hc, &cnt);
	CU_ASSERT_EQUAL(cnt.backends, 0);
	CU_ASSERT_EQUAL(cnt.running, 0);
	xlb_hc_free(hc);
}

XLB_SUITE(health, NULL, NULL, {"state: a new backend starts up", test_state_initial},
	  {"state: rise and fall counts", test_state_rise_fall},
	  {"state: hysteresis, alternating results never flap", test_state_hysteresis},
	  {"state: streaks reset", test_state_streak_reset},
	  {"state: since and time in the previous state", test_state_times},
	  {"result and kind names", test_result_str}, {"fail-open ring members", test_ring_members},
	  {"cfg parse: valid clauses and ranges", test_cfg_parse_ok},
	  {"cfg parse: every error message", test_cfg_parse_errors},
	  {"cfg format: round trip", test_cfg_format_roundtrip},
	  {"cfg merge: backend over VIP over defaults", test_cfg_merge},
	  {"cfg resolve: VIP defaults", test_cfg_resolve},
	  {"engine: add, update, del, get", test_engine_api},
	  {"engine: tcp ok, refused, back up", test_engine_tcp},
	  {"engine: http status, bad reply, host", test_engine_http},
	  {"engine: udp reply, wrong reply, refused", test_engine_udp},
	  {"engine: a silent backend times out, others run on", test_engine_timeout_isolated},
	  {"engine: first checks spread over the interval", test_engine_first_spread},
	  {"engine: a burst is worked off in bounded steps", test_engine_burst_bounded},
	  {"engine: check none brings up and stops checks", test_engine_update_none},
	  {"engine: delete from the callback", test_engine_del_in_callback});
