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
	__u32 ring_size;       /* Maglev M, a prime (0: XLB_RING_SIZE_DEFAULT) */
	__u32 max_vips;	       /* 0: XLB_MAX_VIPS_DEFAULT */
	__u32 max_backends;    /* 0: XLB_MAX_BACKENDS_DEFAULT */
	__u32 max_conns;       /* 0: XLB_CONNS_DEFAULT */
	__s32 icmp_rate;       /* ICMP errors xlb sends per second and CPU; 0:
				* XLB_ICMP_RATE_DEFAULT, negative: none */
	const char *pin_dir;   /* maps pinned (and adopted) here; NULL: not pinned */
	__s32 second_chance_s; /* how long a replaced ring is kept for the second
				* chance; 0: XLB_SECOND_CHANCE_WINDOW_DEFAULT_S,
				* negative: none kept (--no-second-chance) */
};

/* Buffers of batch reads of a connection table, grown as a read needs. */
struct xlb_dp_batch {
	struct xlb_flow *keys;
	struct xlb_conn *vals;
	__u32 cap; /* entries each holds */
};

/* A count of the connection table under way or done (dataplane.c). */
struct xlb_dp_tally {
	int running;	       /* a walk is under way */
	int started;	       /* its first batch is done: cursor is valid */
	__u32 cursor;	       /* the next hash bucket to read */
	__u64 partial;	       /* entries seen so far by the walk */
	__u64 misses;	       /* XLB_STAT_CONN_PROMOTE when the walk began */
	long long start_us;    /* CLOCK_MONOTONIC */
	unsigned int steps;    /* slices the walk took */
	int have;	       /* a walk has completed */
	__u64 entries;	       /* its count */
	int exact;	       /* no flow was inserted while it ran */
	long long done_us;     /* when it completed */
	long long duration_us; /* how long it took, loop time in between included */
	struct xlb_dp_batch buf;
};

struct xlb_sweep;

