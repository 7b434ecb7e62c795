// SPDX-License-Identifier: GPL-2.0
/* cmd.c: the operator's grammar, dispatched from tables (objects, verbs,
 * keyword options) so that new options such as health checks slot in beside
 * the others (see cmd.h). Running a parsed command is request.c's job. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "addr.h"
#include "log.h"
#include "refusal.h"

/* A keyword option after a verb's positional arguments. parse gets argv at
 * the keyword and says how many words it used, so options of several words
 * (a health check clause) fit the same table. */
struct xlb_cmd_option {
	const char *name;
	__u32 given; /* enum xlb_cmd_given bit */
	int (*parse)(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen);
};

struct xlb_cmd_verb {
	const char *name;
	enum xlb_cmd_op op;
	/* Positional arguments (argv after the verb); returns how many it used
	 * or -EINVAL. Keyword options follow them. */
	int (*parse)(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen);
	const struct xlb_cmd_option *const *options; /* NULL-terminated, or NULL */
	__u32 required;				     /* options that must be given */
	const char *usage;			     /* one line of the grammar */
};

struct xlb_cmd_object {
	const char *name;
	const struct xlb_cmd_verb *verbs; /* NULL-terminated by name */
	const struct xlb_cmd_verb *self;  /* an object that is a command by itself */
	int exact;			  /* no abbreviation: a typo must not do it */
};

const char *xlb_sched_name(__u32 vip_flags)
{
	if (vip_flags & XLB_VIP_F_RR)
		return "rr";
	if (vip_flags & XLB_VIP_F_WRR)
		return "wrr";
	if (vip_flags & XLB_VIP_F_LC)
		return "lc";
	if (vip_flags & XLB_VIP_F_WLC)
		return "wlc";
	return vip_flags & XLB_VIP_F_SRC_HASH ? "sh" : "maglev";
}

static int opt_sched(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	static const struct {
		const char *name;
		__u32 flag;
	} scheds[] = {
	    {"maglev", 0},	    {"sh", XLB_VIP_F_SRC_HASH}, {"rr", XLB_VIP_F_RR},
	    {"wrr", XLB_VIP_F_WRR}, {"lc", XLB_VIP_F_LC},	{"wlc", XLB_VIP_F_WLC},
	};

	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'sched' needs a value, expected sched " XLB_SCHED_NAMES);
	for (size_t i = 0; i < sizeof(scheds) / sizeof(scheds[0]); i++) {
		if (strcmp(argv[1], scheds[i].name))
			continue;
		c->vip_flags = (c->vip_flags & ~XLB_VIP_F_SCHED) | scheds[i].flag;
		*consumed = 2;
		return 0;
	}
	return xlb_errf(-EINVAL, err, errlen,
			"unknown scheduler '%s', expected maglev (whole flow), sh (source "
			"address), rr (in turn), wrr (in turn by weight), lc (fewest "
			"connections) or wlc (fewest connections per weight)",
			argv[1]);
}

/* An option that takes on or off: *is_on gets 1 or 0. */
static int parse_on_off(int argc, char **argv, int *consumed, int *is_on, const char *meaning,
			char *err, size_t errlen)
{
	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen, "'%s' needs a value, expected %s on|off",
				argv[0], argv[0]);
	if (strcmp(argv[1], "on") && strcmp(argv[1], "off"))
		return xlb_errf(-EINVAL, err, errlen, "bad %s value '%s', expected on or off%s",
				argv[0], argv[1], meaning);
	*is_on = !strcmp(argv[1], "on");
	*consumed = 2;
	return 0;
}

static int opt_conntrack(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
			 size_t errlen)
{
	int on = 0;

	if (parse_on_off(argc, argv, consumed, &on, "", err, errlen))
		return -EINVAL;
	if (on)
		c->vip_flags &= ~XLB_VIP_F_NO_CONNTRACK;
	else
		c->vip_flags |= XLB_VIP_F_NO_CONNTRACK;
	return 0;
}

static int opt_weight(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		      size_t errlen)
{
	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'weight' needs a value, expected weight 0-%u", XLB_MAX_WEIGHT);
	if (xlb_uint_parse(argv[1], 0, XLB_MAX_WEIGHT, &c->weight))
		return xlb_refuse_weight(argv[1], err, errlen);
	*consumed = 2;
	return 0;
}

