// SPDX-License-Identifier: GPL-2.0
/* xlb_connfill.c: fills a pinned xlb connection table from userspace, then
 * optionally keeps replacing its entries for a while (churn), so that tests
 * see a full table without generating millions of flows. Writes only the map
 * it is given; every phase is bounded in count and time.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb.h"

#define BATCH	    256
#define MAX_FILL    (1U << 26)
#define MAX_CHURN_S 600
#define MAX_RATE    10000000

static const char usage_text[] =
    "Usage: xlb-connfill MAP_PIN --fill N [--churn SECONDS [--rate N]]\n"
    "                    [--state new|established|closing] [--idle S] [--backend ID]\n"
    "                    [--gen G]\n"
    "Inserts N random IPv4 TCP flows into the pinned xlb_conns map MAP_PIN, spread\n"
    "over every CPU (the table keeps one LRU list per CPU), then with --churn keeps\n"
    "inserting new flows at --rate per second (default 100000) for SECONDS, each\n"
    "evicting the least recently used entry of a full table. Entries are in --state\n"
    "(default established), last seen --idle seconds ago (default 0: now), of\n"
    "backend --backend (default 0) at generation --gen (default 0).\n";

/* What every entry holds besides its key. */
static struct xlb_conn proto_conn = {.state = XLB_CONN_ESTABLISHED};

static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

static __u64 rng(void)
{
	/* xorshift64*: enough to spread keys over the buckets */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A flow from 198.18.0.0/15 to 198.18.100.1:80, its value proto_conn: with
 * backend 0 and generation 0 the data plane treats it as stale if it ever
 * sees it, which it will not. */
static void random_flow(struct xlb_flow *k, struct xlb_conn *v)
{
	__u64 r = rng();

	memset(k, 0, sizeof(*k));
	*v = proto_conn;
	k->src.v4 = htonl(0xc6120000U | (__u32)(r & 0x1ffff));
	k->dst.v4 = htonl(0xc6126401U);
	k->sport = htons(1024 + (__u16)((r >> 17) % 64512));
	k->dport = htons(80);
	k->proto = IPPROTO_TCP;
	k->family = XLB_AF_INET;
	/* The rest of the bits keep keys distinct beyond 2^17 sources. */
	k->src.v6[1] = (__u32)(r >> 33);
}

static int insert(int fd, __u32 n)
{
	static struct xlb_flow keys[BATCH];
	static struct xlb_conn vals[BATCH];
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = n;

	for (__u32 i = 0; i < n; i++)
		random_flow(&keys[i], &vals[i]);
	if (bpf_map_update_batch(fd, keys, vals, &count, &opts))
		return -errno;
	return 0;
}

static int on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"fill", required_argument, NULL, 'f'},
	    {"churn", required_argument, NULL, 'c'},
	    {"rate", required_argument, NULL, 'r'},
	    {"state", required_argument, NULL, 's'},
	    {"idle", required_argument, NULL, 'i'},
	    {"backend", required_argument, NULL, 'b'},
	    {"gen", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long fill = 0, churn_s = 0, rate = 100000, idle_s = 0;
	struct timespec ts;
	__u64 churned = 0;
	int fd, c, ncpu, ret;
	double t0, end;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fill = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			churn_s = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rate = strtoul(optarg, NULL, 10);
			break;
		case 's':
			if (!strcmp(optarg, "new"))
				proto_conn.state = XLB_CONN_NEW;
			else if (!strcmp(optarg, "closing"))
				proto_conn.state = XLB_CONN_CLOSING;
			else if (strcmp(optarg, "established")) {
				fprintf(stderr,
					"Error: bad --state '%s', expected new, "
					"established or closing\n",
					optarg);
				return 2;
			}
			break;
		case 'i':
			idle_s = strtoul(optarg, NULL, 10);
			break;
		case 'b':
			proto_conn.backend_id = strtoul(optarg, NULL, 10);
			break;
		case 'g':
			proto_conn.backend_gen = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !fill || fill > MAX_FILL || churn_s > MAX_CHURN_S || !rate ||
	    rate > MAX_RATE) {
		fprintf(stderr, "Error: expected MAP_PIN, --fill 1-%u, --churn 0-%u, --rate 1-%u\n",
			MAX_FILL, MAX_CHURN_S, MAX_RATE);
		return 2;
	}
	rng_state ^= (__u64)getpid() << 32 ^ (__u64)time(NULL);
	/* The data plane's clock (bpf_ktime_get_coarse_ns). */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	if ((unsigned long)ts.tv_sec <= idle_s) {
		fprintf(stderr, "Error: --idle %lu is longer than the clock has run\n", idle_s);
		return 2;
	}
	proto_conn.last_seen_ns = (ts.tv_sec - idle_s) * 1000000000ULL + ts.tv_nsec;
	proto_conn.created_s = (__u32)(ts.tv_sec - idle_s);
	fd = bpf_obj_get(argv[optind]);
	if (fd < 0) {
		fprintf(stderr, "Error: cannot open map %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	ncpu = libbpf_num_possible_cpus();
	if (ncpu < 1)
		ncpu = 1;
	t0 = now_s();
	/* Each CPU's LRU list holds max_entries / ncpu: fill them all. */
	for (int cpu = 0; cpu < ncpu; cpu++) {
		__u64 share = fill / ncpu + (cpu < (int)(fill % ncpu));

		if (on_cpu(cpu))
			continue; /* possible but offline */
		for (__u64 done = 0; done < share;) {
			__u32 n = share - done > BATCH ? BATCH : share - done;

			ret = insert(fd, n);
			if (ret) {
				fprintf(stderr, "Error: insert: %s\n", strerror(-ret));
				return 1;
			}
			done += n;
		}
	}
	printf("filled %lu flows in %.2f s\n", fill, now_s() - t0);
	fflush(stdout);
	end = now_s() + churn_s;
	for (int cpu = 0; churn_s && now_s() < end; cpu = (cpu + 1) % ncpu) {
		double next = now_s() + (double)BATCH / rate;

		on_cpu(cpu);
		ret = insert(fd, BATCH);
		if (ret) {
			fprintf(stderr, "Error: churn: %s\n", strerror(-ret));
			return 1;
		}
		churned += BATCH;
		while (now_s() < next)
			usleep(200);
	}
	if (churn_s)
		printf("churned %llu flows in %lu s\n", (unsigned long long)churned, churn_s);
	close(fd);
	return 0;
}