struct xlb_dp {
	struct xlb_bpf *skel;
	__u32 ring_size, max_vips, max_backends, max_conns;
	int nr_cpus;
	int ring_tmpl_fd; /* inner-map template until load, then -1 */
	__u32 *ring_keys;  /* 0..ring_size-1, the keys of a batch ring write */
	int loaded;
	int adopted;	       /* the maps already existed as pins: state to adopt */
	__s32 second_chance_s; /* as in xlb_dp_opts, 0 resolved */
	__u64 *ring_sums;      /* per VIP id: a hash of the ring last written, 0: none */
	long long *prev_until; /* per VIP id: CLOCK_MONOTONIC ms its previous ring goes, 0: none */
	struct xlb_dp_tally tally;
	struct xlb_sweep *sweep; /* xlbd's sweep of the tables (sweep.h), NULL: none */
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
/* VIPs in the pinned VIP map, before load (0 when nothing is pinned):
 * the state a previous xlbd left, which a start may be about to drop. */
int xlb_dp_pinned_vips(struct xlb_dp *dp, __u32 *n);
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
/* The second chance: a ring replaced by xlb_dp_ring_set() with different
 * contents, or removed by xlb_dp_ring_clear(), moves to xlb_rings_prev
 * (no copy), where the data plane reads it for hints; it is deleted by
 * xlb_dp_ring_prev_expire() once second_chance_s have passed, or by
 * xlb_dp_ring_prev_drop() (the VIP is gone). */
int xlb_dp_ring_prev_expire(struct xlb_dp *dp, long long now_ms);
/* How long the VIP's previous ring is still kept, in ms (CLOCK_MONOTONIC
 * now_ms); 0: it has none. */
long long xlb_dp_ring_prev_left_ms(const struct xlb_dp *dp, __u32 vip_id, long long now_ms);
int xlb_dp_ring_prev_drop(struct xlb_dp *dp, __u32 vip_id);
/* The backends an lc or wlc VIP picks new flows from (xlb_members); a
 * count of 0 empties it (the VIP's ring alone then decides). */
int xlb_dp_members_set(struct xlb_dp *dp, __u32 vip_id, const struct xlb_members *m);
/* Zeroes a backend id's open-flow count (xlb_backend_conns): the id now
 * names another backend, whose count starts at 0. */
int xlb_dp_backend_conns_reset(struct xlb_dp *dp, __u32 backend_id);
/* Reads one slot of the ring the data plane uses now (-ENOENT: no ring). */
int xlb_dp_ring_slot(struct xlb_dp *dp, __u32 vip_id, __u32 slot, __u32 *backend_id);

/* Calls cb on every connection-table entry, a batch at a time, for at most
 * about budget_us (cb returns non-zero to stop). *scanned: entries seen;
 * *complete: 1 when the whole table was seen. The walk is independent of
 * the tally's. Returns 0 or a negative errno. */
int xlb_dp_conn_walk(struct xlb_dp *dp, unsigned int budget_us,
		     int (*cb)(const struct xlb_flow *, const struct xlb_conn *, void *), void *ctx,
		     __u64 *scanned, int *complete);
/* The two connection tables: established flows, and flows seen once. */
enum xlb_dp_conn_table {
	XLB_DP_CONNS,	  /* xlb_conns */
	XLB_DP_CONNS_NEW, /* xlb_conns_new */
};
/* As xlb_dp_conn_walk(), over either table. */
int xlb_dp_conn_walk_table(struct xlb_dp *dp, enum xlb_dp_conn_table table, unsigned int budget_us,
			   int (*cb)(const struct xlb_flow *, const struct xlb_conn *, void *),
			   void *ctx, __u64 *scanned, int *complete);
int xlb_dp_conn_table_fd(struct xlb_dp *dp, enum xlb_dp_conn_table table);
/* Removes one flow's entry from a table (0 also when it was gone). */
int xlb_dp_conn_del(struct xlb_dp *dp, enum xlb_dp_conn_table table, const struct xlb_flow *flow);
/* A backend's open flows as the data plane counts them (xlb_backend_conns),
 * and a change of it by delta: read and written back, so a data-plane
 * update between the two (microseconds) is lost; the sweep repairs it. */
int xlb_dp_backend_conns_get(struct xlb_dp *dp, __u32 id, __s64 *active);
int xlb_dp_backend_conns_add(struct xlb_dp *dp, __u32 id, __s64 delta);
/* The connection-table entry of one flow (-ENOENT: none). */
int xlb_dp_conn_get(struct xlb_dp *dp, const struct xlb_flow *flow, struct xlb_conn *conn);

int xlb_dp_config_set(struct xlb_dp *dp, const struct xlb_config *cfg);
int xlb_dp_config_get(struct xlb_dp *dp, struct xlb_config *cfg);
int xlb_dp_tx_port_add(struct xlb_dp *dp, __u32 ifindex);

/* Sums a counter over all CPUs. index: enum xlb_stat, or use the helpers. */
int xlb_dp_counter(struct xlb_dp *dp, __u32 index, struct xlb_counter *sum);
int xlb_dp_counter_vip(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum);
int xlb_dp_counter_backend(struct xlb_dp *dp, __u32 backend_id, struct xlb_counter *sum);
/* A VIP's drops by its source ACL, and by its limit of new flows. */
int xlb_dp_counter_vip_acl(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum);
int xlb_dp_counter_vip_limit(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum);

/* Makes the VIP's entries in xlb_acl exactly keys/vals (n of them, each
 * key's vip_id = vip_id): writes them, then removes the VIP's others. */
int xlb_dp_acl_replace(struct xlb_dp *dp, __u32 vip_id, const struct xlb_acl_key *keys,
		       const struct xlb_acl *vals, size_t n);
/* The VIP's limit of new flows per client (cost_ns 0: none). */
int xlb_dp_limit_set(struct xlb_dp *dp, __u32 vip_id, const struct xlb_limit *lim);

/* Zeroes the per-VIP or per-backend counters of a recycled id. */
int xlb_dp_counter_reset(struct xlb_dp *dp, __u32 index);

/* Connection-table size. Counting a full table takes a good fraction of a
 * second of system calls, so it is done in slices of at most a budget each:
 * the daemon's loop stays responsive, and what it reports is the last
 * complete count, which is exact only if no flow was inserted meanwhile. */
#define XLB_DP_TALLY_SLICE_US 2000 /* one slice of a count */

struct xlb_conn_tally {
	int have;	  /* a count has completed (else entries is 0) */
	__u64 entries;	  /* its result, at most max_conns */
	int exact;	  /* no flow was inserted while it ran */
	int fresh;	  /* it completed within this call */
	long long age_ms; /* since it completed */
	int counting;	  /* a newer count is under way */
};

/* The last count, starting a new one (and running its first slice of
 * budget_us) unless one runs or the last just finished; stats calls this.
 * Returns 0 or a negative errno of the walk; *out is filled either way. */
int xlb_dp_conn_tally(struct xlb_dp *dp, unsigned int budget_us, struct xlb_conn_tally *out);
/* 1 while a count is under way: call xlb_dp_conn_tally_step() again. */
int xlb_dp_conn_tally_pending(const struct xlb_dp *dp);
/* Runs the count under way for at most about budget_us. Returns 1 when more
 * remains, 0 when done (or nothing runs), or a negative errno (the count is
 * abandoned). */
int xlb_dp_conn_tally_step(struct xlb_dp *dp, unsigned int budget_us);
/* One batch read of a connection table (fd) from cursor (NULL: its start)
 * into b, of about 0.1 ms of system call: b grows when one hash bucket holds
 * more entries than it. *count: the entries read; *next: where the next read
 * starts. Returns 1 at the table's end, 0 when more remains, or a negative
 * errno. A batch cursor is a bucket index, which no eviction moves. */
int xlb_dp_batch_read(int fd, struct xlb_dp_batch *b, const __u32 *cursor, __u32 *next,
		      __u32 *count);
void xlb_dp_batch_free(struct xlb_dp_batch *b);
/* Counts the whole table now, however long it takes (benchmark, tests). */
int xlb_dp_conn_count(struct xlb_dp *dp, __u64 *count);

extern const char *const xlb_stat_names[__XLB_STAT_MAX];
extern const char *const xlb_stat_help[__XLB_STAT_MAX];

#endif
