// SPDX-License-Identifier: GPL-2.0
/* xlb_bench.c: xlb-bench, the benchmarks behind `make bench`. Measures the
 * data plane's per-packet cost through BPF_PROG_TEST_RUN (bench/xlb_bench.bpf.c
 * wraps the real packet path), the control plane (Maglev build, time for a
 * backend change to reach the data plane, memory per VIP), Maglev's balance
 * and disruption, and forwarding throughput over veth. Every figure comes with
 * a baseline measured in the same run, and every per-packet case with the
 * counters that prove it took the path it names. Speed is never pass/fail;
 * the exit status only says whether the measurements are valid.
 *
 * Runs in a private network namespace of its own (routes and permanent
 * neighbours for bpf_fib_lookup, veths for the throughput harness), pinned
 * to one CPU; the throughput's two-CPU mode adds a sender on a second one.
 * Usage: xlb-bench [--quick] [--no-throughput] [--throughput-only]
 *                  [--tput-flows N] [--json FILE] [--cpu N] [--against OBJ]
 *                  [--paired-only] [--pair-case NAME] [--pair-rounds N]
 *                  [--pair-copies N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <jansson.h>

#include "xlb.h"
#include "xlb_hash.h"
#include "addr.h"
#include "dataplane.h"
#include "lb.h"
#include "cmd.h"
#include "log.h"
#include "maglev.h"
#include "xlb.skel.h"
#include "xlb_bench.skel.h"
#include "xlb_decap.h"
#include "xlb_decap.skel.h"
#include "xlb_decap_bench.skel.h"
#include "decap.h"
#include <sys/socket.h>

/* The fixture tests' packet builder (tests/lib/pkt.c, not part of libxlb): the
 * benchmark's frames come from the same code, written independently of the
 * data plane. */
#include "pkt.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Every frame is as long as the wrapper's copy of it (BENCH_FRAME_LEN). */
#define FRAME_LEN sizeof(((struct xlb_bench_bpf__bss *)0)->bench_frame)
/* Room for a frame plus the largest outer header xlb adds. */
#define OUT_LEN 256

#define LB_IF	     "xlbb0" /* per-packet cases: the LB's interface */
#define TPUT_LB_IF   "xbt_l" /* throughput: the LB's veth */
#define TPUT_GEN_IF  "xbt_g" /* throughput: its peer, in the generator's namespace */
#define TPUT_LB_MAC  "02:00:00:00:01:02"
#define TPUT_GEN_MAC "02:00:00:00:01:01"

#define VIP4		 "198.18.100.1:80/tcp"
#define VIP6		 "[2001:db8:100::1]:80/tcp"
#define VIP_CP		 "198.18.101.1:80/tcp" /* the many-backend VIP of the control plane */
#define VIP_TPUT	 "198.18.100.9:80/tcp"
/* A VIP with a source ACL of a few prefixes, one with a limit nobody
 * reaches, one whose limit every new flow is over. */
#define VIP_ACL		 "198.18.100.2:80/tcp"
#define VIP_ACL_PROT	 "allow 198.18.0.0/15,198.18.1.0/24,198.19.0.0/16 deny 198.18.66.0/24"
#define VIP_LIM		 "198.18.100.3:80/tcp"
#define VIP_LIM_PROT	 "limit 1000000/s burst 1000000"
#define VIP_LIM1	 "198.18.100.4:80/tcp"
#define VIP_NOLIM	 "198.18.100.5:80/tcp" /* VIP_LIM's twin without a limit */
#define VIP_RR		 "198.18.100.6:80/tcp" /* VIP_NOLIM's twin with sched rr */
/* A VIP whose ring moved every flow from 198.18.0.11 to .12 (weight 0,
 * valid): each miss that is no SYN is hinted (the second chance). */
#define VIP_SC		 "198.18.100.7:80/tcp"
#define VIP_LIM1_PROT	 "limit 1/s burst 1"
/* The new-flow cost of each scheduler over 4 and over 64 backends
 * (sched_vips: 198.18.100.20-25 and .30-35). */
#define SCHED_FEW	 4
#define SCHED_MANY	 XLB_LC_MAX_BACKENDS
#define TPUT_BACKEND	 "198.18.64.11"
#define CP_BACKEND_BASE	 0xc6120801U /* 198.18.8.1: backends of VIP_CP, and +0x400 new ones */
#define CYCLE_SRC_BASE	 0xc6130000U /* 198.19.0.0: sources of the established flows */
#define NEWFLOW_SRC_BASE 0xc6128000U /* 198.18.128.0: sources of the new flows */
#define PROBE_SRC_BASE	 0xc612a000U /* 198.18.160.0: probes of the control plane */

static const char *const setup_cmds[] = {
    "ip link set lo up",
    "ip link add " LB_IF " address 02:00:00:00:00:02 type veth peer name xlbb1",
    "ip link set " LB_IF " up && ip link set xlbb1 up",
    "ip addr add 198.18.0.2/24 dev " LB_IF,
    "ip -6 addr add 2001:db8::2/64 dev " LB_IF " nodad",
    "for i in 11 12 13 14 15 16 17 18 19 20; do "
    "ip neigh add 198.18.0.$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent && "
    "ip neigh add 2001:db8::$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent "
    "|| exit 1; done",
    /* The schedulers' 64 backends: 198.18.0.11-74. */
    "for i in $(seq 21 74); do "
    "ip neigh add 198.18.0.$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent "
    "|| exit 1; done",
    /* The control plane's 1000 backends: routed, no neighbour (fib_pass). */
    "ip route add 198.18.8.0/21 dev " LB_IF,
    /* Two queues each way: veth picks a queue by the sending CPU, so the
     * two-core mode gets a NAPI per CPU on both ends. */
    "ip link add " TPUT_LB_IF " address " TPUT_LB_MAC " numtxqueues 2 numrxqueues 2 type veth "
    "peer name " TPUT_GEN_IF " address " TPUT_GEN_MAC " numtxqueues 2 numrxqueues 2",
    /* No IPv6 on the throughput veth: its ND and MLD frames would reach
     * the receiver's counter. */
    "sysctl -qw net.ipv6.conf." TPUT_LB_IF ".disable_ipv6=1",
    "ip link set " TPUT_LB_IF " up",
    "ip addr add 198.18.64.2/24 dev " TPUT_LB_IF,
    "ip neigh add " TPUT_BACKEND " lladdr " TPUT_GEN_MAC " dev " TPUT_LB_IF " nud permanent",
    "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
    NULL,
};

struct params {
	int quick;
	__u32 repeat;	   /* BPF_PROG_TEST_RUN repeats per timed run */
	int runs;	   /* timed runs per case */
	__u32 flows;	   /* established flows of the cycling case, a power of 2 */
	int build_iters;   /* Maglev builds timed per size */
	__u32 cp_backends; /* backends of the VIP whose changes are timed */
	int cp_trials;	   /* backend add/remove rounds */
	double tput_secs;  /* generator time per throughput mode and round */
	int tput_rounds;
	int throughput;
	int decap_only; /* --decap-only: the backends' program alone */
	int tput_only;	/* --throughput-only: the veth throughput part alone */
	int paired_only; /* --paired-only: the comparison with --against alone */
	int pair_rounds; /* --pair-rounds: rounds of each paired case (0: PAIR_ROUNDS) */
	int pair_copies; /* --pair-copies: loads of each build (0: PAIR_COPIES) */
	const char *pair_case; /* --pair-case: the one case to pair (NULL: all) */
	__u32 tput_flows; /* --tput-flows: the generator's flows (power of 2) */
	int cpu;
	int cpu2; /* another allowed CPU for the two-core throughput, or -1 */
	const char *json_path;
	const char *against; /* another build's xlb_bench.bpf.o, timed paired with this one */
};

static struct params P;
static struct xlb_dp *dp;
static struct xlb_lb *lb;
static struct xlb_bench_bpf *skel;
static unsigned int lb_ifindex;
static int invalid; /* measurements whose path check failed */
static char err[XLB_ERRLEN];

