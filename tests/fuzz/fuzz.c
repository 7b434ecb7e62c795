// SPDX-License-Identifier: GPL-2.0
/* fuzz.c: differential fuzzing of the XDP program xlb_lb against the
 * reference model (model.h). Loads the real program, fills its maps with
 * the daemon's own library (user/lb.c) in a private network namespace whose
 * permanent neighbours make bpf_fib_lookup deterministic, feeds it generated
 * frames (gen.h) through BPF_PROG_TEST_RUN on one CPU, and compares the
 * action, the output bytes and the counters that moved with the model's.
 *
 * Usage: xlb-fuzz [-s SEED] [-n FRAMES] [-c EVERY] [-C EVERY] [-m SHOWN] [-q]
 * Exit 0 when no frame diverged, 1 when one did, 2 on a setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_env.h"
#include "addr.h"
#include "dataplane.h"
#include "lb.h"
#include "xlb.skel.h"
#include "model.h"
#include "gen.h"

#define LB_IF "hzf0"

static const __u8 lb_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const __u8 client_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
static const __u8 other_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x03};
static const __u8 gw_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x02, 0x05};
#define OTHER_IF  "hzf2" /* given to xlb (devmap): redirect, a smaller MTU */
#define OTHER_MTU 1400
#define NOPORT_IF "hzf4" /* not given to xlb: passed encapsulated */

/* The lab: on the receiving link, backends .11-.14 / ::11-::14 with
 * permanent neighbours (XDP_TX) and .99 / ::99 without one (fib_no_neigh);
 * 198.18.2.5 / 2001:db8:2::5 behind a second interface in xlb's devmap with
 * MTU 1400 (redirect); 198.18.4.5 behind a third that is not (fib_pass);
 * 198.18.9.0/24 and 2001:db8:9::/48 blackholed (fib_unreachable);
 * 198.19.0.0/16 and 2001:db8:ffff::/48 without a route (fib_no_route). */
static const char *const setup_cmds[] = {
    "ip link set lo up",
    "ip link add " LB_IF " address 02:00:00:00:00:02 type veth peer name hzf1",
    "ip link set " LB_IF " up && ip link set hzf1 up",
    "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
    "sysctl -qw net.ipv4.conf." LB_IF ".forwarding=1 net.ipv6.conf." LB_IF ".forwarding=1",
    "ip addr add 198.18.0.2/24 dev " LB_IF,
    "ip -6 addr add 2001:db8::2/64 dev " LB_IF " nodad",
    "for i in 11 12 13 14; do "
    "ip neigh add 198.18.0.$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent && "
    "ip neigh add 2001:db8::$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent "
    "|| exit 1; done",
    "ip link add " OTHER_IF " address 02:00:00:00:00:03 mtu 1400 type veth peer name hzf3",
    "ip link add " NOPORT_IF " address 02:00:00:00:00:04 type veth peer name hzf5",
    "for i in hzf2 hzf3 hzf4 hzf5; do ip link set $i up || exit 1; done",
    "ip addr add 198.18.2.2/24 dev " OTHER_IF,
    "ip -6 addr add 2001:db8:2::2/64 dev " OTHER_IF " nodad",
    "ip addr add 198.18.4.2/24 dev " NOPORT_IF,
    "ip neigh add 198.18.2.5 lladdr 02:00:00:00:02:05 dev " OTHER_IF " nud permanent",
    "ip neigh add 2001:db8:2::5 lladdr 02:00:00:00:02:05 dev " OTHER_IF " nud permanent",
    "ip neigh add 198.18.4.5 lladdr 02:00:00:00:04:05 dev " NOPORT_IF " nud permanent",
    "ip route add blackhole 198.18.9.0/24",
    "ip -6 route add blackhole 2001:db8:9::/48",
    NULL,
};

struct vip_def {
	const char *vip;
	__u32 flags;
	const char *backends[5];
};

/* Every kind of VIP the grammar has: exact and all-ports, TCP and UDP,
 * IPv6 backends of an IPv4 VIP, source hash, conntrack off, none up,
 * unresolved and unreachable backends. */
