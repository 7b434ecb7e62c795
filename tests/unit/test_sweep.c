// SPDX-License-Identifier: GPL-2.0
/* test_sweep.c: the sweep of the connection tables (sweep.h, conn_state.h):
 * the expiry of an entry by its protocol and state, what it counts for its
 * backend, and a whole pass over both tables of a loaded (never attached)
 * data plane: expired entries deleted, live ones kept and counted, and
 * xlb_backend_conns corrected to the count while keeping what the data
 * plane added during the pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_test.h"
#include "conn_state.h"
#include "dataplane.h"
#include "sweep.h"
#include "xlb.skel.h"

#define S   1000000000ULL
#define NOW (100000 * S)
#define NB  8

static const struct xlb_config cfg = {
    .udp_timeout_s = 30, .syn_timeout_s = 5, .tcp_timeout_s = 900, .fin_timeout_s = 10};

/* One entry of a fixture: what the sweep should do with it. */
struct row {
	const char *what;
	__u8 proto;
	__u32 state;
	long long idle_ms; /* negative: stamped ahead of now */
	__u32 backend_id;
	__u32 gen;
	enum xlb_sweep_verdict verdict;
	int active, inactive; /* what it adds to backend_id's counts */
};

/* Backend i has generation 10 + i. */
static const struct row rows[] = {
    {"tcp new within syn timeout", IPPROTO_TCP, XLB_CONN_NEW, 4900, 1, 11, XLB_SWEEP_KEEP, 1, 0},
    {"tcp new past syn timeout", IPPROTO_TCP, XLB_CONN_NEW, 5100, 1, 11, XLB_SWEEP_DELETE, 0, 0},
    {"tcp established within tcp timeout", IPPROTO_TCP, XLB_CONN_ESTABLISHED, 899000, 1, 11,
     XLB_SWEEP_KEEP, 1, 0},
    {"tcp established past tcp timeout", IPPROTO_TCP, XLB_CONN_ESTABLISHED, 900100, 1, 11,
     XLB_SWEEP_DELETE, 0, 0},
    {"tcp closing within fin timeout", IPPROTO_TCP, XLB_CONN_CLOSING, 9900, 2, 12, XLB_SWEEP_KEEP,
     0, 1},
    {"tcp closing past fin timeout", IPPROTO_TCP, XLB_CONN_CLOSING, 10100, 2, 12, XLB_SWEEP_DELETE,
     0, 0},
    {"udp new within udp timeout", IPPROTO_UDP, XLB_CONN_NEW, 29900, 2, 12, XLB_SWEEP_KEEP, 1, 0},
    {"udp established past udp timeout", IPPROTO_UDP, XLB_CONN_ESTABLISHED, 30100, 2, 12,
     XLB_SWEEP_DELETE, 0, 0},
    {"udp new idle 60 s (not tcp's 900)", IPPROTO_UDP, XLB_CONN_NEW, 60000, 3, 13, XLB_SWEEP_DELETE,
     0, 0},
    {"an older generation: kept, counted for nobody", IPPROTO_TCP, XLB_CONN_ESTABLISHED, 1000, 3,
     12, XLB_SWEEP_KEEP, 0, 0},
    {"a backend id out of range: kept, counted for nobody", IPPROTO_TCP, XLB_CONN_ESTABLISHED, 1000,
     NB + 5, 0, XLB_SWEEP_KEEP, 0, 0},
    {"stamped ahead of now (a racing write): not idle", IPPROTO_TCP, XLB_CONN_NEW, -2000, 4, 14,
     XLB_SWEEP_KEEP, 1, 0},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const __u32 gens[NB] = {10, 11, 12, 13, 14, 15, 16, 17};

static void row_entry(const struct row *r, __u32 i, __u64 now, struct xlb_flow *f,
		      struct xlb_conn *c)
{
	memset(f, 0, sizeof(*f));
	memset(c, 0, sizeof(*c));
	f->src.v4 = htonl(0xc6120100U + i);
	f->dst.v4 = htonl(0xc6126401U);
	f->sport = htons(40000 + i);
	f->dport = htons(80);
	f->proto = r->proto;
	f->family = XLB_AF_INET;
	c->backend_id = r->backend_id;
	c->backend_gen = r->gen;
	c->last_seen_ns = now - r->idle_ms * 1000000LL;
	c->created_s = (__u32)(c->last_seen_ns / S) - 3;
	c->state = r->state;
}

static void test_classify(void)
{
	for (size_t i = 0; i < NROWS; i++) {
		struct xlb_sweep_count counts[NB] = {{0}};
		struct xlb_flow f;
		struct xlb_conn c;
		enum xlb_sweep_verdict v;
		__u64 sum_a = 0, sum_i = 0;

		row_entry(&rows[i], i, NOW, &f, &c);
		v = xlb_sweep_classify(&f, &c, &cfg, NOW, gens, NB, counts);
		for (int b = 0; b < NB; b++) {
			sum_a += counts[b].active;
			sum_i += counts[b].inactive;
		}
		if (v != rows[i].verdict || sum_a != (__u64)rows[i].active ||
		    sum_i != (__u64)rows[i].inactive ||
		    (rows[i].backend_id < NB &&
		     (counts[rows[i].backend_id].active != (__u64)rows[i].active ||
		      counts[rows[i].backend_id].inactive != (__u64)rows[i].inactive)))
			fprintf(stderr, "\n  %s: verdict %d (want %d), active %llu inactive %llu",
				rows[i].what, v, rows[i].verdict, (unsigned long long)sum_a,
				(unsigned long long)sum_i);
		CU_ASSERT_EQUAL(v, rows[i].verdict);
		CU_ASSERT_EQUAL(sum_a, (__u64)rows[i].active);
		CU_ASSERT_EQUAL(sum_i, (__u64)rows[i].inactive);
	}
}

static void test_timeouts(void)
{
	struct xlb_config unset = {0};
	struct xlb_flow f = {.proto = IPPROTO_TCP};
	struct xlb_conn c = {.state = XLB_CONN_ESTABLISHED};

	CU_ASSERT_EQUAL(xlb_conn_limit_s(&f, &c, &cfg), 900);
	/* A config that left the TCP timeouts unset: their defaults, not 0
	 * (which would delete every established flow at once). */
	CU_ASSERT_EQUAL(xlb_conn_limit_s(&f, &c, &unset), XLB_TCP_TIMEOUT_DEFAULT_S);
	c.state = XLB_CONN_CLOSING;
	CU_ASSERT_EQUAL(xlb_conn_limit_s(&f, &c, &unset), XLB_FIN_TIMEOUT_DEFAULT_S);
	c.state = XLB_CONN_NEW;
	CU_ASSERT_EQUAL(xlb_conn_limit_s(&f, &c, &unset), XLB_SYN_TIMEOUT_DEFAULT_S);
	f.proto = IPPROTO_UDP;
	CU_ASSERT_EQUAL(xlb_conn_limit_s(&f, &c, &unset), XLB_UDP_TIMEOUT_DEFAULT_S);
	CU_ASSERT_STRING_EQUAL(xlb_conn_state_name(XLB_CONN_NEW), "new");
	CU_ASSERT_STRING_EQUAL(xlb_conn_state_name(XLB_CONN_ESTABLISHED), "established");
	CU_ASSERT_STRING_EQUAL(xlb_conn_state_name(XLB_CONN_CLOSING), "closing");
	CU_ASSERT_STRING_EQUAL(xlb_conn_state_name(7), "unknown");
	c.last_seen_ns = 2 * S;
	c.created_s = 1;
	CU_ASSERT_EQUAL(xlb_conn_idle_ms(&c, 5 * S), 3000);
	CU_ASSERT_EQUAL(xlb_conn_age_ms(&c, 5 * S), 4000);
	CU_ASSERT_EQUAL(xlb_conn_idle_ms(&c, S), 0);
}

XLB_SUITE(sweep_rules, NULL, NULL, {"expiry and counting by state (fixture table)", test_classify},
	  {"timeouts by protocol and state, unset ones default", test_timeouts})

/* ---- a whole pass over a loaded data plane --------------------------------------- */

static struct xlb_dp *dp;
static struct xlb_sweep *sw;

static int sweep_init(void)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xlb_dp_opts opts = {.max_vips = 4, .max_backends = NB, .ring_size = 251};

	if (ncpu < 1)
		return -1;
	opts.max_conns = 4096 * ncpu;
	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || xlb_dp_config_set(dp, &cfg) ||
	    xlb_sweep_new(dp, &sw))
		return -1;
	for (__u32 id = 0; id < NB; id++) {
		struct xlb_backend be = {
		    .gen = gens[id], .family = XLB_AF_INET, .flags = XLB_BACKEND_F_VALID};

		if (xlb_dp_backend_set(dp, id, &be))
			return -1;
	}
	return 0;
}

