// SPDX-License-Identifier: GPL-2.0
/* health_state.c: what a backend's check results make of it (see
 * health_state.h): the rise/fall state machine and the fail-open rule of
 * ring membership. Pure logic, no sockets.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "health_state.h"

__u64 xlb_hc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

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
