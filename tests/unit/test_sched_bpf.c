// SPDX-License-Identifier: GPL-2.0
/* test_sched_bpf.c: connection state and the lc/wlc schedulers of xlb_lb,
 * through BPF_PROG_TEST_RUN with maps filled by lb.c: which backend each new
 * flow gets, each entry's state after SYN, ACK, FIN and RST, the per-state
 * idle timeouts (entries aged by rewriting last_seen_ns), and the exact
 * open-flow count of every backend in xlb_backend_conns. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xlb_test.h"
#include "pkt.h"
#include "bpf_env.h"
#include "addr.h"
#include "dataplane.h"
#include "lb.h"
#include "xlb.skel.h"

#define LB_IF "xlbs0"
#define SEC_NS 1000000000ULL

#define SYN 0x02
#define ACK 0x10
#define FIN_ACK 0x11
#define RST 0x04
#define RST_ACK 0x14

#define VLC "198.18.110.1:80/tcp"	/* lc, 4 backends */
#define VWLC "198.18.110.2:80/tcp"	/* wlc, weights 1 2 3 4 */
#define VST "198.18.110.3:80/tcp"	/* maglev, 1 backend: states and timeouts */
#define VUDP "198.18.110.4:53/udp"	/* wlc over UDP, weights 1 and 3 */
#define VSW "198.18.110.5:80/tcp"	/* lc, switched to other schedulers */

static const char *const setup[] = {
	"ip link set lo up",
	"ip link add " LB_IF " address 02:00:00:00:00:02 type veth peer name xlbs1",
	"ip link set " LB_IF " up && ip link set xlbs1 up",
	"sysctl -qw net.ipv4.conf.all.forwarding=1",
	"ip addr add 198.18.0.2/24 dev " LB_IF,
	"for i in 31 32 33 34 35 36 37 38 41 42 43 44 45 46 47 48 51 52 53; do "
	"ip neigh add 198.18.0.$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent "
	"|| exit 1; done",
	NULL,
};

static const char *const lc_be[] = {"198.18.0.31", "198.18.0.32", "198.18.0.33", "198.18.0.34"};
static const char *const wlc_be[] = {"198.18.0.35", "198.18.0.36", "198.18.0.37", "198.18.0.38"};
static const char *const udp_be[] = {"198.18.0.41", "198.18.0.42"};
static const char *const sw_be[] = {"198.18.0.45", "198.18.0.46", "198.18.0.47", "198.18.0.48"};
#define ST_BE "198.18.0.51"

static struct xlb_dp *dp;
static struct xlb_lb *lb;
static int prog_fd;
static unsigned int lb_ifindex;
static char err[XLB_ERRLEN];

/* ---- helpers ---------------------------------------------------------- */

static int vip_add(const char *text, __u32 flags)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_add(lb, &key, flags, err, sizeof(err));
}

static int vip_flags(const char *text, __u32 flags)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_set_flags(lb, &key, flags, err, sizeof(err));
}

static int backend_add(const char *v, const char *addr, __u32 weight)
{
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(addr, &a, &fam))
		return -1;
	return xlb_lb_backend_add(lb, &key, &a, fam, weight, err, sizeof(err));
}

static int backend_weight(const char *v, const char *addr, __u32 weight)
{
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(addr, &a, &fam))
		return -1;
	return xlb_lb_backend_set_weight(lb, &key, &a, fam, weight, err, sizeof(err));
}

static __u32 backend_id(const char *v, const char *addr)
{
	struct xlb_lb_backend *b;
	struct xlb_vip_key key;
	struct xlb_lb_vip *vip;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(addr, &a, &fam))
		return ~0U;
	vip = xlb_lb_vip_find(lb, &key);
	b = vip ? xlb_lb_backend_find(lb, vip, &a, fam) : NULL;
	return b ? b->id : ~0U;
}