/* ---- helpers -------------------------------------------------------------- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v in place; returns the median (mean of the middle two if even). */
static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double minimum(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

static double mean(const double *v, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += v[i];
	return n ? sum / n : 0;
}

static double ratio(double x, double base)
{
	return base > 0 ? x / base : 0;
}

static json_t *jreal(double x)
{
	/* Three decimals are more than any of these figures can claim. */
	return json_real((double)(long long)(x * 1000 + (x < 0 ? -0.5 : 0.5)) / 1000);
}

static int vip_key(const char *text, struct xlb_vip_key *key)
{
	return xlb_vip_key_parse(text, key, err, sizeof(err)) ? -EINVAL : 0;
}

static int add_vip_flags(const char *text, __u32 flags)
{
	struct xlb_vip_key key;

	if (vip_key(text, &key) || xlb_lb_vip_add(lb, &key, flags, err, sizeof(err))) {
		pr_err("vip %s: %s", text, err);
		return -1;
	}
	return 0;
}

static int add_vip(const char *text)
{
	return add_vip_flags(text, 0);
}

/* The VIP's protection as "vip set VIP <words>" gives it. */
static int set_protect(const char *vip, const char *words)
{
	char line[256], *argv[16], *save = NULL;
	struct xlb_vip_key key;
	struct xlb_cmd c;
	int argc = 0;

	snprintf(line, sizeof(line), "vip set %s %s", vip, words);
	for (char *w = strtok_r(line, " ", &save); w && argc < 16; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	if (xlb_cmd_parse(argc, argv, &c, err, sizeof(err)) || vip_key(vip, &key) ||
	    xlb_lb_vip_set_protect(lb, &key, &c.prot, err, sizeof(err))) {
		pr_err("vip %s %s: %s", vip, words, err);
		return -1;
	}
	return 0;
}

/* Empty buckets that never refill (last refill in the far future) for the
 * sources the new-flow mode uses, so that every packet to VIP_LIM1 is over
 * the limit, the first of each source too. 4096 sources of 65536 flows
 * each: more packets than any run sends. */
static int spend_limit(void)
{
	int fd = bpf_map__fd(dp->skel->maps.xlb_buckets);
	struct xlb_bucket b = {.last_ns = ~0ULL >> 1, .credit_ns = 0};
	struct xlb_vip_key vk;
	struct xlb_lb_vip *v;

	if (vip_key(VIP_LIM1, &vk) || !(v = xlb_lb_vip_find(lb, &vk)))
		return -1;
	for (__u32 k = 0; k < 4096; k++) {
		struct xlb_bucket_key key = {.vip_id = v->id, .family = XLB_AF_INET};

		key.src.v4 = htonl(NEWFLOW_SRC_BASE + k);
		if (bpf_map_update_elem(fd, &key, &b, BPF_ANY)) {
			pr_err("cannot write a bucket: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int add_backend_w(const char *vip, const union xlb_addr *addr, __u8 family, __u32 weight)
{
	struct xlb_vip_key key;

	if (vip_key(vip, &key) ||
	    xlb_lb_backend_add(lb, &key, addr, family, weight, err, sizeof(err))) {
		pr_err("vip %s: backend: %s", vip, err);
		return -1;
	}
	return 0;
}

static int add_backend(const char *vip, const union xlb_addr *addr, __u8 family)
{
	return add_backend_w(vip, addr, family, 1);
}

static int add_backend_text(const char *vip, const char *text)
{
	union xlb_addr addr;
	__u8 family;

	if (xlb_addr_parse(text, &addr, &family)) {
		pr_err("bad backend address %s", text);
		return -1;
	}
	return add_backend(vip, &addr, family);
}

static union xlb_addr addr4(__u32 host_order)
{
	union xlb_addr a = {0};

	a.v4 = htonl(host_order);
	return a;
}

static void counters(__u64 out[__XLB_STAT_MAX])
{
	struct xlb_counter c;

	for (int i = 0; i < __XLB_STAT_MAX; i++)
		out[i] = xlb_dp_counter(dp, i, &c) ? 0 : c.packets;
}

static int build_frame(struct pkt *p, int family, const char *src, const char *dst, __u16 sport,
		       __u8 tcp_flags)
{
	struct pkt_spec s = {
	    .family = family,
	    .src = src,
	    .dst = dst,
	    .proto = IPPROTO_TCP,
	    .sport = sport,
	    .dport = 80,
	    .tcp_flags = tcp_flags,
	    .payload_len = FRAME_LEN - 14 - (family == 6 ? 40 : 20) - 20,
	};

	if (pkt_build(p, &s) || p->len != FRAME_LEN) {
		pr_err("cannot build a %zu-byte frame %s -> %s", FRAME_LEN, src, dst);
		return -1;
	}
	return 0;
}

/* One BPF_PROG_TEST_RUN of repeat iterations; *ns is the kernel's time per
 * packet. Not wall time: every XDP test run also re-patches the BPF
 * dispatcher on entry and exit, some milliseconds that would add several ns
 * per packet even at a million repeats. The kernel's figure is truncated to
 * whole nanoseconds. */
static int test_run(int prog_fd, const struct pkt *in, __u32 repeat, double *ns, __u32 *action,
		    struct pkt *out)
{
	struct xdp_md ctx = {.data_end = (__u32)in->len, .ingress_ifindex = lb_ifindex};
	static __u8 sink[OUT_LEN];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = (__u32)in->len,
		    .data_out = out ? out->data : sink, .data_size_out = OUT_LEN, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	if (ns)
		*ns = opts.duration;
	if (action)
		*action = opts.retval;
	if (out)
		out->len = opts.data_size_out;
	return 0;
}

static const char *action_name(__u32 a)
{
	static const char *const names[] = {"ABORTED", "DROP", "PASS", "TX", "REDIRECT"};

	return a < 5 ? names[a] : "?";
}

/* ---- machine -------------------------------------------------------------- */

static void first_line(const char *cmd, char *buf, size_t len)
{
	FILE *f = popen(cmd, "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	pclose(f);
}

static json_t *machine_json(void)
{
	char cpu[256] = "unknown", clang[256], line[512];
	struct utsname u;
	FILE *f;

	uname(&u);
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			snprintf(cpu, sizeof(cpu), "%s", colon + 2);
			cpu[strcspn(cpu, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	first_line("clang --version 2>/dev/null", clang, sizeof(clang));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:i}", "sysname", u.sysname,
			 "kernel", u.release, "kernel_build", u.version, "arch", u.machine, "cpu",
			 cpu, "nproc", (int)sysconf(_SC_NPROCESSORS_ONLN), "possible_cpus",
			 libbpf_num_possible_cpus(), "clang", clang, "libbpf",
			 libbpf_version_string(), "pinned_cpu", P.cpu);
}

/* ---- setup ---------------------------------------------------------------- */

static const __u32 sched_flags[] = {0, XLB_VIP_F_SRC_HASH, XLB_VIP_F_RR, XLB_VIP_F_WRR,
				    XLB_VIP_F_LC, XLB_VIP_F_WLC};

/* One VIP per scheduler with SCHED_FEW backends (198.18.100.20 + i) and
 * one with SCHED_MANY (198.18.100.30 + i); weights 1-4 in turn. */
static int add_sched_vips(void)
{
	for (size_t i = 0; i < sizeof(sched_flags) / sizeof(sched_flags[0]); i++) {
		for (int many = 0; many < 2; many++) {
			char v[64], a[64];
			int n = many ? SCHED_MANY : SCHED_FEW;

			snprintf(v, sizeof(v), "198.18.100.%zu:80/tcp", (many ? 30 : 20) + i);
			if (add_vip_flags(v, sched_flags[i]))
				return -1;
			for (int b = 0; b < n; b++) {
				union xlb_addr addr;
				__u8 family;

				snprintf(a, sizeof(a), "198.18.0.%d", 11 + b);
				if (xlb_addr_parse(a, &addr, &family) ||
				    add_backend_w(v, &addr, family, 1 + (__u32)b % 4))
					return -1;
			}
		}
	}
	return 0;
}

static int enter_netns(void)
{
	if (unshare(CLONE_NEWNET)) {
		pr_err("unshare(CLONE_NEWNET): %s (xlb-bench needs root)", strerror(errno));
		return -1;
	}
	for (const char *const *c = setup_cmds; *c; c++) {
		if (system(*c)) {
			pr_err("network setup failed: %s", *c);
			return -1;
		}
	}
	lb_ifindex = if_nametoindex(LB_IF);
	return lb_ifindex ? 0 : -1;
}

/* VIP_SC: 198.18.0.11 alone, then in one rebuild .12 added and .11 set to
 * weight 0: the previous ring names .11 for every flow, the current .12. */
static int setup_second_chance(void)
{
	struct xlb_vip_key key;
	union xlb_addr a11, a12;
	__u8 family;

	if (add_vip(VIP_SC) || add_backend_text(VIP_SC, "198.18.0.11") || vip_key(VIP_SC, &key) ||
	    xlb_addr_parse("198.18.0.11", &a11, &family) ||
	    xlb_addr_parse("198.18.0.12", &a12, &family))
		return -1;
	xlb_lb_batch_begin(lb);
	if (xlb_lb_backend_add(lb, &key, &a12, family, 1, err, sizeof(err)) ||
	    xlb_lb_backend_set_weight(lb, &key, &a11, family, 0, err, sizeof(err)) ||
	    xlb_lb_batch_commit(lb)) {
		pr_err("vip %s: %s", VIP_SC, err);
		return -1;
	}
	return 0;
}

static int setup_dataplane(void)
{
	int ncpu = libbpf_num_possible_cpus();
	/* BPF_F_NO_COMMON_LRU: each CPU gets max_conns / ncpu entries, and all
	 * of the cycling case's flows land on the pinned CPU. */
	struct xlb_dp_opts opts = {
	    .max_conns = (__u32)ncpu * (P.flows + P.flows / 4 + 65536),
	};
	struct xlb_config cfg = {.udp_timeout_s = XLB_UDP_TIMEOUT_DEFAULT_S,
				  .syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S};
	int err2;

	if ((err2 = xlb_dp_open(&opts, &dp)) || (err2 = xlb_dp_load(dp)) ||
	    (err2 = xlb_lb_new(dp, &lb))) {
		pr_err("cannot load the xlb data plane: %s", strerror(-err2));
		return -1;
	}
	inet_pton(AF_INET, "198.18.0.2", &cfg.src4);
	inet_pton(AF_INET6, "2001:db8::2", &cfg.src6);
	if (xlb_dp_config_set(dp, &cfg))
		return -1;
	if (add_vip(VIP4) || add_vip(VIP6) || add_vip(VIP_ACL) || add_vip(VIP_LIM) ||
	    add_vip(VIP_LIM1) || add_vip(VIP_NOLIM) || add_vip_flags(VIP_RR, XLB_VIP_F_RR) ||
	    set_protect(VIP_ACL, VIP_ACL_PROT) ||
	    set_protect(VIP_LIM, VIP_LIM_PROT) || set_protect(VIP_LIM1, VIP_LIM1_PROT) ||
	    spend_limit())
		return -1;
	if (add_sched_vips())
		return -1;
	for (int i = 11; i <= 20; i++) {
		char a[64];

		snprintf(a, sizeof(a), "198.18.0.%d", i);
		if (add_backend_text(VIP4, a) || add_backend_text(VIP_ACL, a) ||
		    add_backend_text(VIP_LIM, a) || add_backend_text(VIP_LIM1, a) ||
		    add_backend_text(VIP_NOLIM, a) || add_backend_text(VIP_RR, a))
			return -1;
		snprintf(a, sizeof(a), "2001:db8::%d", i);
		if (add_backend_text(VIP6, a))
			return -1;
	}
	/* Every addition above changed a ring: the cases measure VIPs
	 * without a previous ring, as after the second-chance window. */
	for (__u32 id = 0; id < dp->max_vips; id++)
		if (xlb_dp_ring_prev_drop(dp, id))
			return -1;
	return setup_second_chance();
}

/* Opens the wrapper object on the data plane's own maps, so that bench_lb
 * runs the same code on the same state as xlb_lb. */
static int setup_bench(void)
{
	int err2;

	skel = xlb_bench_bpf__open();
	if (!skel) {
		pr_err("cannot open the bench object: %s", strerror(errno));
		return -1;
	}
	/* xlb_rings, xlb_rings_prev: the reused outer map carries its inner-map template into
	 * the verifier, so libbpf needs no template of its own. */
	struct bpf_map *pairs[][2] = {
	    {skel->maps.xlb_vips, dp->skel->maps.xlb_vips},
	    {skel->maps.xlb_vip_addrs, dp->skel->maps.xlb_vip_addrs},
	    {skel->maps.xlb_novip, dp->skel->maps.xlb_novip},
	    {skel->maps.xlb_rings, dp->skel->maps.xlb_rings},
	    {skel->maps.xlb_rings_prev, dp->skel->maps.xlb_rings_prev},
	    {skel->maps.xlb_backends, dp->skel->maps.xlb_backends},
	    {skel->maps.xlb_conns, dp->skel->maps.xlb_conns},
	    {skel->maps.xlb_conns_new, dp->skel->maps.xlb_conns_new},
	    {skel->maps.xlb_budget, dp->skel->maps.xlb_budget},
	    {skel->maps.xlb_stats, dp->skel->maps.xlb_stats},
	    {skel->maps.xlb_config, dp->skel->maps.xlb_config},
	    {skel->maps.xlb_tx_ports, dp->skel->maps.xlb_tx_ports},
	    {skel->maps.xlb_acl, dp->skel->maps.xlb_acl},
	    {skel->maps.xlb_limits, dp->skel->maps.xlb_limits},
	    {skel->maps.xlb_buckets, dp->skel->maps.xlb_buckets},
	    {skel->maps.xlb_backend_conns, dp->skel->maps.xlb_backend_conns},
	    {skel->maps.xlb_members, dp->skel->maps.xlb_members},
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		err2 = bpf_map__reuse_fd(pairs[i][0], bpf_map__fd(pairs[i][1]));
		if (err2) {
			pr_err("cannot share map %s: %s", bpf_map__name(pairs[i][1]),
			       strerror(-err2));
			return -1;
		}
	}
	skel->rodata->xlb_ring_size = dp->ring_size;
	skel->rodata->xlb_max_vips = dp->max_vips;
	skel->rodata->xlb_max_backends = dp->max_backends;
	err2 = xlb_bench_bpf__load(skel);
	if (err2) {
		pr_err("cannot load the bench object: %s", strerror(-err2));
		return -1;
	}
	return 0;
}

/* Spends (or gives back) every CPU's budget of new entries: budget 1, and
 * a window that starts an hour from now holds until then (budget.bpf.h). */
static int spend_budget(int spent)
{
	struct xlb_budget *b = calloc((size_t)dp->nr_cpus, sizeof(*b));
	struct xlb_config cfg;
	struct timespec ts;
	__u32 zero = 0;
	int ret;

	if (!b || xlb_dp_config_get(dp, &cfg)) {
		free(b);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	for (int i = 0; i < dp->nr_cpus; i++) {
		b[i].window_ns = spent ? (__u64)ts.tv_sec * 1000000000ULL + 3600000000000ULL : 0;
		b[i].used = spent;
	}
	cfg.conn_budget = spent ? 1 : 0;
	ret = bpf_map_update_elem(bpf_map__fd(dp->skel->maps.xlb_budget), &zero, b, BPF_ANY) ||
	      xlb_dp_config_set(dp, &cfg);
	free(b);
	return ret ? -1 : 0;
}

static void set_knobs(const struct pkt *frame, int new_flow, __u32 cycle_mask, int stale_conn,
		      const struct xlb_flow *conn_key, __u32 src_base)
{
	memcpy(skel->bss->bench_frame, frame->data, FRAME_LEN);
	skel->bss->bench_new_flow = new_flow;
	skel->bss->bench_cycle_mask = cycle_mask;
	skel->bss->bench_stale_conn = stale_conn;
	if (conn_key)
		skel->bss->bench_conn_key = *conn_key;
	skel->bss->bench_src_base = htonl(src_base);
}

/* ---- 1. per-packet cost --------------------------------------------------- */

struct pp_case {
	const char *name; /* JSON key */
	const char *what; /* what the case measures */
	int family;
	const char *src, *dst;
	__u8 tcp_flags;
	int new_flow;	/* new 5-tuple on every packet */
	int cycle;	/* cycle over P.flows established flows */
	int stale_conn; /* the flow's entry goes stale, so is rewritten, every time */
	int over_budget; /* the CPU's budget of new entries is spent */
	__u32 action;	/* what lb_process must return */
	__u64 expect;	/* counters (bits by enum xlb_stat) that must move by
			 * exactly one per packet; no other may move */
};

#define BIT(stat) (1ULL << XLB_STAT_##stat)
/* expect holds one bit per counter reason. */
_Static_assert(__XLB_STAT_MAX <= 64, "bench expectations: more reasons than bits");

#define TCP_SYN 0x02
#define TCP_ACK 0x10

static const struct pp_case pp_cases[] = {
    {"v4_hit", "IPv4 TCP, conn-table hit, one flow", 4, "198.18.1.2", "198.18.100.1", TCP_ACK, 0, 0,
     0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
    {"v6_hit", "IPv6 TCP, conn-table hit, one flow", 6, "2001:db8:1::2", "2001:db8:100::1", TCP_ACK,
     0, 0, 0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
    {"v4_syn_write", "IPv4 TCP SYN, entry (over)written every time", 4, "198.18.1.3",
     "198.18.100.1", TCP_SYN, 0, 0, 1, 0, XDP_TX, BIT(CONN_STALE) | BIT(CONN_MISS) | BIT(TX)},
    {"v4_1m_hits", "IPv4 TCP, hits cycling over the established flows", 4, "198.18.1.4",
     "198.18.100.1", TCP_ACK, 0, 1, 0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
    {"v4_new_flow", "IPv4 TCP SYN, new 5-tuple every packet (insert)", 4, "198.18.1.5",
     "198.18.100.1", TCP_SYN, 1, 0, 0, 0, XDP_TX, BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(TX)},
    {"v4_unknown_ack", "IPv4 TCP non-SYN of an unknown flow every packet", 4, "198.18.1.6",
     "198.18.100.1", TCP_ACK, 1, 0, 0, 0, XDP_TX, BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(TX)},
    {"v4_syn_over_budget", "IPv4 TCP SYN, new 5-tuple, budget spent (forwarded unrecorded)", 4,
     "198.18.1.8", "198.18.100.1", TCP_SYN, 1, 0, 0, 1, XDP_TX,
     BIT(CONN_MISS) | BIT(CONN_SKIP) | BIT(TX)},
    {"v4_ack_over_budget", "IPv4 TCP non-SYN, unknown flow, budget spent (flood)", 4,
     "198.18.1.9", "198.18.100.1", TCP_ACK, 1, 0, 0, 1, XDP_TX,
     BIT(CONN_MISS) | BIT(CONN_SKIP) | BIT(TX)},
    {"v4_acl_hit", "IPv4 TCP, conn-table hit, VIP with a source ACL (allowed)", 4,
     "198.18.1.2", "198.18.100.2", TCP_ACK, 0, 0, 0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
    {"v4_acl_deny", "IPv4 TCP, VIP with a source ACL, client denied (drop)", 4, "198.18.66.2",
     "198.18.100.2", TCP_ACK, 0, 0, 0, 0, XDP_DROP, BIT(DROP_ACL)},
    {"v4_limit_hit", "IPv4 TCP, conn-table hit, VIP with a limit of new flows", 4, "198.18.1.2",
     "198.18.100.3", TCP_ACK, 0, 0, 0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
    {"v4_nolimit_new_flow", "IPv4 TCP SYN, new 5-tuple every packet, the same VIP without a "
     "limit (v4_limit_new_flow's reference)",
     4, "198.18.1.5", "198.18.100.5", TCP_SYN, 1, 0, 0, 0, XDP_TX,
     BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(TX)},
    {"v4_rr_new_flow", "IPv4 TCP SYN, new 5-tuple every packet, the same VIP with sched rr "
     "(its turn from the per-CPU cursor)",
     4, "198.18.1.5", "198.18.100.6", TCP_SYN, 1, 0, 0, 0, XDP_TX,
     BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(TX)},
    {"v4_rr_hit", "IPv4 TCP, conn-table hit, VIP with sched rr", 4, "198.18.1.2",
     "198.18.100.6", TCP_ACK, 0, 0, 0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
#define SCHED_CASE(name, what, dst)                                                           \
	{name, "IPv4 TCP SYN, new 5-tuple every packet, " what, 4, "198.18.1.5", dst, TCP_SYN, 1, \
	 0, 0, 0, XDP_TX, BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(TX)}
    SCHED_CASE("v4_new_flow_maglev_4", "sched maglev, 4 backends", "198.18.100.20"),
    SCHED_CASE("v4_new_flow_sh_4", "sched sh, 4 backends", "198.18.100.21"),
    SCHED_CASE("v4_new_flow_rr_4", "sched rr, 4 backends", "198.18.100.22"),
    SCHED_CASE("v4_new_flow_wrr_4", "sched wrr, 4 backends", "198.18.100.23"),
    SCHED_CASE("v4_new_flow_lc_4", "sched lc, 4 backends", "198.18.100.24"),
    SCHED_CASE("v4_new_flow_wlc_4", "sched wlc, 4 backends", "198.18.100.25"),
    SCHED_CASE("v4_new_flow_maglev_64", "sched maglev, 64 backends", "198.18.100.30"),
    SCHED_CASE("v4_new_flow_sh_64", "sched sh, 64 backends", "198.18.100.31"),
    SCHED_CASE("v4_new_flow_rr_64", "sched rr, 64 backends", "198.18.100.32"),
    SCHED_CASE("v4_new_flow_wrr_64", "sched wrr, 64 backends", "198.18.100.33"),
    SCHED_CASE("v4_new_flow_lc_64", "sched lc, 64 backends (exact scan)", "198.18.100.34"),
    SCHED_CASE("v4_new_flow_wlc_64", "sched wlc, 64 backends (exact scan)", "198.18.100.35"),
/* The scheduler's choice alone: the flow's entry goes stale before every
 * packet, so that each SYN is re-picked and rewritten in place (no insert
 * into the LRU table, whose cost varies with its fill). */
#define REPICK_CASE(name, what, dst)                                                          \
	{name, "IPv4 TCP SYN, its entry stale every packet (re-picked in place), " what, 4,     \
	 "198.18.1.3", dst, TCP_SYN, 0, 0, 1, 0, XDP_TX,                                       \
	 BIT(CONN_STALE) | BIT(CONN_MISS) | BIT(TX)}
    REPICK_CASE("v4_repick_maglev_4", "sched maglev, 4 backends", "198.18.100.20"),
    REPICK_CASE("v4_repick_sh_4", "sched sh, 4 backends", "198.18.100.21"),
    REPICK_CASE("v4_repick_rr_4", "sched rr, 4 backends", "198.18.100.22"),
    REPICK_CASE("v4_repick_wrr_4", "sched wrr, 4 backends", "198.18.100.23"),
    REPICK_CASE("v4_repick_lc_4", "sched lc, 4 backends", "198.18.100.24"),
    REPICK_CASE("v4_repick_wlc_4", "sched wlc, 4 backends", "198.18.100.25"),
    REPICK_CASE("v4_repick_maglev_64", "sched maglev, 64 backends", "198.18.100.30"),
    REPICK_CASE("v4_repick_sh_64", "sched sh, 64 backends", "198.18.100.31"),
    REPICK_CASE("v4_repick_rr_64", "sched rr, 64 backends", "198.18.100.32"),
    REPICK_CASE("v4_repick_wrr_64", "sched wrr, 64 backends", "198.18.100.33"),
    REPICK_CASE("v4_repick_lc_64", "sched lc, 64 backends (exact scan)", "198.18.100.34"),
    REPICK_CASE("v4_repick_wlc_64", "sched wlc, 64 backends (exact scan)", "198.18.100.35"),
    {"v4_lc_hit", "IPv4 TCP, conn-table hit, VIP with sched lc", 4, "198.18.1.2",
     "198.18.100.24", TCP_ACK, 0, 0, 0, 0, XDP_TX, BIT(CONN_HIT) | BIT(TX)},
    {"v4_limit_new_flow", "IPv4 TCP SYN, new 5-tuple every packet, under the client's limit",
     4, "198.18.1.5", "198.18.100.3", TCP_SYN, 1, 0, 0, 0, XDP_TX,
     BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(TX)},
    {"v4_limit_over", "IPv4 TCP SYN, new 5-tuple every packet, over the client's limit (drop)",
     4, "198.18.1.5", "198.18.100.4", TCP_SYN, 1, 0, 0, 0, XDP_DROP,
     BIT(CONN_MISS) | BIT(DROP_LIMIT)},
    {"v4_hinted_miss", "IPv4 TCP non-SYN of an unknown flow every packet, the VIP's previous "
     "ring chose another backend: hinted, not recorded (v4_unknown_ack's twin)",
     4, "198.18.1.6", "198.18.100.7", TCP_ACK, 1, 0, 0, 0, XDP_TX,
     BIT(CONN_MISS) | BIT(SECOND_CHANCE) | BIT(TX)},
    {"v4_not_vip", "IPv4 TCP to a non-VIP address (pass)", 4, "198.18.1.7", "198.18.200.1", TCP_ACK,
     0, 0, 0, 0, XDP_PASS, BIT(PASS_NOT_VIP)},
};
#define N_PP_CASES (sizeof(pp_cases) / sizeof(pp_cases[0]))

struct timing {
	double min, med;
};

/* Times prog over P.runs runs; the last run's action in *action. */
static int time_prog(int fd, const struct pkt *frame, struct timing *t, __u32 *action)
{
	double v[64] = {0};
	int n = P.runs < 64 ? P.runs : 64;

	for (int r = 0; r < n; r++) {
		int e = test_run(fd, frame, P.repeat, &v[r], action, NULL);

		if (e) {
			pr_err("BPF_PROG_TEST_RUN: %s", strerror(-e));
			return -1;
		}
	}
	t->min = minimum(v, n);
	t->med = median(v, n);
	return 0;
}

static json_t *counters_json(const __u64 *before, const __u64 *after, char *line, size_t len)
{
	json_t *o = json_object();
	size_t off = 0;

	line[0] = 0;
	for (int i = 0; i < __XLB_STAT_MAX; i++) {
		__u64 d = after[i] - before[i];

		if (!d)
			continue;
		json_object_set_new(o, xlb_stat_names[i], json_integer((json_int_t)d));
		if (off < len)
			off += snprintf(line + off, len - off, "%s%s=%llu", off ? " " : "",
					xlb_stat_names[i], (unsigned long long)d);
	}
	return o;
}

static json_t *baseline_json(const char *name, const char *what, const struct timing *t,
			     double base)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "name", name, "what", what, "ns_min",
			 jreal(t->min), "ns_median", jreal(t->med), "ratio_pushpop",
			 jreal(ratio(t->med, base)));
}

static int flow_key(const struct pp_case *c, struct xlb_flow *f)
{
	int af = c->family == 6 ? AF_INET6 : AF_INET;

	memset(f, 0, sizeof(*f));
	f->family = c->family == 6 ? XLB_AF_INET6 : XLB_AF_INET;
	if (inet_pton(af, c->src, &f->src) != 1 || inet_pton(af, c->dst, &f->dst) != 1)
		return -1;
	f->sport = htons(40000);
	f->dport = htons(80);
	f->proto = IPPROTO_TCP;
	return 0;
}

/* Prints and records one case. The path: each expected counter moved by
 * exactly one per packet and no other counter moved at all, except the
 * next-hop cache's refills (once per backend, CPU and second, far below
 * one per 10000 packets). */
static void jcases_add(json_t *jcases, const char *name, const char *what, const struct timing *tl,
		       const struct timing *tr, double pushpop, __u32 action, const __u64 *before,
		       const __u64 *after, __u64 expect, __u64 n, int ok)
{
	json_t *jexp = json_array(), *jcnt;
	char line[256];

	for (int k = 0; k < __XLB_STAT_MAX; k++) {
		int expected = !!(expect & (1ULL << k));

		if (k == XLB_STAT_NEXTHOP_MISS && !expected) {
			/* A refill of every backend of the widest case (64) can fall
			 * in even a short run. */
			if (after[k] - before[k] > 64 + n / 10000)
				ok = 0;
			continue;
		}
		if (after[k] - before[k] != (expected ? n : 0))
			ok = 0;
		if (expected)
			json_array_append_new(jexp, json_string(xlb_stat_names[k]));
	}
	if (!ok)
		invalid++;
	jcnt = counters_json(before, after, line, sizeof(line));
	printf("%-16s %8.2f %8.2f %8.2f %8.2f %8.2f %9.2f  %-5s %s%s\n", name, tl->min, tl->med,
	       tr->med, tl->min - tr->min, tl->med - tr->med, ratio(tl->med - tr->med, pushpop),
	       action_name(action), line, ok ? "" : "  PATH MISMATCH");
	json_array_append_new(
	    jcases,
	    json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:b, s:I}",
		      "name", name, "what", what, "ns_min", jreal(tl->min), "ns_median",
		      jreal(tl->med), "wrapper_ns_min", jreal(tr->min), "wrapper_ns_median",
		      jreal(tr->med), "net_ns_min", jreal(tl->min - tr->min), "net_ns_median",
		      jreal(tl->med - tr->med), "ratio_pushpop",
		      jreal(ratio(tl->med - tr->med, pushpop)), "action", action_name(action),
		      "counters", jcnt, "expect", jexp, "path_ok", ok, "packets", (json_int_t)n));
}

/* Where a conn-table hit's time goes: prefixes of the packet path (see
 * run_stages in xlb_bench.bpf.c), each timed on the v4_hit frame. */
static json_t *breakdown(void)
{
	static const char *const what[] = {
	    "wrapper: restore the frame",
	    "parse Ethernet, IPv4, TCP",
	    "VIP lookup (exact port, else address, port 0) + config",
	    "flow hash + conn-table lookup + backend entry",
	    "outer source + next hop (cached)",
	    "encapsulate, next hop's MACs (lb_process minus counters)",
	    "counters: lb_process itself (bench_lb)",
	};
	int fds[] = {
	    bpf_program__fd(skel->progs.bench_restore),
	    bpf_program__fd(skel->progs.bench_stage_parse),
	    bpf_program__fd(skel->progs.bench_stage_vip),
	    bpf_program__fd(skel->progs.bench_stage_conn),
	    bpf_program__fd(skel->progs.bench_stage_fib),
	    bpf_program__fd(skel->progs.bench_stage_encap),
	    bpf_program__fd(skel->progs.bench_lb),
	};
	json_t *arr = json_array();
	double prev = 0, base = 0;
	struct timing t;
	struct pkt frame;
	__u32 action;

	if (build_frame(&frame, 4, "198.18.1.2", "198.18.100.1", 40000, TCP_ACK))
		return NULL;
	set_knobs(&frame, 0, 0, 0, NULL, 0);
	/* The new-flow cases may have evicted v4_hit's entry: put it back. */
	if (test_run(bpf_program__fd(skel->progs.bench_lb), &frame, 1, NULL, NULL, NULL))
		return NULL;
	printf("\nWhere v4_hit's time goes (cumulative prefixes of the path, same frame)\n\n");
	printf("%-48s %8s %8s %8s\n", "stage", "ns med", "net", "+ns");
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (test_run(fds[i], &frame, P.repeat < 10000 ? P.repeat : 10000, NULL, NULL,
			     NULL) ||
		    time_prog(fds[i], &frame, &t, &action))
			return NULL;
		if (action != XDP_TX) {
			invalid++;
			printf("%-48s stopped with %s  PATH MISMATCH\n", what[i],
			       action_name(action));
		}
		if (i == 0)
			base = prev = t.med;
		printf("%-48s %8.2f %8.2f %8.2f\n", what[i], t.med, t.med - base, t.med - prev);
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o}", "stage", what[i],
						     "ns_median", jreal(t.med), "net_ns",
						     jreal(t.med - base), "delta_ns",
						     jreal(t.med - prev)));
		prev = t.med;
	}
	return arr;
}

/* Size of a loaded program: what the verifier and the JIT made of it. */
static json_t *prog_size(int fd, const char *name)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return json_null();
	printf("   %s: %u xlated instructions, %u bytes JITed, verifier processed %u\n", name,
	       info.xlated_prog_len / 8, info.jited_prog_len, info.verified_insns);
	return json_pack("{s:i, s:i, s:i}", "xlated_insns", (int)(info.xlated_prog_len / 8),
			 "jited_bytes", (int)info.jited_prog_len, "verified_insns",
			 (int)info.verified_insns);
}

/* Entries in the new-flow table: a new-flow case's proof that it ran on a
 * full table (every insert an eviction). No eviction happens while the
 * walk runs (nothing else writes the table), so it ends. */
static __u64 conns_new_entries(void)
{
	int fd = bpf_map__fd(dp->skel->maps.xlb_conns_new);
	struct xlb_flow key, next;
	void *prev = NULL;
	__u64 n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n++;
	}
	return n;
}

static int per_packet(json_t *root)
{
	int fd_lb = bpf_program__fd(skel->progs.bench_lb);
	int fd_restore = bpf_program__fd(skel->progs.bench_restore);
	struct {
		const char *name, *what;
		int fd;
		struct timing t;
	} base[] = {
	    {"tx", "return XDP_TX", bpf_program__fd(skel->progs.bench_tx), {0, 0}},
	    {"macswap", "swap MACs, XDP_TX", bpf_program__fd(skel->progs.bench_macswap), {0, 0}},
	    {"pushpop",
	     "push 20 bytes, write, pop, XDP_TX",
	     bpf_program__fd(skel->progs.bench_pushpop),
	     {0, 0}},
	};
	json_t *jbase = json_array(), *jcases = json_array(), *jpp, *jstages;
	/* The pinned CPU's share of the new-flow table (BPF_F_NO_COMMON_LRU). */
	__u32 new_share = bpf_map__max_entries(dp->skel->maps.xlb_conns_new) /
			  (__u32)libbpf_num_possible_cpus();
	struct pkt frame;
	double pushpop;
	__u32 action;

	if (build_frame(&frame, 4, "198.18.1.2", "198.18.100.1", 40000, TCP_ACK))
		return -1;
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		if (test_run(base[i].fd, &frame, P.repeat < 10000 ? P.repeat : 10000, NULL, NULL,
			     NULL) ||
		    time_prog(base[i].fd, &frame, &base[i].t, &action))
			return -1;
	}
	pushpop = base[2].t.med;

	printf("\n1. Per-packet cost: BPF_PROG_TEST_RUN, %zu-byte frames, repeat %u x %d run%s, "
	       "CPU %d\n",
	       FRAME_LEN, P.repeat, P.runs, P.runs > 1 ? "s" : "", P.cpu);
	printf("   ns: kernel-timed per packet (whole ns); wrapper: the restore alone, "
	       "subtracted in net;\n"
	       "   x pushpop: net median / push+pop baseline median\n\n");
	printf("%-16s %8s %8s %8s %8s %8s %9s  %-5s %s\n", "case", "ns min", "ns med", "wrapper",
	       "net min", "net med", "x pushpop", "act", "path (counter deltas)");
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
		printf("%-16s %8.2f %8.2f %8s %8s %8s %9.2f  %-5s %s\n", base[i].name,
		       base[i].t.min, base[i].t.med, "-", "-", "-", ratio(base[i].t.med, pushpop),
		       action_name(XDP_TX), base[i].what);
		json_array_append_new(
		    jbase, baseline_json(base[i].name, base[i].what, &base[i].t, pushpop));
	}

	for (size_t i = 0; i < N_PP_CASES; i++) {
		const struct pp_case *c = &pp_cases[i];
		__u32 mask = c->cycle ? P.flows - 1 : 0, warm = P.repeat < 10000 ? P.repeat : 10000;
		__u64 b0[__XLB_STAT_MAX], before[__XLB_STAT_MAX], after[__XLB_STAT_MAX];
		__u32 src_base = c->cycle ? CYCLE_SRC_BASE : NEWFLOW_SRC_BASE;
		struct timing tl, tr, tp = {0, 0};
		struct xlb_flow key;
		__u64 n = (__u64)P.repeat * P.runs, entries = 0;
		int ok;

		if (build_frame(&frame, c->family, c->src, c->dst, 40000, c->tcp_flags) ||
		    flow_key(c, &key))
			return -1;
		set_knobs(&frame, c->new_flow, mask, c->stale_conn, &key, src_base);
		if (spend_budget(c->over_budget))
			return -1;
		/* Warm up; for the cycling case, one pass of two packets per
		 * flow establishes every flow (timed too: a new flow recorded,
		 * then confirmed, in a table that has room). */
		skel->bss->bench_pair = c->cycle;
		counters(b0);
		if (test_run(fd_lb, &frame, c->cycle ? 2 * P.flows : warm, &tp.med, NULL, NULL) ||
		    test_run(fd_restore, &frame, warm, NULL, NULL, NULL))
			return -1;
		skel->bss->bench_pair = 0;
		tp.min = tp.med;
		counters(before);
		if (time_prog(fd_lb, &frame, &tl, &action))
			return -1;
		counters(after);
		if (time_prog(fd_restore, &frame, &tr, NULL))
			return -1;
		if (c->cycle && xlb_dp_conn_count(dp, &entries))
			return -1;
		ok = action == c->action && (!c->cycle || entries >= P.flows);
		jcases_add(jcases, c->name, c->what, &tl, &tr, pushpop, action, before, after,
			   c->expect, n, ok);
		if (c->new_flow && (c->expect & BIT(CONN_INSERT))) {
			json_t *jc = json_array_get(jcases, json_array_size(jcases) - 1);
			__u64 fill = conns_new_entries();

			json_object_set_new(jc, "conns_new_entries", json_integer((json_int_t)fill));
			/* An LRU list frees entries in batches: full is within a
			 * few hundred entries of the share. */
			if (fill + 256 < new_share)
				printf("   %s: new-flow table not full (%llu entries, %u per CPU)\n",
				       c->name, (unsigned long long)fill, new_share);
		}
		if (c->cycle) {
			json_t *jc = json_array_get(jcases, json_array_size(jcases) - 1);

			json_object_set_new(jc, "flows", json_integer(P.flows));
			json_object_set_new(jc, "conn_entries", json_integer((json_int_t)entries));
			/* Per packet of the pair: miss and record, hit and
			 * confirm; the check counts flows, TX moves twice. */
			b0[XLB_STAT_TX] += P.flows;
			jcases_add(jcases, "v4_insert_room",
				   "IPv4 TCP, new flow recorded then confirmed, table with room "
				   "(per packet, first pass, 1 run)",
				   &tp, &tr, pushpop, XDP_TX, b0, before,
				   BIT(CONN_MISS) | BIT(CONN_INSERT) | BIT(CONN_HIT) |
				       BIT(CONN_PROMOTE) | BIT(TX),
				   P.flows, 1);
		}
		if (i == 0)
			json_array_append_new(jbase, baseline_json("restore",
								   "the wrapper's restore, XDP_TX",
								   &tr, pushpop));
	}
	if (spend_budget(0))
		return -1;
	printf("   v4_1m_hits cycles over %u flows (conn table sized %u entries, %u per CPU)\n",
	       P.flows, dp->max_conns, dp->max_conns / (__u32)libbpf_num_possible_cpus());
	printf("   new-flow cases insert every packet into a full new-flow table (%u entries "
	       "per CPU), each insert an eviction, unless said above\n",
	       new_share);
	jstages = breakdown();
	if (!jstages)
		return -1;
	printf("\n");
	jpp = json_pack("{s:i, s:i, s:i, s:s, s:o, s:o, s:o, s:o, s:o}", "frame_len",
			(int)FRAME_LEN, "repeat", (int)P.repeat, "runs", P.runs, "ratio_baseline",
			"pushpop", "baselines", jbase, "cases", jcases, "breakdown", jstages,
			"xlb_lb", prog_size(xlb_dp_prog_fd(dp), "xlb_lb"), "bench_lb",
			prog_size(fd_lb, "bench_lb"));
	json_object_set_new(root, "per_packet", jpp);
	return 0;
}

/* ---- paired comparison against another build --------------------------- */

/* Whole runs of two builds, one after the other, differ by whatever else
 * the machine did meanwhile. --against loads another build's bench object
 * on this one's maps and alternates the two every PAIR_REPEAT packets, each
 * net of its own restore wrapper: the median of the per-round ratios is
 * what a change costs, to a few percent even on a shared machine.
 *
 * Where a program's JIT image lands (its alignment against the branch
 * predictor's and the instruction cache's sets) moves a 60 ns path by a
 * few percent: one build against itself read 0.97-1.02 over 401 rounds.
 * So each build is loaded --pair-copies times, and round n times copy
 * n % copies of each: an image's luck averages out instead of deciding the
 * comparison. A round runs other, this, this, other, half the packets
 * each, so that a build's place in the round cancels too. */
#define PAIR_REPEAT 200000
#define PAIR_ROUNDS 41
#define PAIR_ROUNDS_MAX 1001
#define PAIR_COPIES 4
#define PAIR_COPIES_MAX 8

enum { OTHER, THIS }; /* the two builds, as copies[][] is indexed */
static struct bpf_object *copies[2][PAIR_COPIES_MAX];
static int n_copies;

/* Writes a global of a loaded copy's section (.rodata before load,
 * .bss through the map after it) by its BTF offset; buf is the section. */
static int section_var(struct bpf_object *obj, const char *sec, void *buf, size_t size,
		     const char *var, const void *val, size_t len)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vi;
	const struct btf_type *t;
	int id = btf ? btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC) : -1;

	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	vi = btf_var_secinfos(t);
	for (int i = 0; i < btf_vlen(t); i++, vi++) {
		const struct btf_type *v = btf__type_by_id(btf, vi->type);

		if (strcmp(btf__name_by_offset(btf, v->name_off), var))
			continue;
		if (vi->offset + len > size || len > vi->size)
			return -EINVAL;
		memcpy((char *)buf + vi->offset, val, len);
		return 0;
	}
	return -ENOENT;
}