static int opt_fail_open(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
			 size_t errlen)
{
	int on = 0;

	if (parse_on_off(argc, argv, consumed, &on,
			 " (every backend down: on forwards to all of them, off drops)", err,
			 errlen))
		return -EINVAL;
	c->fail_close = !on;
	return 0;
}

/* slow-start SECONDS: 1-XLB_SLOW_START_MAX, 0 or off for none. */
static int opt_slow_start(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
			  size_t errlen)
{
	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'slow-start' needs a value, expected slow-start 1-%u (seconds) "
				"or off",
				XLB_SLOW_START_MAX);
	if (!strcmp(argv[1], "off"))
		c->slow_start = 0;
	else if (xlb_uint_parse(argv[1], 0, XLB_SLOW_START_MAX, &c->slow_start))
		return xlb_errf(-EINVAL, err, errlen,
				"bad slow-start '%s', expected 1-%u seconds, or 0 or off for none",
				argv[1], XLB_SLOW_START_MAX);
	*consumed = 2;
	return 0;
}

/* "check default" forgets the options given before; anything else is a
 * check clause (health_config.h), which replaces the previous clause whole. */
static int opt_check(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	char msg[XLB_ERRLEN];

	if (argc >= 2 && !strcmp(argv[1], "default")) {
		xlb_hc_cfg_init(&c->hc);
		*consumed = 2;
		return 0;
	}
	msg[0] = 0;
	if (xlb_hc_cfg_parse(argc, argv, consumed, &c->hc, msg, sizeof(msg)))
		return xlb_errf(-EINVAL, err, errlen, "%s%s", msg, argc < 2 ? " (or default)" : "");
	return 0;
}

static int opt_allow(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	return xlb_protect_parse_list(&c->prot, 0, c->vip.family, argc, argv, consumed, err,
				      errlen);
}

static int opt_deny(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		    size_t errlen)
{
	return xlb_protect_parse_list(&c->prot, 1, c->vip.family, argc, argv, consumed, err,
				      errlen);
}

static int opt_limit(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	return xlb_protect_parse_limit(&c->prot, argc, argv, consumed, err, errlen);
}

static int opt_count(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	if (argc < 2 || xlb_uint_parse(argv[1], 1, 1000000, &c->count))
		return xlb_errf(-EINVAL, err, errlen,
				"bad count '%s', expected count 1-1000000 (intervals of a second)",
				argc < 2 ? "" : argv[1]);
	*consumed = 2;
	return 0;
}

static const struct xlb_cmd_option opt_sched_def = {"sched", XLB_CMD_G_SCHED, opt_sched};
static const struct xlb_cmd_option opt_conntrack_def = {"conntrack", XLB_CMD_G_CONNTRACK,
							opt_conntrack};
static const struct xlb_cmd_option opt_weight_def = {"weight", XLB_CMD_G_WEIGHT, opt_weight};
static const struct xlb_cmd_option opt_fail_open_def = {"fail-open", XLB_CMD_G_FAIL_OPEN,
							opt_fail_open};
static const struct xlb_cmd_option opt_check_def = {"check", XLB_CMD_G_CHECK, opt_check};
static const struct xlb_cmd_option opt_slow_start_def = {"slow-start", XLB_CMD_G_SLOW_START,
							 opt_slow_start};
static const struct xlb_cmd_option opt_allow_def = {"allow", XLB_CMD_G_ALLOW, opt_allow};
static const struct xlb_cmd_option opt_deny_def = {"deny", XLB_CMD_G_DENY, opt_deny};
static const struct xlb_cmd_option opt_limit_def = {"limit", XLB_CMD_G_LIMIT, opt_limit};

/* conns ... backend ADDR: the flows of that backend (of any VIP, unless
 * one is given). */
static int opt_conns_backend(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
			     size_t errlen)
{
	char v[XLB_ADDR_STRLEN];

	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'backend' needs an address, expected backend ADDR (an IPv4 or "
				"IPv6 address without a port)");
	if (xlb_addr_parse(argv[1], &c->addr, &c->family))
		return xlb_errf(-EINVAL, err, errlen,
				"bad backend address '%s', expected an IPv4 or IPv6 address "
				"without a port",
				argv[1]);
	if ((c->given & XLB_CMD_G_VIP) && !xlb_backend_family_fits(c->vip.family, c->family)) {
		xlb_vip_key_format(&c->vip, v, sizeof(v));
		return xlb_refuse_backend_family(argv[1], v, err, errlen);
	}
	*consumed = 2;
	return 0;
}

