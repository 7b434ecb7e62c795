/* SPDX-License-Identifier: GPL-2.0 */
/* sweep.h: xlbd's upkeep of the connection tables. Both tables are LRU
 * hashes whose entries expire without a word: nothing deletes an idle
 * entry and an eviction tells nobody. The sweep walks xlb_conns and
 * xlb_conns_new in slices of a bounded time (the daemon's loop runs one
 * between two looks at its events), deletes what expired by its state's
 * timeout (conn_state.h), counts per backend the live flows that are active
 * (new, established) and inactive (closing), and after a full pass corrects
 * xlb_backend_conns, which the data plane keeps by adding and subtracting,
 * to what it counted.
 *
 * The race with the data plane: a pass reads xlb_backend_conns when it
 * begins (start) and adds count - start to each backend's value at its end,
 * rather than overwriting it, so that what the data plane added and
 * subtracted while the walk ran is kept. What stays wrong until the next
 * pass is the churn the walk saw twice or missed: a flow that started after
 * the pass began in a bucket the walk read later (counted by both), and one
 * that ended after the pass began in a bucket read later (subtracted by
 * both); so the error after a pass is at most the flows that started or
 * ended during it, and the next pass repairs it. A data-plane update that
 * lands between the read and the write of one backend's value (two system
 * calls) is lost until the next pass as well. Expired entries are deleted
 * a batch at a time, without a second look: a packet that came in the
 * slice since found its entry expired as well, and its flow, re-picked by
 * the data plane then, is re-picked once more at its next packet. */
#ifndef XLB_SWEEP_H
#define XLB_SWEEP_H

#include "xlb.h"

struct xlb_dp;

/* One slice of a pass: short enough that a control request or a health
 * check's event waits at most this long behind it. */
#define XLB_SWEEP_SLICE_US 2000
/* A pass starts at most once a second, and rests at least this many times
 * as long as the last one ran: a full table costs xlbd a bounded share of
 * a CPU (xlbd.8 gives the figures). */
#define XLB_SWEEP_REST_MIN_MS 1000
#define XLB_SWEEP_REST_FACTOR 2

/* A backend's flows as a pass counted them (unexpired, of its generation). */
struct xlb_sweep_count {
	__u64 active;	/* new or established */
	__u64 inactive; /* closing */
};

/* What the last complete pass did. */
struct xlb_sweep_report {
	int have;		/* a pass has completed */
	__u64 scanned;		/* entries read, both tables */
	__u64 expired;		/* entries deleted as expired */
	__u64 corrected;	/* backends whose xlb_backend_conns was changed */
	__u64 drift;		/* sum of those changes' sizes */
	long long duration_us;	/* from its first slice to its last, loop time included */
	long long cpu_us;	/* CPU time of its slices */
	long long max_slice_us; /* its longest slice */
	unsigned int slices;	/* slices it took */
	long long done_us;	/* CLOCK_MONOTONIC when it completed */
};

struct xlb_sweep;

/* What a pass does with one entry: delete it (expired), or count it. */
enum xlb_sweep_verdict {
	XLB_SWEEP_KEEP,
	XLB_SWEEP_DELETE,
};

/* Pure rule of the pass: the entry's verdict at now_ns, counting a kept
 * entry into counts[backend_id] when its backend id is below n and its
 * generation is gens[backend_id] (an older generation's flow belongs to
 * no backend now). */
enum xlb_sweep_verdict xlb_sweep_classify(const struct xlb_flow *f, const struct xlb_conn *c,
					  const struct xlb_config *cfg, __u64 now_ns,
					  const __u32 *gens, __u32 n,
					  struct xlb_sweep_count *counts);

/* A sweep of dp's tables (dp->max_backends backends). */
int xlb_sweep_new(struct xlb_dp *dp, struct xlb_sweep **out);
void xlb_sweep_free(struct xlb_sweep *s);
/* 1 when a pass should begin at now_us (CLOCK_MONOTONIC): none runs, and
 * the last rested long enough. */
int xlb_sweep_due(const struct xlb_sweep *s, long long now_us);
/* Begins a pass: reads the config, the backends' generations and
 * xlb_backend_conns. */
int xlb_sweep_start(struct xlb_sweep *s);
/* 1 while a pass runs. */
int xlb_sweep_pending(const struct xlb_sweep *s);
/* Runs the pass for at most about budget_us. Returns 1 when more remains,
 * 0 when it completed (or none runs), or a negative errno (the pass is
 * abandoned, nothing corrected). */
int xlb_sweep_step(struct xlb_sweep *s, unsigned int budget_us);
/* Abandons the pass under way (its start values no longer hold: conns
 * flush changed the tables and the counts itself). */
void xlb_sweep_abort(struct xlb_sweep *s);
/* Runs a whole pass now, however long it takes (tests, benchmarks). */
int xlb_sweep_run(struct xlb_sweep *s);
/* The last complete pass's counts, indexed by backend id; NULL before. */
const struct xlb_sweep_count *xlb_sweep_counts(const struct xlb_sweep *s);
const struct xlb_sweep_report *xlb_sweep_last(const struct xlb_sweep *s);

#endif