static struct bpf_map *find_section(struct bpf_object *obj, const char *suffix)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *n = bpf_map__name(m);
		size_t nl = strlen(n), sl = strlen(suffix);

		if (nl >= sl && !strcmp(n + nl - sl, suffix))
			return m;
	}
	return NULL;
}

/* Opens and loads one copy of a build's object on the data plane's maps
 * (those it has: an older build may lack a newer map): the other build's
 * from --against, this one's from the bytes its skeleton carries. */
static int setup_copy(int build, struct bpf_object **out)
{
	static const char *const shared[] = {
	    "xlb_vips",	    "xlb_vip_addrs", "xlb_novip",  "xlb_rings",	 "xlb_backends",
	    "xlb_conns",    "xlb_conns_new", "xlb_budget", "xlb_stats",	 "xlb_config",
	    "xlb_tx_ports", "xlb_acl",	     "xlb_limits", "xlb_buckets", "xlb_rings_prev",
	    "xlb_backend_conns", "xlb_members", "bench_seq",
	};
	/* Errors name the object: --against's, or this build's own. */
	const char *name = build == OTHER ? P.against : "(this build's own object)";
	struct bpf_object *obj;
	struct bpf_map *ro;
	const void *init;
	size_t size;
	void *data;
	int e;

	if (build == OTHER) {
		obj = bpf_object__open_file(P.against, NULL);
	} else {
		const void *elf = xlb_bench_bpf__elf_bytes(&size);

		obj = bpf_object__open_mem(elf, size, NULL);
	}
	if (!obj) {
		pr_err("--against %s: cannot open it as a BPF object (want a build's "
		       "build/xlb_bench.bpf.o): %s",
		       name, strerror(errno));
		return -1;
	}
	*out = obj;
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, shared[i]);
		struct bpf_map *mine = bpf_object__find_map_by_name(dp->skel->obj, shared[i]);

		if (m && mine && (e = bpf_map__reuse_fd(m, bpf_map__fd(mine)))) {
			pr_err("--against %s: its map %s differs from this build's: %s", name,
			       shared[i], strerror(-e));
			return -1;
		}
	}
	ro = find_section(obj, ".rodata");
	init = ro ? bpf_map__initial_value(ro, &size) : NULL;
	data = init ? malloc(size) : NULL;
	if (data)
		memcpy(data, init, size);
	e = !data || section_var(obj, ".rodata", data, size, "xlb_ring_size", &dp->ring_size, 4) ||
	    section_var(obj, ".rodata", data, size, "xlb_max_vips", &dp->max_vips, 4) ||
	    section_var(obj, ".rodata", data, size, "xlb_max_backends", &dp->max_backends, 4) ||
	    bpf_map__set_initial_value(ro, data, size);
	free(data);
	if (e) {
		pr_err("--against %s: no xlb_bench knobs in its .rodata", name);
		return -1;
	}
	if ((e = bpf_object__load(obj))) {
		pr_err("--against %s: cannot load it on this build's maps: %s", name,
		       strerror(-e));
		return -1;
	}
	return 0;
}