/* The backend's open flows as the data plane counts them. */
static long long active(const char *v, const char *addr)
{
	struct xlb_backend_conns c;
	__u32 id = backend_id(v, addr);

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.xlb_backend_conns), &id, &c))
		return -1000000;
	return c.active;
}

static void set_active(const char *v, const char *addr, long long n)
{
	struct xlb_backend_conns c = {.active = n};
	__u32 id = backend_id(v, addr);

	CU_ASSERT_FATAL(bpf_map_update_elem(bpf_map__fd(dp->skel->maps.xlb_backend_conns), &id,
					    &c, BPF_ANY) == 0);
}

static __u64 counter(__u32 index)
{
	struct xlb_counter c;

	return xlb_dp_counter(dp, index, &c) ? ~0ULL : c.packets;
}

/* A TCP (or UDP) packet from client port sport to the VIP. */
static struct pkt_spec spec(const char *v, __u16 sport, __u8 flags)
{
	static char dst[64];
	struct pkt_spec s = {.family = 4, .src = "198.18.1.2", .sport = sport, .tcp_flags = flags};
	const char *colon = strchr(v, ':');

	snprintf(dst, sizeof(dst), "%.*s", (int)(colon - v), v);
	s.dst = dst;
	s.dport = (__u16)atoi(colon + 1);
	s.proto = strstr(v, "/udp") ? IPPROTO_UDP : IPPROTO_TCP;
	return s;
}

/* Sends the packet; returns the backend it went to ("" when not sent). */
static const char *send_pkt(const struct pkt_spec *s)
{
	static char backend[64];
	struct pkt in, out;
	struct xdp_md ctx = {.ingress_ifindex = lb_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out.data,
		    .data_size_out = sizeof(out.data), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	backend[0] = 0;
	if (pkt_build(&in, s))
		return backend;
	ctx.data_end = (__u32)in.len;
	opts.data_in = in.data;
	opts.data_size_in = (__u32)in.len;
	if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval != XDP_TX)
		return backend;
	inet_ntop(AF_INET, out.data + pkt_l3_off(&out) + 16, backend, sizeof(backend));
	return backend;
}

static const char *send_flags(const char *v, __u16 sport, __u8 flags)
{
	struct pkt_spec s = spec(v, sport, flags);

	return send_pkt(&s);
}

static void flow_of(const struct pkt_spec *s, struct xlb_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->family = XLB_AF_INET;
	inet_pton(AF_INET, s->src, &f->src);
	inet_pton(AF_INET, s->dst, &f->dst);
	f->sport = htons(s->sport);
	f->dport = htons(s->dport);
	f->proto = s->proto;
}

enum { T_NONE = 0, T_NEW = 1, T_EST = 2 }; /* which table holds the entry */

/* The flow's entry: which table (T_*), its state in *state. */
static int entry(const char *v, __u16 sport, struct xlb_conn *c)
{
	struct pkt_spec s = spec(v, sport, ACK);
	struct xlb_flow f;

	flow_of(&s, &f);
	if (!bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.xlb_conns), &f, c))
		return T_EST;
	if (!bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.xlb_conns_new), &f, c))
		return T_NEW;
	return T_NONE;
}

static __u32 state_of(const char *v, __u16 sport, int *table)
{
	struct xlb_conn c = {.state = 99};

	*table = entry(v, sport, &c);
	return c.state;
}

/* Makes ns pass for the flow's entry. */
static void age(const char *v, __u16 sport, __u64 ns)
{
	struct pkt_spec s = spec(v, sport, ACK);
	struct xlb_flow f;
	struct xlb_conn c;
	int fd;

	flow_of(&s, &f);
	fd = bpf_map__fd(dp->skel->maps.xlb_conns);
	if (bpf_map_lookup_elem(fd, &f, &c)) {
		fd = bpf_map__fd(dp->skel->maps.xlb_conns_new);
		CU_ASSERT_FATAL(bpf_map_lookup_elem(fd, &f, &c) == 0);
	}
	c.last_seen_ns -= ns;
	CU_ASSERT_FATAL(bpf_map_update_elem(fd, &f, &c, BPF_EXIST) == 0);
}