static const struct vip_def vip_defs[] = {
    {"198.18.100.1:80/tcp", 0, {"198.18.0.11", "198.18.0.12", "198.18.0.13", "2001:db8::11"}},
    {"198.18.100.1:53/udp", 0, {"198.18.0.14", "2001:db8::12"}},
    {"198.18.100.2:0/tcp", XLB_VIP_F_SRC_HASH, {"198.18.0.11", "198.18.0.12"}},
    {"198.18.100.2:0/udp", 0, {"198.18.0.13", "2001:db8::13"}},
    {"198.18.100.3:443/tcp", XLB_VIP_F_NO_CONNTRACK, {"198.18.0.11", "198.18.0.14"}},
    {"198.18.100.4:80/tcp", 0, {NULL}},
    {"198.18.100.5:80/tcp", 0, {"198.18.0.99", "2001:db8::99"}},
    {"198.18.100.6:80/udp", 0, {"198.18.9.1"}},
    {"[2001:db8:100::1]:80/tcp", 0, {"2001:db8::11", "2001:db8::12", "2001:db8::13"}},
    {"[2001:db8:100::1]:0/udp", 0, {"2001:db8::14"}},
    {"[2001:db8:100::2]:443/tcp",
     XLB_VIP_F_SRC_HASH | XLB_VIP_F_NO_CONNTRACK,
     {"2001:db8::11", "2001:db8::12"}},
    {"[2001:db8:100::3]:80/tcp", 0, {"2001:db8::99"}},
    {"[2001:db8:100::3]:53/udp", 0, {"2001:db8:9::1"}},
    {"198.18.100.7:80/tcp", 0, {"198.18.2.5", "2001:db8:2::5", "198.18.0.11"}},
    {"198.18.100.8:0/udp", 0, {"198.18.4.5"}},
    {"198.18.100.9:80/tcp", 0, {"198.19.255.1", "2001:db8:ffff::1"}},
    {"[2001:db8:100::4]:0/tcp", 0, {"2001:db8:2::5", "2001:db8::11"}},
};
#define N_VIPS (sizeof(vip_defs) / sizeof(vip_defs[0]))

/* The model's tables are flushed (and the maps' with them) before any
 * LRU could evict: far below every map's per-CPU share. */
static const size_t flush_at[__MODEL_TABLES] = {4096, 2048, 1024};

struct fuzz {
	struct xlb_dp *dp;
	struct xlb_lb *lb;
	int prog_fd, stats_fd, icmp_rl_fd, map_fd[__MODEL_TABLES];
	unsigned int ifindex;
	int nr_cpus;
	__u32 **rings; /* per VIP id: the ring as read after every change (NULL: none) */
	__u32 **prev;  /* per VIP id: the ring before its last change (NULL: none kept) */
	struct model *model;
	struct model_vip vips[N_VIPS];
	struct gen_target targets[N_VIPS];
	struct model_backend *backends;
	struct xlb_counter *snap, *now; /* verdict and event counters, all CPUs */
	__u64 shown, max_shown, divergences, state_errors, changes;
	__u64 by_reason[__XLB_STAT_MAX]; /* frames the model gave each verdict / event */
};

static int ring_slot(void *ctx, __u32 vip_id, __u32 slot, __u32 *backend_id)
{
	struct fuzz *fz = ctx;

	if (!fz->rings[vip_id])
		return -1;
	*backend_id = fz->rings[vip_id][slot];
	return 0;
}

static int prev_slot(void *ctx, __u32 vip_id, __u32 slot, __u32 *backend_id)
{
	struct fuzz *fz = ctx;

	if (!fz->prev[vip_id])
		return -1;
	*backend_id = fz->prev[vip_id][slot];
	return 0;
}

/* The VIP's whole ring as xlb_rings holds it now: *out NULL when it has
 * none. Returns 0, or -1 when it cannot be read. */