/* Every copy of both builds (--pair-copies; one for --quick). */
static int setup_copies(void)
{
	n_copies = P.quick ? 1 : P.pair_copies ? P.pair_copies : PAIR_COPIES;
	for (int b = OTHER; b <= THIS; b++)
		for (int i = 0; i < n_copies; i++)
			if (setup_copy(b, &copies[b][i]))
				return -1;
	return 0;
}

static void close_copies(void)
{
	for (int b = OTHER; b <= THIS; b++)
		for (int i = 0; i < n_copies; i++)
			bpf_object__close(copies[b][i]);
}

/* Sets a knob of a copy's .bss in buf; a knob it lacks (an older
 * build) is fine while it is zero, for then the build never needed it. */
static int copy_knob(struct bpf_object *obj, void *buf, size_t size, const char *name,
		      const void *val, size_t len)
{
	static const char zeros[64];
	int e = section_var(obj, ".bss", buf, size, name, val, len);

	if (e == -ENOENT && len <= sizeof(zeros) && !memcmp(val, zeros, len))
		return 0;
	if (e)
		pr_err("--against %s: its .bss has no %s of %zu bytes, which this case needs",
		       P.against, name, len);
	return e;
}

/* A copy's knobs, as set_knobs() sets this build's skeleton: same frame,
 * same rewrite mode. Its sequence counter is the skeleton's (bench_seq is
 * shared), so that the new-flow modes never repeat each other's flows. */
static int copy_knobs(struct bpf_object *obj, const struct pkt *frame)
{
	struct bpf_map *bss = find_section(obj, ".bss");
	const struct xlb_bench_bpf__bss *k = skel->bss;
	__u32 zero = 0;
	size_t size;
	char *buf;
	int ret;

	if (!bss)
		return -1;
	size = bpf_map__value_size(bss);
	buf = calloc(1, size);
	if (!buf)
		return -1;
	ret = copy_knob(obj, buf, size, "bench_frame", frame->data, FRAME_LEN) ||
	      copy_knob(obj, buf, size, "bench_new_flow", &k->bench_new_flow, 4) ||
	      copy_knob(obj, buf, size, "bench_cycle_mask", &k->bench_cycle_mask, 4) ||
	      copy_knob(obj, buf, size, "bench_stale_conn", &k->bench_stale_conn, 4) ||
	      copy_knob(obj, buf, size, "bench_conn_key", &k->bench_conn_key,
			 sizeof(k->bench_conn_key)) ||
	      copy_knob(obj, buf, size, "bench_src_base", &k->bench_src_base, 4) ||
	      copy_knob(obj, buf, size, "bench_pair", &k->bench_pair, 4) ||
	      bpf_map_update_elem(bpf_map__fd(bss), &zero, buf, BPF_ANY);
	free(buf);
	return ret ? -1 : 0;
}

