// SPDX-License-Identifier: GPL-2.0
/* xlbctl.c: the operator's tool. Checks the command's syntax with the same
 * parser the daemon uses, sends it over the control socket, and prints the
 * daemon's JSON reply as JSON (-j) or as text. Exit: 0 ok, 1 error, 2 usage. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "ctl.h"
#include "log.h"
#include "rates.h"
#include "request.h"
#include "xlb.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static int json_mode, pretty, dry_run;

static const char global_usage[] =
    "Usage: xlbctl [-S SOCKET] [-j [-p]] [-n] COMMAND\n"
    "  -S, --socket PATH  xlbd's control socket (default " XLB_RUN_DIR "/xlbd.sock,\n"
    "                     outside the host's network namespace\n"
    "                     " XLB_RUN_DIR "/netns-ID/xlbd.sock; else the only *.sock there)\n"
    "  -j, --json         print JSON (errors too, as {\"error\": ...})\n"
    "  -p, --pretty       indent the JSON (implies -j)\n"
    "  -n, --dry-run      check a change (vip, backend, restore) and report what it\n"
    "                     would do: ring slots that move per VIP, tracked\n"
    "                     connections that break; change nothing\n"
    "  -h, --help         this text; 'xlbctl OBJECT help' for one object\n"
    "Commands:\n";

static void print_json(json_t *v)
{
	char *s = json_dumps(v, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
}

/* The printing edge of every error, as the command-line contract
 * (docs/architecture.md) says: "Error: <what was wrong>, <what is valid>" on
 * stderr, and {"error": ...} on stdout for scripts in -j mode. Returns code,
 * the exit code. */
static int error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int error(int code, const char *fmt, ...)
{
	char msg[XLB_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "Error: %s\n", msg);
	if (json_mode) {
		json_t *e = json_pack("{s:s}", "error", msg);

		if (e)
			print_json(e);
		json_decref(e);
	}
	return code;
}

/* Without -S: xlbd's default socket in this network namespace, or else the
 * only socket in its directory (xlbd@IFACE units use one per interface). */
static int find_socket(const char **path, char *err, size_t errlen)
{
	static char found[PATH_MAX];
	char pattern[sizeof(found) + 8];
	glob_t g;
	int ret;

	ret = xlb_ctl_default_path(found, sizeof(found));
	if (ret)
		return xlb_errf(ret, err, errlen,
				"cannot name the default socket: %s, give one with -S",
				strerror(-ret));
	*path = found;
	if (!access(found, F_OK))
		return 0;
	snprintf(pattern, sizeof(pattern), "%.*s/*.sock", (int)(strrchr(found, '/') - found),
		 found);
	ret = glob(pattern, 0, NULL, &g);
	if (ret == GLOB_NOMATCH || (!ret && g.gl_pathc == 0)) {
		globfree(&g);
		return 0; /* the default, which will say that no xlbd listens */
	}
	if (ret)
		return xlb_errf(-EIO, err, errlen,
				"cannot look for sockets in the directory of %.200s, give one with -S",
				found);
	if (g.gl_pathc > 1) {
		char names[XLB_ERRLEN];
		size_t off = 0;

		names[0] = 0;
		for (size_t i = 0; i < g.gl_pathc && off < sizeof(names); i++)
			off += snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "",
					g.gl_pathv[i]);
		globfree(&g);
		return xlb_errf(-EEXIST, err, errlen, "several xlbd sockets (%s), choose one with -S",
				names);
	}
	snprintf(found, sizeof(found), "%s", g.gl_pathv[0]);
	globfree(&g);
	return 0;
}

static int help(const char *topic, FILE *out)
{
	if (json_mode && out == stdout) {
		json_t *h = json_pack("{s:s}", "help", xlb_cmd_usage(topic));

		if (h)
			print_json(h);
		json_decref(h);
		return 0;
	}
	if (!topic)
		fputs(global_usage, out);
	fputs(xlb_cmd_usage(topic), out);
	return 0;
}

