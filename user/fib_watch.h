/* SPDX-License-Identifier: GPL-2.0 */
/* fib_watch.h: warns, rate-limited, when packets are dropped because the
 * route lookup towards a backend fails, naming the cause and its fix. */
#ifndef XLB_FIB_WATCH_H
#define XLB_FIB_WATCH_H

#include <linux/types.h>
#include <time.h>

#include "dataplane.h"

/* A warning per cause at most this often: a broken route must not flood
 * the log, nor go unnoticed for long. */
#define XLB_FIB_WARN_INTERVAL_S 60

/* The causes that drop: forwarding off, no route, unreachable route, other
 * lookup failure, too big. (No neighbour passes to the kernel.) */
#define XLB_FIB_CAUSES 5

struct xlb_fib_cause_seen {
	__u64 last;	/* counter at the last look */
	__u64 unwarned; /* rise since the last warning */
	time_t warned;	/* when the last warning went out (0: never) */
};

struct xlb_fib_watch {
	const char *ifname;
	struct xlb_fib_cause_seen seen[XLB_FIB_CAUSES];
};

/* Starts from the counters as they are: what was dropped before this xlbd
 * started is not warned about. */
int xlb_fib_watch_init(struct xlb_fib_watch *w, struct xlb_dp *dp, const char *ifname);
/* Looks at the counters (every second or so); logs a warning for each cause
 * that rose, at most once per XLB_FIB_WARN_INTERVAL_S. Returns the number of
 * warnings logged, or -errno when the counters cannot be read. */
int xlb_fib_watch_tick(struct xlb_fib_watch *w, struct xlb_dp *dp, time_t now);

#endif
