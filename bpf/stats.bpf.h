/* SPDX-License-Identifier: GPL-2.0 */
/* stats.bpf.h: per-CPU counters by reason, VIP and backend. */
#ifndef XLB_STATS_BPF_H
#define XLB_STATS_BPF_H

#include "maps.bpf.h"

static __always_inline void count_index(__u32 index, __u64 bytes)
{
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_stats, &index);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void count_reason(enum xlb_stat reason, __u64 bytes)
{
	count_index(reason, bytes);
}

static __always_inline void count_vip(__u32 vip_id, __u64 bytes)
{
	count_index(XLB_STATS_VIP_BASE + vip_id, bytes);
}

static __always_inline void count_backend(__u32 backend_id, __u64 bytes)
{
	count_index(XLB_STATS_VIP_BASE + xlb_max_vips + backend_id, bytes);
}

#endif