static json_int_t geti(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *gets_(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "?";
}

/* "3.2s", "12m05s", "2h14m": how long a backend has been in its state. */
static void format_age(json_int_t ms, char *buf, size_t len)
{
	if (ms < 60000)
		snprintf(buf, len, "%lld.%llds", ms / 1000, (ms % 1000) / 100);
	else if (ms < 3600000)
		snprintf(buf, len, "%lldm%02llds", ms / 60000, (ms / 1000) % 60);
	else
		snprintf(buf, len, "%lldh%02lldm", ms / 3600000, (ms / 60000) % 60);
}

static void print_backend(json_t *b)
{
	json_t *h = json_object_get(b, "health");
	const char *kind = gets_(json_object_get(h, "check"), "kind");
	char age[32];
	json_t *ss = json_object_get(b, "slow_start");
	double left = json_real_value(json_object_get(ss, "remaining_s"));

	format_age(geti(h, "since_change_ms"), age, sizeof(age));
	printf("    backend %s weight %lld", gets_(b, "address"), (long long)geti(b, "weight"));
	/* While it ramps: the share of its weight it has now. */
	if (left > 0)
		printf(" (slow start: effective %.2f, %.1fs left)",
		       json_real_value(json_object_get(b, "effective_weight")), left);
	printf(" %s packets %lld bytes %lld", gets_(b, "state"), (long long)geti(b, "packets"),
	       (long long)geti(b, "bytes"));
	json_t *cn = json_object_get(b, "connections");

	if (!strcmp(kind, "none"))
		printf(" health unchecked");
	else
		printf(" health %s %s (%s %s)",
		       json_is_true(json_object_get(h, "up")) ? "up" : "down", age, kind,
		       gets_(h, "last"));
	printf(" connections active %lld inactive %lld\n", (long long)geti(cn, "active"),
	       (long long)geti(cn, "inactive"));
}

static void print_prefixes(const char *kw, json_t *list)
{
	json_t *p;
	size_t i;

	printf(" %s ", kw);
	json_array_foreach(list, i, p) printf("%s%s", i ? "," : "", json_string_value(p));
}

/* "    allow P,P deny P limit N/s burst B, dropped: acl N limit M", when the
 * VIP has any of them. */
static void print_protect(json_t *v)
{
	json_t *allow = json_object_get(v, "allow"), *deny = json_object_get(v, "deny");
	json_t *lim = json_object_get(v, "limit");

	if (!json_array_size(allow) && !json_array_size(deny) && !json_is_object(lim))
		return;
	printf("   ");
	if (json_array_size(allow))
		print_prefixes("allow", allow);
	if (json_array_size(deny))
		print_prefixes("deny", deny);
	if (json_is_object(lim))
		printf(" limit %lld/s burst %lld", (long long)geti(lim, "rate"),
		       (long long)geti(lim, "burst"));
	printf(", dropped: acl %lld limit %lld\n", (long long)geti(v, "acl_drops"),
	       (long long)geti(v, "limit_drops"));
}

/* "198.18.0.11 (weight 1, active, health up 3.2s tcp ok)" of explain. */
static void print_explain_backend(json_t *b)
{
	json_t *h = json_object_get(b, "health");
	const char *kind = gets_(json_object_get(h, "check"), "kind");
	char age[32];

	if (!json_is_string(json_object_get(b, "backend"))) {
		printf("backend id %lld, not configured\n", (long long)geti(b, "backend_id"));
		return;
	}
	format_age(geti(h, "since_change_ms"), age, sizeof(age));
	printf("%s (weight %lld, %s, ", gets_(b, "backend"), (long long)geti(b, "weight"),
	       gets_(b, "state"));
	if (!strcmp(kind, "none"))
		printf("health unchecked)\n");
	else
		printf("health %s %s, %s %s)\n",
		       json_is_true(json_object_get(h, "up")) ? "up" : "down", age, kind,
		       gets_(h, "last"));
}

static void print_explain(json_t *r)
{
	json_t *ring = json_object_get(r, "ring"), *conn = json_object_get(r, "conn");
	const char *uses = gets_(r, "uses");
	char age[32];

	printf("flow %s -> %s\n", gets_(r, "client"), gets_(r, "flow_vip"));
	printf("  vip      %s (%s), sched %s, conntrack %s\n", gets_(r, "vip"), gets_(r, "match"),
	       gets_(r, "sched"), gets_(r, "conntrack"));
	printf("  hash     0x%08llx, ring slot %lld of %lld\n", (long long)geti(r, "hash"),
	       (long long)geti(r, "slot"), (long long)geti(r, "ring_size"));
	printf("  ring     ");
	if (json_is_object(ring))
		print_explain_backend(ring);
	else
		printf("none: the VIP has no backend in service\n");
	printf("  conn     ");
	if (!json_is_object(conn)) {
		printf("%s\n", strcmp(gets_(r, "conntrack"), "off")
				   ? "no entry"
				   : "not tracked (conntrack off)");
	} else {
		format_age(geti(conn, "age_ms"), age, sizeof(age));
		if (json_is_true(json_object_get(conn, "usable")))
			printf("entry %s old, usable\n           ", age);
		else
			printf("entry %s old, stale: %s\n           ", age,
			       gets_(conn, "stale_reason"));
		if (json_is_object(json_object_get(conn, "backend")))
			print_explain_backend(json_object_get(conn, "backend"));
		else
			printf("backend id %lld, not configured\n",
			       (long long)geti(conn, "backend_id"));
	}
	if (!strcmp(uses, "none"))
		printf("  uses     nothing: new packets are dropped (no_backend)\n");
	else
		printf("  uses     %s (%s)\n", gets_(r, "backend"),
		       !strcmp(uses, "conntrack") ? "the connection table's entry" : "the ring");
}

/* "vip V: 24.9% of ring slots (16321 of 65537) move, 312 tracked connections break". */
static void print_preview(json_t *r)
{
	json_t *vips = json_object_get(r, "vips"), *v;
	size_t i;

	printf("dry run: nothing was changed\n");
	json_array_foreach(vips, i, v)
	{
		printf("vip %s (%s): %.1f%% of ring slots (%lld of %lld) change backend",
		       gets_(v, "vip"), gets_(v, "change"),
		       100.0 * json_real_value(json_object_get(v, "share")),
		       (long long)geti(v, "slots_changed"), (long long)geti(r, "ring_size"));
		if (json_is_true(json_object_get(v, "rehash")))
			printf(", every new flow re-hashes (sched changes)");
		if (strcmp(gets_(v, "conntrack"), "on"))
			printf(", untracked: flows on those slots move");
		else
			printf(", %lld tracked connections break",
			       (long long)geti(v, "connections_break"));
		printf("; backends in the ring %lld -> %lld\n",
		       (long long)geti(v, "in_ring_before"), (long long)geti(v, "in_ring_after"));
	}
	if (!json_array_size(vips))
		printf("no flow would move and no connection would break\n");
	printf("%lld tracked connections break in all", (long long)geti(r, "connections_break"));
	if (json_is_true(json_object_get(r, "connections_complete")))
		printf(" (connection table counted: %lld entries)\n",
		       (long long)geti(r, "connections_scanned"));
	else
		printf(" at least (only %lld entries of the connection table counted in %lld ms)\n",
		       (long long)geti(r, "connections_scanned"), (long long)geti(r, "scan_ms"));
}

/* ---- top: rates once a second from list and stats (user/rates.c) ---- */
static volatile sig_atomic_t top_stop;

static void on_top_signal(int sig)
{
	top_stop = 1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One request's result, owned by the caller; NULL with err filled. */
static json_t *ask(const char *socket, const char *word, char *err, size_t errlen)
{
	char *argv[] = {(char *)word, NULL};
	json_t *reply = NULL, *r, *e;

	if (xlb_ctl_request(socket, 1, argv, &reply, err, errlen))
		return NULL;
	e = json_object_get(reply, "error");
	r = json_object_get(reply, "result");
	if (e || !r) {
		snprintf(err, errlen, "%s",
			 json_string_value(e) ? json_string_value(e) : "bad reply from xlbd");
		json_decref(reply);
		return NULL;
	}
	json_incref(r);
	json_decref(reply);
	return r;
}

/* "1.2 G", "340 k": rates to three digits. */
static void si(double v, char *buf, size_t len)
{
	static const char *const unit[] = {"", "k", "M", "G", "T"};
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.*f %s", v < 10 && u ? 2 : v < 100 && u ? 1 : 0, v, unit[u]);
}

static void print_rates(json_t *r, int tty)
{
	char p[32], b[32];
	json_t *v, *be;
	size_t i, j;

	if (tty)
		printf("\033[H\033[2J"); /* home, clear: one screen per interval */
	si(json_real_value(json_object_get(r, "packets_per_s")), p, sizeof(p));
	si(json_real_value(json_object_get(r, "bits_per_s")), b, sizeof(b));
	printf("xlb top: %spackets/s %sbits/s, %.0f new flows/s (all VIPs), every %.1f s\n", p, b,
	       json_real_value(json_object_get(r, "new_flows_per_s")),
	       geti(r, "interval_ms") / 1000.0);
	printf("%-46s %14s %14s\n", "VIP / backend", "packets/s", "bits/s");
	json_array_foreach(json_object_get(r, "vips"), i, v)
	{
		si(json_real_value(json_object_get(v, "packets_per_s")), p, sizeof(p));
		si(json_real_value(json_object_get(v, "bits_per_s")), b, sizeof(b));
		printf("%-46s %14s %14s\n", gets_(v, "vip"), p, b);
		json_array_foreach(json_object_get(v, "backends"), j, be)
		{
			si(json_real_value(json_object_get(be, "packets_per_s")), p, sizeof(p));
			si(json_real_value(json_object_get(be, "bits_per_s")), b, sizeof(b));
			printf("  %-44s %14s %14s\n", gets_(be, "backend"), p, b);
		}
	}
	if (!tty)
		printf("\n");
}

/* Until count intervals (0: until SIGINT/SIGTERM) have been shown. */
static int run_top(const char *socket, __u32 count)
{
	struct sigaction sa = {.sa_handler = on_top_signal};
	int tty = isatty(STDOUT_FILENO);
	json_t *pl, *ps, *cl = NULL, *cs = NULL, *r;
	char err[XLB_ERRLEN];
	long long t0, t1;
	__u32 shown = 0;

	if (!tty && !json_mode && !count)
		return error(EXIT_USAGE, "top writes to a pipe or a file: give 'count N' to end "
					 "it after N seconds");
	if (json_mode && !count && !tty)
		return error(EXIT_USAGE, "top -j writes to a pipe or a file: give 'count N' to "
					 "end it after N lines");
	/* No SA_RESTART: the sleep ends at once. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = now_ms();
	pl = ask(socket, "list", err, sizeof(err));
	ps = pl ? ask(socket, "stats", err, sizeof(err)) : NULL;
	if (!pl || !ps) {
		json_decref(pl);
		return error(EXIT_RUNTIME, "%s", err);
	}
	while (!top_stop && (!count || shown < count)) {
		struct timespec left = {1, 0};

		while (nanosleep(&left, &left) && !top_stop)
			;
		if (top_stop)
			break;
		t1 = now_ms();
		cl = ask(socket, "list", err, sizeof(err));
		cs = cl ? ask(socket, "stats", err, sizeof(err)) : NULL;
		if (!cl || !cs)
			break;
		r = xlb_rates_compute(pl, ps, cl, cs, t1 - t0);
		if (!r) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		if (json_mode)
			print_json(r); /* one line each: compact */
		else
			print_rates(r, tty);
		json_decref(r);
		fflush(stdout);
		json_decref(pl);
		json_decref(ps);
		pl = cl;
		ps = cs;
		cl = cs = NULL;
		t0 = t1;
		shown++;
	}
	json_decref(pl);
	json_decref(ps);
	json_decref(cl);
	if (!top_stop && count && shown < count)
		return error(EXIT_RUNTIME, "%s", err);
	return 0;
}

static void print_list(json_t *r)
{
	json_t *vips = json_object_get(r, "vips"), *v, *b;
	size_t i, j;

	json_array_foreach(vips, i, v)
	{
		const char *ann = gets_(v, "announce");
		char ss[32] = "";

		if (geti(v, "slow_start"))
			snprintf(ss, sizeof(ss), " slow-start %llds",
				 (long long)geti(v, "slow_start"));
		printf("vip %s sched %s conntrack %s packets %lld bytes %lld fail-open %s%s%s%s%s\n",
		       gets_(v, "vip"), gets_(v, "sched"), gets_(v, "conntrack"),
		       (long long)geti(v, "packets"), (long long)geti(v, "bytes"),
		       gets_(v, "fail_open"), ss, strcmp(ann, "off") ? " announce " : "",
		       strcmp(ann, "off") ? ann : "",
		       json_is_true(json_object_get(v, "failing_open"))
			   ? " FAIL-OPEN: every backend is down, forwarding to all"
			   : "");
		print_protect(v);
		printf("    %s\n", gets_(json_object_get(v, "check"), "clause"));
		json_array_foreach(json_object_get(v, "backends"), j, b) print_backend(b);
	}
}

/* xlbd counts a big table in the background: then the figure is the last
 * complete count, an estimate, with its age. */
static void print_conntrack(json_t *ct)
{
	json_t *entries = json_object_get(ct, "entries");

	if (!json_is_integer(entries))
		printf("conntrack: entries being counted (max %lld)", (long long)geti(ct, "max"));
	else if (json_is_true(json_object_get(ct, "entries_estimate")))
		printf("conntrack: ~%lld entries (estimate, counted %.1f s ago, max %lld)",
		       (long long)json_integer_value(entries), geti(ct, "entries_age_ms") / 1000.0,
		       (long long)geti(ct, "max"));
	else
		printf("conntrack: %lld entries (max %lld)", (long long)json_integer_value(entries),
		       (long long)geti(ct, "max"));
	printf(", %lld hits, %lld misses, %lld stale\n", (long long)geti(ct, "hits"),
	       (long long)geti(ct, "misses"), (long long)geti(ct, "stale"));
	printf("new flows: %lld recorded (new-flow table max %lld), %lld confirmed, %lld over the "
	       "budget unrecorded; budget ",
	       (long long)geti(ct, "inserts"), (long long)geti(ct, "new_max"),
	       (long long)geti(ct, "promoted"), (long long)geti(ct, "skipped"));
	if (geti(ct, "budget"))
		printf("%lld per CPU and second\n", (long long)geti(ct, "budget"));
	else
		printf("none\n");
}

static void print_stats(json_t *r)
{
	json_t *counters = json_object_get(r, "counters"), *ct = json_object_get(r, "conntrack");
	json_t *lim = json_object_get(r, "limits"), *c;
	json_t *h = json_object_get(r, "health"), *res = json_object_get(h, "results");
	const char *name;
	size_t i;

	printf("%-18s %16s %18s\n", "counter", "packets", "bytes");
	json_object_foreach(counters, name, c)
	    printf("%-18s %16lld %18lld\n", name, (long long)geti(c, "packets"),
		   (long long)geti(c, "bytes"));
	print_conntrack(ct);
	c = json_object_get(r, "sweep");
	if (json_is_object(c))
		printf("sweep: %lld entries in %lld ms (%lld ms CPU, longest slice %lld us), %lld "
		       "expired, %lld backends' counts corrected, %.1f s ago\n",
		       (long long)geti(c, "scanned"), (long long)geti(c, "duration_ms"),
		       (long long)geti(c, "cpu_ms"), (long long)geti(c, "max_slice_us"),
		       (long long)geti(c, "expired"), (long long)geti(c, "corrected"),
		       geti(c, "age_ms") / 1000.0);
	if (h)
		printf("health: %lld backends up, %lld down; %lld checks started, %lld ok, %lld "
		       "failed, %lld skipped, %lld state changes\n",
		       (long long)geti(h, "backends_up"), (long long)geti(h, "backends_down"),
		       (long long)geti(h, "started"), (long long)geti(res, "ok"),
		       (long long)(geti(res, "refused") + geti(res, "timeout") +
				   geti(res, "bad_status") + geti(res, "bad_reply") +
				   geti(res, "error")),
		       (long long)geti(h, "skipped"), (long long)geti(h, "transitions"));
	json_array_foreach(json_object_get(r, "protection"), i, c)
	    printf("vip %s: %lld dropped by its ACL, %lld new flows over its limit\n",
		   gets_(c, "vip"), (long long)geti(c, "acl_drops"),
		   (long long)geti(c, "limit_drops"));
	printf("vips %lld/%lld, backends %lld/%lld, ring size %lld\n", (long long)geti(lim, "vips"),
	       (long long)geti(lim, "max_vips"), (long long)geti(lim, "backends"),
	       (long long)geti(lim, "max_backends"), (long long)geti(lim, "ring_size"));
}

/* conns: one flow a line, then how many matched and whether the walk saw
 * the whole tables. */
static void print_conns(json_t *r)
{
	json_t *f;
	size_t i;

	if (json_array_size(json_object_get(r, "conns")))
		printf("%-47s %-28s %-39s %-11s %8s %8s\n", "client", "vip", "backend", "state",
		       "age", "idle");
	json_array_foreach(json_object_get(r, "conns"), i, f)
	{
		char age[32], idle[32];
		const char *be = json_string_value(json_object_get(f, "backend"));

		format_age(geti(f, "age_ms"), age, sizeof(age));
		format_age(geti(f, "idle_ms"), idle, sizeof(idle));
		printf("%-47s %-28s %-39s %-11s %8s %8s\n", gets_(f, "client"), gets_(f, "vip"),
		       be ? be : "(none)", gets_(f, "state"), age, idle);
	}
	printf("%lld flows shown", (long long)geti(r, "shown"));
	if (geti(r, "more"))
		printf(", %lld more matched (limit %lld)", (long long)geti(r, "more"),
		       (long long)geti(r, "limit"));
	if (!json_is_true(json_object_get(r, "complete")))
		printf("; listing stopped after %lld entries in %lld ms: more may match",
		       (long long)geti(r, "scanned"), (long long)geti(r, "scan_ms"));
	printf("\n");
}

static void print_plain(enum xlb_cmd_op op, json_t *r)
{
	json_t *line;
	size_t i;

	switch (op) {
	case XLB_CMD_LIST:
		print_list(r);
		break;
	case XLB_CMD_STATS:
		print_stats(r);
		break;
	case XLB_CMD_LOOKUP:
		printf("%s -> %s: backend %s (weight %lld, %s)\n", gets_(r, "client"),
		       gets_(r, "flow_vip"), gets_(r, "backend"), (long long)geti(r, "weight"),
		       gets_(r, "state"));
		break;
	case XLB_CMD_EXPLAIN:
		print_explain(r);
		break;
	case XLB_CMD_SAVE:
		json_array_foreach(json_object_get(r, "rules"), i, line)
		    puts(json_string_value(line) ? json_string_value(line) : "");
		break;
	case XLB_CMD_CONNS:
		print_conns(r);
		break;
	case XLB_CMD_CONNS_FLUSH:
		printf("flushed %lld flows of VIP %s (%lld established, %lld new)\n",
		       (long long)geti(r, "flushed"), gets_(r, "vip"),
		       (long long)geti(r, "established"), (long long)geti(r, "new"));
		break;
	case XLB_CMD_RESTORE:
		printf("restored %s: %lld VIPs, %lld backends\n", gets_(r, "file"),
		       (long long)geti(r, "vips"), (long long)geti(r, "backends"));
		break;
	default:
		/* Changes print nothing when they work, like ip(8). */
		break;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 'S'}, {"json", no_argument, NULL, 'j'},
	    {"pretty", no_argument, NULL, 'p'},	      {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	const char *socket = NULL;
	char err[XLB_ERRLEN], path[PATH_MAX];
	json_t *reply = NULL, *e, *r;
	struct xlb_cmd cmd;
	char **words;
	int c, n, code;

	opterr = 0;
	/* '+': options end at the command, whose words may start with '-'. */
	while ((c = getopt_long(argc, argv, "+:S:jpnh", longopts, NULL)) != -1) {
		switch (c) {
		case 'S':
			socket = optarg;
			break;
		case 'p':
			pretty = 1;
			/* fall through */
		case 'j':
			json_mode = 1;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'h':
			return help(NULL, stdout);
		case ':':
			return error(EXIT_USAGE, "option '%s' needs a value, expected -S SOCKET",
				     argv[optind - 1]);
		default:
			return error(EXIT_USAGE,
				     "unknown option '%s', expected -S, -j, -p, -n or -h",
				     argv[optind - 1]);
		}
	}
	n = argc - optind;
	words = argv + optind;
	if (n < 1) {
		help(NULL, stderr);
		return error(EXIT_USAGE, "missing command, expected one of the commands above");
	}
	err[0] = 0;
	if (xlb_cmd_parse(n, words, &cmd, err, sizeof(err)))
		return error(EXIT_USAGE, "%s", err);
	if (cmd.op == XLB_CMD_HELP)
		return help(cmd.topic, stdout);
	if (dry_run && !xlb_cmd_mutates(cmd.op) && cmd.op != XLB_CMD_RESTORE)
		return error(EXIT_USAGE,
			     "--dry-run previews a change, expected vip add|set|del, backend "
			     "add|set|del or restore after it, not '%s'",
			     words[0]);
	if (cmd.op == XLB_CMD_RESTORE && cmd.file) {
		/* The daemon reads the file: give it a path that means the same
		 * there (its working directory is not ours). */
		if (!realpath(cmd.file, path))
			return error(EXIT_RUNTIME, "cannot read rules file %s: %s", cmd.file,
				     strerror(errno));
		words[n - 1] = path;
	}
	if (!socket) {
		if (find_socket(&socket, err, sizeof(err)))
			return error(EXIT_RUNTIME, "%s", err);
	}
	if (cmd.op == XLB_CMD_TOP)
		return run_top(socket, cmd.count);
	if (dry_run) {
		/* The daemon sees the marker first (request.h). */
		char **marked = calloc(n + 1, sizeof(*marked));

		if (!marked)
			return error(EXIT_RUNTIME, "out of memory");
		marked[0] = XLB_REQ_DRY_RUN;
		memcpy(marked + 1, words, n * sizeof(*words));
		words = marked;
		n++;
	}
	if (xlb_ctl_request(socket, n, words, &reply, err, sizeof(err)))
		return error(EXIT_RUNTIME, "%s", err);
	e = json_object_get(reply, "error");
	if (e) {
		code = json_is_true(json_object_get(reply, "usage")) ? EXIT_USAGE : EXIT_RUNTIME;
		code =
		    error(code, "%s",
			  json_string_value(e) ? json_string_value(e) : "xlbd refused the request");
		json_decref(reply);
		return code;
	}
	r = json_object_get(reply, "result");
	if (!r) {
		json_decref(reply);
		return error(EXIT_RUNTIME, "bad reply from xlbd: no result");
	}
	if (json_mode)
		print_json(r);
	else if (dry_run)
		print_preview(r);
	else
		print_plain(cmd.op, r);
	json_decref(reply);
	if (fflush(stdout) || ferror(stdout))
		return error(EXIT_RUNTIME, "cannot write the output");
	return 0;
}