static int opt_conns_limit(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
			   size_t errlen)
{
	if (argc < 2 || xlb_uint_parse(argv[1], 1, XLB_CMD_CONNS_LIMIT_MAX, &c->limit))
		return xlb_errf(-EINVAL, err, errlen,
				"bad limit '%s', expected limit 1-%u (flows to list)",
				argc < 2 ? "" : argv[1], XLB_CMD_CONNS_LIMIT_MAX);
	*consumed = 2;
	return 0;
}

static const struct xlb_cmd_option opt_conns_backend_def = {"backend", XLB_CMD_G_BACKEND,
							    opt_conns_backend};
static const struct xlb_cmd_option opt_conns_limit_def = {"limit", XLB_CMD_G_CONNS_LIMIT,
							  opt_conns_limit};
static const struct xlb_cmd_option *const conns_options[] = {&opt_conns_backend_def,
							     &opt_conns_limit_def, NULL};

static const struct xlb_cmd_option opt_count_def = {"count", XLB_CMD_G_COUNT, opt_count};
static const struct xlb_cmd_option *const top_options[] = {&opt_count_def, NULL};
static const struct xlb_cmd_option *const vip_options[] = {
    &opt_sched_def,	 &opt_conntrack_def, &opt_fail_open_def,
    &opt_allow_def,	 &opt_deny_def,	     &opt_limit_def,
    &opt_slow_start_def, &opt_check_def,     NULL};
static const struct xlb_cmd_option *const backend_options[] = {&opt_weight_def, &opt_slow_start_def,
							       &opt_check_def, NULL};

static int arg_vip(struct xlb_cmd *c, int argc, char **argv, const char *verb, char *err,
		   size_t errlen)
{
	if (argc < 1)
		return xlb_errf(
		    -EINVAL, err, errlen,
		    "'%s' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp", verb);
	if (xlb_vip_key_parse(argv[0], &c->vip, err, errlen))
		return -EINVAL;
	return 1;
}

static int pos_vip(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	int n = arg_vip(c, argc, argv,
			c->op == XLB_CMD_VIP_ADD   ? "vip add"
			: c->op == XLB_CMD_VIP_SET ? "vip set"
						   : "vip del",
			err, errlen);

	/* Only an addition: what exists can always be changed or removed. */
	if (n > 0 && c->op == XLB_CMD_VIP_ADD && xlb_check_vip_addr(&c->vip, err, errlen))
		return -EINVAL;
	return n;
}

static int pos_vip_backend(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	const char *verb = c->op == XLB_CMD_BACKEND_ADD	  ? "backend add"
			   : c->op == XLB_CMD_BACKEND_SET ? "backend set"
							  : "backend del";
	char v[XLB_ADDR_STRLEN];

	if (arg_vip(c, argc, argv, verb, err, errlen) < 0)
		return -EINVAL;
	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'%s' needs a backend address after the VIP, expected an IPv4 or "
				"IPv6 address",
				verb);
	if (xlb_addr_parse(argv[1], &c->addr, &c->family))
		return xlb_errf(
		    -EINVAL, err, errlen,
		    "bad backend address '%s', expected an IPv4 or IPv6 address without "
		    "a port",
		    argv[1]);
	if (!xlb_backend_family_fits(c->vip.family, c->family)) {
		xlb_vip_key_format(&c->vip, v, sizeof(v));
		return xlb_refuse_backend_family(argv[1], v, err, errlen);
	}
	/* The daemon's outer sources are not known here: rules.c checks those. */
	if (c->op == XLB_CMD_BACKEND_ADD &&
	    xlb_check_backend_addr(&c->addr, c->family, NULL, err, errlen))
		return -EINVAL;
	return 2;
}

