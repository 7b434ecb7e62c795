// SPDX-License-Identifier: GPL-2.0
/* cmd.c: the operator's grammar, dispatched from tables (objects, verbs,
 * keyword options) so that new options such as health checks slot in beside
 * the others, and its execution with JSON replies (see cmd.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "cmd.h"
#include "addr.h"
#include "dataplane.h"
#include "lb.h"
#include "log.h"
#include "rules.h"

/* ---- parsing ------------------------------------------------------------ */

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

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_u32(const char *text, __u32 max, __u32 *out)
{
	unsigned long v;
	char *end;

	/* Digits only: strtoul would take "-1", " 5" and "0x10". */
	if (!*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 10)
		return -EINVAL;
	v = strtoul(text, &end, 10);
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int opt_sched(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	if (argc < 2)
		return fail(err, errlen, "'sched' needs a value, expected sched maglev|sh");
	if (!strcmp(argv[1], "maglev"))
		c->vip_flags &= ~XLB_VIP_F_SRC_HASH;
	else if (!strcmp(argv[1], "sh"))
		c->vip_flags |= XLB_VIP_F_SRC_HASH;
	else
		return fail(err, errlen,
			    "unknown scheduler '%s', expected maglev (whole flow) or sh (source "
			    "address)",
			    argv[1]);
	*consumed = 2;
	return 0;
}

/* An option that takes on or off: *is_on gets 1 or 0. */
static int parse_on_off(int argc, char **argv, int *consumed, int *is_on, const char *meaning,
			char *err, size_t errlen)
{
	if (argc < 2)
		return fail(err, errlen, "'%s' needs a value, expected %s on|off", argv[0], argv[0]);
	if (strcmp(argv[1], "on") && strcmp(argv[1], "off"))
		return fail(err, errlen, "bad %s value '%s', expected on or off%s", argv[0], argv[1],
			    meaning);
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
		return fail(err, errlen, "'weight' needs a value, expected weight 0-%u",
			    XLB_MAX_WEIGHT);
	if (parse_u32(argv[1], XLB_MAX_WEIGHT, &c->weight))
		return fail(err, errlen, "bad weight '%s', expected 0-%u (0 = drain)", argv[1],
			    XLB_MAX_WEIGHT);
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

/* "check default" forgets the options given before; anything else is a
 * check clause (health.h), which replaces the previous clause whole. */
static int opt_check(struct xlb_cmd *c, int argc, char **argv, int *consumed, char *err,
		     size_t errlen)
{
	char msg[XLB_CMD_ERRLEN];

	if (argc >= 2 && !strcmp(argv[1], "default")) {
		xlb_hc_cfg_init(&c->hc);
		*consumed = 2;
		return 0;
	}
	msg[0] = 0;
	if (xlb_hc_cfg_parse(argc, argv, consumed, &c->hc, msg, sizeof(msg)))
		return fail(err, errlen, "%s%s", strncmp(msg, "Error: ", 7) ? msg : msg + 7,
			    argc < 2 ? " (or default)" : "");
	return 0;
}

static const struct xlb_cmd_option opt_sched_def = {"sched", XLB_CMD_G_SCHED, opt_sched};
static const struct xlb_cmd_option opt_conntrack_def = {"conntrack", XLB_CMD_G_CONNTRACK,
							opt_conntrack};
static const struct xlb_cmd_option opt_weight_def = {"weight", XLB_CMD_G_WEIGHT, opt_weight};
static const struct xlb_cmd_option opt_fail_open_def = {"fail-open", XLB_CMD_G_FAIL_OPEN,
							opt_fail_open};
static const struct xlb_cmd_option opt_check_def = {"check", XLB_CMD_G_CHECK, opt_check};

static const struct xlb_cmd_option *const vip_options[] = {
    &opt_sched_def, &opt_conntrack_def, &opt_fail_open_def, &opt_check_def, NULL};
static const struct xlb_cmd_option *const backend_options[] = {&opt_weight_def, &opt_check_def,
							       NULL};

static int arg_vip(struct xlb_cmd *c, int argc, char **argv, const char *verb, char *err,
		   size_t errlen)
{
	if (argc < 1)
		return fail(err, errlen,
			    "'%s' needs a VIP, expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp",
			    verb);
	if (xlb_vip_key_parse(argv[0], &c->vip, err, errlen))
		return -EINVAL;
	return 1;
}

static int pos_vip(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	return arg_vip(c, argc, argv,
		       c->op == XLB_CMD_VIP_ADD	  ? "vip add"
		       : c->op == XLB_CMD_VIP_SET ? "vip set"
						  : "vip del",
		       err, errlen);
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
		return fail(err, errlen,
			    "'%s' needs a backend address after the VIP, expected an IPv4 or "
			    "IPv6 address",
			    verb);
	if (xlb_addr_parse(argv[1], &c->addr, &c->family))
		return fail(err, errlen,
			    "bad backend address '%s', expected an IPv4 or IPv6 address without "
			    "a port",
			    argv[1]);
	if (c->vip.family == XLB_AF_INET6 && c->family != XLB_AF_INET6) {
		xlb_vip_key_format(&c->vip, v, sizeof(v));
		return fail(err, errlen,
			    "backend %s is IPv4 but VIP %s is IPv6, an IPv6 VIP needs IPv6 "
			    "backends (an IPv4 VIP takes either)",
			    argv[1], v);
	}
	return 2;
}

static int pos_lookup(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	if (arg_vip(c, argc, argv, "lookup", err, errlen) < 0)
		return -EINVAL;
	if (argc < 2)
		return fail(err, errlen,
			    "'lookup' needs the client after the VIP, expected SRC_ADDR:SRC_PORT, "
			    "e.g. 198.18.1.2:40000");
	if (xlb_endpoint_parse(argv[1], &c->addr, &c->family, &c->port, err, errlen))
		return -EINVAL;
	if (c->family != c->vip.family)
		return fail(err, errlen,
			    "client %s and the VIP differ in address family, expected an %s "
			    "client",
			    argv[1], c->vip.family == XLB_AF_INET6 ? "IPv6" : "IPv4");
	return 2;
}

static int pos_file(struct xlb_cmd *c, int argc, char **argv, char *err, size_t errlen)
{
	if (argc < 1)
		return 0;
	if (!*argv[0])
		return fail(err, errlen, "empty file name, expected restore [FILE]");
	c->file = argv[0];
	return 1;
}

/* One row per verb: clang-format would break the rows apart. */
// clang-format off
static const struct xlb_cmd_verb vip_verbs[] = {
	{"add", XLB_CMD_VIP_ADD, pos_vip, vip_options, 0,
	 "vip add VIP [sched maglev|sh] [conntrack on|off] [fail-open on|off] [CHECK]"},
	{"set", XLB_CMD_VIP_SET, pos_vip, vip_options, 0,
	 "vip set VIP [sched maglev|sh] [conntrack on|off] [fail-open on|off] [CHECK]"},
	{"del", XLB_CMD_VIP_DEL, pos_vip, NULL, 0, "vip del VIP"},
	{NULL},
};

static const struct xlb_cmd_verb backend_verbs[] = {
	{"add", XLB_CMD_BACKEND_ADD, pos_vip_backend, backend_options, 0,
	 "backend add VIP ADDR [weight N] [CHECK]"},
	{"set", XLB_CMD_BACKEND_SET, pos_vip_backend, backend_options, 0,
	 "backend set VIP ADDR [weight N] [CHECK]"},
	{"del", XLB_CMD_BACKEND_DEL, pos_vip_backend, NULL, 0, "backend del VIP ADDR"},
	{NULL},
};

static const struct xlb_cmd_verb list_cmd = {"list", XLB_CMD_LIST, NULL, NULL, 0, "list"};
static const struct xlb_cmd_verb stats_cmd = {"stats", XLB_CMD_STATS, NULL, NULL, 0, "stats"};
static const struct xlb_cmd_verb lookup_cmd = {"lookup", XLB_CMD_LOOKUP, pos_lookup, NULL, 0,
					       "lookup VIP SRC_ADDR:SRC_PORT"};
static const struct xlb_cmd_verb save_cmd = {"save", XLB_CMD_SAVE, NULL, NULL, 0, "save"};
static const struct xlb_cmd_verb restore_cmd = {"restore", XLB_CMD_RESTORE, pos_file, NULL, 0,
						"restore [FILE]"};
static const struct xlb_cmd_verb detach_cmd = {"detach", XLB_CMD_DETACH, NULL, NULL, 0,
					       "detach"};
static const struct xlb_cmd_verb help_cmd = {"help", XLB_CMD_HELP, NULL, NULL, 0,
					     "help [OBJECT]"};

static const struct xlb_cmd_object objects[] = {
	{"vip", vip_verbs, NULL, 0},
	{"backend", backend_verbs, NULL, 0},
	{"list", NULL, &list_cmd, 0},
	{"stats", NULL, &stats_cmd, 0},
	{"lookup", NULL, &lookup_cmd, 0},
	{"save", NULL, &save_cmd, 0},
	{"restore", NULL, &restore_cmd, 0},
	{"detach", NULL, &detach_cmd, 1},
	{"help", NULL, &help_cmd, 0},
	{NULL},
};

// clang-format on

static const char usage_notes[] =
    "VIP is ADDR:PORT/PROTO, PROTO tcp or udp, PORT 0-65535 (0 = all ports), e.g.\n"
    "  198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp.\n"
    "ADDR is an IPv4 or IPv6 address: an IPv4 VIP takes IPv4 or IPv6 backends,\n"
    "  an IPv6 VIP takes IPv6 backends.\n"
    "weight N is 0-65535, default 1; weight 0 drains: established flows stay,\n"
    "  new flows go elsewhere. sched maglev (default) hashes the whole flow, sh\n"
    "  the client address only; conntrack on (default) pins flows to backends.\n"
    "CHECK is a health check: check [tcp|http|udp|none] [port N] [interval MS]\n"
    "  [timeout MS] [rise N] [fall N] [path /P] [host H] [status N] [send STR]\n"
    "  [expect STR], or check default. On a VIP it sets its backends' defaults,\n"
    "  on a backend it overrides them; a new clause replaces the old one whole.\n"
    "  Defaults: tcp to the VIP's port for TCP VIPs with a port, none for UDP\n"
    "  and all-ports VIPs; interval 1000 timeout 1000 rise 2 fall 2.\n"
    "fail-open on (default): when every backend is down, forward to all of\n"
    "  them anyway; off: drop. Weight 0 stays out even then (maintenance).\n"
    "Objects and verbs may be abbreviated to a unique prefix (not detach).\n";

const char *xlb_cmd_usage(const char *topic)
{
	static char buf[4096];
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
				return fail(err, errlen, "unexpected '%s' after '%s', expected: %s",
					    argv[0], what, v->usage);
			return fail(err, errlen, "unknown keyword '%s' for '%s', expected %s (%s)",
				    argv[0], what, names, v->usage);
		}
		if (c->given & opt->given)
			return fail(err, errlen, "'%s' given twice, expected it at most once",
				    opt->name);
		if (opt->parse(c, argc, argv, &used, err, errlen))
			return -EINVAL;
		c->given |= opt->given;
		argc -= used;
		argv += used;
	}
	for (const struct xlb_cmd_option *const *o = v->options; o && *o; o++)
		if ((v->required & (*o)->given) && !(c->given & (*o)->given))
			return fail(err, errlen, "'%s' needs '%s', expected: %s", what, (*o)->name,
				    v->usage);
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
		return fail(err, errlen,
			    "missing command, expected vip, backend, list, stats, lookup, save, "
			    "restore, detach or help");
	i = match_word(argv[0], &objects[0].name, sizeof(objects[0]), object_exact);
	/* help anywhere: "vip help", "backend add -h", "help vip". */
	for (int k = 0; k < argc; k++) {
		if (!is_help(argv[k]))
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
			return fail(err, errlen,
				    "ambiguous command '%s' (%s), expected a unique prefix",
				    argv[0], names);
		}
		list_names(names, sizeof(names), &objects[0].name, sizeof(objects[0]), NULL);
		return fail(err, errlen, "unknown command '%s', expected one of %s", argv[0],
			    names);
	}
	obj = &objects[i];
	argc--;
	argv++;
	if (obj->verbs) {
		list_names(names, sizeof(names), &obj->verbs[0].name, sizeof(obj->verbs[0]), NULL);
		if (argc < 1)
			return fail(err, errlen, "'%s' needs a verb, expected %s", obj->name,
				    names);
		n = match_word(argv[0], &obj->verbs[0].name, sizeof(obj->verbs[0]), NULL);
		if (n == -EAGAIN)
			return fail(err, errlen, "ambiguous verb '%s' for '%s', expected %s",
				    argv[0], obj->name, names);
		if (n < 0)
			return fail(err, errlen, "unknown verb '%s' for '%s', expected %s", argv[0],
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
	if (c->op == XLB_CMD_BACKEND_SET && !(c->given & (XLB_CMD_G_WEIGHT | XLB_CMD_G_CHECK)))
		return fail(err, errlen, "'%s' needs weight or check, expected: %s", what,
			    v->usage);
	return 0;
}

/* ---- execution ---------------------------------------------------------- */

static const char *strip_error(const char *msg)
{
	return strncmp(msg, "Error: ", 7) ? msg : msg + 7;
}

json_t *xlb_cmd_error(int usage, const char *fmt, ...)
{
	char msg[XLB_CMD_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote the offending input, which may be any bytes; JSON
	 * strings must be UTF-8, and a terminal deserves no control codes. */
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	return json_pack("{s:s, s:b}", "error", strip_error(msg), "usage", usage);
}

static json_t *result(json_t *value)
{
	if (!value)
		return NULL;
	return json_pack("{s:o}", "result", value);
}

static const char *backend_state(const struct xlb_lb_vip *v, const struct xlb_lb_backend *b)
{
	if (!b->weight)
		return "draining";
	if (b->up)
		return "active";
	return v->failing_open && b->in_ring ? "fail-open" : "down";
}

static json_t *counter_json(struct xlb_dp *dp,
			    int (*get)(struct xlb_dp *, __u32, struct xlb_counter *), __u32 id)
{
	struct xlb_counter sum = {0};

	/* A counter we cannot read shows as zero rather than failing list. */
	if (get(dp, id, &sum))
		memset(&sum, 0, sizeof(sum));
	return json_pack("{s:I, s:I}", "packets", (json_int_t)sum.packets, "bytes",
			 (json_int_t)sum.bytes);
}

static int json_merge(json_t *into, json_t *from)
{
	int ret;

	if (!from)
		return -ENOMEM;
	ret = json_object_update(into, from);
	json_decref(from);
	return ret ? -ENOMEM : 0;
}

/* The check a cfg resolves to, every option spelled out. */
static json_t *check_json(const struct xlb_hc_cfg *cfg)
{
	struct xlb_hc_cfg all = *cfg;
	char clause[1024];

	all.set = XLB_HC_F_KIND;
	if (cfg->kind != XLB_HC_NONE)
		all.set |= XLB_HC_F_PORT | XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT | XLB_HC_F_RISE |
			   XLB_HC_F_FALL;
	if (cfg->kind == XLB_HC_HTTP)
		all.set |= XLB_HC_F_PATH | XLB_HC_F_STATUS | (cfg->host[0] ? XLB_HC_F_HOST : 0);
	if (cfg->kind == XLB_HC_UDP)
		all.set |= (cfg->send_len ? XLB_HC_F_SEND : 0) | (cfg->expect_len ? XLB_HC_F_EXPECT : 0);
	if (xlb_hc_cfg_format(&all, clause, sizeof(clause)) < 0)
		clause[0] = 0;
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:s}", "kind", xlb_hc_kind_str(cfg->kind),
			 "port", cfg->port, "interval_ms", (json_int_t)cfg->interval_ms,
			 "timeout_ms", (json_int_t)cfg->timeout_ms, "rise", (json_int_t)cfg->rise,
			 "fall", (json_int_t)cfg->fall, "clause", clause);
}

