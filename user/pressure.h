/* SPDX-License-Identifier: GPL-2.0 */
/* pressure.h: when the connection table is under pressure (new flows over
 * the per-CPU budget, forwarded unrecorded), from the data plane's conn_skip
 * counter sampled once a second: one log line entering, one leaving. Pure
 * logic; xlbd samples and logs. */
#ifndef XLB_PRESSURE_H
#define XLB_PRESSURE_H

#include <stddef.h>
#include <linux/types.h>

/* Quiet time (no flow skipped) before pressure is over: also the shortest
 * time between two lines, so a flood that comes and goes logs rarely. */
#define XLB_PRESSURE_QUIET_MS 10000

struct xlb_pressure {
	int on;		    /* under pressure now */
	int primed;	    /* skipped holds a first sample */
	__u64 skipped;	    /* conn_skip at the last sample */
	__u64 episode;	    /* flows skipped since pressure began */
	long long since_ms; /* when it began */
	long long last_ms;  /* the last sample that saw flows skipped */
};

enum xlb_pressure_change {
	XLB_PRESSURE_SAME = 0,
	XLB_PRESSURE_ENTER,
	XLB_PRESSURE_LEAVE,
};

/* Feeds one sample (conn_skip summed over CPUs, monotonic ms). Returns the
 * change, with the line to log in msg (empty when XLB_PRESSURE_SAME). */
enum xlb_pressure_change xlb_pressure_sample(struct xlb_pressure *p, __u64 skipped,
					     long long now_ms, __u32 budget, char *msg, size_t len);

#endif
