// SPDX-License-Identifier: GPL-2.0
/* pressure.c: connection-table pressure from conn_skip samples (see
 * pressure.h). The first sample only sets the baseline: skips counted by a
 * previous xlbd (the counters are pinned) are not this one's pressure. */
#include <stdio.h>

#include "pressure.h"

enum xlb_pressure_change xlb_pressure_sample(struct xlb_pressure *p, __u64 skipped,
					     long long now_ms, __u32 budget, char *msg, size_t len)
{
	__u64 delta = p->primed && skipped >= p->skipped ? skipped - p->skipped : 0;

	msg[0] = 0;
	p->primed = 1;
	p->skipped = skipped;
	if (delta) {
		p->last_ms = now_ms;
		p->episode += delta;
		if (p->on)
			return XLB_PRESSURE_SAME;
		p->on = 1;
		p->since_ms = now_ms;
		p->episode = delta;
		snprintf(msg, len,
			 "connection table under pressure: %llu new flows over the budget of %u "
			 "per CPU and second, forwarded by the ring without an entry (they "
			 "re-hash if the ring changes)",
			 (unsigned long long)delta, budget);
		return XLB_PRESSURE_ENTER;
	}
	if (!p->on || now_ms - p->last_ms < XLB_PRESSURE_QUIET_MS)
		return XLB_PRESSURE_SAME;
	p->on = 0;
	snprintf(msg, len,
		 "connection table pressure over after %.0f s: %llu new flows went without an "
		 "entry",
		 (double)(p->last_ms - p->since_ms) / 1000.0, (unsigned long long)p->episode);
	return XLB_PRESSURE_LEAVE;
}
