/* SPDX-License-Identifier: GPL-2.0 */
/* health.h: xlbd's backend health-check engine: event-driven (one fd for the
 * daemon's epoll, no threads), it runs the checks that health_config.h
 * describes and keeps each backend's health_state.h state.
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stddef.h>

#include "health_config.h"
#include "health_state.h"
#include "log.h"
#include "xlb.h"

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

#endif /* XLB_HEALTH_H */