static int sweep_cleanup(void)
{
	xlb_sweep_free(sw);
	xlb_dp_close(dp);
	return 0;
}

static int fd_of(int table)
{
	return xlb_dp_conn_table_fd(dp, table);
}

static int set_count(__u32 id, __s64 v)
{
	struct xlb_backend_conns c = {.active = v};

	return bpf_map_update_elem(bpf_map__fd(dp->skel->maps.xlb_backend_conns), &id, &c, BPF_ANY);
}

static __s64 get_count(__u32 id)
{
	__s64 v = -12345;

	xlb_dp_backend_conns_get(dp, id, &v);
	return v;
}

/* Every row in both tables (new-flow table: rows at odd indexes). */
static int fill(__u64 now)
{
	for (size_t i = 0; i < NROWS; i++) {
		struct xlb_flow f;
		struct xlb_conn c;

		row_entry(&rows[i], i, now, &f, &c);
		if (bpf_map_update_elem(fd_of(i % 2 ? XLB_DP_CONNS_NEW : XLB_DP_CONNS), &f, &c,
					BPF_ANY))
			return -errno;
	}
	return 0;
}

static void test_pass(void)
{
	const struct xlb_sweep_count *counts;
	const struct xlb_sweep_report *rep;
	__u64 now = xlb_conn_now_ns(), want_active[NB] = {0}, want_inactive[NB] = {0};
	size_t expired = 0;

	CU_ASSERT_PTR_NULL(xlb_sweep_counts(sw));
	CU_ASSERT_EQUAL_FATAL(fill(now), 0);
	/* Drift, as evictions and expiry without a close leave it. */
	CU_ASSERT_EQUAL_FATAL(set_count(1, 10), 0);
	CU_ASSERT_EQUAL_FATAL(set_count(2, -2), 0);
	CU_ASSERT_EQUAL_FATAL(set_count(5, 7), 0);
	CU_ASSERT_EQUAL_FATAL(xlb_sweep_run(sw), 0);
	for (size_t i = 0; i < NROWS; i++) {
		struct xlb_flow f;
		struct xlb_conn c;
		int gone;

		row_entry(&rows[i], i, now, &f, &c);
		gone =
		    bpf_map_lookup_elem(fd_of(i % 2 ? XLB_DP_CONNS_NEW : XLB_DP_CONNS), &f, &c) &&
		    errno == ENOENT;
		if (gone != (rows[i].verdict == XLB_SWEEP_DELETE))
			fprintf(stderr, "\n  %s: %s", rows[i].what, gone ? "deleted" : "kept");
		CU_ASSERT_EQUAL(gone, rows[i].verdict == XLB_SWEEP_DELETE);
		expired += rows[i].verdict == XLB_SWEEP_DELETE;
		if (rows[i].backend_id < NB) {
			want_active[rows[i].backend_id] += rows[i].active;
			want_inactive[rows[i].backend_id] += rows[i].inactive;
		}
	}
	counts = xlb_sweep_counts(sw);
	CU_ASSERT_PTR_NOT_NULL_FATAL(counts);
	for (__u32 id = 0; id < NB; id++) {
		CU_ASSERT_EQUAL(counts[id].active, want_active[id]);
		CU_ASSERT_EQUAL(counts[id].inactive, want_inactive[id]);
		/* Nothing else changed it during the pass: the count itself. */
		CU_ASSERT_EQUAL(get_count(id), (__s64)want_active[id]);
	}
	rep = xlb_sweep_last(sw);
	CU_ASSERT_TRUE(rep->have);
	CU_ASSERT_EQUAL(rep->scanned, NROWS);
	CU_ASSERT_EQUAL(rep->expired, expired);
	/* Backends 1, 2 (drifted), 4 (uncounted before) and 5 (drifted). */
	CU_ASSERT_EQUAL(rep->corrected, 4);
	CU_ASSERT_EQUAL(rep->drift, (10 - 2) + (1 + 2) + 1 + 7);
	CU_ASSERT_FALSE(xlb_sweep_pending(sw));
}