/* What the checker thinks of a backend, and since when. */
static json_t *health_json(struct xlb_lb *lb, const struct xlb_lb_backend *b)
{
	struct xlb_hc_state st = {.up = b->up, .last = XLB_HC_PENDING};
	char err[XLB_CMD_ERRLEN];
	struct xlb_hc_cfg cfg;
	__u64 now = xlb_hc_now_ms();
	json_t *o;

	/* Not resolvable or not running: nothing is checked. */
	if (xlb_lb_backend_check(lb, b, &cfg, err, sizeof(err)) || !lb->hc ||
	    xlb_hc_get(lb->hc, b->id, &st)) {
		xlb_hc_cfg_init(&cfg);
		cfg.kind = XLB_HC_NONE;
	}
	o = json_pack("{s:b, s:s, s:i, s:I, s:I, s:I, s:I, s:o}", "up", b->up, "last",
		      xlb_hc_result_str(st.last), "last_code", st.last_code, "ok_streak",
		      (json_int_t)st.ok_streak, "fail_streak", (json_int_t)st.fail_streak,
		      "transitions", (json_int_t)st.transitions, "since_change_ms",
		      (json_int_t)(now > b->changed_ms ? now - b->changed_ms : 0), "check",
		      check_json(&cfg));
	return o;
}

