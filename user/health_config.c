// SPDX-License-Identifier: GPL-2.0
/* health_config.c: the check configuration (see health_config.h): defaults,
 * layering of a VIP's defaults and a backend's override, the check clause's
 * parser and printer, and the ranges the engine accepts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "health_config.h"
#include "addr.h"
#include "log.h"

static const char *const kind_names[__XLB_HC_KIND_MAX] = {
    [XLB_HC_NONE] = "none",
    [XLB_HC_TCP] = "tcp",
    [XLB_HC_HTTP] = "http",
    [XLB_HC_UDP] = "udp",
};

const char *xlb_hc_kind_str(enum xlb_hc_kind kind)
{
	if ((unsigned int)kind >= __XLB_HC_KIND_MAX)
		return "unknown";
	return kind_names[kind];
}

void xlb_hc_cfg_init(struct xlb_hc_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = XLB_HC_TCP;
	cfg->interval_ms = XLB_HC_INTERVAL_MS_DEFAULT;
	cfg->timeout_ms = XLB_HC_TIMEOUT_MS_DEFAULT;
	cfg->rise = XLB_HC_RISE_DEFAULT;
	cfg->fall = XLB_HC_FALL_DEFAULT;
	cfg->status = XLB_HC_STATUS_DEFAULT;
	strcpy(cfg->path, XLB_HC_PATH_DEFAULT);
}

/* Copies the fields that src set over dst. */
static void cfg_overlay(struct xlb_hc_cfg *dst, const struct xlb_hc_cfg *src)
{
	__u32 s = src->set;

	if (s & XLB_HC_F_KIND)
		dst->kind = src->kind;
	if (s & XLB_HC_F_PORT)
		dst->port = src->port;
	if (s & XLB_HC_F_INTERVAL)
		dst->interval_ms = src->interval_ms;
	if (s & XLB_HC_F_TIMEOUT)
		dst->timeout_ms = src->timeout_ms;
	if (s & XLB_HC_F_RISE)
		dst->rise = src->rise;
	if (s & XLB_HC_F_FALL)
		dst->fall = src->fall;
	if (s & XLB_HC_F_PATH)
		memcpy(dst->path, src->path, sizeof(dst->path));
	if (s & XLB_HC_F_HOST)
		memcpy(dst->host, src->host, sizeof(dst->host));
	if (s & XLB_HC_F_STATUS)
		dst->status = src->status;
	if (s & XLB_HC_F_SEND) {
		memcpy(dst->send, src->send, sizeof(dst->send));
		dst->send_len = src->send_len;
	}
	if (s & XLB_HC_F_EXPECT) {
		memcpy(dst->expect, src->expect, sizeof(dst->expect));
		dst->expect_len = src->expect_len;
	}
	dst->set |= s;
}

void xlb_hc_cfg_merge(struct xlb_hc_cfg *out, const struct xlb_hc_cfg *vip,
		      const struct xlb_hc_cfg *backend)
{
	xlb_hc_cfg_init(out);
	if (vip)
		cfg_overlay(out, vip);
	if (backend)
		cfg_overlay(out, backend);
	/* A VIP may lower the interval below the default timeout; a check
	 * that outlived its interval would overlap the next one. */
	if (out->timeout_ms > out->interval_ms)
		out->timeout_ms = out->interval_ms;
}

int xlb_hc_cfg_resolve(struct xlb_hc_cfg *out, const struct xlb_hc_cfg *vip,
		       const struct xlb_hc_cfg *backend, __u8 proto, __u16 vip_port, char *err,
		       size_t errlen)
{
	xlb_hc_cfg_merge(out, vip, backend);
	/* A UDP service has no universal probe and an all-ports VIP no port
	 * to probe, so only a TCP VIP with a port gets a check by default. */
	if (!(out->set & XLB_HC_F_KIND))
		out->kind = (proto == IPPROTO_TCP && vip_port) ? XLB_HC_TCP : XLB_HC_NONE;
	if (!(out->set & XLB_HC_F_PORT))
		out->port = vip_port;
	if (out->kind != XLB_HC_NONE && !out->port)
		return xlb_errf(-EINVAL, err, errlen,
				"check %s on an all-ports VIP needs a port, expected 'port N' "
				"with N 1-65535",
				xlb_hc_kind_str(out->kind));
	return 0;
}

