/* SPDX-License-Identifier: GPL-2.0 */
/* health_config.h: what a backend health check is: its kinds and options,
 * the defaults, the layering of a VIP's defaults under a backend's override,
 * and the check clause of the grammar (parsed and printed here, so that the
 * command line, the rules file and the socket share one). */
#ifndef XLB_HEALTH_CONFIG_H
#define XLB_HEALTH_CONFIG_H

#include <stddef.h>

#include "xlb.h"

#define XLB_HC_INTERVAL_MS_DEFAULT 1000
#define XLB_HC_TIMEOUT_MS_DEFAULT  1000
#define XLB_HC_RISE_DEFAULT	   2
#define XLB_HC_FALL_DEFAULT	   2
#define XLB_HC_STATUS_DEFAULT	   200
#define XLB_HC_PATH_DEFAULT	   "/"
#define XLB_HC_INTERVAL_MS_MIN	   100
#define XLB_HC_INTERVAL_MS_MAX	   3600000
#define XLB_HC_TIMEOUT_MS_MIN	   10
#define XLB_HC_STREAK_MAX	   100 /* largest rise / fall */
#define XLB_HC_STR_MAX		   128 /* path[] and host[], NUL included */
#define XLB_HC_DATA_MAX		   64  /* send[] and expect[], binary */

enum xlb_hc_kind {
	XLB_HC_NONE = 0, /* not checked: always counted as up */
	XLB_HC_TCP,	 /* connect succeeds */
	XLB_HC_HTTP,	 /* GET path answers with the expected status */
	XLB_HC_UDP,	 /* a datagram is answered with the expected prefix */
	__XLB_HC_KIND_MAX
};

/* Which fields of a struct xlb_hc_cfg were given explicitly. Only those
 * override a lower layer in xlb_hc_cfg_merge() and only those are printed by
 * xlb_hc_cfg_format(), so that save/restore does not freeze today's defaults
 * into every backend. */
enum xlb_hc_field {
	XLB_HC_F_KIND = 1 << 0,
	XLB_HC_F_PORT = 1 << 1,
	XLB_HC_F_INTERVAL = 1 << 2,
	XLB_HC_F_TIMEOUT = 1 << 3,
	XLB_HC_F_RISE = 1 << 4,
	XLB_HC_F_FALL = 1 << 5,
	XLB_HC_F_PATH = 1 << 6,
	XLB_HC_F_HOST = 1 << 7,
	XLB_HC_F_STATUS = 1 << 8,
	XLB_HC_F_SEND = 1 << 9,
	XLB_HC_F_EXPECT = 1 << 10,
};

/* One layer of check configuration (per-VIP defaults or a per-backend
 * override), or the merged result that the engine runs. */
struct xlb_hc_cfg {
	enum xlb_hc_kind kind;
	__u32 set;		      /* enum xlb_hc_field: fields given explicitly */
	__u16 port;		      /* host order; 0 = the VIP's port */
	__u16 status;		      /* expected HTTP status */
	__u32 interval_ms;	      /* between check starts, before +-10% jitter */
	__u32 timeout_ms;	      /* a check still running after this fails */
	__u32 rise;		      /* successes in a row that bring a backend up */
	__u32 fall;		      /* failures in a row that take it down */
	char path[XLB_HC_STR_MAX];    /* HTTP path, NUL-terminated */
	char host[XLB_HC_STR_MAX];    /* HTTP Host header; "" = the backend address */
	__u8 send_len;		      /* bytes used in send[] */
	__u8 expect_len;	      /* bytes used in expect[] */
	char send[XLB_HC_DATA_MAX];   /* UDP payload; binary, not NUL-terminated */
	char expect[XLB_HC_DATA_MAX]; /* UDP reply prefix; empty = any reply */
};

/* A cfg with nothing set and the built-in defaults in every field. */
void xlb_hc_cfg_init(struct xlb_hc_cfg *cfg);

/* out = built-in defaults, overlaid with the fields vip set, overlaid with the
 * fields backend set; out->set is the union. Either layer may be NULL. The
 * timeout is clamped to the interval, so a check never outlives its period.
 * out may alias neither input. */
void xlb_hc_cfg_merge(struct xlb_hc_cfg *out, const struct xlb_hc_cfg *vip,
		      const struct xlb_hc_cfg *backend);

/* xlb_hc_cfg_merge() plus the rules that need the VIP: with no kind given the
 * check is TCP for a TCP VIP with a port and none for UDP and all-ports VIPs;
 * with no port given it is the VIP's. proto is IPPROTO_TCP or IPPROTO_UDP,
 * vip_port host order (0 = all ports). Returns 0, or -EINVAL with a message
 * in err when the check needs a port and neither the cfg nor the VIP has one. */
int xlb_hc_cfg_resolve(struct xlb_hc_cfg *out, const struct xlb_hc_cfg *vip,
		       const struct xlb_hc_cfg *backend, __u8 proto, __u16 vip_port, char *err,
		       size_t errlen);

/* Parses one check clause, the same on the command line, in the rules file
 * and on the control socket:
 *
 *   check [tcp|http|udp|none] [port N] [interval MS] [timeout MS] [rise N]
 *         [fall N] [path /P] [host H] [status N] [send STR] [expect STR]
 *
 * argv[0] must be "check"; the kind is optional so that a backend can override
 * just one field of its VIP's check. Options come in any order, each at most
 * once; parsing stops at the first token that is not an option name, and
 * *consumed tells the caller where its own grammar resumes (so a caller must
 * not give its own options these names). send and expect
 * take C escapes (\n \r \t \\ \xHH). On success fills cfg (fields not given
 * hold defaults, cfg->set names the given ones) and returns 0. On error
 * returns -EINVAL, leaves cfg untouched and writes "<what>, <valid>" into
 * err. */
int xlb_hc_cfg_parse(int argc, char **argv, int *consumed, struct xlb_hc_cfg *cfg, char *err,
		     size_t errlen);

/* Prints the fields of cfg that were set, in the grammar above ("check http
 * port 8080 path /healthz"); nothing at all when none was set. Returns the
 * length written, or -ENOSPC if buf is too small. */
int xlb_hc_cfg_format(const struct xlb_hc_cfg *cfg, char *buf, size_t len);

const char *xlb_hc_kind_str(enum xlb_hc_kind kind);

/* 1 when cfg is complete and in range, so that the engine can run it (kind
 * none always is), else 0. */
int xlb_hc_cfg_valid(const struct xlb_hc_cfg *cfg);

/* 1 when a and b run the same check (which fields were set does not count). */
int xlb_hc_cfg_same(const struct xlb_hc_cfg *a, const struct xlb_hc_cfg *b);

#endif