static int index_of(const char *const *list, int n, const char *addr)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], addr))
			return i;
	return -1;
}

/* Closes every flow the test opened on a VIP (sports first..last) with a
 * RST, so that the next test starts from counts of 0. */
static void close_flows(const char *v, __u16 first, __u16 last)
{
	for (__u32 p = first; p <= last; p++)
		send_flags(v, (__u16)p, RST_ACK);
}

/* ---- suite setup ------------------------------------------------------ */

static int suite_init(void)
{
	struct xlb_dp_opts opts = {.max_vips = 16, .max_backends = 64, .max_conns = 65536};
	struct xlb_config cfg = {.udp_timeout_s = 30,
				  .syn_timeout_s = 5,
				  .tcp_timeout_s = 900,
				  .fin_timeout_s = 10};

	if (bpf_env_enter(setup))
		return -1;
	lb_ifindex = bpf_env_ifindex(LB_IF);
	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || xlb_lb_new(dp, &lb)) {
		fprintf(stderr, "cannot load the xlb program\n");
		return -1;
	}
	prog_fd = xlb_dp_prog_fd(dp);
	inet_pton(AF_INET, "198.18.0.2", &cfg.src4);
	if (xlb_dp_config_set(dp, &cfg))
		return -1;
	if (vip_add(VLC, XLB_VIP_F_LC) || vip_add(VWLC, XLB_VIP_F_WLC) || vip_add(VST, 0) ||
	    vip_add(VUDP, XLB_VIP_F_WLC) || vip_add(VSW, XLB_VIP_F_LC) ||
	    backend_add(VST, ST_BE, 1) || backend_add(VUDP, udp_be[0], 1) ||
	    backend_add(VUDP, udp_be[1], 3))
		goto fail;
	for (int i = 0; i < 4; i++)
		if (backend_add(VLC, lc_be[i], 1) || backend_add(VWLC, wlc_be[i], (__u32)i + 1) ||
		    backend_add(VSW, sw_be[i], 1))
			goto fail;
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", err);
	return -1;
}

static int suite_cleanup(void)
{
	xlb_lb_free(lb);
	xlb_dp_close(dp);
	bpf_env_leave();
	return 0;
}

/* ---- lc and wlc --------------------------------------------------------- */

/* 40 flows opened one after another over 4 equal backends: 10 each, and
 * the counts say so; then 10 closed on one backend: the next 10 new flows
 * all go there. */
static void test_lc_fewest(void)
{
	int per[4] = {0};
	const char *be;

	for (__u16 p = 1000; p < 1040; p++) {
		be = send_flags(VLC, p, SYN);
		CU_ASSERT_FATAL(index_of(lc_be, 4, be) >= 0);
		per[index_of(lc_be, 4, be)]++;
		CU_ASSERT_STRING_EQUAL(send_flags(VLC, p, ACK), be);
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(per[i], 10);
		CU_ASSERT_EQUAL(active(VLC, lc_be[i]), 10);
	}
	/* Close the flows of the first backend: FIN from the client. */
	for (__u16 p = 1000; p < 1040; p++) {
		struct xlb_conn c;

		if (entry(VLC, p, &c) == T_EST && c.backend_id == backend_id(VLC, lc_be[0]))
			CU_ASSERT_STRING_EQUAL(send_flags(VLC, p, FIN_ACK), lc_be[0]);
	}
	CU_ASSERT_EQUAL(active(VLC, lc_be[0]), 0);
	CU_ASSERT_EQUAL(active(VLC, lc_be[1]), 10);
	for (__u16 p = 2000; p < 2010; p++)
		CU_ASSERT_STRING_EQUAL(send_flags(VLC, p, SYN), lc_be[0]);
	CU_ASSERT_EQUAL(active(VLC, lc_be[0]), 10);
	close_flows(VLC, 1000, 1039);
	close_flows(VLC, 2000, 2009);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(active(VLC, lc_be[i]), 0);
}