static json_t *backend_json(struct xlb_lb *lb, const struct xlb_lb_vip *v,
			    const struct xlb_lb_backend *b)
{
	char a[XLB_ADDR_STRLEN];
	json_t *o;

	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	o = json_pack("{s:s, s:i, s:I, s:s, s:b, s:I, s:o}", "address", a, "family", b->family,
		      "weight", (json_int_t)b->weight, "state", backend_state(v, b), "in_ring",
		      b->in_ring, "id", (json_int_t)b->id, "health", health_json(lb, b));
	if (o && json_merge(o, counter_json(lb->dp, xlb_dp_counter_backend, b->id))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *vip_json(struct xlb_lb *lb, const struct xlb_lb_vip *v)
{
	char name[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN];
	json_t *o;
	struct xlb_hc_cfg cfg;
	char err[XLB_CMD_ERRLEN];

	if (xlb_hc_cfg_resolve(&cfg, &v->hc, NULL, v->key.proto, ntohs(v->key.port), err,
			       sizeof(err))) {
		xlb_hc_cfg_init(&cfg);
		cfg.kind = XLB_HC_NONE;
	}
	xlb_vip_key_format(&v->key, name, sizeof(name));
	xlb_addr_format(&v->key.addr, v->key.family, a, sizeof(a));
	o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:b, s:o, s:I}", "vip", name,
		      "address", a, "port", ntohs(v->key.port), "proto",
		      xlb_proto_name(v->key.proto), "family", v->key.family, "sched",
		      v->flags & XLB_VIP_F_SRC_HASH ? "sh" : "maglev", "conntrack",
		      v->flags & XLB_VIP_F_NO_CONNTRACK ? "off" : "on", "fail_open",
		      v->fail_close ? "off" : "on", "failing_open", v->failing_open, "check",
		      check_json(&cfg), "id", (json_int_t)v->id);
	if (o && json_merge(o, counter_json(lb->dp, xlb_dp_counter_vip, v->id))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* list and save show the same order: the canonical one of the rules. */
static json_t *do_list(struct xlb_lb *lb)
{
	struct xlb_rules r;
	json_t *vips, *out;

	if (xlb_rules_from_lb(&r, lb))
		return NULL;
	vips = json_array();
	for (size_t i = 0; vips && i < r.n_vips; i++) {
		const struct xlb_lb_vip *v = xlb_lb_vip_find(lb, &r.vips[i].key);
		json_t *vo, *bes;

		if (!v)
			continue;
		vo = vip_json(lb, v);
		bes = json_array();
		if (!vo || !bes || json_object_set_new(vo, "backends", bes) ||
		    json_array_append_new(vips, vo)) {
			json_decref(vo);
			json_decref(vips);
			vips = NULL;
			break;
		}
		for (size_t j = 0; j < r.n_backends; j++) {
			const struct xlb_lb_backend *b;

			if (memcmp(&r.backends[j].vip, &v->key, sizeof(v->key)))
				continue;

			b = xlb_lb_backend_find(lb, v, &r.backends[j].addr, r.backends[j].family);
			if (b && json_array_append_new(bes, backend_json(lb, v, b))) {
				json_decref(vips);
				vips = NULL;
				break;
			}
		}
	}
	xlb_rules_free(&r);
	if (!vips)
		return NULL;
	out = json_pack("{s:o}", "vips", vips);
	return out;
}

/* The checker's counters and how many backends it holds up and down. */
static json_t *health_stats_json(struct xlb_lb *lb)
{
	struct xlb_hc_counters hc = {0};
	json_t *results = json_object();
	__u64 up = 0, down = 0;

	if (lb->hc)
		xlb_hc_counters_get(lb->hc, &hc);
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		if (!lb->backends[i].used)
			continue;
		up += !!lb->backends[i].up;
		down += !lb->backends[i].up;
	}
	for (int r = XLB_HC_OK; results && r < __XLB_HC_RESULT_MAX; r++)
		if (json_object_set_new(results, xlb_hc_result_str(r),
					json_integer((json_int_t)hc.results[r]))) {
			json_decref(results);
			results = NULL;
		}
	if (!results)
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "checked",
			 (json_int_t)hc.backends, "backends_up", (json_int_t)up,
			 "backends_down", (json_int_t)down, "running", (json_int_t)hc.running,
			 "started", (json_int_t)hc.started, "skipped", (json_int_t)hc.skipped,
			 "transitions", (json_int_t)hc.transitions, "results", results);
}