static int read_ring(struct fuzz *fz, __u32 vip_id, __u32 **out)
{
	__u32 inner_id, *ring;
	int fd, ret = 0;

	*out = NULL;
	if (bpf_map_lookup_elem(bpf_map__fd(fz->dp->skel->maps.xlb_rings), &vip_id, &inner_id))
		return errno == ENOENT ? 0 : -1;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -1;
	ring = malloc(fz->dp->ring_size * sizeof(__u32));
	for (__u32 i = 0; ring && !ret && i < fz->dp->ring_size; i++)
		ret = bpf_map_lookup_elem(fd, &i, &ring[i]) ? -1 : 0;
	close(fd);
	if (!ring || ret) {
		free(ring);
		return -1;
	}
	*out = ring;
	return 0;
}

/* The previous ring as userspace keeps it (user/dataplane.c): a ring that
 * is replaced by a different one, or cleared, becomes the previous ring; a
 * rebuild to the same ring keeps both; a ring set where there was none
 * keeps the previous one. It lasts the whole run: the fuzzer never calls
 * xlb_dp_ring_prev_expire, so the window never closes. */
static int track_ring(struct fuzz *fz, __u32 vip_id)
{
	size_t bytes = fz->dp->ring_size * sizeof(__u32);
	__u32 *now;

	if (read_ring(fz, vip_id, &now)) {
		fprintf(stderr, "xlb-fuzz: cannot read the ring of VIP %u\n", vip_id);
		return -1;
	}
	if (fz->rings[vip_id] && (!now || memcmp(now, fz->rings[vip_id], bytes))) {
		free(fz->prev[vip_id]);
		fz->prev[vip_id] = fz->rings[vip_id];
	} else {
		free(fz->rings[vip_id]);
	}
	fz->rings[vip_id] = now;
	return 0;
}

/* How the lab routes a backend's address (setup_cmds): fills the model's
 * route, MTU and MACs. */
static void route_of(struct model_backend *m)
{
	const __u8 *b = m->addr.bytes;
	int v6 = m->family == XLB_AF_INET6;
	__u8 net = v6 ? b[5] : b[2], last = v6 ? b[15] : b[3];

	m->mtu = 1500;
	memcpy(m->smac, lb_mac, 6);
	memcpy(m->dmac, lb_mac, 6);
	if ((!v6 && b[1] == 19) || (v6 && b[4] == 0xff)) {
		m->route = MODEL_ROUTE_NO_ROUTE;
	} else if (net == 9) {
		m->route = MODEL_ROUTE_UNREACHABLE;
	} else if (net == 2) {
		m->route = MODEL_ROUTE_REDIRECT;
		m->mtu = OTHER_MTU;
		memcpy(m->smac, other_mac, 6);
		memcpy(m->dmac, gw_mac, 6);
	} else if (net == 4) {
		m->route = MODEL_ROUTE_OTHER_DEV;
	} else if (last == (v6 ? 0x99 : 99)) {
		m->route = MODEL_ROUTE_NO_NEIGH;
	} else {
		/* the neighbours' MACs are 02:00:00:00:00:NN, NN as written */
		m->route = MODEL_ROUTE_TX;
		m->dmac[5] = v6 ? last : (__u8)((last / 10) * 16 + last % 10);
	}
}

/* The backends as the data plane's map holds them now (validity,
 * generation, VIP), and the rings to be read again: the configuration the
 * model works from, after every change. */
static int sync_backends(struct fuzz *fz)
{
	for (__u32 id = 0; id < fz->dp->max_backends; id++) {
		struct model_backend *m = &fz->backends[id];
		struct xlb_backend b;

		if (xlb_dp_backend_get(fz->dp, id, &b)) {
			fprintf(stderr, "xlb-fuzz: cannot read backend %u\n", id);
			return -1;
		}
		memset(m, 0, sizeof(*m));
		m->used = b.family != XLB_AF_NONE;
		m->valid = !!(b.flags & XLB_BACKEND_F_VALID);
		m->gen = b.gen;
		m->addr = b.addr;
		m->family = b.family;
		m->vip_id = b.vip_id;
		if (m->used)
			route_of(m);
	}
	for (size_t i = 0; i < N_VIPS; i++)
		if (track_ring(fz, fz->vips[i].id))
			return -1;
	return 0;
}

/* A configuration change between two frames, chosen by (seed, index): one
 * backend of one VIP drained, restored, removed or added back. Flows of a
 * removed backend re-hash; its id, reused, gets a new generation. */
