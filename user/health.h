/* SPDX-License-Identifier: GPL-2.0 */
/* health.h: xlbd's backend health checks: the check configuration and its
 * grammar, the rise/fall state machine, the fail-open ring-membership rule and
 * an event-driven engine (one fd for the daemon's epoll, no threads).
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stddef.h>

#include "log.h"
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
 * returns -EINVAL, leaves cfg untouched and writes "Error: <what>, <valid>"
 * into err. */
int xlb_hc_cfg_parse(int argc, char **argv, int *consumed, struct xlb_hc_cfg *cfg, char *err,
		     size_t errlen);

/* Prints the fields of cfg that were set, in the grammar above ("check http
 * port 8080 path /healthz"); nothing at all when none was set. Returns the
 * length written, or -ENOSPC if buf is too small. */
int xlb_hc_cfg_format(const struct xlb_hc_cfg *cfg, char *buf, size_t len);

const char *xlb_hc_kind_str(enum xlb_hc_kind kind);

enum xlb_hc_result {
	XLB_HC_PENDING = 0, /* no check has finished yet */
	XLB_HC_OK,
	XLB_HC_REFUSED,	   /* TCP RST or ICMP port unreachable */
	XLB_HC_TIMEOUT,	   /* no answer within timeout_ms */
	XLB_HC_BAD_STATUS, /* HTTP answered with another status */
	XLB_HC_BAD_REPLY,  /* not HTTP, or UDP reply without the expected prefix */
	XLB_HC_ERROR,	   /* other failure (unreachable, reset): see last_code */
	__XLB_HC_RESULT_MAX
};

/* "ok", "refused", "timeout", "bad_status", "bad_reply", "error", "pending";
 * "unknown" for anything else. */
const char *xlb_hc_result_str(enum xlb_hc_result r);

/* Health of one backend. Times are xlb_hc_now_ms() (CLOCK_MONOTONIC). */
struct xlb_hc_state {
	int up;			 /* 1 = may receive new flows */
	__u32 ok_streak;	 /* successes in a row, reset by a failure */
	__u32 fail_streak;	 /* failures in a row, reset by a success */
	__u64 since_ms;		 /* when up last changed (or the state began) */
	__u64 prev_ms;		 /* how long the previous state lasted */
	__u64 transitions;	 /* changes of up since the state began */
	enum xlb_hc_result last; /* result of the latest check */
	int last_code;		 /* errno for REFUSED/ERROR, HTTP status for http checks */
};

/* A new backend starts UP, with empty streaks: `fall` failures in a row take
 * it down. Why up: adding a backend must take effect at once (capacity added
 * during an incident cannot wait rise * interval), and xlbd re-adds every
 * backend when it restarts while the pinned data plane keeps forwarding; a
 * down start would empty every ring on each restart and fail over to
 * fail-open or drops. The cost is that a dead new backend gets new flows for
 * about fall * interval. */
void xlb_hc_state_init(struct xlb_hc_state *st, __u64 now_ms);

/* Feeds one check result into the rise/fall state machine: up goes down after
 * `fall` failures in a row and comes back after `rise` successes in a row, so
 * a backend that alternates never flaps. Returns 1 when up changed, 0 when
 * not, -EINVAL for PENDING or an unknown result. */
int xlb_hc_state_update(struct xlb_hc_state *st, enum xlb_hc_result r, __u32 rise, __u32 fall,
			__u64 now_ms);

/* Which backends of one VIP go into its Maglev ring. A backend is in when it
 * is up and its weight is > 0. When no backend with weight > 0 is up and
 * fail_open is set, all backends with weight > 0 are in: forwarding to maybe
 * dead backends beats dropping everything when the checks themselves are
 * wrong (a firewall change, a wrong path). Weight 0 never enters the ring,
 * not even in fail-open: that is how drain and maintenance (weight 0, checks
 * off) stay out until an operator puts them back. Fills in_ring[0..n) with
 * 0/1; returns 1 when fail-open is in force (log it loudly), else 0. */
int xlb_hc_ring_members(const int *up, const __u32 *weight, size_t n, int fail_open, int *in_ring);

/* The engine. All checks run from one epoll set with non-blocking sockets
 * and one timerfd over a min-heap of due times; a check holds a socket only
 * while it runs. Not thread-safe: call everything from the daemon's loop. */