static json_t *do_stats(struct xlb_lb *lb)
{
	struct xlb_counter c[__XLB_STAT_MAX];
	struct xlb_conn_tally ct;
	json_t *counters, *out;
	__u32 nv = 0, nb = 0;
	int err;

	counters = json_object();
	if (!counters)
		return NULL;
	for (int i = 0; i < __XLB_STAT_MAX; i++) {
		int ret = xlb_dp_counter(lb->dp, i, &c[i]);

		if (ret) {
			json_decref(counters);
			return xlb_cmd_error(0, "cannot read counter %s: %s", xlb_stat_names[i],
					     strerror(-ret));
		}
		if (json_object_set_new(counters, xlb_stat_names[i],
					json_pack("{s:I, s:I}", "packets", (json_int_t)c[i].packets,
						  "bytes", (json_int_t)c[i].bytes))) {
			json_decref(counters);
			return NULL;
		}
	}
	/* Never the whole table inside the request: see xlb_dp_conn_tally(). */
	err = xlb_dp_conn_tally(lb->dp, XLB_DP_TALLY_SLICE_US, &ct);
	if (err) {
		json_decref(counters);
		return xlb_cmd_error(0, "cannot count the connection table: %s", strerror(-err));
	}
	for (__u32 i = 0; i < lb->dp->max_vips; i++)
		nv += !!lb->vips[i].used;
	for (__u32 i = 0; i < lb->dp->max_backends; i++)
		nb += !!lb->backends[i].used;
	out = json_pack(
	    "{s:o, s:{s:o, s:b, s:o, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}", "counters",
	    counters, "conntrack", "entries",
	    ct.have ? json_integer((json_int_t)ct.entries) : json_null(), "entries_estimate",
	    !(ct.fresh && ct.exact), "entries_age_ms",
	    ct.have ? json_integer((json_int_t)ct.age_ms) : json_null(), "max",
	    (json_int_t)lb->dp->max_conns, "hits", (json_int_t)c[XLB_STAT_CONN_HIT].packets,
	    "misses", (json_int_t)c[XLB_STAT_CONN_MISS].packets, "stale",
	    (json_int_t)c[XLB_STAT_CONN_STALE].packets, "limits", "vips", (json_int_t)nv,
	    "max_vips", (json_int_t)lb->dp->max_vips, "backends", (json_int_t)nb, "max_backends",
	    (json_int_t)lb->dp->max_backends, "ring_size", (json_int_t)lb->dp->ring_size);
	if (out && json_object_set_new(out, "health", health_stats_json(lb))) {
		json_decref(out);
		return NULL;
	}
	return result(out);
}