static int churn(struct fuzz *fz, __u64 seed, __u64 index)
{
	__u64 x = (seed + 1) * 0x9e3779b97f4a7c15ULL ^ index * 0xbf58476d1ce4e5b9ULL;
	const struct vip_def *d;
	struct xlb_vip_key key;
	struct xlb_lb_backend *b;
	char err[XLB_ERRLEN] = "";
	union xlb_addr a;
	int nb = 0, ret;
	__u8 fam;

	x ^= x >> 31;
	d = &vip_defs[x % N_VIPS];
	while (nb < 5 && d->backends[nb])
		nb++;
	if (!nb)
		return 0;
	x /= N_VIPS;
	if (xlb_vip_key_parse(d->vip, &key, err, sizeof(err)) ||
	    xlb_addr_parse(d->backends[x % nb], &a, &fam))
		return -1;
	x /= nb;
	b = xlb_lb_backend_find(fz->lb, xlb_lb_vip_find(fz->lb, &key), &a, fam);
	if (!b)
		ret = xlb_lb_backend_add(fz->lb, &key, &a, fam, 1, err, sizeof(err));
	else if (x % 2)
		ret = xlb_lb_backend_del(fz->lb, &key, &a, fam, err, sizeof(err));
	else
		ret = xlb_lb_backend_set_weight(fz->lb, &key, &a, fam, b->weight ? 0 : 1, err,
						sizeof(err));
	if (ret) {
		fprintf(stderr, "xlb-fuzz: change of %s %s: %s\n", d->vip, d->backends[0], err);
		return -1;
	}
	fz->changes++;
	return sync_backends(fz);
}

static int configure(struct fuzz *fz)
{
	char err[XLB_ERRLEN];
	struct xlb_config cfg = {
	    /* timeouts no run reaches, no budget: time never decides */
	    .udp_timeout_s = 1000000, .syn_timeout_s = 1000000, .tcp_timeout_s = 1000000,
	    .fin_timeout_s = 1000000, .conn_budget = 0,
	};
	struct model_cfg mc = {0};

	inet_pton(AF_INET, "198.18.0.0", &cfg.src4);
	cfg.src4_vary = htonl(0x000000ff);
	inet_pton(AF_INET6, "2001:db8::2:0", &cfg.src6);
	cfg.src6_vary = htonl(0x0000ffff);
	if (xlb_dp_config_set(fz->dp, &cfg) ||
	    xlb_dp_tx_port_add(fz->dp, bpf_env_ifindex(OTHER_IF))) {
		fprintf(stderr, "xlb-fuzz: cannot write xlb_config or xlb_tx_ports\n");
		return -1;
	}
	for (size_t i = 0; i < N_VIPS; i++) {
		struct xlb_vip_key key;
		struct xlb_lb_vip *v;

		if (xlb_vip_key_parse(vip_defs[i].vip, &key, err, sizeof(err)) ||
		    xlb_lb_vip_add(fz->lb, &key, vip_defs[i].flags, err, sizeof(err)))
			goto fail;
		v = xlb_lb_vip_find(fz->lb, &key);
		/* a new VIP: its ring cleared and no previous one kept */
		if (track_ring(fz, v->id))
			return -1;
		free(fz->prev[v->id]);
		fz->prev[v->id] = NULL;
		for (int b = 0; vip_defs[i].backends[b]; b++) {
			union xlb_addr a;
			__u8 fam;

			if (xlb_addr_parse(vip_defs[i].backends[b], &a, &fam)) {
				snprintf(err, sizeof(err), "bad address %s",
					 vip_defs[i].backends[b]);
				goto fail;
			}
			if (xlb_lb_backend_add(fz->lb, &key, &a, fam, 1 + b % 2, err, sizeof(err)))
				goto fail;
			/* each addition rebuilds the ring: the one before is kept */
			if (track_ring(fz, v->id))
				return -1;
		}
		fz->vips[i].key = key;
		fz->vips[i].id = v->id;
		fz->vips[i].flags = v->flags;
		fz->vips[i].has_ring = 1;
		fz->targets[i].family = key.family;
		memcpy(fz->targets[i].addr, key.addr.bytes, 16);
		fz->targets[i].proto = key.proto;
		fz->targets[i].port = ntohs(key.port);
	}
	if (sync_backends(fz))
		return -1;
	mc.vips = fz->vips;
	mc.n_vips = N_VIPS;
	mc.backends = fz->backends;
	mc.n_backends = fz->dp->max_backends;
	mc.ring_size = fz->dp->ring_size;
	mc.ring = ring_slot;
	mc.prev_ring = prev_slot;
	mc.ring_ctx = fz;
	mc.outer = cfg;
	return model_new(&mc, &fz->model);
fail:
	fprintf(stderr, "xlb-fuzz: configuration: %s\n", err);
	return -1;
}