static int copies_knobs(const struct pkt *frame)
{
	for (int b = OTHER; b <= THIS; b++)
		for (int i = 0; i < n_copies; i++)
			if (copy_knobs(copies[b][i], frame))
				return -1;
	return 0;
}

static int prog_of(struct bpf_object *obj, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(obj, name);

	return p ? bpf_program__fd(p) : -1;
}

/* Every case of section 1, each timed paired: the two builds alternate on
 * the same maps, in the same rewrite mode. */
static int paired(json_t *root)
{
	/* Per build and copy: the path, then its restore wrapper. */
	int fds[2][PAIR_COPIES_MAX][2];
	int rounds = P.quick ? 3 : P.pair_rounds ? P.pair_rounds : PAIR_ROUNDS;
	__u32 repeat = P.quick ? 1000 : PAIR_REPEAT;
	/* Twice the new-flow table: every CPU's share, and then some. */
	__u32 fill_pkts = 2 * bpf_map__max_entries(dp->skel->maps.xlb_conns_new);
	json_t *arr = json_array();
	int filled = 0;

	for (int b = OTHER; b <= THIS; b++)
		for (int i = 0; i < n_copies; i++) {
			fds[b][i][0] = prog_of(copies[b][i], "bench_lb");
			fds[b][i][1] = prog_of(copies[b][i], "bench_restore");
			if (fds[b][i][0] < 0 || fds[b][i][1] < 0) {
				pr_err("--against %s: no bench_lb/bench_restore in it",
				       b == OTHER ? P.against : "(this build's own object)");
				return -1;
			}
		}
	printf("\n5. Paired against %s: %d rounds of %u packets, alternating, each net of "
	       "its own wrapper, over %d loaded copies of each build\n\n",
	       P.against, rounds, repeat, n_copies);
	printf("%-16s %9s %9s %9s %9s %10s %10s %8s %8s\n", "case", "other med", "this med",
	       "other min", "this min", "other mean", "this mean", "this/other", "of means");
	for (size_t i = 0; i < N_PP_CASES; i++) {
		const struct pp_case *c = &pp_cases[i];
		double o[PAIR_ROUNDS_MAX], t[PAIR_ROUNDS_MAX], r[PAIR_ROUNDS_MAX];
		double om, tm, omin, tmin, rm, omean, tmean;
		/* A rewrite mode costs ~10x a hit: fewer packets a round. */
		int heavy = c->new_flow || c->cycle || c->stale_conn;
		__u32 mask = c->cycle ? P.flows - 1 : 0, n_pkts = heavy ? repeat / 4 : repeat;
		struct xlb_flow key;
		struct pkt frame;

		if (P.pair_case && strcmp(P.pair_case, c->name))
			continue;
		if (build_frame(&frame, c->family, c->src, c->dst, 40000, c->tcp_flags) ||
		    flow_key(c, &key))
			return -1;
		set_knobs(&frame, c->new_flow, mask, c->stale_conn, &key,
			  c->cycle ? CYCLE_SRC_BASE : NEWFLOW_SRC_BASE);
		/* The cycling case's flows, established as in section 1 (the
		 * new-flow cases since may have evicted some), by each build:
		 * one whose table differs has its own. */
		if (c->cycle) {
			skel->bss->bench_pair = 1;
			if (copies_knobs(&frame) ||
			    test_run(fds[OTHER][0][0], &frame, 2 * P.flows, NULL, NULL, NULL) ||
			    test_run(fds[THIS][0][0], &frame, 2 * P.flows, NULL, NULL, NULL))
				return -1;
			skel->bss->bench_pair = 0;
		}
		if (copies_knobs(&frame) || spend_budget(c->over_budget))
			return -1;
		/* A new-flow case inserts into a full new-flow table, each
		 * insert an eviction, as in section 1 after its first cases:
		 * fill it first (an LRU inserting into free entries costs
		 * less, and whichever build filled it would gain). */
		if (c->new_flow && !filled) {
			if (test_run(fds[THIS][0][0], &frame, fill_pkts, NULL, NULL, NULL))
				return -1;
			filled = 1;
		}
		for (int b = OTHER; b <= THIS; b++)
			for (int i = 0; i < n_copies; i++)
				for (int k = 0; k < 2; k++)
					if (test_run(fds[b][i][k], &frame, 10000, NULL, NULL, NULL))
						return -1;
		for (int n = 0; n < rounds; n++) {
			/* other, this, this, other: each build once right after
			 * the other and once after itself, so that neither gains
			 * from its place in the round (a new flow run first
			 * read 1.4x the one after it). */
			static const int order[4] = {OTHER, THIS, THIS, OTHER};
			double net[2] = {0, 0};
			__u32 act[2];
			int ci = n % n_copies;

			for (int j = 0; j < 4; j++) {
				int b = order[j];
				double ns[2];

				for (int k = 0; k < 2; k++)
					if (test_run(fds[b][ci][k], &frame, n_pkts / 2, &ns[k],
						     k ? NULL : &act[b], NULL))
						return -1;
				net[b] += (ns[0] - ns[1]) / 2;
			}
			if (act[OTHER] != act[THIS]) {
				printf("%-16s the two builds differ: %s against %s  PATH MISMATCH\n",
				       c->name, action_name(act[OTHER]), action_name(act[THIS]));
				invalid++;
				break;
			}
			o[n] = net[OTHER];
			t[n] = net[THIS];
			r[n] = o[n] > 0 ? t[n] / o[n] : 0;
		}
		/* Each round is in whole ns (the kernel's figure), a step of
		 * 1.5% on a 60 ns path; the rounds' means dither below it. */
		omean = mean(o, rounds);
		tmean = mean(t, rounds);
		omin = minimum(o, rounds);
		tmin = minimum(t, rounds);
		om = median(o, rounds);
		tm = median(t, rounds);
		rm = median(r, rounds);
		printf("%-16s %9.1f %9.1f %9.1f %9.1f %10.2f %10.2f %8.3f %8.3f\n", c->name, om, tm,
		       omin, tmin, omean, tmean, rm, ratio(tmean, omean));
		json_array_append_new(
		    arr, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", c->name,
				   "other_net_ns_median", jreal(om), "net_ns_median", jreal(tm),
				   "other_net_ns_min", jreal(omin), "net_ns_min", jreal(tmin),
				   "other_net_ns_mean", jreal(omean), "net_ns_mean", jreal(tmean),
				   "ratio_paired", jreal(rm), "ratio_of_means",
				   jreal(ratio(tmean, omean))));
	}
	if (spend_budget(0))
		return -1;
	json_object_set_new(root, "paired",
			    json_pack("{s:s, s:i, s:i, s:i, s:o}", "against", P.against, "rounds",
				      rounds, "repeat", (int)repeat, "copies", n_copies, "cases",
				      arr));
	return 0;
}

/* ---- 3. control plane ----------------------------------------------------- */

static void synth_backends(struct xlb_maglev_backend *b, __u32 n, __u32 base)
{
	for (__u32 i = 0; i < n; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].addr = addr4(base + i);
		b[i].family = XLB_AF_INET;
		b[i].weight = 1;
		b[i].id = i;
	}
}

/* The least any ring builder does: write each of the M slots once, in a
 * scattered order (a stride permutation). */
static __u32 ring_fill(__u32 *ring, __u32 m)
{
	__u32 pos = 0, skip = 7919 % m ? 7919 % m : 1, sum = 0;

	for (__u32 i = 0; i < m; i++) {
		ring[pos] = i;
		pos += skip;
		if (pos >= m)
			pos -= m;
	}
	for (__u32 i = 0; i < m; i += 4096)
		sum += ring[i];
	return sum;
}

static int ring_build_bench(json_t *cp, double *build_cp_us)
{
	static const __u32 sizes[] = {10, 100, 1000};
	__u32 m = dp->ring_size;
	struct xlb_maglev_backend *b = calloc(1000, sizeof(*b));
	__u32 *ring = calloc(m, sizeof(*ring));
	double v[64], fill_med, fill_min;
	int n = P.build_iters < 64 ? P.build_iters : 64;
	volatile __u32 keep = 0;
	json_t *arr = json_array();

	if (!b || !ring) {
		free(b);
		free(ring);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		double t0 = now_ns();

		keep += ring_fill(ring, m);
		v[i] = (now_ns() - t0) / 1e3;
	}
	fill_min = minimum(v, n);
	fill_med = median(v, n);
	printf("\n3. Control plane (M = %u)\n\n", m);
	printf("%-34s %10s %10s %12s\n", "Maglev ring build", "us min", "us med", "x fill");
	printf("%-34s %10.1f %10.1f %12.2f\n", "baseline: fill M slots once", fill_min, fill_med,
	       1.0);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		char label[64];

		synth_backends(b, sizes[s], CP_BACKEND_BASE);
		for (int i = 0; i < n; i++) {
			double t0 = now_ns();

			if (xlb_maglev_build(b, sizes[s], m, ring)) {
				free(b);
				free(ring);
				return -1;
			}
			v[i] = (now_ns() - t0) / 1e3;
		}
		snprintf(label, sizeof(label), "%u backends", sizes[s]);
		printf("%-34s %10.1f %10.1f %12.2f\n", label, minimum(v, n), median(v, n),
		       ratio(v[n / 2], fill_med));
		json_array_append_new(arr, json_pack("{s:i, s:o, s:o, s:o}", "backends",
						     (int)sizes[s], "us_min", jreal(minimum(v, n)),
						     "us_median", jreal(median(v, n)), "ratio_fill",
						     jreal(ratio(median(v, n), fill_med))));
		if (sizes[s] == P.cp_backends)
			*build_cp_us = median(v, n);
	}
	json_object_set_new(cp, "ring_build",
			    json_pack("{s:i, s:o, s:o, s:o, s:o}", "ring_size", (int)m,
				      "fill_us_min", jreal(fill_min), "fill_us_median",
				      jreal(fill_med), "sizes", arr, "iterations",
				      json_integer(n)));
	free(b);
	free(ring);
	return keep == 1 ? 1 : 0;
}

/* Frame of probe flow i of a control-plane trial. */
static int probe_frame(struct pkt *p, __u32 trial, __u32 i)
{
	char src[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = htonl(PROBE_SRC_BASE + trial)};

	inet_ntop(AF_INET, &a, src, sizeof(src));
	return build_frame(p, 4, src, "198.18.101.1", (__u16)(1024 + i), TCP_ACK);
}

static __u32 probe_slot(__u32 trial, __u32 i)
{
	struct xlb_flow f = {0};

	f.family = XLB_AF_INET;
	f.proto = IPPROTO_TCP;
	f.src.v4 = htonl(PROBE_SRC_BASE + trial);
	inet_pton(AF_INET, "198.18.101.1", &f.dst.v4);
	f.sport = htons((__u16)(1024 + i));
	f.dport = htons(80);
	return xlb_ring_slot(xlb_hash_flow(&f), dp->ring_size);
}

/* The outer destination the data plane gives a probe (0: not forwarded). */
static __be32 probe(__u32 trial, __u32 i)
{
	struct pkt in, out;
	__u32 action;

	if (probe_frame(&in, trial, i) ||
	    test_run(xlb_dp_prog_fd(dp), &in, 1, NULL, &action, &out) ||
	    (action != XDP_TX && action != XDP_PASS) || out.len < 14 + 20 || out.data[14 + 9] != 4)
		return 0;
	return *(__be32 *)(out.data + 14 + 16);
}

#define MAX_PROBES 64

/* Picks probe flows that the ring with the new backend sends to it. */
static int pick_probes(struct xlb_lb_vip *v, const union xlb_addr *new_addr, __u32 trial,
		       __u32 *probes, __u32 *n_probes)
{
	struct xlb_maglev_backend *mb = calloc(dp->max_backends + 1, sizeof(*mb));
	__u32 *ring = calloc(dp->ring_size, sizeof(*ring));
	__u32 n = 0, found = 0;
	int ret = -1;

	if (!mb || !ring)
		goto out;
	for (__u32 i = 0; i < dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];

		if (!b->used || b->vip != v->id || !b->in_ring)
			continue;
		mb[n].addr = b->addr;
		mb[n].family = b->family;
		mb[n].weight = b->weight;
		mb[n].id = i;
		n++;
	}
	mb[n].addr = *new_addr;
	mb[n].family = XLB_AF_INET;
	mb[n].weight = 1;
	mb[n].id = UINT32_MAX;
	if (xlb_maglev_build(mb, n + 1, dp->ring_size, ring))
		goto out;
	for (__u32 i = 0; i < 60000 && found < MAX_PROBES; i++)
		if (ring[probe_slot(trial, i)] == UINT32_MAX)
			probes[found++] = i;
	*n_probes = found;
	ret = found ? 0 : -1;
out:
	free(mb);
	free(ring);
	return ret;
}

static int fdinfo_memlock(int fd, __u64 *bytes)
{
	char path[64], line[256];
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "memlock: %llu", &v) == 1) {
			*bytes = v;
			ret = 0;
		}
	}
	if (f)
		fclose(f);
	return ret;
}