/* What the data plane adds while a pass runs survives its correction: a
 * flow recorded (+1) after the pass read the counts, in a bucket the walk
 * had read already (so not counted by it). */
static void test_pass_keeps_concurrent_changes(void)
{
	__s64 before = get_count(1);

	CU_ASSERT_EQUAL_FATAL(set_count(1, before + 4), 0); /* drift of 4 */
	CU_ASSERT_EQUAL_FATAL(xlb_sweep_start(sw), 0);
	CU_ASSERT_TRUE(xlb_sweep_pending(sw));
	CU_ASSERT_EQUAL_FATAL(xlb_dp_backend_conns_add(dp, 1, 1), 0);
	while (xlb_sweep_step(sw, 1000000) == 1)
		;
	CU_ASSERT_FALSE(xlb_sweep_pending(sw));
	CU_ASSERT_EQUAL(get_count(1), before + 1);
}

/* An aborted pass corrects nothing. */
static void test_abort(void)
{
	__s64 before = get_count(2);

	CU_ASSERT_EQUAL_FATAL(set_count(2, before + 9), 0);
	CU_ASSERT_EQUAL_FATAL(xlb_sweep_start(sw), 0);
	xlb_sweep_abort(sw);
	CU_ASSERT_EQUAL(xlb_sweep_step(sw, 1000000), 0);
	CU_ASSERT_EQUAL(get_count(2), before + 9);
	CU_ASSERT_EQUAL_FATAL(xlb_sweep_run(sw), 0);
	CU_ASSERT_EQUAL(get_count(2), before);
}

