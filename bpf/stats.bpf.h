/* SPDX-License-Identifier: GPL-2.0 */
/* stats.bpf.h: per-CPU counters by reason, VIP and backend, and the verdict
 * that carries a packet's reason to the one place that counts it. */
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

/* An event on a packet's way (not its verdict): packets only. */
static __always_inline void count_event(enum xlb_stat event)
{
	__u32 index = event;
	struct xlb_counter *c = bpf_map_lookup_elem(&xlb_stats, &index);

	if (c)
		c->packets++;
}

/* A verdict: the XDP action in the low byte, the enum xlb_stat reason it is
 * counted under above it. The path's stages return one; the entry point
 * counts it once (count_verdict), as Cilium does with its drop reasons.
 * Events on the way (conntrack hit or miss, next-hop miss) are counted where
 * they happen instead. */
static __always_inline __u32 verdict(int action, enum xlb_stat reason)
{
	return (__u32)reason << 8 | (__u32)action;
}

static __always_inline int verdict_action(__u32 v)
{
	return v & 0xff;
}

static __always_inline enum xlb_stat verdict_reason(__u32 v)
{
	return v >> 8;
}

/* Counts the verdict's reason; returns its action. */
static __always_inline int count_verdict(__u32 v, __u64 bytes)
{
	count_reason(v >> 8, bytes);
	return verdict_action(v);
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