static int memory_per_vip(json_t *cp, __u32 vip_id)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 ring_bytes = 0, vips_bytes = 0;
	__u32 inner_id;
	__u64 ideal = (__u64)dp->ring_size * sizeof(__u32);
	__u64 stats = (__u64)ncpu * sizeof(struct xlb_counter), vip_entry, total;
	int fd;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.xlb_rings), &vip_id, &inner_id))
		return -1;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -1;
	if (fdinfo_memlock(fd, &ring_bytes) ||
	    fdinfo_memlock(bpf_map__fd(dp->skel->maps.xlb_vips), &vips_bytes)) {
		close(fd);
		return -1;
	}
	close(fd);
	vip_entry = vips_bytes / dp->max_vips;
	/* The ring, the VIP's hash entry, its slot in xlb_rings (a pointer)
	 * and its per-CPU counter. */
	total = ring_bytes + vip_entry + sizeof(__u64) + stats;
	printf("\n%-34s %10s %10s %12s\n", "Memory per VIP", "bytes", "ideal", "x ideal");
	printf("%-34s %10llu %10llu %12.2f\n", "ring (inner array map, memlock)",
	       (unsigned long long)ring_bytes, (unsigned long long)ideal,
	       ratio((double)ring_bytes, (double)ideal));
	printf("%-34s %10llu %10llu %12.2f\n", "VIP total (ring+entry+slot+stats)",
	       (unsigned long long)total, (unsigned long long)ideal,
	       ratio((double)total, (double)ideal));
	printf("%-34s %10zu\n", "userspace (struct xlb_lb_vip)", sizeof(struct xlb_lb_vip));
	printf("%-34s %10llu\n", "per backend (entry + stats)",
	       (unsigned long long)(sizeof(struct xlb_backend) + stats));
	json_object_set_new(
	    cp, "memory",
	    json_pack("{s:I, s:I, s:o, s:I, s:I, s:I, s:o, s:I, s:I}", "ring_map_bytes",
		      (json_int_t)ring_bytes, "ring_ideal_bytes", (json_int_t)ideal,
		      "ring_ratio_ideal", jreal(ratio((double)ring_bytes, (double)ideal)),
		      "vip_entry_bytes", (json_int_t)vip_entry, "vip_stats_bytes",
		      (json_int_t)stats, "vip_total_bytes", (json_int_t)total,
		      "vip_total_ratio_ideal", jreal(ratio((double)total, (double)ideal)),
		      "userspace_vip_bytes", (json_int_t)sizeof(struct xlb_lb_vip), "backend_bytes",
		      (json_int_t)(sizeof(struct xlb_backend) + stats)));
	return 0;
}

/* Time from a backend add (or removal) to the data plane using the new ring,
 * for a VIP with P.cp_backends backends, proved by probe packets. */
static int apply_bench(json_t *cp, double build_cp_us)
{
	double add_ms[32], del_ms[32], call_ms[32], ring_ms[32], bes_ms[32], t0;
	int trials = P.cp_trials < 32 ? P.cp_trials : 32, ok = 1, probes_sent = 0;
	struct xlb_vip_key key;
	struct xlb_lb_vip *v;
	__u32 probes[MAX_PROBES], n_probes;

	if (add_vip(VIP_CP) || vip_key(VIP_CP, &key) || !(v = xlb_lb_vip_find(lb, &key)))
		return -1;
	t0 = now_ns();
	for (__u32 i = 0; i < P.cp_backends; i++) {
		union xlb_addr a = addr4(CP_BACKEND_BASE + i);

		if (add_backend(VIP_CP, &a, XLB_AF_INET))
			return -1;
	}
	printf("\n(set-up: %u backends added one by one in %.2f s)\n", P.cp_backends,
	       (now_ns() - t0) / 1e9);
	for (int t = 0; t < trials; t++) {
		union xlb_addr a = addr4(CP_BACKEND_BASE + 0x400 + (__u32)t);
		double t1, t2 = 0;
		int seen = 0;
		__u32 k;

		if (pick_probes(v, &a, (__u32)t, probes, &n_probes)) {
			pr_err("no probe flow maps to the new backend");
			return -1;
		}
		t0 = now_ns();
		if (add_backend(VIP_CP, &a, XLB_AF_INET))
			return -1;
		t1 = now_ns();
		/* The first probes go out right away: the swap is synchronous. */
		for (k = 0; k + 1 < n_probes && !seen; k++) {
			probes_sent++;
			if (probe((__u32)t, probes[k]) == a.v4) {
				t2 = now_ns();
				seen = 1;
			}
		}
		if (!seen)
			ok = 0;
		add_ms[t] = seen ? (t2 - t0) / 1e6 : (t1 - t0) / 1e6;
		call_ms[t] = (t1 - t0) / 1e6;

		/* Removal: a fresh flow of the same slots must leave it. */
		t0 = now_ns();
		if (xlb_lb_backend_del(lb, &key, &a, XLB_AF_INET, err, sizeof(err))) {
			pr_err("backend del: %s", err);
			return -1;
		}
		t1 = now_ns();
		{
			__be32 dst = probe((__u32)t, probes[n_probes - 1]);

			if (!dst || dst == a.v4)
				ok = 0;
		}
		del_ms[t] = (now_ns() - t0) / 1e6;
	}

	/* Where an apply's time goes: the ring's write and swap alone, and one
	 * write per backend entry (rebuild_ring rewrites them all). */
	for (int t = 0; t < trials; t++) {
		struct xlb_backend be;
		int fd = bpf_map__fd(dp->skel->maps.xlb_backends);

		t0 = now_ns();
		if (xlb_dp_ring_set(dp, v->id, lb->ring))
			return -1;
		ring_ms[t] = (now_ns() - t0) / 1e6;
		t0 = now_ns();
		for (__u32 i = 0; i < dp->max_backends; i++) {
			if (!lb->backends[i].used || lb->backends[i].vip != v->id)
				continue;
			if (bpf_map_lookup_elem(fd, &i, &be) ||
			    bpf_map_update_elem(fd, &i, &be, BPF_ANY))
				return -1;
		}
		bes_ms[t] = (now_ns() - t0) / 1e6;
	}
	if (!ok)
		invalid++;
	{
		double add_min = minimum(add_ms, trials), add_med = median(add_ms, trials);
		double del_min = minimum(del_ms, trials), del_med = median(del_ms, trials);
		double call_med = median(call_ms, trials), ring_med = median(ring_ms, trials);
		double bes_med = median(bes_ms, trials), build_ms = build_cp_us / 1e3;

		char label[64];

		snprintf(label, sizeof(label), "Change applied (%u-backend VIP)", P.cp_backends);
		printf("\n%-34s %10s %10s %12s\n", label, "ms min", "ms med", "x build");
		printf("%-34s %10.3f %10.3f %12.2f\n", "backend add -> new ring in use", add_min,
		       add_med, ratio(add_med, build_ms));
		printf("%-34s %10.3f %10.3f %12.2f\n", "backend remove -> flows leave it", del_min,
		       del_med, ratio(del_med, build_ms));
		snprintf(label, sizeof(label), "  of which: Maglev build (%u)", P.cp_backends);
		printf("%-34s %10s %10.3f %12.2f\n", label, "-", build_ms, 1.0);
		printf("%-34s %10s %10.3f %12.2f\n", "  ring write + swap (65537 slots)", "-",
		       ring_med, ratio(ring_med, build_ms));
		printf("%-34s %10s %10.3f %12.2f\n", "  backend entries rewritten", "-", bes_med,
		       ratio(bes_med, build_ms));
		printf("   probes: %d sent, new backend %s\n", probes_sent,
		       ok ? "seen by the first probe after each add, gone after each remove"
			  : "NOT SEEN as expected (PATH MISMATCH)");
		json_object_set_new(
		    cp, "apply",
		    json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:i}",
			      "backends", (int)P.cp_backends, "trials", trials, "add_ms_min",
			      jreal(add_min), "add_ms_median", jreal(add_med), "del_ms_min",
			      jreal(del_min), "del_ms_median", jreal(del_med), "add_call_ms_median",
			      jreal(call_med), "ring_write_ms_median", jreal(ring_med),
			      "backend_writes_ms_median", jreal(bes_med), "build_ms_median",
			      jreal(build_ms), "ratio_build", jreal(ratio(add_med, build_ms)),
			      "path_ok", ok, "probes", probes_sent));
	}
	return memory_per_vip(cp, v->id);
}

static int control_plane(json_t *root)
{
	json_t *cp = json_object();
	double build_cp_us = 0;

	json_object_set_new(root, "control_plane", cp);
	if (ring_build_bench(cp, &build_cp_us) < 0)
		return -1;
	return apply_bench(cp, build_cp_us);
}

/* ---- 4. Maglev quality ---------------------------------------------------- */

static int maglev_quality(json_t *root)
{
	static const __u32 sizes[] = {10, 100, 1000};
	__u32 m = dp->ring_size;
	struct xlb_maglev_backend *b = calloc(1002, sizeof(*b));
	__u32 *r0 = calloc(m, sizeof(__u32)), *r1 = calloc(m, sizeof(__u32));
	__u32 *count = calloc(1002, sizeof(__u32));
	json_t *jm = json_object(), *jbal = json_array(), *jdis = json_array();
	int ret = -1;

	if (!b || !r0 || !r1 || !count)
		goto out;
	printf("\n4. Maglev quality (M = %u)\n\n", m);
	printf("%-28s %10s %10s %12s\n", "balance", "max/mean", "ideal", "x ideal");
	for (size_t s = 0; s < 3; s++) {
		__u32 n = sizes[s], max = 0;
		double mean = (double)m / n, ideal = ((m + n - 1) / n) / mean, bal;
		char label[64];

		synth_backends(b, n, CP_BACKEND_BASE);
		if (xlb_maglev_build(b, n, m, r0))
			goto out;
		memset(count, 0, 1002 * sizeof(__u32));
		for (__u32 i = 0; i < m; i++)
			count[r0[i]]++;
		for (__u32 i = 0; i < n; i++)
			if (count[i] > max)
				max = count[i];
		bal = max / mean;
		snprintf(label, sizeof(label), "%u backends", n);
		printf("%-28s %10.4f %10.4f %12.4f\n", label, bal, ideal, bal / ideal);
		json_array_append_new(jbal,
				      json_pack("{s:i, s:o, s:o, s:o}", "backends", (int)n,
						"max_over_mean", jreal(bal), "ideal", jreal(ideal),
						"ratio_ideal", jreal(bal / ideal)));
	}

	printf("\n%-28s %10s %10s %12s %10s\n", "disruption (slots moved)", "mean", "ideal",
	       "x ideal", "worst x");
	for (size_t s = 0; s < 2; s++) {
		__u32 n = sizes[s];
		int trials = n < 20 ? (int)n : 20;

		for (int op = 0; op < 2; op++) { /* 0: remove one, 1: add one */
			double sum = 0, worst = 0, ideal = op ? 1.0 / (n + 1) : 1.0 / n;
			char label[64];

			for (int t = 0; t < trials; t++) {
				__u32 moved = 0, victim = (__u32)t * (n / (__u32)trials);

				synth_backends(b, n + 1, CP_BACKEND_BASE);
				if (op == 0) {
					if (xlb_maglev_build(b, n, m, r0))
						goto out;
					b[victim] = b[n - 1]; /* drop victim, keep ids */
					if (xlb_maglev_build(b, n - 1, m, r1))
						goto out;
				} else {
					if (xlb_maglev_build(b, n, m, r0))
						goto out;
					b[n].addr = addr4(CP_BACKEND_BASE + 0x400 + (__u32)t);
					if (xlb_maglev_build(b, n + 1, m, r1))
						goto out;
				}
				for (__u32 i = 0; i < m; i++)
					moved += r0[i] != r1[i];
				sum += (double)moved / m;
				if ((double)moved / m / ideal > worst)
					worst = (double)moved / m / ideal;
			}
			snprintf(label, sizeof(label), "%s one of %u", op ? "add" : "remove", n);
			printf("%-28s %10.4f %10.4f %12.3f %10.3f\n", label, sum / trials, ideal,
			       sum / trials / ideal, worst);
			json_array_append_new(jdis,
					      json_pack("{s:s, s:i, s:i, s:o, s:o, s:o, s:o}", "op",
							op ? "add" : "remove", "backends", (int)n,
							"trials", trials, "moved_mean",
							jreal(sum / trials), "ideal", jreal(ideal),
							"ratio_ideal", jreal(sum / trials / ideal),
							"ratio_ideal_worst", jreal(worst)));
		}
	}
	printf("   ideal: only the removed (added) backend's share moves: 1/N (1/(N+1))\n");
	json_object_set_new(jm, "ring_size", json_integer(m));
	json_object_set_new(jm, "balance", jbal);
	json_object_set_new(jm, "disruption", jdis);
	json_object_set_new(root, "maglev", jm);
	jm = NULL;
	ret = 0;
out:
	json_decref(jm);
	free(b);
	free(r0);
	free(r1);
	free(count);
	return ret;
}

/* ---- 1b. the backends' program ----------------------------------------------- */

#define DB_LEN 128 /* DECAP_BENCH_LEN of bench/xlb_decap_bench.bpf.c */

struct db_case {
	const char *name, *what;
	__u8 proto;
	__u16 sport;
	int hinted;
	int reason; /* what decap() must return */
};

/* One frame of 128 bytes: client 198.18.1.2:sport -> 198.18.100.1:80 in
 * IPIP from the LB 198.18.0.2 to this backend 198.18.0.11. */
static int db_frame(const struct db_case *c, struct pkt *p)
{
	static const __u8 mac[6] = {2, 0, 0, 0, 0, 1};
	struct pkt_spec s = {.family = 4, .src = "198.18.1.2", .dst = "198.18.100.1",
			     .proto = c->proto, .sport = c->sport, .dport = 80};
	size_t hdr = 14 + 20 + (c->hinted ? 8 : 0) + 20 + (c->proto == IPPROTO_TCP ? 20 : 8);

	s.payload_len = DB_LEN - hdr;
	if (pkt_build(p, &s) || pkt_encap(p, 4, "198.18.0.2", "198.18.0.11", 0, mac, mac))
		return -1;
	if (c->hinted && pkt_add_hint(p, "198.18.0.12"))
		return -1;
	return p->len == DB_LEN ? 0 : -1;
}

/* A listener on the VIP and one connection to it from the client's
 * address, both on lo of the benchmark's namespace: the sockets
 * bpf_skc_lookup_tcp finds. */