/* VIP SRC_ADDR:SRC_PORT, of lookup and explain (name). */
static int pos_flow(struct xlb_cmd *c, int argc, char **argv, const char *name, char *err,
		    size_t errlen)
{
	if (arg_vip(c, argc, argv, name, err, errlen) < 0)
		return -EINVAL;
	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'%s' needs the client after the VIP, expected SRC_ADDR:SRC_PORT, "
				"e.g. 198.18.1.2:40000",
				name);
	if (xlb_endpoint_parse(argv[1], &c->addr, &c->family, &c->port, err, errlen))
		return -EINVAL;
	if (c->family != c->vip.family)
		return xlb_refuse_client_family(argv[1], c->vip.family, err, errlen);
	return 2;
}

static int pos_lookup(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	return pos_flow(c, argc, argv, "lookup", err, errlen);
}

static int pos_explain(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	return pos_flow(c, argc, argv, "explain", err, errlen);
}

static int pos_file(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	if (argc < 1)
		return 0;
	if (!*argv[0])
		return xlb_errf(-EINVAL, err, errlen, "empty file name, expected restore [FILE]");
	c->file = argv[0];
	return 1;
}

/* conns [VIP] ..., or conns flush VIP (which takes nothing more). */
static int pos_conns(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	c->limit = XLB_CMD_CONNS_LIMIT_DEFAULT;
	if (argc >= 1 && !strcmp(argv[0], "flush")) {
		c->op = XLB_CMD_CONNS_FLUSH;
		if (arg_vip(c, argc - 1, argv + 1, "conns flush", err, errlen) < 0)
			return -EINVAL;
		c->given |= XLB_CMD_G_VIP;
		if (argc > 2)
			return xlb_errf(-EINVAL, err, errlen,
					"unexpected '%s' after 'conns flush %s', expected: conns "
					"flush VIP",
					argv[2], argv[1]);
		return 2;
	}
	if (argc < 1 || !strcmp(argv[0], "backend") || !strcmp(argv[0], "limit"))
		return 0;
	if (arg_vip(c, argc, argv, "conns", err, errlen) < 0)
		return -EINVAL;
	c->given |= XLB_CMD_G_VIP;
	return 1;
}

/* One row per verb: clang-format would break the rows apart. */
// clang-format off
static const struct xlb_cmd_verb vip_verbs[] = {
	{"add", XLB_CMD_VIP_ADD, pos_vip, vip_options, 0,
	 "vip add VIP [sched " XLB_SCHED_NAMES "] [conntrack on|off] [fail-open on|off] [PROTECT] [slow-start S] [CHECK]"},
	{"set", XLB_CMD_VIP_SET, pos_vip, vip_options, 0,
	 "vip set VIP [sched " XLB_SCHED_NAMES "] [conntrack on|off] [fail-open on|off] [PROTECT] [slow-start S] [CHECK]"},
	{"del", XLB_CMD_VIP_DEL, pos_vip, NULL, 0, "vip del VIP"},
	{NULL},
};

static const struct xlb_cmd_verb backend_verbs[] = {
	{"add", XLB_CMD_BACKEND_ADD, pos_vip_backend, backend_options, 0,
	 "backend add VIP ADDR [weight N] [slow-start S] [CHECK]"},
	{"set", XLB_CMD_BACKEND_SET, pos_vip_backend, backend_options, 0,
	 "backend set VIP ADDR [weight N] [slow-start S] [CHECK]"},
	{"del", XLB_CMD_BACKEND_DEL, pos_vip_backend, NULL, 0, "backend del VIP ADDR"},
	{NULL},
};

static const struct xlb_cmd_verb list_cmd = {"list", XLB_CMD_LIST, NULL, NULL, 0, "list"};
static const struct xlb_cmd_verb stats_cmd = {"stats", XLB_CMD_STATS, NULL, NULL, 0, "stats"};
static const struct xlb_cmd_verb lookup_cmd = {"lookup", XLB_CMD_LOOKUP, pos_lookup, NULL, 0,
					       "lookup VIP SRC_ADDR:SRC_PORT"};
static const struct xlb_cmd_verb explain_cmd = {"explain", XLB_CMD_EXPLAIN, pos_explain, NULL, 0,
						"explain VIP SRC_ADDR:SRC_PORT"};
static const struct xlb_cmd_verb top_cmd = {"top", XLB_CMD_TOP, NULL, top_options, 0,
					    "top [count N]"};