static int setup(struct fuzz *fz)
{
	/* A small ring (a prime, as Maglev needs), read whole after every
	 * change. The second chance's window pinned (kept rings outlive the
	 * run anyway, track_ring): a changed default cannot turn it off. */
	struct xlb_dp_opts opts = {.ring_size = 4093,
				   .max_vips = 64,
				   .max_backends = 256,
				   .max_conns = 65536,
				   .second_chance_s = XLB_SECOND_CHANCE_WINDOW_DEFAULT_S};
	cpu_set_t set;

	/* One CPU: the per-CPU tables and counters are then one consistent state. */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("xlb-fuzz: sched_setaffinity");
		return -1;
	}
	if (bpf_env_enter(setup_cmds))
		return -1;
	fz->ifindex = bpf_env_ifindex(LB_IF);
	if (xlb_dp_open(&opts, &fz->dp) || xlb_dp_load(fz->dp) || xlb_lb_new(fz->dp, &fz->lb)) {
		fprintf(stderr, "xlb-fuzz: cannot load the xlb program (root needed)\n");
		return -1;
	}
	fz->prog_fd = xlb_dp_prog_fd(fz->dp);
	fz->stats_fd = bpf_map__fd(fz->dp->skel->maps.xlb_stats);
	fz->icmp_rl_fd = bpf_map__fd(fz->dp->skel->maps.xlb_icmp_rl);
	fz->map_fd[MODEL_CONNS] = bpf_map__fd(fz->dp->skel->maps.xlb_conns);
	fz->map_fd[MODEL_CONNS_NEW] = bpf_map__fd(fz->dp->skel->maps.xlb_conns_new);
	fz->map_fd[MODEL_FRAGS] = bpf_map__fd(fz->dp->skel->maps.xlb_frags);
	fz->nr_cpus = libbpf_num_possible_cpus();
	fz->rings = calloc(fz->dp->max_vips, sizeof(*fz->rings));
	fz->prev = calloc(fz->dp->max_vips, sizeof(*fz->prev));
	fz->snap = calloc((size_t)__XLB_STAT_MAX * fz->nr_cpus, sizeof(*fz->snap));
	fz->now = calloc((size_t)__XLB_STAT_MAX * fz->nr_cpus, sizeof(*fz->now));
	if (fz->nr_cpus <= 0 || !fz->rings || !fz->prev || !fz->snap || !fz->now)
		return -1;
	fz->backends = calloc(fz->dp->max_backends, sizeof(*fz->backends));
	if (!fz->backends)
		return -1;
	return configure(fz);
}

/* The reason and event counters of every CPU, in one system call. */
static int read_counters(struct fuzz *fz, struct xlb_counter *out)
{
	static __u32 keys[__XLB_STAT_MAX];
	__u32 count = __XLB_STAT_MAX, out_batch;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (__u32 i = 0; i < __XLB_STAT_MAX; i++)
		keys[i] = i;
	if (bpf_map_lookup_batch(fz->stats_fd, NULL, &out_batch, keys, out, &count, &opts) &&
	    errno != ENOENT)
		return -errno;
	return count == __XLB_STAT_MAX ? 0 : -EIO;
}

static __u64 delta(const struct fuzz *fz, __u32 index, int bytes)
{
	__u64 d = 0;

	for (int c = 0; c < fz->nr_cpus; c++) {
		const struct xlb_counter *a = &fz->now[(size_t)index * fz->nr_cpus + c];
		const struct xlb_counter *b = &fz->snap[(size_t)index * fz->nr_cpus + c];

		d += bytes ? a->bytes - b->bytes : a->packets - b->packets;
	}
	return d;
}