static int db_sockets(int *l, int *c)
{
	struct sockaddr_in vip = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct sockaddr_in cli = {.sin_family = AF_INET, .sin_port = htons(40000)};

	if (system("ip addr add 198.18.100.1/32 dev lo && ip addr add 198.18.1.2/32 dev lo"))
		return -1;
	inet_pton(AF_INET, "198.18.100.1", &vip.sin_addr);
	inet_pton(AF_INET, "198.18.1.2", &cli.sin_addr);
	*l = socket(AF_INET, SOCK_STREAM, 0);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*l < 0 || *c < 0 || bind(*l, (struct sockaddr *)&vip, sizeof(vip)) || listen(*l, 4) ||
	    bind(*c, (struct sockaddr *)&cli, sizeof(cli)) ||
	    connect(*c, (struct sockaddr *)&vip, sizeof(vip)))
		return -1;
	return 0;
}

static int db_prefixes(const struct xlb_decap_maps *m, const char *list,
		       int (*set)(const struct xlb_decap_maps *, const struct xlb_prefix *, size_t))
{
	struct xlb_prefix pf[4];
	int n = xlb_prefix_list_parse(list, pf, 4, err, sizeof(err));

	return n < 0 ? -1 : set(m, pf, (size_t)n);
}

/* The backends' program on hinted and plain tunnels: what a hint costs
 * there (the socket lookup, the forward). */
static int decap_cost(json_t *root)
{
	static const struct db_case cases[] = {
	    {"decap_tcp", "IPIP, TCP, no hint: stripped (the reference)", IPPROTO_TCP, 40000, 0,
	     XLB_DECAP_STAT_DECAP},
	    {"hint_udp", "IPIP with a hint, UDP: stripped without a lookup", IPPROTO_UDP, 40000, 1,
	     XLB_DECAP_STAT_HINT_LOCAL},
	    {"hint_local", "IPIP with a hint, TCP, established socket found: stripped",
	     IPPROTO_TCP, 40000, 1, XLB_DECAP_STAT_HINT_LOCAL},
	    {"hint_listener", "IPIP with a hint, TCP, only the listener found: forwarded",
	     IPPROTO_TCP, 40001, 1, XLB_DECAP_STAT_FORWARD},
	};
	struct xlb_decap_bench_bpf *db = xlb_decap_bench_bpf__open_and_load();
	struct xlb_decap_key key = {.family = XLB_AF_INET};
	struct xlb_decap_addr val = {.ifindex = 1};
	json_t *jcases = json_array();
	struct xlb_decap_maps m;
	int l = -1, c = -1, ret = -1, fd, fd_restore;
	struct timing tr;
	__u32 action;
	struct pkt frame;

	if (!db || !jcases) {
		pr_err("cannot load the decap bench object: %s", strerror(errno));
		goto out;
	}
	fd = bpf_program__fd(db->progs.bench_decap);
	fd_restore = bpf_program__fd(db->progs.bench_decap_restore);
	inet_pton(AF_INET, "198.18.0.11", &key.addr.v4);
	if (xlb_decap_maps_from_obj(db->obj, &m) ||
	    bpf_map_update_elem(bpf_map__fd(db->maps.xlb_decap_addrs), &key, &val, BPF_ANY) ||
	    db_prefixes(&m, "198.18.0.2/32", xlb_decap_set_from) ||
	    db_prefixes(&m, "198.18.100.0/24", xlb_decap_set_local) || db_sockets(&l, &c)) {
		pr_err("cannot set up the decap bench: %s", strerror(errno));
		goto out;
	}
	printf("\n1b. xlb-decap per packet: BPF_PROG_TEST_RUN, %d-byte IPIP frames, repeat %u x %d "
	       "runs (net: minus the restore)\n\n",
	       DB_LEN, P.repeat, P.runs);
	printf("%-16s %8s %8s %8s %8s  %s\n", "case", "ns min", "ns med", "net min", "net med",
	       "what");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct timing t;

		if (db_frame(&cases[i], &frame)) {
			pr_err("cannot build the %s frame", cases[i].name);
			goto out;
		}
		memcpy(db->bss->decap_bench_frame, frame.data, DB_LEN);
		if (time_prog(fd, &frame, &t, &action) || time_prog(fd_restore, &frame, &tr, NULL))
			goto out;
		if ((int)action != cases[i].reason)
			invalid++;
		printf("%-16s %8.2f %8.2f %8.2f %8.2f  %s%s\n", cases[i].name, t.min, t.med,
		       t.min - tr.min, t.med - tr.med, cases[i].what,
		       (int)action == cases[i].reason ? "" : "  PATH MISMATCH");
		json_array_append_new(jcases,
				      json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "name",
						cases[i].name, "what", cases[i].what, "ns_min",
						jreal(t.min), "ns_median", jreal(t.med), "net_min",
						jreal(t.min - tr.min), "net_median",
						jreal(t.med - tr.med), "ok",
						(int)action == cases[i].reason));
	}
	json_object_set_new(root, "decap", jcases);
	jcases = NULL;
	xlb_decap_maps_close(&m);
	ret = 0;
out:
	json_decref(jcases);
	if (l >= 0)
		close(l);
	if (c >= 0)
		close(c);
	xlb_decap_bench_bpf__destroy(db);
	return ret;
}

/* ---- 2. throughput over veth ---------------------------------------------- */

struct tput_ns {
	int lb_ns, gen_ns;
	unsigned int lb_if, gen_if;
};

static int rx_read(__u64 out[2])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.bench_rx);
	__u64 *v = calloc(ncpu, sizeof(__u64));

	if (!v)
		return -1;
	for (__u32 k = 0; k < 2; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v)) {
			free(v);
			return -1;
		}
		for (int c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

/* Sends for about secs from the generator's namespace; returns the elapsed
 * time in *secs_out and the frames sent in *sent. */
static int generate(struct tput_ns *ns, const struct pkt *frame, double secs, double *secs_out,
		    __u64 *sent)
{
	struct xdp_md ctx = {.data_end = (__u32)frame->len, .ingress_ifindex = ns->gen_if};
	__u32 chunk = P.quick ? 20000 : 500000;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame->data,
		    .data_size_in = (__u32)frame->len, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = chunk, .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	int fd = bpf_program__fd(skel->progs.bench_gen), ret = 0;
	double t0, t;

	if (setns(ns->gen_ns, CLONE_NEWNET))
		return -errno;
	*sent = 0;
	t0 = now_ns();
	/* Bounded in count as well as in time. */
	for (int i = 0; i < 100000; i++) {
		if (bpf_prog_test_run_opts(fd, &opts)) {
			ret = -errno;
			break;
		}
		*sent += chunk;
		t = now_ns();
		if (t - t0 >= secs * 1e9)
			break;
	}
	*secs_out = (now_ns() - t0) / 1e9;
	if (setns(ns->lb_ns, CLONE_NEWNET) && !ret)
		ret = -errno;
	return ret;
}

struct gen_job {
	struct tput_ns *ns;
	const struct pkt *frame;
	double secs, secs_out;
	__u64 sent;
	int cpu, ret;
};

static void *gen_thread(void *arg)
{
	struct gen_job *j = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(j->cpu, &set);
	j->ret = sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
	if (!j->ret)
		j->ret = generate(j->ns, j->frame, j->secs, &j->secs_out, &j->sent);
	return NULL;
}

/* generate() on this CPU, and with cores 2 at the same time on P.cpu2 from
 * a second thread: veth queues by the sending CPU, so each CPU carries its
 * frames through both NAPIs and the LB's program by itself. */
static int generate_on(int cores, struct tput_ns *ns, const struct pkt *frame, double secs,
		       double *secs_out, __u64 *sent)
{
	struct gen_job j = {.ns = ns, .frame = frame, .secs = secs, .cpu = P.cpu2};
	pthread_t t;
	int ret;

	if (cores == 1)
		return generate(ns, frame, secs, secs_out, sent);
	if ((ret = pthread_create(&t, NULL, gen_thread, &j)))
		return -ret;
	ret = generate(ns, frame, secs, secs_out, sent);
	pthread_join(t, NULL);
	if (!ret)
		ret = j.ret;
	*sent += j.sent;
	if (j.secs_out > *secs_out)
		*secs_out = j.secs_out;
	return ret;
}

static int attach(unsigned int ifindex, int prog_fd)
{
	int e = bpf_xdp_attach((int)ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);

	if (e)
		pr_err("cannot attach XDP to ifindex %u: %s", ifindex, strerror(-e));
	return e;
}

static int setup_tput_ns(struct tput_ns *ns)
{
	char cmd[256];
	int cur;

	ns->lb_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns->lb_ns < 0)
		return -1;
	if (unshare(CLONE_NEWNET))
		return -1;
	ns->gen_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	cur = setns(ns->lb_ns, CLONE_NEWNET);
	if (ns->gen_ns < 0 || cur)
		return -1;
	snprintf(cmd, sizeof(cmd), "ip link set " TPUT_GEN_IF " netns /proc/%d/fd/%d", getpid(),
		 ns->gen_ns);
	if (system(cmd))
		return -1;
	ns->lb_if = if_nametoindex(TPUT_LB_IF);
	if (setns(ns->gen_ns, CLONE_NEWNET))
		return -1;
	if (system("sysctl -qw net.ipv6.conf." TPUT_GEN_IF ".disable_ipv6=1 && "
		   "ip link set lo up && ip link set " TPUT_GEN_IF " up")) {
		setns(ns->lb_ns, CLONE_NEWNET);
		return -1;
	}
	ns->gen_if = if_nametoindex(TPUT_GEN_IF);
	/* The receiver: also gives the generator's veth the NAPI that frames
	 * sent back to it need. */
	cur = attach(ns->gen_if, bpf_program__fd(skel->progs.bench_count));
	if (setns(ns->lb_ns, CLONE_NEWNET) || cur || !ns->lb_if || !ns->gen_if)
		return -1;
	return 0;
}

static int rx_reset(void)
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(skel->maps.bench_rx), ret = 0;
	__u64 *z = calloc(ncpu, sizeof(__u64));

	if (!z)
		return -1;
	for (__u32 k = 0; k < 2 && !ret; k++)
		ret = bpf_map_update_elem(fd, &k, z, BPF_ANY);
	free(z);
	return ret;
}