/* Equal counts: the scan's start comes from the flow hash, so that a burst
 * of new flows finds every equal backend first about as often (from a
 * fixed start the first member would take the whole burst until the counts
 * moved). Counts are put back to equal before each new flow. */
static void test_lc_ties(void)
{
	int per[4] = {0};

	for (__u16 p = 3000; p < 3400; p++) {
		int i;

		for (int k = 0; k < 4; k++)
			set_active(VLC, lc_be[k], 7);
		i = index_of(lc_be, 4, send_flags(VLC, p, SYN));
		CU_ASSERT_FATAL(i >= 0);
		per[i]++;
	}
	for (int i = 0; i < 4; i++)
		CU_ASSERT(per[i] >= 60 && per[i] <= 140);
	/* Not counted: only what the flows' RSTs take off below. */
	for (int k = 0; k < 4; k++)
		set_active(VLC, lc_be[k], 100);
	close_flows(VLC, 3000, 3399);
	for (int k = 0; k < 4; k++) {
		CU_ASSERT_EQUAL(active(VLC, lc_be[k]), 100 - per[k]);
		set_active(VLC, lc_be[k], 0);
	}
}

/* wlc, weights 1:2:3:4: 100 flows one after another are exactly 10, 20,
 * 30, 40; a drained backend (weight 0) gets none however few it has. */
static void test_wlc_weights(void)
{
	int per[4] = {0};

	for (__u16 p = 1000; p < 1100; p++) {
		int i = index_of(wlc_be, 4, send_flags(VWLC, p, SYN));

		CU_ASSERT_FATAL(i >= 0);
		per[i]++;
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(per[i], 10 * (i + 1));
		CU_ASSERT_EQUAL(active(VWLC, wlc_be[i]), 10 * (i + 1));
	}
	/* Ties by weight: 1 more flow on the weight-4 backend (41/4) against
	 * 10/1: the weight-1 backend has the lower ratio only after the
	 * others pass 10 per unit; the next flow goes to the lowest. */
	set_active(VWLC, wlc_be[0], 11); /* 11/1 > 20/2 = 10 */
	CU_ASSERT_STRING_NOT_EQUAL(send_flags(VWLC, 1100, SYN), wlc_be[0]);
	CU_ASSERT_FATAL(backend_weight(VWLC, wlc_be[1], 0) == 0);
	set_active(VWLC, wlc_be[1], 0);
	for (__u16 p = 1101; p < 1121; p++)
		CU_ASSERT_STRING_NOT_EQUAL(send_flags(VWLC, p, SYN), wlc_be[1]);
	CU_ASSERT_EQUAL(active(VWLC, wlc_be[1]), 0);
	CU_ASSERT_FATAL(backend_weight(VWLC, wlc_be[1], 2) == 0);
	for (int i = 0; i < 4; i++)
		set_active(VWLC, wlc_be[i], 0);
}

/* UDP: every datagram of a new flow opens it (there is no SYN); wlc over
 * weights 1 and 3 gives 10 and 30 of 40 flows. */
static void test_wlc_udp(void)
{
	int per[2] = {0};

	for (__u16 p = 5000; p < 5040; p++) {
		int i = index_of(udp_be, 2, send_flags(VUDP, p, 0));

		CU_ASSERT_FATAL(i >= 0);
		per[i]++;
		CU_ASSERT_STRING_EQUAL(send_flags(VUDP, p, 0), udp_be[i]);
	}
	CU_ASSERT_EQUAL(per[0], 10);
	CU_ASSERT_EQUAL(per[1], 30);
	CU_ASSERT_EQUAL(active(VUDP, udp_be[0]), 10);
	CU_ASSERT_EQUAL(active(VUDP, udp_be[1]), 30);
}