static json_t *do_lookup(struct xlb_lb *lb, const struct xlb_cmd *c)
{
	char err[XLB_CMD_ERRLEN], v[XLB_ADDR_STRLEN], src[XLB_ADDR_STRLEN + 8];
	char a[XLB_ADDR_STRLEN], vip[XLB_ADDR_STRLEN];
	struct xlb_lb_backend *b;
	const struct xlb_lb_vip *lv;

	err[0] = 0;
	if (xlb_lb_lookup(lb, &c->vip, &c->addr, c->family, c->port, &b, err, sizeof(err)))
		return xlb_cmd_error(0, "%s", err);
	lv = &lb->vips[b->vip];
	xlb_vip_key_format(&lv->key, vip, sizeof(vip));
	xlb_vip_key_format(&c->vip, v, sizeof(v));
	xlb_addr_format(&c->addr, c->family, a, sizeof(a));
	snprintf(src, sizeof(src), c->family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 ntohs(c->port));
	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	return result(json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "vip", vip, "flow_vip", v,
				"client", src, "backend", a, "weight", (json_int_t)b->weight,
				"state", backend_state(lv, b), "backend_id", (json_int_t)b->id));
}

static json_t *do_save(struct xlb_lb *lb)
{
	struct xlb_rules r;
	json_t *lines;
	char *text, *line, *save = NULL;

	if (xlb_rules_from_lb(&r, lb))
		return NULL;
	text = xlb_rules_format(&r);
	xlb_rules_free(&r);
	if (!text)
		return NULL;
	lines = json_array();
	for (line = strtok_r(text, "\n", &save); lines && line; line = strtok_r(NULL, "\n", &save))
		if (json_array_append_new(lines, json_string(line))) {
			json_decref(lines);
			lines = NULL;
		}
	free(text);
	if (!lines)
		return NULL;
	return result(json_pack("{s:o}", "rules", lines));
}