static void hex(const char *what, const __u8 *b, size_t len)
{
	printf("  %s (%zu bytes):", what, len);
	for (size_t i = 0; i < len; i++)
		printf("%s%02x", i % 32 ? (i % 4 ? "" : " ") : "\n    ", b[i]);
	printf("\n");
}

static const char *action_name(int a)
{
	static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
					    "XDP_REDIRECT"};

	return a >= 0 && a <= 4 ? names[a] : "?";
}

/* Everything the model predicts that the real program did otherwise. */
static void report(struct fuzz *fz, __u64 seed, __u64 index, const __u8 *in, size_t in_len,
		   const struct model_result *want, int action, const __u8 *out, size_t out_len,
		   const char *why)
{
	fz->divergences++;
	if (fz->shown++ >= fz->max_shown)
		return;
	printf("divergence: seed %llu frame %llu (reproduce: xlb-fuzz -s %llu -n %llu): %s\n",
	       (unsigned long long)seed, (unsigned long long)index, (unsigned long long)seed,
	       (unsigned long long)index + 1, why);
	printf("  model: %s %s;", action_name(want->action), xlb_stat_names[want->reason]);
	for (int i = XLB_STAT_EVENT_FIRST; i < __XLB_STAT_MAX; i++)
		if (want->events[i])
			printf(" %s", xlb_stat_names[i]);
	printf("\n  real:  %s", action_name(action));
	for (int i = 0; i < __XLB_STAT_MAX; i++)
		if (delta(fz, i, 0) && i != XLB_STAT_NEXTHOP_MISS)
			printf(" %s", xlb_stat_names[i]);
	printf("\n");
	hex("input", in, in_len);
	if (want->out_len != out_len || memcmp(want->out, out, out_len)) {
		hex("model output", want->out, want->out_len);
		hex("real output", out, out_len);
	}
}

/* The action and the frame that leaves, every frame. Returns 1 when they
 * diverge. */
static int check_output(struct fuzz *fz, __u64 seed, __u64 index, const __u8 *in, size_t len,
			const struct model_result *want, int action, const __u8 *out,
			size_t out_len)
{
	if (action != want->action)
		report(fz, seed, index, in, len, want, action, out, out_len, "action");
	else if (out_len != want->out_len || memcmp(out, want->out, out_len))
		report(fz, seed, index, in, len, want, action, out, out_len, "output bytes");
	else
		return 0;
	return 1;
}

/* Counters the model expects to move over the frames since the last check. */
struct expect {
	__u64 packets[__XLB_STAT_MAX];
	__u64 bytes[__XLB_STAT_MAX]; /* verdicts: frame bytes as received */
	__u64 first;		     /* the first frame they cover */
};

static void expect_add(struct expect *e, const struct model_result *want, size_t len)
{
	e->packets[want->reason]++;
	e->bytes[want->reason] += len;
	for (int i = XLB_STAT_EVENT_FIRST; i < __XLB_STAT_MAX; i++)
		e->packets[i] += want->events[i];
}

/* Every reason and event counter against the model's, except the next-hop
 * cache's misses (its entries age with time). With one frame per check the
 * divergence names the frame; otherwise the range, to run again with -c 1. */
static void check_counters(struct fuzz *fz, __u64 seed, __u64 index, const __u8 *in, size_t len,
			   const struct model_result *want, int action, const __u8 *out,
			   size_t out_len, const struct expect *e, int reported)
{
	char why[160] = "";

	for (__u32 i = 0; !why[0] && i < __XLB_STAT_MAX; i++) {
		__u64 d = delta(fz, i, 0), b = delta(fz, i, 1);

		if (i == XLB_STAT_NEXTHOP_MISS)
			continue;
		if (d != e->packets[i] || (i < XLB_STAT_EVENT_FIRST && b != e->bytes[i]))
			snprintf(why, sizeof(why),
				 "counter %s moved by %llu (%llu bytes), model %llu (%llu)",
				 xlb_stat_names[i], (unsigned long long)d, (unsigned long long)b,
				 (unsigned long long)e->packets[i],
				 (unsigned long long)e->bytes[i]);
	}
	if (!why[0])
		return;
	if (e->first == index) {
		if (!reported) /* a frame counts once */
			report(fz, seed, index, in, len, want, action, out, out_len, why);
		return;
	}
	fz->divergences++;
	if (fz->shown++ < fz->max_shown)
		printf("divergence: seed %llu frames %llu-%llu: %s (run with -c 1 to name the "
		       "frame)\n",
		       (unsigned long long)seed, (unsigned long long)e->first,
		       (unsigned long long)index, why);
}

