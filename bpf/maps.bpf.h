/* SPDX-License-Identifier: GPL-2.0 */
/* maps.bpf.h: the maps of the xlb data plane and its load-time knobs. Key and
 * value types come from include/xlb.h; sizes are the defaults, which xlbd
 * overrides before load (bpf_map__set_max_entries). */
#ifndef XLB_MAPS_BPF_H
#define XLB_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xlb.h"

/* Load-time knobs, set through the skeleton's rodata before load. */
const volatile __u32 xlb_ring_size = XLB_RING_SIZE_DEFAULT; /* Maglev M */
const volatile __u32 xlb_max_vips = XLB_MAX_VIPS_DEFAULT;   /* per-backend counters start after the VIPs' */
/* Time one generated ICMP error costs in the per-CPU bucket: 1 s / rate;
 * 0 sends none (xlbd --icmp-rate 0). */
const volatile __u64 xlb_icmp_interval_ns = 1000000000ULL / XLB_ICMP_RATE_DEFAULT;

/* The ICMP rate limit's state, per CPU (see icmp_allowed in icmp.bpf.h). */
struct xlb_icmp_bucket {
	__u64 tat_ns; /* theoretical arrival time of the next message: coarse monotonic ns */
};

/* One bucket per CPU; not pinned, a new program starts full. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_icmp_bucket);
} xlb_icmp_rl SEC(".maps");
const volatile __u32 xlb_max_backends = XLB_MAX_BACKENDS_DEFAULT; /* per-VIP drops follow them */

/* Virtual services: {addr, port, proto, family} -> {id, flags}. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, struct xlb_vip_key);
	__type(value, struct xlb_vip);
} xlb_vips SEC(".maps");

/* The addresses of the VIPs: {addr, family} -> how many VIPs are on it.
 * Traffic to such an address that no VIP takes is dropped, never passed:
 * nothing on this host owns a VIP address, so the kernel would route it back
 * to the router, which returns it here until its TTL runs out. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, struct xlb_vip_addr_key);
	__type(value, struct xlb_vip_addr);
} xlb_vip_addrs SEC(".maps");

/* Bits of destination-address hashes no VIP address has (XLB_NOVIP_SHIFT
 * in xlb.h): a set bit passes the packet before any hash lookup. Not
 * pinned: all zero (every packet takes the exact lookups) until userspace
 * fills it from xlb_vips after load, so a new program never passes a VIP's
 * traffic while it starts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_NOVIP_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} xlb_novip SEC(".maps");

/* One Maglev ring per VIP: slot -> backend id. Userspace fills a fresh inner
 * map (one batch update) and swaps it into xlb_rings in one update, so the
 * data plane never sees a half-written ring. */
struct xlb_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_RING_SIZE_DEFAULT);
	__type(key, __u32);
	__type(value, __u32);
};

/* vip id -> its ring. An empty slot means the VIP has no backend to offer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, __u32);
	__array(values, struct xlb_ring);
} xlb_rings SEC(".maps");

/* vip id -> its ring before its last change, for the second chance
 * (second_chance.bpf.h). xlbd moves the replaced ring here (no copy) and
 * deletes it after --second-chance-window; an empty slot: no hint. Not
 * pinned: a new program has no change to remember. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, __u32);
	__array(values, struct xlb_ring);
} xlb_rings_prev SEC(".maps");

/* vip id -> this CPU's position in the VIP's sequence (rr, wrr: see
 * sched.bpf.h). Per CPU: no atomic shared between CPUs on a new flow; each
 * CPU goes through the whole sequence in turn. Not pinned: a new program
 * starts every VIP at its first slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, __u32);
	__type(value, __u32);
} xlb_cursors SEC(".maps");

/* backend id -> tunnel destination and validity. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xlb_backend);
} xlb_backends SEC(".maps");

/* backend id -> its open flows (lc, wlc: sched.bpf.h). Shared by all
 * CPUs and changed atomically, on a flow's start and close only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xlb_backend_conns);
} xlb_backend_conns SEC(".maps");

/* vip id -> the backends an lc or wlc VIP may choose from. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xlb_members);
} xlb_members SEC(".maps");

/* backend id -> its next hop, per CPU: a cache of bpf_fib_lookup(), which
 * costs more than the rest of the packet path. Not pinned: a new program
 * starts with an empty cache. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_MAX_BACKENDS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xlb_nexthop);
} xlb_nexthops SEC(".maps");

/* 5-tuple -> chosen backend. Per-CPU LRU lists: no lock shared between CPUs
 * on insert, and RSS keeps a flow on one CPU anyway. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_CONNS_DEFAULT);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct xlb_flow);
	__type(value, struct xlb_conn);
} xlb_conns SEC(".maps");

/* Fragmented datagrams to VIPs: {src, dst, proto, id} -> the backend their
 * first fragment went to (frag.bpf.h). One LRU for all CPUs: a NIC may
 * hash a datagram's fragments to different queues. Not pinned: an entry
 * lives for the milliseconds a datagram is in flight. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_FRAGS_DEFAULT);
	__type(key, struct xlb_frag_key);
	__type(value, struct xlb_frag);
} xlb_frags SEC(".maps");
/* 5-tuple -> backend of a flow not confirmed yet: seen with one packet
 * only, or with nothing after its SYN. Separate from xlb_conns so that a
 * flood of spoofed SYNs or ACKs (one packet per tuple) churns this table
 * only and never evicts an established flow; the flow's next packet moves
 * it to xlb_conns. Sized by userspace (XLB_CONNS_NEW_SHIFT). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_CONNS_DEFAULT >> XLB_CONNS_NEW_SHIFT);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct xlb_flow);
	__type(value, struct xlb_conn);
} xlb_conns_new SEC(".maps");

/* This CPU's budget of new entries (struct xlb_budget). Not pinned: a
 * new program starts with a fresh window. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_budget);
} xlb_budget SEC(".maps");

/* Counters: see the index layout beside struct xlb_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_STATS_VIP_BASE + 3 * XLB_MAX_VIPS_DEFAULT + XLB_MAX_BACKENDS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xlb_counter);
} xlb_stats SEC(".maps");

/* Source ACLs of every VIP: {vip id, family, prefix} -> allow or deny,
 * longest prefix first (acl.bpf.h). Looked up only for VIPs flagged
 * XLB_VIP_F_ACL. The kernel requires BPF_F_NO_PREALLOC for a trie. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT * XLB_ACL_ENTRIES_PER_VIP);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xlb_acl_key);
	__type(value, struct xlb_acl);
} xlb_acl SEC(".maps");

/* vip id -> its limit of new flows per client (limit.bpf.h), read only
 * for VIPs flagged XLB_VIP_F_LIMIT. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XLB_MAX_VIPS_DEFAULT);
	__type(key, __u32);
	__type(value, struct xlb_limit);
} xlb_limits SEC(".maps");

/* {vip id, client} -> its token bucket. One LRU for all CPUs, not one per
 * CPU: RSS spreads one client's TCP connections over every queue (it
 * hashes the ports too), so per-CPU buckets would let a client through at
 * the limit times the CPUs. Not pinned: a restart refills every bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XLB_BUCKETS_DEFAULT);
	__type(key, struct xlb_bucket_key);
	__type(value, struct xlb_bucket);
} xlb_buckets SEC(".maps");

/* Runtime knobs (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_config);
} xlb_config SEC(".maps");

/* Interfaces xlb may redirect to, keyed by ifindex (XDP_TX needs none). */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xlb_tx_ports SEC(".maps");

#endif
