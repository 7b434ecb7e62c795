// SPDX-License-Identifier: GPL-2.0
/* test_conn_tally.c: counting the connection table in slices (dataplane.c):
 * a slice ends near its budget however big the table, the slices add up to
 * the exact count, and a flow inserted meanwhile makes the count an
 * estimate. The maps are loaded, never attached. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_test.h"
#include "dataplane.h"
#include "xlb.skel.h"

#define FLOWS 40000 /* below one CPU's share: no eviction */

static struct xlb_dp *dp;

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int fill(__u32 n)
{
	struct xlb_flow *keys = calloc(n, sizeof(*keys));
	struct xlb_conn *vals = calloc(n, sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n;
	int err;

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < n; i++) {
		keys[i].src.v4 = htonl(0xc6120000U + i);
		keys[i].dst.v4 = htonl(0xc6126401U);
		keys[i].sport = htons(40000);
		keys[i].dport = htons(80);
		keys[i].proto = IPPROTO_TCP;
		keys[i].family = XLB_AF_INET;
	}
	err = bpf_map_update_batch(bpf_map__fd(dp->skel->maps.xlb_conns), keys, vals, &count, &opts)
		  ? -errno
		  : 0;
	free(keys);
	free(vals);
	return err ?: (count == n ? 0 : -EIO);
}

/* What the data plane does as it inserts a flow into xlb_conns. */
static int count_miss(void)
{
	struct xlb_counter *percpu = calloc(dp->nr_cpus, sizeof(*percpu));
	int fd = bpf_map__fd(dp->skel->maps.xlb_stats), err;
	__u32 key = XLB_STAT_CONN_PROMOTE;

	if (!percpu)
		return -ENOMEM;
	err = bpf_map_lookup_elem(fd, &key, percpu) ? -errno : 0;
	if (!err) {
		percpu[0].packets++;
		err = bpf_map_update_elem(fd, &key, percpu, BPF_ANY) ? -errno : 0;
	}
	free(percpu);
	return err;
}

static int suite_init(void)
{
	int ncpu = libbpf_num_possible_cpus();
	struct xlb_dp_opts opts = {.max_vips = 4, .max_backends = 8, .ring_size = 251};

	if (ncpu < 1)
		return -1;
	/* Every CPU's LRU list holds max_conns / ncpu entries. */
	opts.max_conns = 65536 * ncpu;
	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || fill(FLOWS))
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	xlb_dp_close(dp);
	return 0;
}

static void test_whole_count(void)
{
	__u64 n = 0;

	CU_ASSERT_EQUAL(xlb_dp_conn_count(dp, &n), 0);
	CU_ASSERT_EQUAL(n, FLOWS);
}

/* Calls stats' entry point until it starts a count (a new one waits until
 * the last one has rested as long as it ran). */
static int start_count(struct xlb_conn_tally *t)
{
	for (int tries = 0; tries < 1000000; tries++) {
		if (xlb_dp_conn_tally(dp, 1, t))
			return -1;
		if (t->counting)
			return 0;
	}
	return -1;
}

static void test_slices(void)
{
	struct xlb_conn_tally t;
	long long t0, slowest = 0;
	int steps = 0, ret;

	/* A 1 us budget is one batch per slice: many slices for 40000. */
	CU_ASSERT_EQUAL_FATAL(start_count(&t), 0);
	CU_ASSERT_TRUE(xlb_dp_conn_tally_pending(dp));
	do {
		t0 = now_us();
		ret = xlb_dp_conn_tally_step(dp, 1);
		if (now_us() - t0 > slowest)
			slowest = now_us() - t0;
		steps++;
	} while (ret == 1 && steps < 100000);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT(steps > 10);
	/* One batch of 256 entries is far below this even on a busy host. */
	CU_ASSERT(slowest < 50000);
	CU_ASSERT_FALSE(xlb_dp_conn_tally_pending(dp));
	CU_ASSERT_EQUAL(xlb_dp_conn_tally(dp, 1, &t), 0);
	CU_ASSERT_TRUE(t.have);
	CU_ASSERT_EQUAL(t.entries, FLOWS);
	CU_ASSERT_TRUE(t.exact);
	CU_ASSERT_FALSE(t.fresh);
}

static void test_insert_meanwhile_is_estimate(void)
{
	struct xlb_conn_tally t;
	int steps = 0, ret;

	CU_ASSERT_EQUAL_FATAL(start_count(&t), 0);
	CU_ASSERT_EQUAL_FATAL(count_miss(), 0);
	steps = 0;
	do
		ret = xlb_dp_conn_tally_step(dp, 1);
	while (ret == 1 && ++steps < 100000);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(xlb_dp_conn_tally(dp, 1, &t), 0);
	CU_ASSERT_TRUE(t.have);
	CU_ASSERT_FALSE(t.exact);
	CU_ASSERT(t.entries <= dp->max_conns);
}

static void test_small_table_counted_in_the_request(void)
{
	struct xlb_conn_tally t;
	int tries = 0;

	/* A table that one slice covers is counted fresh and exact. */
	do {
		CU_ASSERT_EQUAL_FATAL(xlb_dp_conn_tally(dp, 1000000, &t), 0);
	} while (!t.fresh && ++tries < 1000000);
	CU_ASSERT_TRUE(t.fresh);
	CU_ASSERT_TRUE(t.exact);
	CU_ASSERT_FALSE(t.counting);
	CU_ASSERT_EQUAL(t.entries, FLOWS);
}

XLB_SUITE(conn_tally, suite_init, suite_cleanup,
	  {"whole count equals the flows inserted", test_whole_count},
	  {"slices end near their budget and add up exactly", test_slices},
	  {"a flow inserted while counting makes an estimate", test_insert_meanwhile_is_estimate},
	  {"a small table is counted within the request", test_small_table_counted_in_the_request})
