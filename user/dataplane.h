/* SPDX-License-Identifier: GPL-2.0 */
/* dataplane.h: the XDP program's maps as seen from userspace: open and size
 * the skeleton, pin or adopt its maps, and write VIPs, backends, rings and
 * config. Knows nothing of text or policy; lb.h builds on it. */
#ifndef XLB_DATAPLANE_H
#define XLB_DATAPLANE_H

#include <stddef.h>
#include "xlb.h"

struct xlb_bpf;
struct bpf_object;

struct xlb_dp_opts {
	__u32 ring_size;    /* Maglev M, a prime (0: XLB_RING_SIZE_DEFAULT) */
	__u32 max_vips;     /* 0: XLB_MAX_VIPS_DEFAULT */
	__u32 max_backends; /* 0: XLB_MAX_BACKENDS_DEFAULT */
	__u32 max_conns;    /* 0: XLB_CONNS_DEFAULT */
	const char *pin_dir; /* maps pinned (and adopted) here; NULL: not pinned */
};

struct xlb_dp {
	struct xlb_bpf *skel;
	__u32 ring_size, max_vips, max_backends, max_conns;
	int nr_cpus;
	int ring_tmpl_fd; /* inner-map template until load, then -1 */
	__u32 *ring_keys;  /* 0..ring_size-1, the keys of a batch ring write */
	int loaded;
	int adopted; /* the maps already existed as pins: state to adopt */
};

/* Opens the skeleton and applies sizes and pin paths; does not load. */
int xlb_dp_open(const struct xlb_dp_opts *opts, struct xlb_dp **out);
/* Loads the object (tests, or when attaching without libxdp). Alternatively
 * libxdp loads xlb_dp_object() on attach; call xlb_dp_loaded() after. */
int xlb_dp_load(struct xlb_dp *dp);
int xlb_dp_loaded(struct xlb_dp *dp);
void xlb_dp_close(struct xlb_dp *dp);
struct bpf_object *xlb_dp_object(struct xlb_dp *dp);
int xlb_dp_prog_fd(struct xlb_dp *dp);
/* Removes the pinned maps (explicit detach only). */
int xlb_dp_unpin(struct xlb_dp *dp);

int xlb_dp_vip_set(struct xlb_dp *dp, const struct xlb_vip_key *key, const struct xlb_vip *vip);
int xlb_dp_vip_del(struct xlb_dp *dp, const struct xlb_vip_key *key);
/* Iterates the VIP map (adoption): cb returns non-zero to stop. */
int xlb_dp_vip_foreach(struct xlb_dp *dp,
		       int (*cb)(const struct xlb_vip_key *, const struct xlb_vip *, void *),
		       void *ctx);

int xlb_dp_backend_set(struct xlb_dp *dp, __u32 id, const struct xlb_backend *be);
int xlb_dp_backend_get(struct xlb_dp *dp, __u32 id, struct xlb_backend *be);

/* Builds a new ring map aside, fills it and swaps it in for vip_id in one
 * update: the data plane sees the old ring or the new one, never a mix. */
int xlb_dp_ring_set(struct xlb_dp *dp, __u32 vip_id, const __u32 *ring);
int xlb_dp_ring_clear(struct xlb_dp *dp, __u32 vip_id);
/* Reads one slot of the ring the data plane uses now (-ENOENT: no ring). */
int xlb_dp_ring_slot(struct xlb_dp *dp, __u32 vip_id, __u32 slot, __u32 *backend_id);

int xlb_dp_config_set(struct xlb_dp *dp, const struct xlb_config *cfg);
int xlb_dp_config_get(struct xlb_dp *dp, struct xlb_config *cfg);
int xlb_dp_tx_port_add(struct xlb_dp *dp, __u32 ifindex);

/* Sums a counter over all CPUs. index: enum xlb_stat, or use the helpers. */
int xlb_dp_counter(struct xlb_dp *dp, __u32 index, struct xlb_counter *sum);
int xlb_dp_counter_vip(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum);
int xlb_dp_counter_backend(struct xlb_dp *dp, __u32 backend_id, struct xlb_counter *sum);
/* Zeroes the per-VIP or per-backend counters of a recycled id. */
int xlb_dp_counter_reset(struct xlb_dp *dp, __u32 index);

/* Connection table size in use (walks the map; for stats, not the fast path). */
int xlb_dp_conn_count(struct xlb_dp *dp, __u64 *count);

extern const char *const xlb_stat_names[__XLB_STAT_MAX];
extern const char *const xlb_stat_help[__XLB_STAT_MAX];

#endif