/* Packets that will not be recorded, or do not open a flow, take the ring
 * (a weighted Maglev ring) on an lc VIP, not the counts: the same backend
 * for the flow's next such packet, whatever the counts do meanwhile. */
static void test_lc_ring_fallback(void)
{
	int moved = 0;

	/* Every backend but the last far busier: a SYN goes to the last. */
	for (int k = 0; k < 3; k++)
		set_active(VLC, lc_be[k], 1000);
	set_active(VLC, lc_be[3], 0);
	for (__u16 p = 6000; p < 6040; p++) {
		const char *first = send_flags(VLC, p, RST);
		char a[64];

		snprintf(a, sizeof(a), "%s", first);
		CU_ASSERT(index_of(lc_be, 4, a) >= 0);
		moved += strcmp(a, lc_be[3]) != 0;
		/* Counts change; the RST's choice does not. */
		set_active(VLC, lc_be[3], 5000);
		CU_ASSERT_STRING_EQUAL(send_flags(VLC, p, RST), a);
		set_active(VLC, lc_be[3], 0);
	}
	/* By the ring: most of 40 flows land elsewhere than the least loaded. */
	CU_ASSERT(moved >= 20);
	/* A mid-flow ACK that no table knows (ECMP moved it here): ring too;
	 * it is recorded, and its entry keeps it. */
	for (__u16 p = 6100; p < 6110; p++) {
		char a[64];

		snprintf(a, sizeof(a), "%s", send_flags(VLC, p, RST));
		CU_ASSERT_STRING_EQUAL(send_flags(VLC, p, ACK), a);
	}
	close_flows(VLC, 6100, 6109);
	CU_ASSERT_STRING_EQUAL(send_flags(VLC, 6200, SYN), lc_be[3]);
	close_flows(VLC, 6200, 6200);
	for (int k = 0; k < 4; k++)
		set_active(VLC, lc_be[k], 0);
}

/* ---- states and counts -------------------------------------------------- */