/* Fills the ICMP rate limit's bucket on every CPU: the limit depends on
 * time, which must not decide a verdict here (the unit tests cover it). */
static int refill_icmp_bucket(struct fuzz *fz)
{
	static __u64 zero[1024];
	__u32 key = 0;

	if (fz->nr_cpus > 1024)
		return -1;
	return bpf_map_update_elem(fz->icmp_rl_fd, &key, zero, BPF_ANY) ? -1 : 0;
}

static int delete_key(void *ctx, const void *key, size_t key_len)
{
	int fd = *(int *)ctx;

	(void)key_len;
	return bpf_map_delete_elem(fd, key) ? -1 : 0;
}

/* Empties the model's tables and the maps alike. A key the model holds
 * that the map lacks, or one left in the map, is a divergence of state. */
static void flush_tables(struct fuzz *fz, __u64 index)
{
	static const char *const names[] = {"xlb_conns", "xlb_conns_new", "xlb_frags"};
	__u8 key[64];

	for (int t = 0; t < __MODEL_TABLES; t++) {
		if (model_table_flush(fz->model, t, delete_key, &fz->map_fd[t])) {
			fz->state_errors++;
			printf(
			    "state divergence before frame %llu: the model holds keys %s lacks\n",
			    (unsigned long long)index, names[t]);
		}
		while (!bpf_map_get_next_key(fz->map_fd[t], NULL, key)) {
			fz->state_errors++;
			if (fz->state_errors < 20) {
				printf("state divergence before frame %llu: %s holds a key the "
				       "model does not\n",
				       (unsigned long long)index, names[t]);
				hex("key", key,
				    t == MODEL_FRAGS ? sizeof(struct xlb_frag_key)
						     : sizeof(struct xlb_flow));
			}
			bpf_map_delete_elem(fz->map_fd[t], key);
		}
	}
}

static int need_flush(const struct fuzz *fz)
{
	for (int t = 0; t < __MODEL_TABLES; t++)
		if (model_table_count(fz->model, t) >= flush_at[t])
			return 1;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: xlb-fuzz [-s SEED] [-n FRAMES] [-c EVERY] [-C EVERY] [-m SHOWN] [-q]\n"
		   "  -s SEED    generator seed (default 1)\n"
		   "  -n FRAMES  frames to run (default 100000)\n"
		   "  -c EVERY   compare the counters every EVERY frames (default 1: each frame)\n"
		   "  -C EVERY   change a backend every EVERY frames (default 5000, 0: never)\n"
		   "  -m SHOWN   divergences printed in full (default 20)\n"
		   "  -q         no progress lines\n");
}

