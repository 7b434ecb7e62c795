/* SPDX-License-Identifier: GPL-2.0 */
/* slowstart.h: the arithmetic of slow start (HAProxy's slowstart): a
 * backend that was added or came back up takes a growing share of its
 * weight, linearly, until it reaches the whole of it after the ramp. lb.c
 * rebuilds the rings with these weights once a second. */
#ifndef XLB_SLOWSTART_H
#define XLB_SLOWSTART_H

#include <linux/types.h>

#define XLB_SLOW_START_MAX 3600 /* seconds: slow-start 1-3600, 0 = none */

/* Finest step of a ramp: the ring weights of a VIP with a ramping backend
 * are its weights times a scale of up to this (maglev.c's rings depend on
 * weight ratios only, so scaling every member alike changes nothing). */
#define XLB_SLOW_START_SCALE 1000

/* The weight a backend of full weight full has elapsed_ms into a ramp of
 * seconds: full * elapsed / ramp, at least 1 while ramping, full from the
 * end on (and at once when seconds is 0 or full is 0). Monotonic in
 * elapsed_ms. */
__u32 xlb_slowstart_weight(__u32 full, __u32 seconds, __u64 elapsed_ms);

/* 1 while elapsed_ms is inside a ramp of seconds, else 0. */
int xlb_slowstart_ramping(__u32 seconds, __u64 elapsed_ms);

/* Scale of the ring weights of a VIP whose largest weight is max_weight:
 * as fine as XLB_SLOW_START_SCALE allows without passing XLB_MAX_WEIGHT. */
__u32 xlb_slowstart_scale(__u32 max_weight);

#endif