static const struct xlb_cmd_verb save_cmd = {"save", XLB_CMD_SAVE, NULL, NULL, 0, "save"};
static const struct xlb_cmd_verb restore_cmd = {"restore", XLB_CMD_RESTORE, pos_file, NULL, 0,
						"restore [FILE]"};
static const struct xlb_cmd_verb detach_cmd = {"detach", XLB_CMD_DETACH, NULL, NULL, 0,
					       "detach"};
static const struct xlb_cmd_verb conns_cmd = {"conns", XLB_CMD_CONNS, pos_conns, conns_options, 0,
					      "conns [VIP] [backend ADDR] [limit N]\n  conns flush VIP"};
static const struct xlb_cmd_verb help_cmd = {"help", XLB_CMD_HELP, NULL, NULL, 0,
					     "help [OBJECT]"};

static const struct xlb_cmd_object objects[] = {
	{"vip", vip_verbs, NULL, 0},
	{"backend", backend_verbs, NULL, 0},
	{"list", NULL, &list_cmd, 0},
	{"stats", NULL, &stats_cmd, 0},
	{"lookup", NULL, &lookup_cmd, 0},
	{"explain", NULL, &explain_cmd, 0},
	{"top", NULL, &top_cmd, 0},
	{"save", NULL, &save_cmd, 0},
	{"restore", NULL, &restore_cmd, 0},
	{"detach", NULL, &detach_cmd, 1},
	{"conns", NULL, &conns_cmd, 0},
	{"help", NULL, &help_cmd, 0},
	{NULL},
};

// clang-format on

static const char usage_notes[] =
    "VIP is ADDR:PORT/PROTO, PROTO tcp or udp, PORT 0-65535 (0 = all ports), e.g.\n"
    "  198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp.\n"
    "ADDR is an IPv4 or IPv6 address: an IPv4 VIP takes IPv4 or IPv6 backends,\n"
    "  an IPv6 VIP takes IPv6 backends. VIPs and backends are unicast: not\n"
    "  unspecified, 0/8, loopback, link-local, multicast, broadcast or\n"
    "  IPv4-mapped; a backend is not xlbd's own outer source, and needs one of\n"
    "  its family (--src4/--src6).\n"
    "weight N is 0-65535, default 1; weight 0 drains: established flows stay,\n"
    "  new flows go elsewhere. sched maglev (default) hashes the whole flow, sh\n"
    "  the client address only; rr gives new flows to backends in turn, wrr in\n"
    "  turn by weight (smoothly interleaved); lc to the backend with the fewest\n"
    "  open connections, wlc the fewest per unit of weight (at most 64\n"
    "  backends). rr, wrr, lc and wlc are per xlb instance and need conntrack\n"
    "  on. conntrack on (default) pins flows to backends.\n"
    "CHECK is a health check: check [tcp|http|udp|none] [port N] [interval MS]\n"
    "  [timeout MS] [rise N] [fall N] [path /P] [host H] [status N] [send STR]\n"
    "  [expect STR], or check default. On a VIP it sets its backends' defaults,\n"
    "  on a backend it overrides them; a new clause replaces the old one whole.\n"
    "  Defaults: tcp to the VIP's port for TCP VIPs with a port, none for UDP\n"
    "  and all-ports VIPs; interval 1000 timeout 1000 rise 2 fall 2.\n"
    "fail-open on (default): when every backend is down, forward to all of\n"
    "  them anyway; off: drop. Weight 0 stays out even then (maintenance).\n"
    "PROTECT is any of: allow PREFIX[,PREFIX...]|any, deny PREFIX[,PREFIX...]|none,\n"
    "  limit N/s [burst B]|off. Prefixes (at most 32 a list) are of the VIP's\n"
    "  family; the longest that matches the client decides, and with an allow\n"
    "  list a client that matches neither list is denied. limit: new flows per\n"
    "  second and client (IPv6: per /64), N 1-1000000, burst B 1-1000000\n"
    "  (default N); needs conntrack on. Established flows are never limited.\n"
    "slow-start S is 1-3600 seconds, 0 or off for none (default): a backend\n"
    "  added, or up again after its checks failed, starts at a small share of\n"
    "  its weight and ramps linearly to all of it in S seconds (ring rebuilt\n"
    "  once a second). On a VIP it is its backends' default, on a backend its own.\n"
    "conns lists tracked flows (client, VIP, backend, state new|established|\n"
    "  closing, age, idle), at most limit N (1-10000, default 100); conns flush\n"
    "  VIP deletes the VIP's entries, its flows then re-hash.\n"
    "Objects and verbs may be abbreviated to a unique prefix (not detach).\n";

