// SPDX-License-Identifier: GPL-2.0
/* test_preview.c: a dry run (preview.c) predicts what the change then does:
 * the ring slots that change backend, counted against the data plane's
 * rings read before and after the real change, and the connection-table
 * entries that lose their backend; and the preview itself changes nothing.
 * Loads the xlb program (root) but attaches nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "cmd.h"
#include "dataplane.h"
#include "lb.h"
#include "preview.h"
#include "rules.h"
#include "xlb.skel.h"
#include "xlb_test.h"
#include "conn_state.h"

#define V1 "198.18.100.1:80/tcp"
#define V2 "198.18.100.2:80/tcp"
#define M  65537

static struct xlb_dp *dp;
static struct xlb_lb *lb;

/* Applies one command line to the load balancer, as a request would. */
static int run(const char *line, int dry, struct xlb_preview *p)
{
	char buf[256], err[XLB_ERRLEN];
	char *words[16];
	struct xlb_rules r;
	struct xlb_cmd c;
	int n, ret;

	snprintf(buf, sizeof(buf), "%s", line);
	n = xlb_rules_split(buf, words, 16);
	if (xlb_cmd_parse(n, words, &c, err, sizeof(err)) || xlb_rules_from_lb(&r, lb))
		return -EINVAL;
	ret = xlb_rules_step(&r, &c, err, sizeof(err));
	if (!ret)
		ret = dry ? xlb_preview_rules(lb, &r, p, err, sizeof(err))
			  : xlb_rules_apply(lb, &r, err, sizeof(err));
	if (ret)
		fprintf(stderr, "%s: %s\n", line, err);
	xlb_rules_free(&r);
	return ret;
}

static int suite_init(void)
{
	struct xlb_dp_opts opts = {
	    .ring_size = M, .max_vips = 4, .max_backends = 16, .max_conns = 4096};
	static const char *const lines[] = {
	    "vip add " V1,
	    "backend add " V1 " 198.18.0.11",
	    "backend add " V1 " 198.18.0.12",
	    "backend add " V1 " 198.18.0.13 weight 2",
	    "backend add " V1 " 198.18.0.14",
	    "vip add " V2,
	    "backend add " V2 " 198.18.0.11",
	    "backend add " V2 " 198.18.0.12",
	};

	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || xlb_lb_new(dp, &lb)) {
		fprintf(stderr, "cannot load the xlb program\n");
		return -1;
	}
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (run(lines[i], 0, NULL))
			return -1;
	return 0;
}

static int suite_cleanup(void)
{
	xlb_lb_free(lb);
	xlb_dp_close(dp);
	return 0;
}

static struct xlb_lb_vip *vip_of(const char *text)
{
	struct xlb_vip_key key;
	char err[XLB_ERRLEN];

	CU_ASSERT_FATAL(xlb_vip_key_parse(text, &key, err, sizeof(err)) == 0);
	return xlb_lb_vip_find(lb, &key);
}

static struct xlb_lb_backend *backend_of(const char *vip, const char *addr)
{
	union xlb_addr a;
	__u8 fam;

	CU_ASSERT_FATAL(xlb_addr_parse(addr, &a, &fam) == 0);
	return xlb_lb_backend_find(lb, vip_of(vip), &a, fam);
}

/* The owner address (as text) of every slot of a VIP's ring, from the map. */
static void read_ring(const char *vip, __u32 *addr_v4)
{
	__u32 id = vip_of(vip)->id, be;

	for (__u32 s = 0; s < M; s++) {
		CU_ASSERT_FATAL(xlb_dp_ring_slot(dp, id, s, &be) == 0);
		addr_v4[s] = lb->backends[be].addr.v4;
	}
}

static __u64 coarse_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* n entries of established flows from distinct clients, pinned to a
 * backend, seen just now (an entry idle past its timeout breaks nothing). */
static void add_conns(const struct xlb_lb_backend *b, __u32 first, __u32 n)
{
	int fd = bpf_map__fd(dp->skel->maps.xlb_conns);

	for (__u32 i = 0; i < n; i++) {
		struct xlb_flow f = {0};
		struct xlb_conn c = {.backend_id = b->id,
				     .backend_gen = lb->gens[b->id],
				     .last_seen_ns = coarse_now_ns(),
				     .state = XLB_CONN_ESTABLISHED};

		f.src.v4 = htonl(0xc6120000U + first + i);
		f.dst = vip_of(V1)->key.addr;
		f.sport = htons(40000);
		f.dport = htons(80);
		f.proto = 6;
		f.family = XLB_AF_INET;
		CU_ASSERT_FATAL(bpf_map_update_elem(fd, &f, &c, BPF_ANY) == 0);
	}
}

