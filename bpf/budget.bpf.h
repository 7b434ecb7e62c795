/* SPDX-License-Identifier: GPL-2.0 */
/* budget.bpf.h: how many new connection entries a CPU may create per second
 * (xlb_config.conn_budget). Above it a new flow is still forwarded by the
 * ring, only not recorded: consistent while the ring is unchanged, and a
 * flood costs neither insert work nor table churn beyond the budget. */
#ifndef XLB_BUDGET_BPF_H
#define XLB_BUDGET_BPF_H

#include "maps.bpf.h"

#define XLB_BUDGET_WINDOW_NS 1000000000ULL

/* 1 if this CPU may create one more entry now (and counts it), else 0. A
 * fixed one-second window: simpler than a token bucket and as good here,
 * where the point is a bound on entries per second, not smooth pacing. A
 * window that starts in the future (only a test or the benchmark writes
 * one) holds until a second after that: signed difference. */
static __always_inline int budget_take(const struct xlb_config *cfg, __u64 now)
{
	struct xlb_budget *b;
	__u32 zero = 0;

	if (!cfg->conn_budget)
		return 1;
	b = bpf_map_lookup_elem(&xlb_budget, &zero);
	if (!b)
		return 0;
	if ((__s64)(now - b->window_ns) >= (__s64)XLB_BUDGET_WINDOW_NS) {
		b->window_ns = now;
		b->used = 0;
	}
	if (b->used >= cfg->conn_budget)
		return 0;
	b->used++;
	return 1;
}

/* 1 if budget_take() would admit an entry now; takes nothing. */
static __always_inline int budget_left(const struct xlb_config *cfg, __u64 now)
{
	struct xlb_budget *b;
	__u32 zero = 0;

	if (!cfg->conn_budget)
		return 1;
	b = bpf_map_lookup_elem(&xlb_budget, &zero);
	if (!b)
		return 0;
	return (__s64)(now - b->window_ns) >= (__s64)XLB_BUDGET_WINDOW_NS ||
	       b->used < cfg->conn_budget;
}

#endif