int main(int argc, char **argv)
{
	static struct model_result want;
	static __u8 in[GEN_FRAME_MAX], out[MODEL_FRAME_MAX + 512];
	unsigned long long seed = 1, n = 100000, every = 1, churn_every = 5000;
	static struct expect exp;
	struct fuzz fz = {.max_shown = 20};
	struct gen_cfg gc;
	int quiet = 0, opt;
	double t0, t1;

	while ((opt = getopt(argc, argv, "s:n:c:C:m:qh")) != -1) {
		char *end;

		switch (opt) {
		case 's':
			seed = strtoull(optarg, &end, 0);
			break;
		case 'n':
			n = strtoull(optarg, &end, 0);
			break;
		case 'c':
			every = strtoull(optarg, &end, 0);
			if (!every)
				every = 1;
			break;
		case 'C':
			churn_every = strtoull(optarg, &end, 0);
			break;
		case 'm':
			fz.max_shown = strtoull(optarg, &end, 0);
			break;
		case 'q':
			quiet = 1;
			continue;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (*end || !*optarg) {
			fprintf(stderr,
				"Error: -%c %s is not a number, give a decimal or 0x number\n", opt,
				optarg);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (setup(&fz)) {
		bpf_env_leave();
		return 2;
	}
	gc.vips = fz.targets;
	gc.n_vips = N_VIPS;
	gc.lb_mac = lb_mac;
	gc.client_mac = client_mac;
	if (read_counters(&fz, fz.snap)) {
		fprintf(stderr, "xlb-fuzz: cannot read xlb_stats\n");
		return 2;
	}
	t0 = now_s();
	for (__u64 i = 0; i < n; i++) {
		size_t len = gen_frame(&gc, seed, i, in);
		struct xdp_md ctx = {.data_end = (__u32)len, .ingress_ifindex = fz.ifindex};
		LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = in, .data_size_in = (__u32)len,
			    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);
		struct xlb_counter *tmp;
		int check, bad;

		if (need_flush(&fz))
			flush_tables(&fz, i);
		if (churn_every && i && i % churn_every == 0 && churn(&fz, seed, i))
			return 2;
		model_run(fz.model, in, len, &want);
		if ((want.reason == XLB_STAT_TOO_BIG || want.reason == XLB_STAT_ICMP_TOO_BIG) &&
		    refill_icmp_bucket(&fz)) {
			fprintf(stderr, "xlb-fuzz: cannot refill xlb_icmp_rl\n");
			return 2;
		}
		if (bpf_prog_test_run_opts(fz.prog_fd, &topts)) {
			fprintf(stderr,
				"xlb-fuzz: BPF_PROG_TEST_RUN of frame %llu (%zu bytes): %s\n",
				(unsigned long long)i, len, strerror(errno));
			return 2;
		}
		expect_add(&exp, &want, len);
		fz.by_reason[want.reason]++;
		for (int e = XLB_STAT_EVENT_FIRST; e < __XLB_STAT_MAX; e++)
			fz.by_reason[e] += want.events[e];
		/* counters first: a report shows which moved */
		check = !((i + 1) % every) || i + 1 == n || need_flush(&fz);
		if (check && read_counters(&fz, fz.now)) {
			fprintf(stderr, "xlb-fuzz: cannot read xlb_stats\n");
			return 2;
		}
		bad = check_output(&fz, seed, i, in, len, &want, (int)topts.retval, out,
				   topts.data_size_out);
		if (!check)
			continue;
		check_counters(&fz, seed, i, in, len, &want, (int)topts.retval, out,
			       topts.data_size_out, &exp, bad);
		memset(&exp, 0, sizeof(exp));
		exp.first = i + 1;
		tmp = fz.snap, fz.snap = fz.now, fz.now = tmp;
		if (!quiet && i && i % 1000000 == 0)
			fprintf(stderr, "xlb-fuzz: %llu frames, %llu divergences\n",
				(unsigned long long)i, (unsigned long long)fz.divergences);
	}
	flush_tables(&fz, n);
	t1 = now_s();
	printf("xlb-fuzz: seed %llu: %llu frames, %llu divergences, %llu state divergences, "
	       "%llu backend changes, %.1f s, %.0f frames/s\n",
	       seed, n, (unsigned long long)fz.divergences, (unsigned long long)fz.state_errors,
	       (unsigned long long)fz.changes, t1 - t0, n / (t1 - t0));
	/* What the frames exercised: a round that never reached a path
	 * proved nothing about it. */
	printf("xlb-fuzz: verdicts and events:");
	for (int r = 0; r < __XLB_STAT_MAX; r++)
		if (r != XLB_STAT_NEXTHOP_MISS)
			printf(" %s=%llu", xlb_stat_names[r], (unsigned long long)fz.by_reason[r]);
	printf("\n");
	model_free(fz.model);
	xlb_lb_free(fz.lb);
	xlb_dp_close(fz.dp);
	bpf_env_leave();
	return fz.divergences || fz.state_errors ? 1 : 0;
}