static void test_states(void)
{
	struct xlb_conn c;
	int t;

	/* SYN: new, in the new-flow table, counted; its retransmit the same. */
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, SYN), ST_BE);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_NEW);
	CU_ASSERT_EQUAL(t, T_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	send_flags(VST, 100, SYN);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	/* ACK: established, moved to xlb_conns, still counted once. */
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, ACK), ST_BE);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_ESTABLISHED);
	CU_ASSERT_EQUAL(t, T_EST);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	CU_ASSERT(entry(VST, 100, &c) == T_EST && c.created_s > 0);
	/* FIN: closing, no longer counted; a second FIN or the last ACKs take
	 * nothing more off, and still reach the backend. */
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, FIN_ACK), ST_BE);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, FIN_ACK), ST_BE);
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, ACK), ST_BE);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	/* A SYN on the closing entry (the port reused): a new flow. */
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, SYN), ST_BE);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	send_flags(VST, 100, ACK);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_ESTABLISHED);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	/* RST on an established flow: closing, uncounted, once. */
	CU_ASSERT_STRING_EQUAL(send_flags(VST, 100, RST_ACK), ST_BE);
	CU_ASSERT_EQUAL(state_of(VST, 100, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	send_flags(VST, 100, RST);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);

	/* RST during the handshake: closing in the new-flow table. */
	send_flags(VST, 101, SYN);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	send_flags(VST, 101, RST);
	CU_ASSERT_EQUAL(state_of(VST, 101, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(t, T_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	/* FIN as the flow's second packet: promoted, closing. */
	send_flags(VST, 102, SYN);
	send_flags(VST, 102, FIN_ACK);
	CU_ASSERT_EQUAL(state_of(VST, 102, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(t, T_EST);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	/* A RST no table knows is never recorded; a FIN is, closing. */
	send_flags(VST, 103, RST);
	CU_ASSERT_EQUAL(state_of(VST, 103, &t), 99);
	CU_ASSERT_EQUAL(t, T_NONE);
	send_flags(VST, 104, FIN_ACK);
	CU_ASSERT_EQUAL(state_of(VST, 104, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	/* A mid-flow ACK no table knows: new, counted; its next packet
	 * establishes it. */
	send_flags(VST, 105, ACK);
	CU_ASSERT_EQUAL(state_of(VST, 105, &t), XLB_CONN_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	send_flags(VST, 105, ACK);
	CU_ASSERT_EQUAL(state_of(VST, 105, &t), XLB_CONN_ESTABLISHED);
	close_flows(VST, 105, 105);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
}

/* Each state's idle timeout: just under it the entry holds (and its
 * last_seen moves on), past it the flow is stale and recorded anew, the
 * counts following. */
static void test_timeouts(void)
{
	__u64 stale = counter(XLB_STAT_CONN_STALE);
	struct xlb_conn c;
	int t;

	/* New (SYN only): syn_timeout 5 s. */
	send_flags(VST, 200, SYN);
	age(VST, 200, 4 * SEC_NS);
	send_flags(VST, 200, SYN);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale);
	age(VST, 200, 6 * SEC_NS);
	send_flags(VST, 200, SYN);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 1);
	CU_ASSERT_EQUAL(state_of(VST, 200, &t), XLB_CONN_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1); /* -1 old, +1 anew */

	/* Established: tcp_timeout 900 s; refreshed at most once a second. */
	send_flags(VST, 200, ACK);
	CU_ASSERT_EQUAL(state_of(VST, 200, &t), XLB_CONN_ESTABLISHED);
	age(VST, 200, 899 * SEC_NS);
	entry(VST, 200, &c);
	{
		__u64 before = c.last_seen_ns;

		send_flags(VST, 200, ACK);
		entry(VST, 200, &c);
		CU_ASSERT(c.last_seen_ns >= before + 899 * SEC_NS);
	}
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 1);
	age(VST, 200, 901 * SEC_NS);
	send_flags(VST, 200, ACK);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 2);
	CU_ASSERT_EQUAL(state_of(VST, 200, &t), XLB_CONN_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	send_flags(VST, 200, ACK);
	CU_ASSERT_EQUAL(state_of(VST, 200, &t), XLB_CONN_ESTABLISHED);

	/* Closing: fin_timeout 10 s; past it a late ACK is a flow anew. */
	send_flags(VST, 200, FIN_ACK);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	age(VST, 200, 9 * SEC_NS);
	send_flags(VST, 200, ACK);
	CU_ASSERT_EQUAL(state_of(VST, 200, &t), XLB_CONN_CLOSING);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 2);
	age(VST, 200, 11 * SEC_NS);
	send_flags(VST, 200, ACK);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 3);
	CU_ASSERT_EQUAL(state_of(VST, 200, &t), XLB_CONN_NEW);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	close_flows(VST, 200, 200);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
}

/* A flow that went stale on an lc VIP moves its count: off the backend it
 * had, onto the one it gets. */
static void test_stale_moves_count(void)
{
	int from, to;

	for (int k = 0; k < 4; k++)
		set_active(VLC, lc_be[k], 0);
	from = index_of(lc_be, 4, send_flags(VLC, 7000, SYN));
	CU_ASSERT_FATAL(from >= 0);
	send_flags(VLC, 7000, ACK);
	CU_ASSERT_EQUAL(active(VLC, lc_be[from]), 1);
	/* Others busier than it: after expiry its SYN (port reused long
	 * after) still finds it the least loaded... */
	age(VLC, 7000, 901 * SEC_NS);
	for (int k = 0; k < 4; k++)
		if (k != from)
			set_active(VLC, lc_be[k], 5);
	CU_ASSERT_STRING_EQUAL(send_flags(VLC, 7000, SYN), lc_be[from]);
	CU_ASSERT_EQUAL(active(VLC, lc_be[from]), 1);
	/* ...and busier than the others, it moves. */
	age(VLC, 7000, 6 * SEC_NS);
	set_active(VLC, lc_be[from], 10);
	to = index_of(lc_be, 4, send_flags(VLC, 7000, SYN));
	CU_ASSERT_FATAL(to >= 0);
	CU_ASSERT_NOT_EQUAL(to, from);
	CU_ASSERT_EQUAL(active(VLC, lc_be[from]), 9);
	CU_ASSERT_EQUAL(active(VLC, lc_be[to]), 6);
	close_flows(VLC, 7000, 7000);
	for (int k = 0; k < 4; k++)
		set_active(VLC, lc_be[k], 0);
}

/* Switching the scheduler keeps established flows where they are. */
static void test_switch_keeps_flows(void)
{
	static const __u32 scheds[] = {0, XLB_VIP_F_SRC_HASH, XLB_VIP_F_RR, XLB_VIP_F_WRR,
				       XLB_VIP_F_WLC, XLB_VIP_F_LC};
	char was[40][64];

	for (__u16 p = 0; p < 40; p++) {
		snprintf(was[p], sizeof(was[p]), "%s", send_flags(VSW, 8000 + p, SYN));
		send_flags(VSW, 8000 + p, ACK);
	}
	for (size_t s = 0; s < sizeof(scheds) / sizeof(scheds[0]); s++) {
		CU_ASSERT_FATAL(vip_flags(VSW, scheds[s]) == 0);
		for (__u16 p = 0; p < 40; p++)
			CU_ASSERT_STRING_EQUAL(send_flags(VSW, 8000 + p, ACK), was[p]);
	}
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL(active(VSW, sw_be[k]), 10);
	close_flows(VSW, 8000, 8039);
}

/* A backend id given to a new backend starts at a count of 0, and the old
 * backend's flows, gone stale, take nothing off it. */
static void test_reused_id(void)
{
	__u32 id;

	send_flags(VST, 300, SYN);
	send_flags(VST, 300, ACK);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 1);
	id = backend_id(VST, ST_BE);
	{
		struct xlb_vip_key key;
		union xlb_addr a;
		__u8 fam;

		CU_ASSERT_FATAL(xlb_vip_key_parse(VST, &key, err, sizeof(err)) == 0);
		CU_ASSERT_FATAL(xlb_addr_parse(ST_BE, &a, &fam) == 0);
		CU_ASSERT_FATAL(xlb_lb_backend_del(lb, &key, &a, fam, err, sizeof(err)) == 0);
	}
	CU_ASSERT_FATAL(backend_add(VST, ST_BE, 1) == 0);
	CU_ASSERT_EQUAL(backend_id(VST, ST_BE), id);
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
	send_flags(VST, 300, FIN_ACK); /* stale: re-picked, recorded closing */
	CU_ASSERT_EQUAL(active(VST, ST_BE), 0);
}

XLB_SUITE(sched_bpf, suite_init, suite_cleanup,
	  {"lc: 40 flows over 4 backends 10 each, closed ones refilled first", test_lc_fewest},
	  {"lc: equal counts share new flows (scan from the flow hash)", test_lc_ties},
	  {"wlc: exactly by weight, drained never", test_wlc_weights},
	  {"wlc over UDP: by weight", test_wlc_udp},
	  {"lc: RST and mid-flow misses take the ring", test_lc_ring_fallback},
	  {"states: SYN new, ACK established, FIN and RST closing, counts", test_states},
	  {"timeouts: syn, tcp, fin by state; stale recorded anew", test_timeouts},
	  {"lc: a stale flow's count moves with it", test_stale_moves_count},
	  {"switching the scheduler keeps established flows", test_switch_keeps_flows},
	  {"a reused backend id counts from 0", test_reused_id});
