// SPDX-License-Identifier: GPL-2.0
/* health.c: backend health checks for xlbd: the check grammar, the rise/fall
 * state machine, the fail-open rule and the engine that runs thousands of
 * TCP/HTTP/UDP checks from one epoll set, a timerfd and a min-heap.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "health.h"

/* ------------------------------------------------------------------ cfg */

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
	if (out->kind != XLB_HC_NONE && !out->port) {
		snprintf(err, errlen,
			 "Error: check %s on an all-ports VIP needs a port, expected 'port N' "
			 "with N 1-65535",
			 xlb_hc_kind_str(out->kind));
		return -EINVAL;
	}
	return 0;
}

/* Decimal only, no sign, no spaces: "1e3" or "-1" in a rules file is a typo. */
static int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*s - '0');
		if (v > max)
			return -EINVAL;
	}
	if (v < min)
		return -EINVAL;
	*out = (__u32)v;
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
	ret = parse_u32(v, o->min, o->max, &n);
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

	if (argc < 1 || strcmp(argv[0], "check")) {
		snprintf(err, errlen, "Error: expected 'check'");
		return -EINVAL;
	}
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
		if (c.kind == XLB_HC_NONE && (c.set & XLB_HC_F_KIND)) {
			snprintf(err, errlen, "Error: 'check none' takes no options, found '%s'",
				 argv[i]);
			return -EINVAL;
		}
		if (c.set & o->field) {
			snprintf(err, errlen, "Error: %s given twice, expected each option once",
				 o->name);
			return -EINVAL;
		}
		if (i + 1 >= argc) {
			snprintf(err, errlen, "Error: %s needs a value, %s", o->name, o->valid);
			return -EINVAL;
		}
		if (set_opt(&c, o, argv[i + 1])) {
			snprintf(err, errlen, "Error: bad %s '%s', %s", o->name, argv[i + 1],
				 o->valid);
			return -EINVAL;
		}
		c.set |= o->field;
		i += 2;
	}
	if (i == 1) {
		if (i < argc)
			snprintf(err, errlen,
				 "Error: bad check kind '%s', expected tcp|http|udp|none or an "
				 "option (port interval timeout rise fall path host status send "
				 "expect)",
				 argv[i]);
		else
			snprintf(err, errlen,
				 "Error: check needs a kind or an option, expected "
				 "tcp|http|udp|none");
		return -EINVAL;
	}
	if ((c.set & (XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT)) ==
		(XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT) &&
	    c.timeout_ms > c.interval_ms) {
		snprintf(err, errlen,
			 "Error: bad timeout '%u', expected milliseconds 10-%u (the interval)",
			 c.timeout_ms, c.interval_ms);
		return -EINVAL;
	}
	/* Options of another kind are a mistake only when the clause names the
	 * kind; a kind-less override may refine the VIP's http or udp check. */
	if (c.set & XLB_HC_F_KIND) {
		__u32 own = c.kind == XLB_HC_HTTP  ? HTTP_FIELDS
			    : c.kind == XLB_HC_UDP ? UDP_FIELDS
						   : 0;
		__u32 stray = c.set & (HTTP_FIELDS | UDP_FIELDS) & ~own;

		if (stray) {
			snprintf(err, errlen,
				 "Error: %s does not apply to %s checks, expected it "
				 "with check %s",
				 field_name(stray), kind_names[c.kind],
				 (stray & HTTP_FIELDS) ? "http" : "udp");
			return -EINVAL;
		}
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
	for (size_t i = 0; i < n && !o->overflow; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '\n')
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

/* Ranges a cfg must satisfy before the engine runs it. */
static int cfg_valid(const struct xlb_hc_cfg *c)
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

/* Equality of what the engine runs (set bits do not change a check). */
static int cfg_same(const struct xlb_hc_cfg *a, const struct xlb_hc_cfg *b)
{
	return a->kind == b->kind && a->port == b->port && a->status == b->status &&
	       a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
	       a->rise == b->rise && a->fall == b->fall && !strcmp(a->path, b->path) &&
	       !strcmp(a->host, b->host) && a->send_len == b->send_len &&
	       !memcmp(a->send, b->send, a->send_len) && a->expect_len == b->expect_len &&
	       !memcmp(a->expect, b->expect, a->expect_len);
}

/* -------------------------------------------------------- state machine */

static const char *const result_names[__XLB_HC_RESULT_MAX] = {
    [XLB_HC_PENDING] = "pending",	[XLB_HC_OK] = "ok",
    [XLB_HC_REFUSED] = "refused",	[XLB_HC_TIMEOUT] = "timeout",
    [XLB_HC_BAD_STATUS] = "bad_status", [XLB_HC_BAD_REPLY] = "bad_reply",
    [XLB_HC_ERROR] = "error",
};

const char *xlb_hc_result_str(enum xlb_hc_result r)
{
	if ((unsigned int)r >= __XLB_HC_RESULT_MAX)
		return "unknown";
	return result_names[r];
}

void xlb_hc_state_init(struct xlb_hc_state *st, __u64 now_ms)
{
	memset(st, 0, sizeof(*st));
	st->up = 1;
	st->since_ms = now_ms;
	st->last = XLB_HC_PENDING;
}

int xlb_hc_state_update(struct xlb_hc_state *st, enum xlb_hc_result r, __u32 rise, __u32 fall,
			__u64 now_ms)
{
	int up = st->up;

	if (r == XLB_HC_PENDING || (unsigned int)r >= __XLB_HC_RESULT_MAX)
		return -EINVAL;
	st->last = r;
	if (r == XLB_HC_OK) {
		st->fail_streak = 0;
		if (st->ok_streak < UINT32_MAX)
			st->ok_streak++;
		if (!st->up && st->ok_streak >= rise)
			st->up = 1;
	} else {
		st->ok_streak = 0;
		if (st->fail_streak < UINT32_MAX)
			st->fail_streak++;
		if (st->up && st->fail_streak >= fall)
			st->up = 0;
	}
	if (st->up == up)
		return 0;
	st->prev_ms = now_ms > st->since_ms ? now_ms - st->since_ms : 0;
	st->since_ms = now_ms;
	st->transitions++;
	return 1;
}

int xlb_hc_ring_members(const int *up, const __u32 *weight, size_t n, int fail_open, int *in_ring)
{
	size_t live = 0, weighted = 0;

	for (size_t i = 0; i < n; i++) {
		in_ring[i] = up[i] && weight[i] > 0;
		live += (size_t)in_ring[i];
		weighted += weight[i] > 0;
	}
	if (live || !weighted || !fail_open)
		return 0;
	for (size_t i = 0; i < n; i++)
		in_ring[i] = weight[i] > 0;
	return 1;
}

/* --------------------------------------------------------------- engine */

/* Work done by one xlb_hc_dispatch() call, so that a burst (10k backends
 * due together after a stall) cannot hold the daemon's loop for long. */
#define DISPATCH_EVENTS 64
#define DISPATCH_ROUNDS 8
#define DISPATCH_STARTS 256
#define NO_HEAP		SIZE_MAX
/* Holds the HTTP request (at most 322 bytes with path and host at their
 * limits) and then the reply: the status line or a UDP datagram's prefix. */
#define BUF_MAX 352

enum phase {
	PH_IDLE,       /* no socket; due_ms is the next start */
	PH_CONNECTING, /* TCP/HTTP connect in flight */
	PH_SENDING,    /* HTTP request partly written */
	PH_READING,    /* waiting for the HTTP status line or the UDP reply */
};

struct hc_backend {
	__u64 key;
	struct hc_backend *next; /* hash chain, or graveyard list once dead */
	size_t heap_idx;	 /* position in hc->heap, NO_HEAP if unscheduled */
	__u64 due_ms;		 /* heap key: next start, or running check's deadline */
	__u64 next_start_ms;	 /* while running: when the next check is due */
	int fd;			 /* check socket, -1 when idle */
	enum phase phase;
	int dead;		    /* deleted during dispatch; freed at its end */
	struct sockaddr_storage sa; /* backend address and check port */
	socklen_t salen;
	struct xlb_hc_cfg cfg;
	struct xlb_hc_state st;
	xlb_hc_cb cb;
	void *ctx;
	size_t off;	/* bytes of buf sent or received */
	size_t req_len; /* HTTP request length in buf */
	char buf[BUF_MAX];
};

struct xlb_hc {
	int epfd;
	int tfd;
	__u64 armed_ms; /* timerfd expiry, 0 = disarmed */
	struct hc_backend **buckets;
	size_t nbuckets, count;
	struct hc_backend **heap;
	size_t heap_len, heap_cap;
	struct hc_backend *graveyard; /* deleted while dispatching */
	int in_dispatch;
	__u64 rng;
	xlb_hc_log_fn log;
	void *log_ctx;
	__u64 last_local_log_ms; /* rate limit of "out of sockets" lines */
	__u64 local_suppressed;
	struct xlb_hc_counters cnt;
};

__u64 xlb_hc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* The default until xlbd routes lines through its own logger. */
static void log_stderr(void *ctx, enum xlb_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	(void)ctx;
	fprintf(stderr, "%s: health: %s\n", names[(unsigned int)level & 3], msg);
}

static void hc_log(struct xlb_hc *hc, enum xlb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hc_log(struct xlb_hc *hc, enum xlb_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!hc->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hc->log(hc->log_ctx, level, msg);
}

/* xorshift64*: jitter needs spread, not secrecy, and must not cost a syscall
 * per check. */
static __u64 rnd(struct xlb_hc *hc)
{
	hc->rng ^= hc->rng >> 12;
	hc->rng ^= hc->rng << 25;
	hc->rng ^= hc->rng >> 27;
	return hc->rng * 0x2545f4914f6cdd1dULL;
}

/* Next start after one at `from`: the interval +-10%, so that backends added
 * together drift apart instead of firing in lockstep forever. */
static __u64 next_start(struct xlb_hc *hc, const struct hc_backend *b, __u64 from)
{
	__u64 iv = b->cfg.interval_ms, spread = iv / 5;

	return from + iv - iv / 10 + rnd(hc) % (spread + 1);
}

/* heap: a binary min-heap of backends by due_ms; O(log n) per reschedule. */
static int heap_less(const struct xlb_hc *hc, size_t a, size_t b)
{
	return hc->heap[a]->due_ms < hc->heap[b]->due_ms;
}

static void heap_swap(struct xlb_hc *hc, size_t a, size_t b)
{
	struct hc_backend *t = hc->heap[a];

	hc->heap[a] = hc->heap[b];
	hc->heap[b] = t;
	hc->heap[a]->heap_idx = a;
	hc->heap[b]->heap_idx = b;
}

static void heap_fix(struct xlb_hc *hc, size_t i)
{
	while (i > 0 && heap_less(hc, i, (i - 1) / 2)) {
		heap_swap(hc, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < hc->heap_len && heap_less(hc, l, m))
			m = l;
		if (r < hc->heap_len && heap_less(hc, r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(hc, i, m);
		i = m;
	}
}

static int heap_reserve(struct xlb_hc *hc)
{
	struct hc_backend **h;
	size_t cap;

	if (hc->heap_len < hc->heap_cap)
		return 0;
	cap = hc->heap_cap ? hc->heap_cap * 2 : 64;
	h = realloc(hc->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	hc->heap = h;
	hc->heap_cap = cap;
	return 0;
}

/* Call heap_reserve() first: scheduling itself must not fail. */
static void schedule(struct xlb_hc *hc, struct hc_backend *b, __u64 due_ms)
{
	b->due_ms = due_ms;
	if (b->heap_idx == NO_HEAP) {
		b->heap_idx = hc->heap_len;
		hc->heap[hc->heap_len++] = b;
	}
	heap_fix(hc, b->heap_idx);
}

static void unschedule(struct xlb_hc *hc, struct hc_backend *b)
{
	size_t i = b->heap_idx;

	if (i == NO_HEAP)
		return;
	b->heap_idx = NO_HEAP;
	hc->heap_len--;
	if (i == hc->heap_len)
		return;
	hc->heap[i] = hc->heap[hc->heap_len];
	hc->heap[i]->heap_idx = i;
	heap_fix(hc, i);
}

/* Arms the timerfd for the earliest due time (absolute, so a late dispatch
 * does not push every deadline back). */
static void rearm(struct xlb_hc *hc, __u64 now)
{
	struct itimerspec its = {0};
	__u64 due = hc->heap_len ? hc->heap[0]->due_ms : 0;

	/* An expiry in the past fires at once; re-arm it even if unchanged,
	 * since its earlier expiry was already consumed. */
	if (due == hc->armed_ms && (due > now || !due))
		return;
	if (due) {
		its.it_value.tv_sec = (time_t)(due / 1000);
		its.it_value.tv_nsec = (long)(due % 1000) * 1000000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	if (!timerfd_settime(hc->tfd, TFD_TIMER_ABSTIME, &its, NULL))
		hc->armed_ms = due;
}

static size_t bucket_of(const struct xlb_hc *hc, __u64 key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (hc->nbuckets - 1);
}

static struct hc_backend *lookup(const struct xlb_hc *hc, __u64 key)
{
	struct hc_backend *b;

	for (b = hc->buckets[bucket_of(hc, key)]; b; b = b->next)
		if (b->key == key)
			return b;
	return NULL;
}

static int grow_buckets(struct xlb_hc *hc)
{
	size_t old_n = hc->nbuckets;
	struct hc_backend **old = hc->buckets, **nb;

	if (hc->count < old_n)
		return 0;
	nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	hc->buckets = nb;
	hc->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		while (old[i]) {
			struct hc_backend *b = old[i];
			size_t j = bucket_of(hc, b->key);

			old[i] = b->next;
			b->next = nb[j];
			nb[j] = b;
		}
	}
	free(old);
	return 0;
}

static void addr_str(const struct hc_backend *b, char *s, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (b->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&b->sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(s, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)&b->sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(s, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static void close_check(struct xlb_hc *hc, struct hc_backend *b)
{
	if (b->fd < 0)
		return;
	close(b->fd);
	b->fd = -1;
	b->phase = PH_IDLE;
	hc->cnt.running--;
}

static void log_change(struct xlb_hc *hc, struct hc_backend *b)
{
	const struct xlb_hc_state *st = &b->st;
	char where[INET6_ADDRSTRLEN + 8], why[96];

	addr_str(b, where, sizeof(where));
	if (st->up) {
		hc_log(hc, XLB_LOG_INFO,
		       "%s check of %s: UP after %u success(es) in a row; was down for "
		       "%llu.%01llu s; %llu change(s)",
		       kind_names[b->cfg.kind], where, st->ok_streak,
		       (unsigned long long)st->prev_ms / 1000,
		       (unsigned long long)st->prev_ms % 1000 / 100,
		       (unsigned long long)st->transitions);
		return;
	}
	switch (st->last) {
	case XLB_HC_TIMEOUT:
		snprintf(why, sizeof(why), "timeout after %u ms", b->cfg.timeout_ms);
		break;
	case XLB_HC_BAD_STATUS:
		snprintf(why, sizeof(why), "bad_status %d, expected %u", st->last_code,
			 b->cfg.status);
		break;
	case XLB_HC_ERROR:
		snprintf(why, sizeof(why), "error: %s", strerror(st->last_code));
		break;
	default:
		snprintf(why, sizeof(why), "%s", xlb_hc_result_str(st->last));
		break;
	}
	hc_log(hc, XLB_LOG_WARN,
	       "%s check of %s: DOWN after %u failure(s) in a row (%s); was up for "
	       "%llu.%01llu s; %llu change(s)",
	       kind_names[b->cfg.kind], where, st->fail_streak, why,
	       (unsigned long long)st->prev_ms / 1000, (unsigned long long)st->prev_ms % 1000 / 100,
	       (unsigned long long)st->transitions);
}

/* Ends the running check (if any) with a result. Must be the caller's last
 * use of b: the callback may delete it. */
static void finish(struct xlb_hc *hc, struct hc_backend *b, enum xlb_hc_result r, int code)
{
	__u64 now = xlb_hc_now_ms();
	int changed;

	close_check(hc, b);
	hc->cnt.results[r]++;
	b->st.last_code = code;
	changed = xlb_hc_state_update(&b->st, r, b->cfg.rise, b->cfg.fall, now) == 1;
	/* A check that ran until its timeout may end after the jittered next
	 * start; start the next one now rather than in the past. */
	schedule(hc, b, b->next_start_ms > now ? b->next_start_ms : now);
	if (!changed)
		return;
	hc->cnt.transitions++;
	log_change(hc, b);
	if (b->cb)
		b->cb(b->ctx, b->key, &b->st);
}

static enum xlb_hc_result errno_result(int err)
{
	if (err == ECONNREFUSED)
		return XLB_HC_REFUSED;
	if (err == ETIMEDOUT)
		return XLB_HC_TIMEOUT;
	return XLB_HC_ERROR;
}

/* Errors that say this host is short of something, not that the backend is
 * sick: they must not take backends down. */
static int local_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
	       err == EADDRNOTAVAIL || err == EAGAIN;
}

static void skip_check(struct xlb_hc *hc, struct hc_backend *b, int err, __u64 now)
{
	close_check(hc, b);
	hc->cnt.skipped++;
	schedule(hc, b, b->next_start_ms);
	if (now - hc->last_local_log_ms < 1000 && hc->last_local_log_ms) {
		hc->local_suppressed++;
		return;
	}
	hc_log(hc, XLB_LOG_ERROR,
	       "check not started: %s (%llu more suppressed); raise the fd limit or "
	       "lengthen intervals",
	       strerror(err), (unsigned long long)hc->local_suppressed);
	hc->last_local_log_ms = now;
	hc->local_suppressed = 0;
}

static int watch(struct xlb_hc *hc, struct hc_backend *b, __u32 events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = b};

	return epoll_ctl(hc->epfd, op, b->fd, &ev) ? -errno : 0;
}

/* The HTTP request. HTTP/1.0 with Connection: close so that no server keeps
 * the socket for keep-alive; Host defaults to the address the check dials. */
static void build_request(struct hc_backend *b)
{
	char host[XLB_HC_STR_MAX + INET6_ADDRSTRLEN + 8];
	int n;

	if (b->cfg.host[0]) {
		snprintf(host, sizeof(host), "%s", b->cfg.host);
	} else {
		addr_str(b, host, sizeof(host));
		/* :80 is implied, and some servers match Host literally */
		if (b->cfg.port == 80)
			*strrchr(host, ':') = '\0';
	}
	n = snprintf(b->buf, sizeof(b->buf),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: xlb-health\r\n"
		     "Connection: close\r\n\r\n",
		     b->cfg.path, host);
	b->req_len = n < (int)sizeof(b->buf) ? (size_t)n : sizeof(b->buf) - 1;
	b->off = 0;
}

/* Parses "HTTP/x.y NNN ..." at the start of buf[0..n). Returns the status,
 * or -1 when this is not an HTTP status line. */
static int http_status(const char *s, size_t n)
{
	size_t i = 5;

	if (n < 12 || memcmp(s, "HTTP/", 5))
		return -1;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	if (i == 5 || i + 4 > n || s[i] != ' ')
		return -1;
	i++;
	for (size_t j = i; j < i + 3; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	if (i + 3 < n && s[i + 3] != ' ' && s[i + 3] != '\r' && s[i + 3] != '\n')
		return -1;
	return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
}

static void http_done(struct xlb_hc *hc, struct hc_backend *b)
{
	int status = http_status(b->buf, b->off);

	if (status < 0)
		finish(hc, b, XLB_HC_BAD_REPLY, 0);
	else
		finish(hc, b, status == b->cfg.status ? XLB_HC_OK : XLB_HC_BAD_STATUS, status);
}

static void on_send(struct xlb_hc *hc, struct hc_backend *b)
{
	while (b->off < b->req_len) {
		ssize_t n = send(b->fd, b->buf + b->off, b->req_len - b->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (b->phase != PH_SENDING) {
					b->phase = PH_SENDING;
					if (watch(hc, b, EPOLLOUT, EPOLL_CTL_MOD))
						finish(hc, b, XLB_HC_ERROR, errno);
				}
				return;
			}
			finish(hc, b, errno_result(errno), errno);
			return;
		}
		b->off += (size_t)n;
	}
	b->phase = PH_READING;
	b->off = 0;
	if (watch(hc, b, EPOLLIN, EPOLL_CTL_MOD))
		finish(hc, b, XLB_HC_ERROR, errno);
}

static void on_connect(struct xlb_hc *hc, struct hc_backend *b)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		finish(hc, b, errno_result(err), err);
		return;
	}
	if (b->cfg.kind == XLB_HC_TCP) {
		finish(hc, b, XLB_HC_OK, 0);
		return;
	}
	build_request(b);
	on_send(hc, b);
}

static void on_read(struct xlb_hc *hc, struct hc_backend *b)
{
	ssize_t n = recv(b->fd, b->buf + b->off, sizeof(b->buf) - 1 - b->off, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		finish(hc, b, errno_result(errno), errno);
		return;
	}
	if (b->cfg.kind == XLB_HC_UDP) {
		/* One datagram is the whole answer. */
		int ok = (size_t)n >= b->cfg.expect_len &&
			 !memcmp(b->buf, b->cfg.expect, b->cfg.expect_len);

		finish(hc, b, ok ? XLB_HC_OK : XLB_HC_BAD_REPLY, 0);
		return;
	}
	b->off += (size_t)n;
	/* Only the status line matters: decide once it is complete, the
	 * buffer is full or the server closed. */
	if (!n || memchr(b->buf, '\n', b->off) || b->off == sizeof(b->buf) - 1)
		http_done(hc, b);
}

static void on_io(struct xlb_hc *hc, struct hc_backend *b)
{
	if (b->dead || b->fd < 0)
		return;
	switch (b->phase) {
	case PH_CONNECTING:
		on_connect(hc, b);
		break;
	case PH_SENDING:
		on_send(hc, b);
		break;
	case PH_READING:
		on_read(hc, b);
		break;
	case PH_IDLE:
		break;
	}
}

static void start_check(struct xlb_hc *hc, struct hc_backend *b, __u64 now)
{
	int udp = b->cfg.kind == XLB_HC_UDP;
	int fd, err;

	b->next_start_ms = next_start(hc, b, now);
	fd = socket(b->sa.ss_family,
		    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		skip_check(hc, b, errno, now);
		return;
	}
	b->fd = fd;
	b->off = 0;
	hc->cnt.running++;
	if (!udp) {
		/* Close with RST: the checker would otherwise keep one
		 * TIME_WAIT socket per check for a minute, 60k of them for
		 * 1000 backends, and run out of local ports. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	/* A connect that completes at once (loopback) still reports EPOLLOUT,
	 * so both outcomes continue in on_connect(). */
	err = connect(fd, (struct sockaddr *)&b->sa, b->salen) ? errno : 0;
	if (!err || err == EINPROGRESS) {
		b->phase = udp ? PH_READING : PH_CONNECTING;
		err = -watch(hc, b, udp ? EPOLLIN : EPOLLOUT, EPOLL_CTL_ADD);
	}
	if (!err && udp && send(fd, b->cfg.send, b->cfg.send_len, MSG_NOSIGNAL) < 0)
		err = errno;
	if (err && local_error(err)) {
		skip_check(hc, b, err, now);
		return;
	}
	hc->cnt.started++;
	if (err) {
		finish(hc, b, errno_result(err), err);
		return;
	}
	schedule(hc, b, now + b->cfg.timeout_ms);
}

/* Starts may run up to 1% of their interval early (10 ms at most): the
 * schedule is jittered by +-10% anyway, and it lets one wakeup start the
 * checks due in the next few milliseconds instead of waking for each. A
 * timeout is never cut short. */
static int due(const struct hc_backend *b, __u64 now)
{
	__u64 slack = b->fd >= 0 ? 0 : b->cfg.interval_ms / 100;

	return b->due_ms <= now + (slack < 10 ? slack : 10);
}

static void run_timers(struct xlb_hc *hc, __u64 now)
{
	int budget = DISPATCH_STARTS;

	while (hc->heap_len && due(hc->heap[0], now) && budget-- > 0) {
		struct hc_backend *b = hc->heap[0];

		if (b->fd >= 0)
			finish(hc, b, XLB_HC_TIMEOUT, 0);
		else
			start_check(hc, b, now);
	}
}

static void free_graveyard(struct xlb_hc *hc)
{
	while (hc->graveyard) {
		struct hc_backend *b = hc->graveyard;

		hc->graveyard = b->next;
		free(b);
	}
}

int xlb_hc_dispatch(struct xlb_hc *hc)
{
	struct epoll_event ev[DISPATCH_EVENTS];
	int ret = 0;

	hc->in_dispatch = 1;
	for (int round = 0; round < DISPATCH_ROUNDS; round++) {
		int n = epoll_wait(hc->epfd, ev, DISPATCH_EVENTS, 0);

		if (n < 0) {
			if (errno != EINTR)
				ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr) {
				__u64 expirations;
				ssize_t r;

				/* Only clears readiness; the heap says what is due. */
				r = read(hc->tfd, &expirations, sizeof(expirations));
				(void)r;
				continue;
			}
			on_io(hc, ev[i].data.ptr);
		}
		if (n < DISPATCH_EVENTS)
			break;
	}
	run_timers(hc, xlb_hc_now_ms());
	rearm(hc, xlb_hc_now_ms());
	hc->in_dispatch = 0;
	free_graveyard(hc);
	return ret;
}

struct xlb_hc *xlb_hc_new(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct xlb_hc *hc = calloc(1, sizeof(*hc));

	if (!hc)
		return NULL;
	hc->epfd = epoll_create1(EPOLL_CLOEXEC);
	hc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	hc->nbuckets = 64;
	hc->buckets = calloc(hc->nbuckets, sizeof(*hc->buckets));
	if (hc->epfd < 0 || hc->tfd < 0 || !hc->buckets ||
	    epoll_ctl(hc->epfd, EPOLL_CTL_ADD, hc->tfd, &ev)) {
		int err = errno;

		xlb_hc_free(hc);
		errno = err;
		return NULL;
	}
	if (getrandom(&hc->rng, sizeof(hc->rng), GRND_NONBLOCK) != sizeof(hc->rng))
		hc->rng = xlb_hc_now_ms() ^ ((__u64)getpid() << 32);
	hc->rng |= 1; /* xorshift must not start at 0 */
	hc->log = log_stderr;
	return hc;
}

void xlb_hc_free(struct xlb_hc *hc)
{
	if (!hc)
		return;
	for (size_t i = 0; hc->buckets && i < hc->nbuckets; i++) {
		while (hc->buckets[i]) {
			struct hc_backend *b = hc->buckets[i];

			hc->buckets[i] = b->next;
			if (b->fd >= 0)
				close(b->fd);
			free(b);
		}
	}
	free_graveyard(hc);
	free(hc->buckets);
	free(hc->heap);
	if (hc->tfd >= 0)
		close(hc->tfd);
	if (hc->epfd >= 0)
		close(hc->epfd);
	free(hc);
}

void xlb_hc_set_log(struct xlb_hc *hc, xlb_hc_log_fn fn, void *ctx)
{
	hc->log = fn;
	hc->log_ctx = ctx;
}

int xlb_hc_fd(const struct xlb_hc *hc)
{
	return hc->epfd;
}

static void set_port(struct hc_backend *b)
{
	if (b->sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&b->sa)->sin6_port = htons(b->cfg.port);
	else
		((struct sockaddr_in *)&b->sa)->sin_port = htons(b->cfg.port);
}

/* First check at a random point within one interval, so that backends added
 * together (a restart restores thousands) spread over the interval. */
static void schedule_first(struct xlb_hc *hc, struct hc_backend *b)
{
	if (b->cfg.kind == XLB_HC_NONE) {
		unschedule(hc, b);
		return;
	}
	schedule(hc, b, xlb_hc_now_ms() + rnd(hc) % b->cfg.interval_ms);
	rearm(hc, xlb_hc_now_ms());
}

int xlb_hc_add(struct xlb_hc *hc, __u64 key, int family, const void *addr,
	       const struct xlb_hc_cfg *cfg, xlb_hc_cb cb, void *ctx)
{
	struct hc_backend *b;
	size_t i;

	if (!addr || !cfg || !cfg_valid(cfg))
		return -EINVAL;
	if (family == XLB_AF_INET)
		family = AF_INET;
	else if (family == XLB_AF_INET6)
		family = AF_INET6;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (lookup(hc, key))
		return -EEXIST;
	if (grow_buckets(hc) || heap_reserve(hc))
		return -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->key = key;
	b->fd = -1;
	b->heap_idx = NO_HEAP;
	b->cfg = *cfg;
	b->cb = cb;
	b->ctx = ctx;
	b->sa.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		memcpy(&((struct sockaddr_in *)&b->sa)->sin_addr, addr, 4);
		b->salen = sizeof(struct sockaddr_in);
	} else {
		memcpy(&((struct sockaddr_in6 *)&b->sa)->sin6_addr, addr, 16);
		b->salen = sizeof(struct sockaddr_in6);
	}
	set_port(b);
	xlb_hc_state_init(&b->st, xlb_hc_now_ms());
	i = bucket_of(hc, key);
	b->next = hc->buckets[i];
	hc->buckets[i] = b;
	hc->count++;
	hc->cnt.backends++;
	schedule_first(hc, b);
	return 0;
}

int xlb_hc_update(struct xlb_hc *hc, __u64 key, const struct xlb_hc_cfg *cfg)
{
	struct hc_backend *b = lookup(hc, key);

	if (!b)
		return -ENOENT;
	if (!cfg || !cfg_valid(cfg))
		return -EINVAL;
	if (cfg_same(&b->cfg, cfg))
		return 0;
	if (heap_reserve(hc))
		return -ENOMEM;
	close_check(hc, b);
	b->cfg = *cfg;
	set_port(b);
	schedule_first(hc, b);
	if (cfg->kind == XLB_HC_NONE) {
		int was_up = b->st.up;
		__u64 transitions = b->st.transitions, since = b->st.since_ms;
		__u64 now = xlb_hc_now_ms();

		/* Unchecked means trusted: forget the streaks, keep the count. */
		xlb_hc_state_init(&b->st, since);
		b->st.transitions = transitions;
		if (!was_up) {
			char where[INET6_ADDRSTRLEN + 8];

			b->st.prev_ms = now - since;
			b->st.since_ms = now;
			b->st.transitions++;
			hc->cnt.transitions++;
			addr_str(b, where, sizeof(where));
			hc_log(hc, XLB_LOG_INFO,
			       "check of %s turned off: UP; was down for %llu.%01llu s", where,
			       (unsigned long long)b->st.prev_ms / 1000,
			       (unsigned long long)b->st.prev_ms % 1000 / 100);
			if (b->cb)
				b->cb(b->ctx, b->key, &b->st);
		}
	}
	return 0;
}

int xlb_hc_mark_down(struct xlb_hc *hc, __u64 key)
{
	struct hc_backend *b = lookup(hc, key);

	if (!b)
		return -ENOENT;
	if (b->cfg.kind == XLB_HC_NONE)
		return -EINVAL;
	b->st.up = 0;
	b->st.ok_streak = 0;
	b->st.fail_streak = 0;
	b->st.since_ms = xlb_hc_now_ms();
	return 0;
}

int xlb_hc_del(struct xlb_hc *hc, __u64 key)
{
	struct hc_backend **pp = &hc->buckets[bucket_of(hc, key)], *b;

	while (*pp && (*pp)->key != key)
		pp = &(*pp)->next;
	b = *pp;
	if (!b)
		return -ENOENT;
	*pp = b->next;
	hc->count--;
	hc->cnt.backends--;
	close_check(hc, b);
	unschedule(hc, b);
	if (hc->in_dispatch) {
		/* epoll_wait may have returned an event for it in this batch. */
		b->dead = 1;
		b->next = hc->graveyard;
		hc->graveyard = b;
	} else {
		free(b);
	}
	return 0;
}

int xlb_hc_get(const struct xlb_hc *hc, __u64 key, struct xlb_hc_state *out)
{
	const struct hc_backend *b = lookup(hc, key);

	if (!b)
		return -ENOENT;
	*out = b->st;
	return 0;
}

void xlb_hc_counters_get(const struct xlb_hc *hc, struct xlb_hc_counters *out)
{
	*out = hc->cnt;
}