/* Path and host go verbatim into the request, so no spaces or control
 * characters (they would split the request line or inject headers), and
 * verbatim into the rules file, so none of its quote, escape or comment
 * characters (the file would not read back). */
static int parse_text(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);

	if (!n || n >= size)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f ||
		    strchr("\"'#\\", s[i]))
			return -EINVAL;
	memcpy(out, s, n + 1);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* C escapes so that binary probes (DNS, \r\n-terminated text) fit in one
 * whitespace-free token of the rules file. */
static int parse_data(const char *s, char *out, __u8 *len)
{
	size_t n = 0;

	if (!*s)
		return -EINVAL;
	while (*s) {
		char c = *s++;

		if (n == XLB_HC_DATA_MAX)
			return -EINVAL;
		if (c == '\\') {
			int hi, lo;

			switch (*s++) {
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			case '\\':
				c = '\\';
				break;
			case 'x':
				hi = hexval(s[0]);
				lo = hi < 0 ? -1 : hexval(s[1]);
				if (lo < 0)
					return -EINVAL;
				c = (char)(hi << 4 | lo);
				s += 2;
				break;
			default:
				return -EINVAL;
			}
		}
		out[n++] = c;
	}
	*len = (__u8)n;
	return 0;
}

enum opt_type { OPT_U32, OPT_TEXT, OPT_DATA };

/* The options of a check clause: name, field, range, and the error text's
 * "what is valid" part. */
static const struct hc_opt {
	const char *name;
	__u32 field;
	enum opt_type type;
	__u32 min, max;
	const char *valid;
} hc_opts[] = {
    {"port", XLB_HC_F_PORT, OPT_U32, 1, 65535, "expected 1-65535"},
    {"interval", XLB_HC_F_INTERVAL, OPT_U32, XLB_HC_INTERVAL_MS_MIN, XLB_HC_INTERVAL_MS_MAX,
     "expected milliseconds 100-3600000"},
    {"timeout", XLB_HC_F_TIMEOUT, OPT_U32, XLB_HC_TIMEOUT_MS_MIN, XLB_HC_INTERVAL_MS_MAX,
     "expected milliseconds 10-3600000, at most the interval"},
    {"rise", XLB_HC_F_RISE, OPT_U32, 1, XLB_HC_STREAK_MAX, "expected 1-100"},
    {"fall", XLB_HC_F_FALL, OPT_U32, 1, XLB_HC_STREAK_MAX, "expected 1-100"},
    {"path", XLB_HC_F_PATH, OPT_TEXT, 0, 0,
     "expected /PATH, up to 127 characters without spaces, control characters or \" ' # \\"},
    {"host", XLB_HC_F_HOST, OPT_TEXT, 0, 0,
     "expected a host name up to 127 characters without spaces, control characters or \" ' # \\"},
    {"status", XLB_HC_F_STATUS, OPT_U32, 100, 599, "expected an HTTP status 100-599"},
    {"send", XLB_HC_F_SEND, OPT_DATA, 0, 0, "expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
    {"expect", XLB_HC_F_EXPECT, OPT_DATA, 0, 0,
     "expected 1-64 bytes, escapes \\n \\r \\t \\\\ \\xHH"},
};
#define N_OPTS (sizeof(hc_opts) / sizeof(hc_opts[0]))

#define HTTP_FIELDS (XLB_HC_F_PATH | XLB_HC_F_HOST | XLB_HC_F_STATUS)
#define UDP_FIELDS  (XLB_HC_F_SEND | XLB_HC_F_EXPECT)

static const struct hc_opt *find_opt(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (!strcmp(hc_opts[i].name, name))
			return &hc_opts[i];
	return NULL;
}

static const char *field_name(__u32 field)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (hc_opts[i].field & field)
			return hc_opts[i].name;
	return "?";
}

static int find_kind(const char *s)
{
	for (int k = 0; k < __XLB_HC_KIND_MAX; k++)
		if (!strcmp(kind_names[k], s))
			return k;
	return -1;
}

