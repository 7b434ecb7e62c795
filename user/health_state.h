/* SPDX-License-Identifier: GPL-2.0 */
/* health_state.h: what check results make of a backend: the rise/fall state
 * machine that says up or down, and the fail-open rule that says which
 * backends of a VIP go into its ring. */
#ifndef XLB_HEALTH_STATE_H
#define XLB_HEALTH_STATE_H

#include <stddef.h>

#include "xlb.h"

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

/* CLOCK_MONOTONIC in milliseconds: the clock of xlb_hc_state times. */
__u64 xlb_hc_now_ms(void);

#endif