const char *xlb_cmd_usage(const char *topic)
{
	static char buf[8192];
	size_t len = 0;

	buf[0] = 0;
	for (const struct xlb_cmd_object *o = objects; o->name; o++) {
		if (topic && strcmp(topic, o->name))
			continue;
		if (o->verbs)
			for (const struct xlb_cmd_verb *v = o->verbs; v->name; v++)
				len += snprintf(buf + len, sizeof(buf) - len, "  %s\n", v->usage);
		else
			len += snprintf(buf + len, sizeof(buf) - len, "  %s\n", o->self->usage);
		if (len >= sizeof(buf))
			return buf;
	}
	snprintf(buf + len, sizeof(buf) - len, "%s", usage_notes);
	return buf;
}

/* Keywords whose next word is their value, whatever it spells. */
static int takes_value(const char *w)
{
	static const char *const kw[] = {"weight",   "sched",	"conntrack", "fail-open", "port",
					 "interval", "timeout", "rise",	     "fall",	  "path",
					 "host",     "status",	"send",	     "expect",	  "allow",
					 "deny",     "limit",	"burst",     "slow-start"};

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (!strcmp(w, kw[i]))
			return 1;
	return 0;
}

static int is_help(const char *w)
{
	return !strcmp(w, "help") || !strcmp(w, "-h") || !strcmp(w, "--help");
}

/* Index of the entry word names, exactly or as a unique prefix; -ENOENT or
 * -EAGAIN (ambiguous). names are read at stride bytes from first. */
static int match_word(const char *word, const void *first, size_t stride,
		      int (*exact)(const void *))
{
	int found = -ENOENT, n = 0;
	size_t wl = strlen(word);

	if (!wl)
		return -ENOENT;
	for (const char *p = first; *(const char *const *)p; p += stride, n++) {
		const char *name = *(const char *const *)p;

		if (!strcmp(name, word))
			return n;
		if (exact && exact(p))
			continue;
		if (!strncmp(name, word, wl))
			found = found == -ENOENT ? n : -EAGAIN;
	}
	return found;
}

static int object_exact(const void *p)
{
	return ((const struct xlb_cmd_object *)p)->exact;
}

/* Names of the table, or only those starting with prefix (when not NULL). */
static void list_names(char *buf, size_t len, const void *first, size_t stride, const char *prefix)
{
	size_t off = 0;

	buf[0] = 0;
	for (const char *p = first; *(const char *const *)p && off < len; p += stride) {
		const char *name = *(const char *const *)p;

		if (prefix && strncmp(name, prefix, strlen(prefix)))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? ", " : "", name);
	}
}

static int parse_options(struct xlb_cmd *c, const struct xlb_cmd_verb *v, const char *what,
			 int argc, char **argv, char *err, size_t errlen)
{
	char names[256];
	size_t off = 0;

	names[0] = 0;
	for (const struct xlb_cmd_option *const *o = v->options; o && *o; o++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s", off ? " or " : "",
				(*o)->name);
	while (argc > 0) {
		const struct xlb_cmd_option *opt = NULL;
		int used = 0;

		for (const struct xlb_cmd_option *const *o = v->options; o && *o; o++)
			if (!strcmp((*o)->name, argv[0]))
				opt = *o;
		if (!opt) {
			if (!names[0])
				return xlb_errf(-EINVAL, err, errlen,
						"unexpected '%s' after '%s', expected: %s", argv[0],
						what, v->usage);
			return xlb_errf(-EINVAL, err, errlen,
					"unknown keyword '%s' for '%s', expected %s (%s)", argv[0],
					what, names, v->usage);
		}
		if (c->given & opt->given)
			return xlb_errf(-EINVAL, err, errlen,
					"'%s' given twice, expected it at most once", opt->name);
		if (opt->parse(c, argc, argv, &used, err, errlen))
			return -EINVAL;
		c->given |= opt->given;
		argc -= used;
		argv += used;
	}
	for (const struct xlb_cmd_option *const *o = v->options; o && *o; o++)
		if ((v->required & (*o)->given) && !(c->given & (*o)->given))
			return xlb_errf(-EINVAL, err, errlen, "'%s' needs '%s', expected: %s", what,
					(*o)->name, v->usage);
	return 0;
}