static void test_backend_del(void)
{
	__u32 *before = calloc(M, 4), *mid = calloc(M, 4), *after = calloc(M, 4);
	struct xlb_rules r0, r1;
	struct xlb_preview p;
	char *t0, *t1;
	__u32 real = 0;
	size_t i;

	CU_ASSERT_FATAL(before && mid && after);
	add_conns(backend_of(V1, "198.18.0.12"), 0, 37);
	add_conns(backend_of(V1, "198.18.0.11"), 100, 20);
	read_ring(V1, before);
	CU_ASSERT_FATAL(xlb_rules_from_lb(&r0, lb) == 0);

	CU_ASSERT_FATAL(run("backend del " V1 " 198.18.0.12", 1, &p) == 0);
	/* Nothing changed: configuration and ring. */
	CU_ASSERT_FATAL(xlb_rules_from_lb(&r1, lb) == 0);
	t0 = xlb_rules_format(&r0);
	t1 = xlb_rules_format(&r1);
	CU_ASSERT_STRING_EQUAL(t0, t1);
	free(t0);
	free(t1);
	xlb_rules_free(&r0);
	xlb_rules_free(&r1);
	read_ring(V1, mid);
	CU_ASSERT(memcmp(before, mid, M * 4) == 0);

	/* What it said, against what the change then does. */
	CU_ASSERT_FATAL(run("backend del " V1 " 198.18.0.12", 0, NULL) == 0);
	read_ring(V1, after);
	for (__u32 s = 0; s < M; s++)
		real += before[s] != after[s];
	for (i = 0; i < p.n_vips; i++)
		if (!strcmp(inet_ntoa((struct in_addr){p.vips[i].key.addr.v4}), "198.18.100.1"))
			break;
	CU_ASSERT_FATAL(i < p.n_vips);
	printf("\n    backend del: preview %u slots, real %u of %u (%.2f%%) ",
	       p.vips[i].slots_changed, real, M, 100.0 * real / M);
	CU_ASSERT(p.vips[i].slots_changed == real);
	CU_ASSERT(p.vips[i].change == XLB_PREVIEW_CHANGED);
	CU_ASSERT(p.vips[i].in_ring_before == 4 && p.vips[i].in_ring_after == 3);
	CU_ASSERT(p.vips[i].conns_break == 37);
	CU_ASSERT(p.conns_break == 37);
	CU_ASSERT(p.conns_complete == 1);
	CU_ASSERT(p.conns_scanned == 57);
	/* The other VIP shares an address but loses nothing. */
	for (size_t k = 0; k < p.n_vips; k++)
		if (k != i)
			CU_ASSERT(p.vips[k].change == XLB_PREVIEW_UNCHANGED);
	xlb_preview_free(&p);
	free(before);
	free(mid);
	free(after);
}

static void test_other_changes(void)
{
	struct xlb_preview p;

	/* A new backend takes about its weight's share, breaks nothing. */
	CU_ASSERT_FATAL(run("backend add " V2 " 198.18.0.15", 1, &p) == 0);
	CU_ASSERT(p.conns_break == 0);
	for (size_t i = 0; i < p.n_vips; i++)
		if (p.vips[i].change == XLB_PREVIEW_CHANGED) {
			double share = (double)p.vips[i].slots_changed / M;

			CU_ASSERT(share > 0.30 && share < 0.37); /* 1/3 of the ring */
		}
	xlb_preview_free(&p);
	/* Drain: slots move, established connections stay. */
	CU_ASSERT_FATAL(run("backend set " V1 " 198.18.0.11 weight 0", 1, &p) == 0);
	CU_ASSERT(p.conns_break == 0);
	xlb_preview_free(&p);
	/* Removing the VIP breaks all of its tracked connections. */
	CU_ASSERT_FATAL(run("vip del " V1, 1, &p) == 0);
	CU_ASSERT(p.conns_break == 20);
	for (size_t i = 0; i < p.n_vips; i++)
		if (p.vips[i].change == XLB_PREVIEW_REMOVED)
			CU_ASSERT(p.vips[i].slots_changed == M);
	xlb_preview_free(&p);
	/* sched changes the hash of every flow, not the ring. */
	CU_ASSERT_FATAL(run("vip set " V2 " sched sh", 1, &p) == 0);
	for (size_t i = 0; i < p.n_vips; i++)
		if (p.vips[i].change != XLB_PREVIEW_UNCHANGED)
			CU_ASSERT(p.vips[i].rehash == 1 && p.vips[i].slots_changed == 0);
	xlb_preview_free(&p);
}

XLB_SUITE(preview, suite_init, suite_cleanup,
	  {"backend del: slots as the real change, its connections", test_backend_del},
	  {"add, drain, vip del, sched", test_other_changes})