struct xlb_hc;

/* Fires after every change of st->up (and when turning checks off brings a
 * down backend back up). It may call xlb_hc_add/update/del, not xlb_hc_free. */
typedef void (*xlb_hc_cb)(void *ctx, __u64 key, const struct xlb_hc_state *st);

/* msg has no trailing newline. xlbd passes it on to xlb_log(). */
typedef void (*xlb_hc_log_fn)(void *ctx, enum xlb_log_level level, const char *msg);

struct xlb_hc *xlb_hc_new(void);
void xlb_hc_free(struct xlb_hc *hc);

/* Replaces the default logger (stderr). fn NULL silences the engine. It logs
 * every state change with its reason and the time spent in the old state,
 * and local trouble (out of sockets) at most once a second. */
void xlb_hc_set_log(struct xlb_hc *hc, xlb_hc_log_fn fn, void *ctx);

/* The one fd to watch for EPOLLIN (it is itself an epoll fd); call
 * xlb_hc_dispatch() whenever it is readable. */
int xlb_hc_fd(const struct xlb_hc *hc);

/* Runs whatever is ready: socket events, due checks, expired timeouts. Never
 * sleeps; bounds its own work per call and leaves the fd readable if more is
 * left. Returns 0 or a negative errno. */
int xlb_hc_dispatch(struct xlb_hc *hc);

/* Starts checking a backend. family is AF_INET/AF_INET6 (XLB_AF_INET/6 are
 * accepted too), addr 4 or 16 bytes in network order. cfg must be complete
 * (as from xlb_hc_cfg_resolve()): a port unless kind is none, valid ranges.
 * The first check runs at a random point within one interval so that a
 * thousand backends added at once do not fire together; each next one an
 * interval +-10% after the previous start (a start may run up to 1% of the
 * interval, at most 10 ms, early to share a wakeup with its neighbours).
 * Every running check holds one fd: with thousands of backends that may hang
 * until their timeout, raise RLIMIT_NOFILE; running out only skips checks
 * (counted, logged), it never takes a backend down. Returns 0, -EEXIST,
 * -EINVAL, -EAFNOSUPPORT or -ENOMEM. */
int xlb_hc_add(struct xlb_hc *hc, __u64 key, int family, const void *addr,
	       const struct xlb_hc_cfg *cfg, xlb_hc_cb cb, void *ctx);

/* Changes a backend's check and keeps its state. An identical cfg is a no-op;
 * otherwise a running check is abandoned and the next one is due at a random
 * point within the new interval. Kind none makes the backend up (firing the
 * callback if it was down). Returns 0, -ENOENT or -EINVAL. */
int xlb_hc_update(struct xlb_hc *hc, __u64 key, const struct xlb_hc_cfg *cfg);

/* Makes a just-added backend down, without a callback: for one that was
 * down when the previous xlbd stopped. `rise` good checks bring it up.
 * Returns 0, -ENOENT, or -EINVAL when it is not checked (kind none). */
int xlb_hc_mark_down(struct xlb_hc *hc, __u64 key);

/* Stops checking a backend; no callback fires for it afterwards. Returns 0 or
 * -ENOENT. */
int xlb_hc_del(struct xlb_hc *hc, __u64 key);

/* Copies a backend's state. Returns 0 or -ENOENT. */
int xlb_hc_get(const struct xlb_hc *hc, __u64 key, struct xlb_hc_state *out);

/* Engine-wide counters, for `xlbctl stats` and benchmarks. */
struct xlb_hc_counters {
	__u64 backends;			    /* currently known */
	__u64 running;			    /* checks holding a socket now */
	__u64 started;			    /* checks started */
	__u64 results[__XLB_HC_RESULT_MAX]; /* checks finished, by result */
	__u64 skipped;			    /* not started: local error (fds, ports) */
	__u64 transitions;		    /* up/down changes of all backends */
};
void xlb_hc_counters_get(const struct xlb_hc *hc, struct xlb_hc_counters *out);

/* CLOCK_MONOTONIC in milliseconds: the clock of xlb_hc_state times. */
__u64 xlb_hc_now_ms(void);

#endif /* XLB_HEALTH_H */
