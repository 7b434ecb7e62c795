// SPDX-License-Identifier: GPL-2.0
/* xlbctl.c: the operator's tool. Checks the command's syntax with the same
 * parser the daemon uses, sends it over the control socket, and prints the
 * daemon's JSON reply as JSON (-j) or as text. Exit: 0 ok, 1 error, 2 usage. */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cmd.h"
#include "ctl.h"
#include "log.h"
#include "xlb.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static int json_mode, pretty;

static const char global_usage[] =
    "Usage: xlbctl [-S SOCKET] [-j [-p]] COMMAND\n"
    "  -S, --socket PATH  xlbd's control socket (default " XLB_RUN_DIR "/xlbd.sock,\n"
    "                     outside the host's network namespace\n"
    "                     " XLB_RUN_DIR "/netns-ID/xlbd.sock; else the only *.sock there)\n"
    "  -j, --json         print JSON (errors too, as {\"error\": ...})\n"
    "  -p, --pretty       indent the JSON (implies -j)\n"
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

	format_age(geti(h, "since_change_ms"), age, sizeof(age));
	printf("    backend %s weight %lld %s packets %lld bytes %lld", gets_(b, "address"),
	       (long long)geti(b, "weight"), gets_(b, "state"), (long long)geti(b, "packets"),
	       (long long)geti(b, "bytes"));
	if (!strcmp(kind, "none"))
		printf(" health unchecked\n");
	else
		printf(" health %s %s (%s %s)\n",
		       json_is_true(json_object_get(h, "up")) ? "up" : "down", age, kind,
		       gets_(h, "last"));
}

static void print_list(json_t *r)
{
	json_t *vips = json_object_get(r, "vips"), *v, *b;
	size_t i, j;

	json_array_foreach(vips, i, v)
	{
		const char *ann = gets_(v, "announce");

		printf("vip %s sched %s conntrack %s packets %lld bytes %lld fail-open %s%s%s%s\n",
		       gets_(v, "vip"), gets_(v, "sched"), gets_(v, "conntrack"),
		       (long long)geti(v, "packets"), (long long)geti(v, "bytes"),
		       gets_(v, "fail_open"), strcmp(ann, "off") ? " announce " : "",
		       strcmp(ann, "off") ? ann : "",
		       json_is_true(json_object_get(v, "failing_open"))
			   ? " FAIL-OPEN: every backend is down, forwarding to all"
			   : "");
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

	printf("%-18s %16s %18s\n", "counter", "packets", "bytes");
	json_object_foreach(counters, name, c)
	    printf("%-18s %16lld %18lld\n", name, (long long)geti(c, "packets"),
		   (long long)geti(c, "bytes"));
	print_conntrack(ct);
	if (h)
		printf("health: %lld backends up, %lld down; %lld checks started, %lld ok, %lld "
		       "failed, %lld skipped, %lld state changes\n",
		       (long long)geti(h, "backends_up"), (long long)geti(h, "backends_down"),
		       (long long)geti(h, "started"), (long long)geti(res, "ok"),
		       (long long)(geti(res, "refused") + geti(res, "timeout") +
				   geti(res, "bad_status") + geti(res, "bad_reply") +
				   geti(res, "error")),
		       (long long)geti(h, "skipped"), (long long)geti(h, "transitions"));
	printf("vips %lld/%lld, backends %lld/%lld, ring size %lld\n", (long long)geti(lim, "vips"),
	       (long long)geti(lim, "max_vips"), (long long)geti(lim, "backends"),
	       (long long)geti(lim, "max_backends"), (long long)geti(lim, "ring_size"));
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
	case XLB_CMD_SAVE:
		json_array_foreach(json_object_get(r, "rules"), i, line)
		    puts(json_string_value(line) ? json_string_value(line) : "");
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
	    {"socket", required_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"pretty", no_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *socket = NULL;
	char err[XLB_ERRLEN], path[PATH_MAX];
	json_t *reply = NULL, *e, *r;
	struct xlb_cmd cmd;
	char **words;
	int c, n, code;

	opterr = 0;
	/* '+': options end at the command, whose words may start with '-'. */
	while ((c = getopt_long(argc, argv, "+:S:jph", longopts, NULL)) != -1) {
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
		case 'h':
			return help(NULL, stdout);
		case ':':
			return error(EXIT_USAGE, "option '%s' needs a value, expected -S SOCKET",
				     argv[optind - 1]);
		default:
			return error(EXIT_USAGE, "unknown option '%s', expected -S, -j, -p or -h",
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
	else
		print_plain(cmd.op, r);
	json_decref(reply);
	if (fflush(stdout) || ferror(stdout))
		return error(EXIT_RUNTIME, "cannot write the output");
	return 0;
}