static int set_opt(struct xlb_hc_cfg *c, const struct hc_opt *o, const char *v)
{
	__u32 n;
	int ret;

	switch (o->field) {
	case XLB_HC_F_PATH:
		if (v[0] != '/')
			return -EINVAL;
		return parse_text(v, c->path, sizeof(c->path));
	case XLB_HC_F_HOST:
		return parse_text(v, c->host, sizeof(c->host));
	case XLB_HC_F_SEND:
		return parse_data(v, c->send, &c->send_len);
	case XLB_HC_F_EXPECT:
		return parse_data(v, c->expect, &c->expect_len);
	}
	ret = xlb_uint_parse(v, o->min, o->max, &n);
	if (ret)
		return ret;
	switch (o->field) {
	case XLB_HC_F_PORT:
		c->port = (__u16)n;
		break;
	case XLB_HC_F_INTERVAL:
		c->interval_ms = n;
		break;
	case XLB_HC_F_TIMEOUT:
		c->timeout_ms = n;
		break;
	case XLB_HC_F_RISE:
		c->rise = n;
		break;
	case XLB_HC_F_FALL:
		c->fall = n;
		break;
	case XLB_HC_F_STATUS:
		c->status = (__u16)n;
		break;
	}
	return 0;
}

int xlb_hc_cfg_parse(int argc, char **argv, int *consumed, struct xlb_hc_cfg *cfg, char *err,
		     size_t errlen)
{
	struct xlb_hc_cfg c;
	int i = 1, k;

	if (argc < 1 || strcmp(argv[0], "check"))
		return xlb_errf(-EINVAL, err, errlen, "expected 'check'");
	xlb_hc_cfg_init(&c);
	if (i < argc && (k = find_kind(argv[i])) >= 0) {
		c.kind = k;
		c.set |= XLB_HC_F_KIND;
		i++;
	}
	while (i < argc) {
		const struct hc_opt *o = find_opt(argv[i]);

		if (!o)
			break;
		if (c.kind == XLB_HC_NONE && (c.set & XLB_HC_F_KIND))
			return xlb_errf(-EINVAL, err, errlen,
					"'check none' takes no options, found '%s'", argv[i]);
		if (c.set & o->field)
			return xlb_errf(-EINVAL, err, errlen,
					"%s given twice, expected each option once", o->name);
		if (i + 1 >= argc)
			return xlb_errf(-EINVAL, err, errlen, "%s needs a value, %s", o->name,
					o->valid);
		if (set_opt(&c, o, argv[i + 1]))
			return xlb_errf(-EINVAL, err, errlen, "bad %s '%s', %s", o->name,
					argv[i + 1], o->valid);
		c.set |= o->field;
		i += 2;
	}
	if (i == 1 && i < argc)
		return xlb_errf(
		    -EINVAL, err, errlen,
		    "bad check kind '%s', expected tcp|http|udp|none or an option (port "
		    "interval timeout rise fall path host status send expect)",
		    argv[i]);
	if (i == 1)
		return xlb_errf(-EINVAL, err, errlen,
				"check needs a kind or an option, expected tcp|http|udp|none");
	if ((c.set & (XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT)) ==
		(XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT) &&
	    c.timeout_ms > c.interval_ms)
		return xlb_errf(-EINVAL, err, errlen,
				"bad timeout '%u', expected milliseconds 10-%u (the interval)",
				c.timeout_ms, c.interval_ms);
	/* Options of another kind are a mistake only when the clause names the
	 * kind; a kind-less override may refine the VIP's http or udp check. */
	if (c.set & XLB_HC_F_KIND) {
		__u32 own = c.kind == XLB_HC_HTTP  ? HTTP_FIELDS
			    : c.kind == XLB_HC_UDP ? UDP_FIELDS
						   : 0;
		__u32 stray = c.set & (HTTP_FIELDS | UDP_FIELDS) & ~own;

		if (stray)
			return xlb_errf(-EINVAL, err, errlen,
					"%s does not apply to %s checks, expected it "
					"with check %s",
					field_name(stray), kind_names[c.kind],
					(stray & HTTP_FIELDS) ? "http" : "udp");
	}
	*cfg = c;
	*consumed = i;
	return 0;
}

struct outbuf {
	char *buf;
	size_t len, pos;
	int overflow;
};

static void out_printf(struct outbuf *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->pos) {
		o->overflow = 1;
		return;
	}
	o->pos += (size_t)n;
}

/* Inverse of parse_data(). Quotes and '#' are escaped too, so the token
 * survives shells and comment-stripping rules-file readers. */