/* Every change goes through a copy of the configuration first: what it would
 * refuse is refused before the load balancer is touched. */
static json_t *do_change(struct xlb_cmd_env *env, struct xlb_rules *target)
{
	char err[XLB_CMD_ERRLEN];

	err[0] = 0;
	if (xlb_rules_apply(env->lb, target, err, sizeof(err)))
		return xlb_cmd_error(0, "%s", err);
	env->changed = 1;
	return NULL;
}

static json_t *do_mutation(struct xlb_cmd_env *env, const struct xlb_cmd *c)
{
	char err[XLB_CMD_ERRLEN];
	struct xlb_rules r;
	json_t *reply;

	if (xlb_rules_from_lb(&r, env->lb))
		return NULL;
	err[0] = 0;
	if (xlb_rules_step(&r, c, err, sizeof(err))) {
		xlb_rules_free(&r);
		return xlb_cmd_error(0, "%s", err);
	}
	reply = do_change(env, &r);
	xlb_rules_free(&r);
	return reply ? reply : result(json_object());
}

static json_t *do_restore(struct xlb_cmd_env *env, const struct xlb_cmd *c)
{
	const char *path = c->file ? c->file : env->rules_path;
	char err[XLB_CMD_ERRLEN];
	struct xlb_rules r;
	json_t *reply;
	int usage;

	if (!path)
		return xlb_cmd_error(1, "restore needs a FILE: this xlbd has no rules file (-r)");
	xlb_rules_init(&r, env->lb->dp->max_vips, env->lb->dp->max_backends);
	err[0] = 0;
	if (xlb_rules_read(&r, path, &usage, err, sizeof(err))) {
		xlb_rules_free(&r);
		/* The request was fine; what is wrong is the file's content. */
		return xlb_cmd_error(0, "%s", err);
	}
	reply = do_change(env, &r);
	if (!reply)
		reply =
		    result(json_pack("{s:s, s:I, s:I}", "file", path, "vips", (json_int_t)r.n_vips,
				     "backends", (json_int_t)r.n_backends));
	xlb_rules_free(&r);
	return reply;
}