/* Slices end near their budget: a 1 us budget reads one batch a slice. */
static void test_slices(void)
{
	enum { FLOWS = 3000 };
	__u64 now = xlb_conn_now_ns();
	int steps = 0, ret;

	for (__u32 i = 0; i < FLOWS; i++) {
		struct xlb_flow f = {
		    .dst.v4 = htonl(0xc6126401U), .proto = IPPROTO_TCP, .family = XLB_AF_INET};
		struct xlb_conn c = {.backend_id = 6,
				     .backend_gen = gens[6],
				     .last_seen_ns = now,
				     .state = XLB_CONN_ESTABLISHED};

		f.src.v4 = htonl(0xc6130000U + i);
		f.sport = htons(1024 + i);
		CU_ASSERT_EQUAL_FATAL(bpf_map_update_elem(fd_of(XLB_DP_CONNS), &f, &c, BPF_ANY), 0);
	}
	CU_ASSERT_EQUAL_FATAL(xlb_sweep_start(sw), 0);
	do
		ret = xlb_sweep_step(sw, 1);
	while (ret == 1 && ++steps < 100000);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(steps > 5);
	CU_ASSERT(xlb_sweep_last(sw)->slices > 5);
	CU_ASSERT_EQUAL(xlb_sweep_counts(sw)[6].active, FLOWS);
	CU_ASSERT_EQUAL(get_count(6), FLOWS);
}

XLB_SUITE(sweep_pass, sweep_init, sweep_cleanup,
	  {"a pass deletes the expired, counts the live, corrects the counts", test_pass},
	  {"changes the data plane makes during a pass are kept",
	   test_pass_keeps_concurrent_changes},
	  {"an aborted pass corrects nothing", test_abort},
	  {"slices end near their budget", test_slices})