static void out_data(struct outbuf *o, const char *d, size_t n)
{
	/* A value spelling a help word is written with its first byte
	 * escaped, so no reader can take it for a help request. */
	int word = (n == 4 && !memcmp(d, "help", 4)) || (n == 2 && !memcmp(d, "-h", 2)) ||
		   (n == 6 && !memcmp(d, "--help", 6));

	for (size_t i = 0; i < n && !o->overflow; i++) {
		unsigned char c = (unsigned char)d[i];

		if (i == 0 && word)
			out_printf(o, "\\x%02x", c);
		else if (c == '\n')
			out_printf(o, "\\n");
		else if (c == '\r')
			out_printf(o, "\\r");
		else if (c == '\t')
			out_printf(o, "\\t");
		else if (c == '\\')
			out_printf(o, "\\\\");
		else if (c <= 0x20 || c >= 0x7f || c == '#' || c == '"' || c == '\'')
			out_printf(o, "\\x%02x", c);
		else
			out_printf(o, "%c", c);
	}
}

int xlb_hc_cfg_format(const struct xlb_hc_cfg *cfg, char *buf, size_t len)
{
	struct outbuf o = {.buf = buf, .len = len};
	__u32 s = cfg->set;

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	if (!s)
		return 0;
	out_printf(&o, "check");
	if (s & XLB_HC_F_KIND)
		out_printf(&o, " %s", xlb_hc_kind_str(cfg->kind));
	if (s & XLB_HC_F_PORT)
		out_printf(&o, " port %u", cfg->port);
	if (s & XLB_HC_F_INTERVAL)
		out_printf(&o, " interval %u", cfg->interval_ms);
	if (s & XLB_HC_F_TIMEOUT)
		out_printf(&o, " timeout %u", cfg->timeout_ms);
	if (s & XLB_HC_F_RISE)
		out_printf(&o, " rise %u", cfg->rise);
	if (s & XLB_HC_F_FALL)
		out_printf(&o, " fall %u", cfg->fall);
	if (s & XLB_HC_F_PATH)
		out_printf(&o, " path %s", cfg->path);
	if (s & XLB_HC_F_HOST)
		out_printf(&o, " host %s", cfg->host);
	if (s & XLB_HC_F_STATUS)
		out_printf(&o, " status %u", cfg->status);
	if (s & XLB_HC_F_SEND) {
		out_printf(&o, " send ");
		out_data(&o, cfg->send, cfg->send_len);
	}
	if (s & XLB_HC_F_EXPECT) {
		out_printf(&o, " expect ");
		out_data(&o, cfg->expect, cfg->expect_len);
	}
	if (o.overflow) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)o.pos;
}

int xlb_hc_cfg_valid(const struct xlb_hc_cfg *c)
{
	if ((unsigned int)c->kind >= __XLB_HC_KIND_MAX)
		return 0;
	if (c->kind == XLB_HC_NONE)
		return 1;
	if (c->kind == XLB_HC_HTTP && c->path[0] != '/')
		return 0;
	return c->port && c->interval_ms >= XLB_HC_INTERVAL_MS_MIN &&
	       c->interval_ms <= XLB_HC_INTERVAL_MS_MAX && c->timeout_ms >= XLB_HC_TIMEOUT_MS_MIN &&
	       c->timeout_ms <= c->interval_ms && c->rise >= 1 && c->rise <= XLB_HC_STREAK_MAX &&
	       c->fall >= 1 && c->fall <= XLB_HC_STREAK_MAX &&
	       memchr(c->path, 0, sizeof(c->path)) && memchr(c->host, 0, sizeof(c->host)) &&
	       c->send_len <= XLB_HC_DATA_MAX && c->expect_len <= XLB_HC_DATA_MAX;
}

int xlb_hc_cfg_same(const struct xlb_hc_cfg *a, const struct xlb_hc_cfg *b)
{
	return a->kind == b->kind && a->port == b->port && a->status == b->status &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
	       a->rise == b->rise && a->fall == b->fall && !strcmp(a->path, b->path) &&
	       !strcmp(a->host, b->host) && a->send_len == b->send_len &&
	       !memcmp(a->send, b->send, a->send_len) && a->expect_len == b->expect_len &&
	       !memcmp(a->expect, b->expect, a->expect_len);
}