static int throughput(json_t *root)
{
	enum { MODE_SINK, MODE_REFLECT, MODE_XLB, MODE_XLB1, N_MODES };
	static const char *const names[] = {"sink", "reflector", "xlb", "xlb-1flow"};
	static const char *const what[] = {
	    "generator -> veth -> XDP_DROP at the LB (harness ceiling)",
	    "generator -> LB reflects (XDP_TX unchanged) -> receiver",
	    "generator -> xlb (IPIP encap, XDP_TX) -> receiver",
	    "the same, one flow per CPU: xlb's state stays in cache"};
	double pps[N_MODES][2][8] = {{{0}}}, sent_pps[N_MODES][2][8] = {{{0}}};
	__u64 ipip[N_MODES] = {0}, rx_tot[N_MODES] = {0}, xlb_tx = 0, xlb_rx_total = 0;
	int rounds = P.tput_rounds < 8 ? P.tput_rounds : 8, ok = 1;
	int ncores = P.cpu2 >= 0 ? 2 : 1;
	struct tput_ns ns = {-1, -1, 0, 0};
	__u64 before[__XLB_STAT_MAX], after[__XLB_STAT_MAX], xlb_sum[__XLB_STAT_MAX] = {0};
	__u64 zero[__XLB_STAT_MAX] = {0};
	char cline[512];
	json_t *jt, *jmodes = json_array(), *jcnt;
	struct pkt frame;
	double med[N_MODES][2], spread[N_MODES][2];
	int ret = -1;

	if (add_vip(VIP_TPUT) || add_backend_text(VIP_TPUT, TPUT_BACKEND))
		return -1;
	if (setup_tput_ns(&ns)) {
		pr_err("cannot set up the throughput namespaces");
		goto out;
	}
	if (build_frame(&frame, 4, "198.18.65.2", "198.18.100.9", 1024, TCP_ACK))
		goto out;
	memcpy(frame.data, (const __u8[]){2, 0, 0, 0, 1, 2}, 6);     /* to the LB's veth */
	memcpy(frame.data + 6, (const __u8[]){2, 0, 0, 0, 1, 1}, 6); /* from the generator's */
	memcpy(skel->bss->bench_frame, frame.data, FRAME_LEN);

	/* Modes and core counts interleaved within each round, so that the
	 * machine's other work spreads over all of them alike. */
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < N_MODES; m++) {
			int prog = m == MODE_SINK      ? bpf_program__fd(skel->progs.bench_count)
				   : m == MODE_REFLECT ? bpf_program__fd(skel->progs.bench_tx)
						       : xlb_dp_prog_fd(dp);

			/* xlb-1flow: what the flows' table entries cost
			 * (memory misses) against the program itself. */
			skel->bss->bench_gen_mask = m == MODE_XLB1 ? 0 : P.tput_flows - 1;
			if (attach(ns.lb_if, prog))
				goto out;
			for (int c = 0; c < ncores; c++) {
				double secs;
				__u64 sent, rx[2];

				/* Warm up (conn entries, caches), then measure. */
				if (generate_on(c + 1, &ns, &frame, P.tput_secs / 10, &secs, &sent))
					goto out;
				usleep(20000);
				if (rx_reset())
					goto out;
				counters(before);
				if (generate_on(c + 1, &ns, &frame, P.tput_secs, &secs, &sent))
					goto out;
				usleep(20000); /* let the last NAPI polls finish */
				counters(after);
				if (rx_read(rx))
					goto out;
				pps[m][c][r] = rx[0] / secs;
				sent_pps[m][c][r] = sent / secs;
				rx_tot[m] += rx[0];
				ipip[m] += rx[1];
				if (m == MODE_XLB || m == MODE_XLB1) {
					for (int i = 0; i < __XLB_STAT_MAX; i++)
						xlb_sum[i] += after[i] - before[i];
					xlb_tx += after[XLB_STAT_TX] - before[XLB_STAT_TX];
					xlb_rx_total += rx[0];
				}
			}
		}
	}
	if (bpf_xdp_detach((int)ns.lb_if, XDP_FLAGS_DRV_MODE, NULL))
		goto out;
	/* The path: every frame counted after xlb arrived encapsulated and was
	 * counted as tx by xlb; the reflector's never were. */
	if (!rx_tot[MODE_XLB] || ipip[MODE_XLB] != rx_tot[MODE_XLB] || !rx_tot[MODE_XLB1] ||
	    ipip[MODE_XLB1] != rx_tot[MODE_XLB1] || xlb_tx < xlb_rx_total ||
	    ipip[MODE_REFLECT] || !rx_tot[MODE_REFLECT])
		ok = 0;
	if (!ok)
		invalid++;

	for (int m = 0; m < N_MODES; m++)
		for (int c = 0; c < ncores; c++) {
			double lo = minimum(pps[m][c], rounds), hi = 0;

			for (int r = 0; r < rounds; r++)
				hi = pps[m][c][r] > hi ? pps[m][c][r] : hi;
			med[m][c] = median(pps[m][c], rounds);
			spread[m][c] = med[m][c] > 0 ? (hi - lo) / med[m][c] : 0;
		}
	printf("\n2. Throughput over veth, %zu-byte frames, %u flows per CPU, %.1f s x %d round%s "
	       "per mode, medians\n\n",
	       FRAME_LEN, P.tput_flows, P.tput_secs, rounds, rounds > 1 ? "s" : "");
	printf("%-10s %10s %12s %7s", "mode", "Mpps 1 CPU", "x reflector", "spread");
	if (ncores > 1)
		printf(" %11s %12s %7s %8s", "Mpps 2 CPUs", "x reflector", "spread", "scaling");
	printf("  path\n");
	for (int m = 0; m < N_MODES; m++) {
		json_t *jc = json_array();

		printf("%-10s %10.3f %12.2f %6.0f%%", names[m], med[m][0] / 1e6,
		       ratio(med[m][0], med[MODE_REFLECT][0]), 100 * spread[m][0]);
		if (ncores > 1)
			printf(" %11.3f %12.2f %6.0f%% %8.2f", med[m][1] / 1e6,
			       ratio(med[m][1], med[MODE_REFLECT][1]), 100 * spread[m][1],
			       ratio(med[m][1], med[m][0]));
		printf("  %s\n", what[m]);
		for (int c = 0; c < ncores; c++)
			json_array_append_new(
			    jc, json_pack("{s:i, s:o, s:o, s:o, s:o}", "cpus", c + 1, "pps_median",
					  jreal(med[m][c]), "sent_pps_median",
					  jreal(median(sent_pps[m][c], rounds)), "ratio_reflector",
					  jreal(ratio(med[m][c], med[MODE_REFLECT][c])), "spread",
					  jreal(spread[m][c])));
		json_array_append_new(
		    jmodes,
		    json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:I}", "mode", names[m], "what",
			      what[m], "pps_median", jreal(med[m][0]), "ratio_reflector",
			      jreal(ratio(med[m][0], med[MODE_REFLECT][0])), "scaling_2cpu",
			      ncores > 1 ? jreal(ratio(med[m][1], med[m][0])) : json_null(),
			      "by_cpus", jc, "received", (json_int_t)rx_tot[m], "received_ipip",
			      (json_int_t)ipip[m]));
	}
	printf("   xlb: %llu frames received, %llu IPIP-encapsulated, xlb tx counter +%llu%s\n",
	       (unsigned long long)(rx_tot[MODE_XLB] + rx_tot[MODE_XLB1]),
	       (unsigned long long)(ipip[MODE_XLB] + ipip[MODE_XLB1]),
	       (unsigned long long)xlb_tx, ok ? "" : "  PATH MISMATCH");
	jcnt = counters_json(zero, xlb_sum, cline, sizeof(cline));
	/* What xlb's frames did: hits or new flows, cached next hop or not. */
	printf("   xlb's counters over the measured runs: %s\n", cline);
	printf("   1 CPU: sender, both veths' NAPI and every XDP program on CPU %d (veth NAPI "
	       "runs in the sender's softirq)\n",
	       P.cpu);
	if (ncores > 1)
		printf("   2 CPUs: a second sender on CPU %d at the same time, its own flows and "
		       "veth queues; scaling = 2-CPU Mpps / 1-CPU Mpps\n",
		       P.cpu2);
	else
		printf("   2 CPUs: skipped, only CPU %d is allowed\n", P.cpu);
	jt = json_pack("{s:i, s:i, s:i, s:i, s:o, s:i, s:o, s:b, s:I, s:o, s:o, s:o}", "cpu",
		       P.cpu, "cpu2", P.cpu2, "frame_len", (int)FRAME_LEN, "flows_per_cpu",
		       (int)P.tput_flows, "seconds", jreal(P.tput_secs), "rounds", rounds, "modes",
		       jmodes, "path_ok", ok, "xlb_tx_counter", (json_int_t)xlb_tx, "xlb_counters",
		       jcnt, "ratio_xlb_reflector",
		       jreal(ratio(med[MODE_XLB][0], med[MODE_REFLECT][0])),
		       "ratio_xlb_reflector_2cpu",
		       ncores > 1 ? jreal(ratio(med[MODE_XLB][1], med[MODE_REFLECT][1]))
				  : json_null());
	json_object_set_new(root, "throughput", jt);
	jmodes = NULL;
	ret = 0;
out:
	json_decref(jmodes);
	if (ns.lb_ns >= 0)
		close(ns.lb_ns);
	if (ns.gen_ns >= 0)
		close(ns.gen_ns);
	return ret;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlb-bench [--quick] [--no-throughput] [--decap-only] [--throughput-only]\n"
		   "                 [--json FILE] [--cpu N] [--against OBJ] [--paired-only]\n"
		   "                 [--pair-case NAME] [--pair-rounds N] [--pair-copies N]\n"
		   "  --quick          tiny counts: proves the benchmark works (make test)\n"
		   "  --no-throughput  skip the veth throughput part\n"
		   "  --throughput-only  the veth throughput part alone\n"
		   "  --tput-flows N   flows per CPU of the throughput generator (power of 2,\n"
		   "                   1-32768; default 4096)\n"
		   "  --decap-only     time the backends' program (xlb-decap) only\n"
		   "  --json FILE      also write figures, ratios and the machine to FILE\n"
		   "  --cpu N          the CPU to pin to (default: the last allowed one)\n"
		   "  --against OBJ    also time every per-packet case paired, alternating\n"
		   "                   with another build's build/xlb_bench.bpf.o on the same maps\n"
		   "  --paired-only    with --against: the paired comparison alone\n"
		   "  --pair-case NAME with --against: pair that case only\n"
		   "  --pair-rounds N  with --against: N rounds a case (3-1001; default 41)\n"
		   "  --pair-copies N  with --against: load each build N times (1-8; default\n"
		   "                   4); the rounds take the copies in turn\n"
		   "Needs root: runs in a private network namespace of its own.\n");
}

/* A decimal integer from min to max, all of text. */
/* An integer option in [min, max]; otherwise says which and what is valid. */
static int parse_int(const char *what, const char *text, long min, long max, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(text, &end, 10);
	if (!*text || *end || errno || n < min || n > max) {
		fprintf(stderr, "Error: bad %s '%s', expected %ld-%ld\n", what, text, min, max);
		return -1;
	}
	*out = (int)n;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"quick", no_argument, NULL, 'q'},	    {"no-throughput", no_argument, NULL, 'T'},
	    {"json", required_argument, NULL, 'j'}, {"cpu", required_argument, NULL, 'c'},
	    {"decap-only", no_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'},
	    {"against", required_argument, NULL, 'a'},
	    {"throughput-only", no_argument, NULL, 't'},
	    {"tput-flows", required_argument, NULL, 'f'},
	    {"paired-only", no_argument, NULL, 'p'},
	    {"pair-rounds", required_argument, NULL, 'r'},
	    {"pair-case", required_argument, NULL, 'C'},
	    {"pair-copies", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	P = (struct params){.repeat = 1000000,
			    .runs = 5,
			    .flows = 1U << 20,
			    .build_iters = 21,
			    .cp_backends = 1000,
			    .cp_trials = 11,
			    .tput_secs = 2.0,
			    .tput_rounds = 3,
			    .tput_flows = 4096,
			    .throughput = 1,
			    .cpu = -1};
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			P.quick = 1;
			break;
		case 'T':
			P.throughput = 0;
			break;
		case 'D':
			P.decap_only = 1;
			break;
		case 't':
			P.tput_only = 1;
			break;
		case 'p':
			P.paired_only = 1;
			break;
		case 'C':
			P.pair_case = optarg;
			break;
		case 'r':
			if (parse_int("--pair-rounds", optarg, 3, PAIR_ROUNDS_MAX, &P.pair_rounds))
				return -1;
			break;
		case 'K':
			if (parse_int("--pair-copies", optarg, 1, PAIR_COPIES_MAX, &P.pair_copies))
				return -1;
			break;
		case 'f': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !n || n > 32768 || (n & (n - 1))) {
				fprintf(stderr,
					"Error: bad --tput-flows '%s', expected a power of 2 "
					"from 1 to 32768 (each CPU sends its own, in one port space)\n",
					optarg);
				return -1;
			}
			P.tput_flows = (__u32)n;
			break;
		}
		case 'j':
			P.json_path = optarg;
			break;
		case 'a':
			P.against = optarg;
			break;
		case 'c':
			if (parse_int("CPU", optarg, 0, CPU_SETSIZE - 1, &P.cpu))
				return -1;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "Error: unexpected argument '%s', see --help\n", argv[optind]);
		return -1;
	}
	if (P.pair_case) {
		size_t i;

		for (i = 0; i < N_PP_CASES && strcmp(pp_cases[i].name, P.pair_case); i++)
			;
		if (i == N_PP_CASES) {
			fprintf(stderr, "Error: no case '%s' to pair; the cases are section 1's "
					"(v4_hit, v6_hit, v4_new_flow, ...)\n", P.pair_case);
			return -1;
		}
	}
	if ((P.paired_only || P.pair_case || P.pair_rounds || P.pair_copies) && !P.against) {
		fprintf(stderr, "Error: --paired-only, --pair-case, --pair-rounds and "
				"--pair-copies need "
				"--against OBJ, the other build's "
				"build/xlb_bench.bpf.o\n");
		return -1;
	}
	if (P.quick) {
		P.repeat = 1000;
		P.runs = 1;
		P.flows = 1U << 14;
		P.build_iters = 3;
		P.cp_backends = 100;
		P.cp_trials = 2;
		P.tput_secs = 0.1;
		P.tput_rounds = 1;
	}
	return 0;
}

static int pin_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	if (P.cpu < 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				P.cpu = c;
	if (P.cpu < 0 || !CPU_ISSET(P.cpu, &set)) {
		fprintf(stderr, "Error: CPU %d is not available to this process\n", P.cpu);
		return -1;
	}
	/* The two-core throughput's second sender: the last other allowed CPU. */
	P.cpu2 = -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (c != P.cpu && CPU_ISSET(c, &set))
			P.cpu2 = c;
	CPU_ZERO(&set);
	CPU_SET(P.cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

int main(int argc, char **argv)
{
	json_t *root;
	double t0 = now_ns();
	int ret = EXIT_RUNTIME;

	if (parse_args(argc, argv))
		return EXIT_USAGE;
	xlb_log_set_level(XLB_LOG_WARN);
	xlb_log_libbpf();
	if (pin_cpu()) {
		pr_err("cannot pin to a CPU: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	root = json_object();
	json_object_set_new(root, "tool", json_string("xlb-bench"));
	json_object_set_new(root, "quick", json_boolean(P.quick));
	json_object_set_new(root, "machine", machine_json());
	printf("xlb-bench%s: %s\n",
	       P.quick ? " --quick (tiny counts: proves it works, figures "
			 "mean nothing)"
		       : "",
	       json_string_value(json_object_get(json_object_get(root, "machine"), "cpu")));

	if (enter_netns() || setup_dataplane() || setup_bench() || (P.against && setup_copies()))
		goto out;
	if (P.paired_only) {
		if (paired(root))
			goto out;
		ret = invalid ? EXIT_RUNTIME : EXIT_OK;
		goto out;
	}
	if (P.tput_only) {
		if (throughput(root))
			goto out;
		ret = invalid ? EXIT_RUNTIME : EXIT_OK;
		goto out;
	}
	if (decap_cost(root))
		goto out;
	if (P.decap_only) {
		ret = invalid ? EXIT_RUNTIME : EXIT_OK;
		goto out;
	}
	if (per_packet(root) || (P.against && paired(root)) || control_plane(root) ||
	    maglev_quality(root))
		goto out;
	if (P.throughput) {
		if (throughput(root))
			goto out;
	} else {
		json_object_set_new(root, "throughput", json_pack("{s:b}", "skipped", 1));
	}
	ret = invalid ? EXIT_RUNTIME : EXIT_OK;
	if (invalid)
		pr_err("%d measurement(s) did not take the path they claim: see PATH MISMATCH",
		       invalid);
out:
	json_object_set_new(root, "valid", json_boolean(ret == EXIT_OK));
	json_object_set_new(root, "seconds", jreal((now_ns() - t0) / 1e9));
	if (P.json_path && json_dump_file(root, P.json_path, JSON_INDENT(2))) {
		pr_err("cannot write %s", P.json_path);
		ret = EXIT_RUNTIME;
	}
	printf("\nxlb-bench: %s in %.1f s%s%s\n", ret == EXIT_OK ? "done" : "FAILED",
	       (now_ns() - t0) / 1e9, P.json_path ? ", wrote " : "",
	       P.json_path ? P.json_path : "");
	json_decref(root);
	close_copies();
	xlb_bench_bpf__destroy(skel);
	xlb_lb_free(lb);
	xlb_dp_close(dp);
	return ret;
}
