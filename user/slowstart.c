// SPDX-License-Identifier: GPL-2.0
/* slowstart.c: the ramp of a backend's weight after it was added or came
 * back up (see slowstart.h). Pure arithmetic, so that CUnit can walk it. */
#include "slowstart.h"
#include "xlb.h"

int xlb_slowstart_ramping(__u32 seconds, __u64 elapsed_ms)
{
	return seconds && elapsed_ms < (__u64)seconds * 1000;
}

__u32 xlb_slowstart_weight(__u32 full, __u32 seconds, __u64 elapsed_ms)
{
	__u64 w;

	if (!full || !xlb_slowstart_ramping(seconds, elapsed_ms))
		return full;
	/* 64 bits: full (<= 65535) times elapsed (< 3.6e6 ms) fits easily. */
	w = (__u64)full * elapsed_ms / ((__u64)seconds * 1000);
	/* At least 1: a backend that is in service takes some new flows, or
	 * nothing would ever warm it up. */
	return w ? (__u32)w : 1;
}

__u32 xlb_slowstart_scale(__u32 max_weight)
{
	__u32 s;

	if (!max_weight)
		return 1;
	s = XLB_MAX_WEIGHT / max_weight;
	if (s > XLB_SLOW_START_SCALE)
		s = XLB_SLOW_START_SCALE;
	return s ? s : 1;
}