json_t *xlb_cmd_exec(struct xlb_cmd_env *env, int argc, char **argv)
{
	char err[XLB_CMD_ERRLEN];
	struct xlb_cmd c;

	err[0] = 0;
	if (xlb_cmd_parse(argc, argv, &c, err, sizeof(err)))
		return xlb_cmd_error(1, "%s", err);
	switch (c.op) {
	case XLB_CMD_HELP:
		return result(json_pack("{s:s}", "help", xlb_cmd_usage(c.topic)));
	case XLB_CMD_VIP_ADD:
	case XLB_CMD_VIP_SET:
	case XLB_CMD_VIP_DEL:
	case XLB_CMD_BACKEND_ADD:
	case XLB_CMD_BACKEND_SET:
	case XLB_CMD_BACKEND_DEL:
		return do_mutation(env, &c);
	case XLB_CMD_LIST:
		return result(do_list(env->lb));
	case XLB_CMD_STATS:
		return do_stats(env->lb);
	case XLB_CMD_LOOKUP:
		return do_lookup(env->lb, &c);
	case XLB_CMD_SAVE:
		return do_save(env->lb);
	case XLB_CMD_RESTORE:
		return do_restore(env, &c);
	case XLB_CMD_DETACH:
		if (!env->detach)
			return xlb_cmd_error(0, "detach is not available here");
		if (env->detach(env->ctx, err, sizeof(err)))
			return xlb_cmd_error(0, "%s", err);
		return result(json_object());
	}
	return xlb_cmd_error(0, "unhandled command");
}