int xlb_cmd_mutates(enum xlb_cmd_op op)
{
	return op >= XLB_CMD_VIP_ADD && op <= XLB_CMD_BACKEND_DEL;
}

int xlb_cmd_parse(int argc, char **argv, struct xlb_cmd *c, char *err, size_t errlen)
{
	const struct xlb_cmd_object *obj;
	const struct xlb_cmd_verb *v;
	char names[256], what[64];
	int i, n;

	memset(c, 0, sizeof(*c));
	xlb_hc_cfg_init(&c->hc);
	if (argc < 1)
		return xlb_errf(
		    -EINVAL, err, errlen,
		    "missing command, expected vip, backend, list, stats, lookup, explain, "
		    "top, save, restore, detach, conns or help");
	i = match_word(argv[0], &objects[0].name, sizeof(objects[0]), object_exact);
	/* Help where a command or keyword stands ("help vip", "vip help",
	 * "backend add -h"), never as an option's value: "send help" is a
	 * probe, or the saved rules would not read back. */
	for (int k = 0; k < argc; k++) {
		if (!is_help(argv[k]) || (k > 0 && takes_value(argv[k - 1])))
			continue;
		c->op = XLB_CMD_HELP;
		if (i >= 0 && objects[i].self != &help_cmd) {
			c->topic = objects[i].name;
		} else if (i >= 0 && argc > 1) {
			int t =
			    match_word(argv[1], &objects[0].name, sizeof(objects[0]), object_exact);

			if (t >= 0 && objects[t].self != &help_cmd)
				c->topic = objects[t].name;
		}
		return 0;
	}
	if (i < 0) {
		if (i == -EAGAIN) {
			list_names(names, sizeof(names), &objects[0].name, sizeof(objects[0]),
				   argv[0]);
			return xlb_errf(-EINVAL, err, errlen,
					"ambiguous command '%s' (%s), expected a unique prefix",
					argv[0], names);
		}
		list_names(names, sizeof(names), &objects[0].name, sizeof(objects[0]), NULL);
		return xlb_errf(-EINVAL, err, errlen, "unknown command '%s', expected one of %s",
				argv[0], names);
	}
	obj = &objects[i];
	argc--;
	argv++;
	if (obj->verbs) {
		list_names(names, sizeof(names), &obj->verbs[0].name, sizeof(obj->verbs[0]), NULL);
		if (argc < 1)
			return xlb_errf(-EINVAL, err, errlen, "'%s' needs a verb, expected %s",
					obj->name, names);
		n = match_word(argv[0], &obj->verbs[0].name, sizeof(obj->verbs[0]), NULL);
		if (n == -EAGAIN)
			return xlb_errf(-EINVAL, err, errlen,
					"ambiguous verb '%s' for '%s', expected %s", argv[0],
					obj->name, names);
		if (n < 0)
			return xlb_errf(-EINVAL, err, errlen,
					"unknown verb '%s' for '%s', expected %s", argv[0],
					obj->name, names);
		v = &obj->verbs[n];
		argc--;
		argv++;
		snprintf(what, sizeof(what), "%s %s", obj->name, v->name);
	} else {
		v = obj->self;
		snprintf(what, sizeof(what), "%s", obj->name);
	}
	c->op = v->op;
	if (v->parse) {
		n = v->parse(c, argc, argv, err, errlen);
		if (n < 0)
			return -EINVAL;
		argc -= n;
		argv += n;
	}
	if (parse_options(c, v, what, argc, argv, err, errlen))
		return -EINVAL;
	if (c->op == XLB_CMD_BACKEND_SET &&
	    !(c->given & (XLB_CMD_G_WEIGHT | XLB_CMD_G_CHECK | XLB_CMD_G_SLOW_START)))
		return xlb_errf(-EINVAL, err, errlen,
				"'%s' needs weight, slow-start or check, expected: %s", what,
				v->usage);
	return 0;
}
