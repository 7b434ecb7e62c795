// SPDX-License-Identifier: GPL-2.0
/* test_lb_bpf.c: the XDP program xlb_lb, run through BPF_PROG_TEST_RUN with
 * maps filled by the daemon's own library (lb.c). Fixture tables give each
 * input frame, the action, the exact output bytes and the counter that must
 * move. Runs in a private network namespace whose routes and permanent
 * neighbours make bpf_fib_lookup deterministic. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sched.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slowstart.h"
#include "xlb_test.h"
#include "pkt.h"
#include "bpf_env.h"
#include "addr.h"
#include "dataplane.h"
#include "lb.h"
#include "xlb_hash.h"

#define LB_IF "xlbt0"    /* the LB's interface: receives and XDP_TXes */
#define OTHER_IF "xlbt2" /* a second interface, in the devmap: redirect */
#define NOPORT_IF "xlbt4" /* a third interface, not in the devmap: pass */

static const char *const setup[] = {
	"ip link set lo up",
	"ip link add " LB_IF " address 02:00:00:00:00:02 type veth peer name xlbt1",
	"ip link add " OTHER_IF " address 02:00:00:00:00:03 type veth peer name xlbt3",
	"ip link add " NOPORT_IF " address 02:00:00:00:00:04 type veth peer name xlbt5",
	"for i in xlbt0 xlbt1 xlbt2 xlbt3 xlbt4 xlbt5; do ip link set $i up || exit 1; done",
	"sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
	"ip addr add 198.18.0.2/24 dev " LB_IF,
	"ip -6 addr add 2001:db8::2/64 dev " LB_IF " nodad",
	"ip addr add 198.18.2.2/24 dev " OTHER_IF,
	"ip addr add 198.18.4.2/24 dev " NOPORT_IF,
	"for i in 11 12 21 22 23 24 25; do "
	"ip neigh add 198.18.0.$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent && "
	"ip neigh add 2001:db8::$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent "
	"|| exit 1; done",
	"ip neigh add 198.18.2.5 lladdr 02:00:00:00:02:05 dev " OTHER_IF " nud permanent",
	"ip neigh add 198.18.4.5 lladdr 02:00:00:00:04:05 dev " NOPORT_IF " nud permanent",
	/* Routes that refuse: each has its own counter. */
	"ip route add blackhole 198.18.9.0/24",
	"ip route add unreachable 198.18.10.0/24",
	"ip route add prohibit 198.18.11.0/24",
	"ip -6 route add blackhole 2001:db8:9::/48",
	NULL,
};

static const __u8 be11_mac[6] = {2, 0, 0, 0, 0, 0x11};
static const __u8 be12_mac[6] = {2, 0, 0, 0, 0, 0x12};
static const __u8 other_mac[6] = {2, 0, 0, 0, 0, 3};
static const __u8 gw205_mac[6] = {2, 0, 0, 0, 2, 5};

static struct xlb_dp *dp;
static struct xlb_lb *lb;
static int prog_fd;
static unsigned int lb_ifindex;
static char err[XLB_ERRLEN];

/* ---- helpers ---------------------------------------------------------- */

static int vip(const char *text, __u32 flags)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_add(lb, &key, flags, err, sizeof(err));
}

static int backend_op(const char *v, const char *addr, int op, __u32 weight)
{
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(addr, &a, &fam))
		return -1;
	if (op == 0)
		return xlb_lb_backend_add(lb, &key, &a, fam, weight, err, sizeof(err));
	if (op == 1)
		return xlb_lb_backend_set_weight(lb, &key, &a, fam, weight, err, sizeof(err));
	return xlb_lb_backend_del(lb, &key, &a, fam, err, sizeof(err));
}

#define backend_add(v, a) backend_op(v, a, 0, 1)
#define backend_weight(v, a, w) backend_op(v, a, 1, w)
#define backend_del(v, a) backend_op(v, a, 2, 0)

static int run(const struct pkt *in, struct pkt *out, int *action)
{
	struct xdp_md ctx = {.data_end = (__u32)in->len, .ingress_ifindex = lb_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = (__u32)in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int ret = bpf_prog_test_run_opts(prog_fd, &opts);

	if (ret)
		return -errno;
	out->len = opts.data_size_out;
	*action = (int)opts.retval;
	return 0;
}

static __u64 counter(__u32 index)
{
	struct xlb_counter c;

	return xlb_dp_counter(dp, index, &c) ? ~0ULL : c.packets;
}

static __u64 counter_bytes(__u32 index)
{
	struct xlb_counter c;

	return xlb_dp_counter(dp, index, &c) ? ~0ULL : c.bytes;
}

/* Frames counted under any verdict reason: every frame the program sees
 * adds exactly one, whichever way it leaves. */
static __u64 verdicts(void)
{
	__u64 n = 0;

	for (__u32 i = 0; i < XLB_STAT_EVENT_FIRST; i++)
		n += counter(i);
	return n;
}

static void flow_of(const struct pkt_spec *s, struct xlb_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->family = s->family == 6 ? XLB_AF_INET6 : XLB_AF_INET;
	inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->src, &f->src);
	inet_pton(s->family == 6 ? AF_INET6 : AF_INET, s->dst, &f->dst);
	f->sport = htons(s->sport);
	f->dport = htons(s->dport);
	f->proto = s->proto;
}

/* Outer destination of an encapsulated output frame, as text. */
static void outer_dst(const struct pkt *p, char *buf, size_t len)
{
	size_t l3 = pkt_l3_off(p);

	if ((p->data[l3] >> 4) == 6)
		inet_ntop(AF_INET6, p->data + l3 + 24, buf, len);
	else
		inet_ntop(AF_INET, p->data + l3 + 16, buf, len);
}

/* Backend a new flow would get, per xlb_lb_lookup (the ring in the map). */
static void lookup(const char *v, const struct pkt_spec *s, char *buf, size_t len)
{
	struct xlb_lb_backend *be;
	struct xlb_vip_key key;
	union xlb_addr src;
	__u8 fam;

	buf[0] = 0;
	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(s->src, &src, &fam))
		return;
	key.port = htons(s->dport);
	if (xlb_lb_lookup(lb, &key, &src, fam, htons(s->sport), &be, err, sizeof(err)))
		return;
	xlb_addr_format(&be->addr, be->family, buf, len);
}

/* Sends one packet of the flow and returns the backend it went to ("" if
 * it was not forwarded). */
static void send_flow(const struct pkt_spec *s, char *backend, size_t len)
{
	struct pkt in, out;
	int action;

	backend[0] = 0;
	if (pkt_build(&in, s) || run(&in, &out, &action) || action != XDP_TX)
		return;
	outer_dst(&out, backend, len);
}

/* ---- suite setup ------------------------------------------------------ */

static int suite_init(void)
{
	struct xlb_dp_opts opts = {.max_vips = 64, .max_backends = 256, .max_conns = 65536};
	struct xlb_config cfg = {.udp_timeout_s = 30, .syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S};

	if (bpf_env_enter(setup))
		return -1;
	lb_ifindex = bpf_env_ifindex(LB_IF);
	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || xlb_lb_new(dp, &lb)) {
		fprintf(stderr, "cannot load the xlb program\n");
		return -1;
	}
	prog_fd = xlb_dp_prog_fd(dp);
	inet_pton(AF_INET, "198.18.0.2", &cfg.src4);
	inet_pton(AF_INET6, "2001:db8::2", &cfg.src6);
	if (xlb_dp_config_set(dp, &cfg) || xlb_dp_tx_port_add(dp, bpf_env_ifindex(OTHER_IF)))
		return -1;

	/* One backend per VIP where the fixture needs exact bytes. */
	if (vip("198.18.100.1:80/tcp", 0) || backend_add("198.18.100.1:80/tcp", "198.18.0.11") ||
	    vip("[2001:db8:100::1]:80/tcp", 0) ||
	    backend_add("[2001:db8:100::1]:80/tcp", "2001:db8::11") ||
	    vip("198.18.100.2:0/udp", 0) || backend_add("198.18.100.2:0/udp", "198.18.0.12") ||
	    vip("198.18.100.3:53/udp", 0) || backend_add("198.18.100.3:53/udp", "2001:db8::12") ||
	    vip("198.18.100.4:80/tcp", 0) || backend_add("198.18.100.4:80/tcp", "198.18.0.99") ||
	    vip("198.18.100.5:80/tcp", 0) || backend_add("198.18.100.5:80/tcp", "198.18.2.5") ||
	    vip("198.18.100.6:80/tcp", 0) || vip("198.18.100.7:80/tcp", 0) ||
	    backend_add("198.18.100.7:80/tcp", "198.19.255.1") ||
	    vip("198.18.100.8:80/tcp", 0) || backend_add("198.18.100.8:80/tcp", "198.18.4.5") ||
	    vip("198.18.102.1:80/tcp", 0) || backend_add("198.18.102.1:80/tcp", "198.18.9.1") ||
	    vip("198.18.102.2:80/tcp", 0) || backend_add("198.18.102.2:80/tcp", "198.18.10.1") ||
	    vip("198.18.102.3:80/tcp", 0) || backend_add("198.18.102.3:80/tcp", "198.18.11.1") ||
	    vip("[2001:db8:102::1]:80/tcp", 0) ||
	    backend_add("[2001:db8:102::1]:80/tcp", "2001:db8:9::1") ||
	    vip("198.18.102.4:80/tcp", 0) || backend_add("198.18.102.4:80/tcp", "198.18.0.24") ||
	    vip("[2001:db8:102::4]:80/tcp", 0) ||
	    backend_add("[2001:db8:102::4]:80/tcp", "2001:db8::24")) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	return 0;
}

static int suite_cleanup(void)
{
	xlb_lb_free(lb);
	xlb_dp_close(dp);
	bpf_env_leave();
	return 0;
}

/* ---- fixture table ---------------------------------------------------- */

enum expect_out {
	OUT_SAME,  /* byte-identical to the input */
	OUT_ENCAP, /* input encapsulated as described */
	OUT_NONE,  /* dropped: output not checked */
};

struct fixture {
	const char *desc;
	struct pkt_spec in;
	int action;
	enum expect_out out;
	int outer_family;
	const char *outer_src, *outer_dst;
	const __u8 *smac, *dmac; /* NULL: the input's MACs swapped back as received */
	enum xlb_stat counter;
};

#define V4(s_, d_, pr_, sp_, dp_) .family = 4, .src = s_, .dst = d_, .proto = pr_, .sport = sp_, .dport = dp_
#define V6(s_, d_, pr_, sp_, dp_) .family = 6, .src = s_, .dst = d_, .proto = pr_, .sport = sp_, .dport = dp_
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define C4 "198.18.1.2"
#define C6 "2001:db8:1::2"

static const struct fixture fixtures[] = {
	{"IPv4 TCP to a VIP: IPIP to its backend, XDP_TX",
	 {V4(C4, "198.18.100.1", TCP, 40000, 80), .payload_len = 100},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv4 TCP SYN, zero payload",
	 {V4(C4, "198.18.100.1", TCP, 40001, 80), .tcp_flags = 0x02},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv4 TOS and DF carried to the outer header",
	 {V4(C4, "198.18.100.1", TCP, 40002, 80), .tos = 0xb8, .frag = 0x4000, .payload_len = 10},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv4 with options: inner kept intact",
	 {V4(C4, "198.18.100.1", TCP, 40003, 80), .ip_opts_len = 8, .payload_len = 20},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"802.1Q tagged IPv4, backend on the untagged link: encapsulated with its tag and the "
	 "received MACs, passed (the kernel routes it from the VLAN device)",
	 {V4(C4, "198.18.100.1", TCP, 40004, 80), .vlan = 100, .payload_len = 30},
	 XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_PASS},
	{"802.1Q tagged IPv6: IP6IP6 with its tag, passed",
	 {V6(C6, "2001:db8:100::1", TCP, 40003, 80), .vlan = 4094, .payload_len = 12},
	 XDP_PASS, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::11", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_PASS},
	{"802.1Q tagged IPv4 to an IPv6 backend: 4in6 with its tag, passed",
	 {V4(C4, "198.18.100.3", UDP, 5003, 53), .vlan = 7, .payload_len = 8},
	 XDP_PASS, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::12", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_PASS},
	{"802.1Q tagged, backend behind another interface in the devmap: passed, not redirected",
	 {V4(C4, "198.18.100.5", TCP, 40001, 80), .vlan = 100, .payload_len = 10},
	 XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.2.5", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_PASS},
	{"802.1Q tagged, too big for the untagged link: the kernel's to judge, passed",
	 {V4(C4, "198.18.100.1", TCP, 40009, 80), .vlan = 100, .payload_len = 1500 - 40},
	 XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_PASS},
	{"IPv6 TCP to a VIP: IP6IP6, flow label from the flow hash",
	 {V6(C6, "2001:db8:100::1", TCP, 40000, 80), .payload_len = 64, .tos = 0x28},
	 XDP_TX, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv6 with a hop-by-hop header: parsed past it",
	 {V6(C6, "2001:db8:100::1", TCP, 40001, 80), .v6_ext = 0, .v6_ext_present = 1},
	 XDP_TX, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv4 UDP to an all-ports VIP (port 0), any port",
	 {V4(C4, "198.18.100.2", UDP, 5000, 12345), .payload_len = 8},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.12", pkt_lb_mac, be12_mac, XLB_STAT_TX},
	{"IPv4 UDP to an IPv6 backend: 4in6",
	 {V4(C4, "198.18.100.3", UDP, 5001, 53), .payload_len = 40},
	 XDP_TX, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::12", pkt_lb_mac, be12_mac, XLB_STAT_TX},
	{"backend's neighbour unresolved: encapsulated, passed to the kernel",
	 {V4(C4, "198.18.100.4", TCP, 40000, 80), .payload_len = 10},
	 XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.99", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_NO_NEIGH},
	{"backend behind another interface in the devmap: redirect",
	 {V4(C4, "198.18.100.5", TCP, 40000, 80), .payload_len = 10},
	 XDP_REDIRECT, OUT_ENCAP, 4, "198.18.0.2", "198.18.2.5", other_mac, gw205_mac,
	 XLB_STAT_REDIRECT},
	{"backend behind an interface not given to xlb: passed encapsulated",
	 {V4(C4, "198.18.100.8", TCP, 40000, 80), .payload_len = 10},
	 XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.4.5", pkt_client_mac, pkt_lb_mac,
	 XLB_STAT_FIB_PASS},
	{"VIP without backends: dropped",
	 {V4(C4, "198.18.100.6", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_NO_BACKEND},
	{"backend without a route: dropped",
	 {V4(C4, "198.18.100.7", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_FIB_NO_ROUTE},
	{"backend under a blackhole route: dropped, counted as unreachable",
	 {V4(C4, "198.18.102.1", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_FIB_UNREACHABLE},
	{"backend under an unreachable route: dropped, counted as unreachable",
	 {V4(C4, "198.18.102.2", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_FIB_UNREACHABLE},
	{"backend under a prohibit route: dropped, counted as unreachable",
	 {V4(C4, "198.18.102.3", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_FIB_UNREACHABLE},
	{"IPv6 backend under a blackhole route: dropped, counted as unreachable",
	 {V6(C6, "2001:db8:102::1", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL,
	 NULL, XLB_STAT_FIB_UNREACHABLE},
	{"too big once encapsulated (1500-byte MTU): answered with ICMP (bytes: test_icmp_bpf.c)",
	 {V4(C4, "198.18.100.1", TCP, 40005, 80), .payload_len = 1500 - 40},
	 XDP_TX, OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_ICMP_TOO_BIG},
	{"exactly the MTU once encapsulated: forwarded",
	 {V4(C4, "198.18.100.1", TCP, 40006, 80), .payload_len = 1500 - 60},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"not a VIP address: passed byte-identical",
	 {V4(C4, "198.18.0.2", TCP, 40000, 22)}, XDP_PASS, OUT_SAME, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_PASS_NOT_VIP},
	{"IPv6 not a VIP: passed byte-identical",
	 {V6(C6, "2001:db8::2", UDP, 40000, 53)}, XDP_PASS, OUT_SAME, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_PASS_NOT_VIP},
	/* What xlb does not balance is the kernel's, but for a VIP address:
	 * the kernel would route it back to the router (a loop), so dropped. */
	{"not a VIP address, other port: passed byte-identical",
	 {V4(C4, "198.18.200.1", TCP, 40000, 81)}, XDP_PASS, OUT_SAME, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_PASS_NOT_VIP},
	{"VIP address, other port: dropped",
	 {V4(C4, "198.18.100.1", TCP, 40000, 81)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_DROP_VIP_UNHANDLED},
	{"VIP address, other protocol (UDP to a TCP VIP): dropped",
	 {V4(C4, "198.18.100.1", UDP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_DROP_VIP_UNHANDLED},
	{"VIP address of an all-ports UDP VIP, TCP: dropped",
	 {V4(C4, "198.18.100.2", TCP, 40000, 80)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL,
	 XLB_STAT_DROP_VIP_UNHANDLED},
	{"IPv6 VIP address, other port: dropped",
	 {V6(C6, "2001:db8:100::1", TCP, 40000, 81)}, XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL,
	 NULL, XLB_STAT_DROP_VIP_UNHANDLED},
	{"ICMP to a non-VIP address: passed",
	 {V4(C4, "198.18.0.2", IPPROTO_ICMP, 0, 0), .payload_len = 8}, XDP_PASS, OUT_SAME, 0,
	 NULL, NULL, NULL, NULL, XLB_STAT_PASS_UNSUPPORTED},
	{"ICMP to a VIP address: dropped",
	 {V4(C4, "198.18.100.1", IPPROTO_ICMP, 0, 0), .payload_len = 8}, XDP_DROP,
	 OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_DROP_VIP_UNHANDLED},
	{"ICMPv6 to an IPv6 VIP address: dropped",
	 {V6(C6, "2001:db8:100::1", IPPROTO_ICMPV6, 0, 0), .payload_len = 8}, XDP_DROP,
	 OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_DROP_VIP_UNHANDLED},
	{"IPv4 first fragment (MF), not a VIP address: passed",
	 {V4(C4, "198.18.200.1", TCP, 40000, 80), .frag = 0x2000, .payload_len = 16}, XDP_PASS,
	 OUT_SAME, 0, NULL, NULL, NULL, NULL, XLB_STAT_FRAGMENT},
	{"IPv4 later fragment (offset), not a VIP address: passed",
	 {V4(C4, "198.18.200.1", TCP, 40000, 80), .frag = 0x0010, .payload_len = 16}, XDP_PASS,
	 OUT_SAME, 0, NULL, NULL, NULL, NULL, XLB_STAT_FRAGMENT},
	{"IPv4 first fragment (MF) to a VIP: balanced as its flow, IPIP",
	 {V4(C4, "198.18.100.1", TCP, 40000, 80), .frag = 0x2000, .payload_len = 16,
	  .ip_id = 0x1001},
	 XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv4 later fragment (offset) to a VIP, its first fragment unseen: dropped",
	 {V4(C4, "198.18.100.1", TCP, 40000, 80), .frag = 0x0010, .payload_len = 16,
	  .ip_id = 0x1002},
	 XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_FRAG_MISS},
	{"IPv4 first fragment to a VIP address, another port: dropped",
	 {V4(C4, "198.18.100.1", TCP, 40000, 81), .frag = 0x2000, .payload_len = 16,
	  .ip_id = 0x1003},
	 XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_DROP_VIP_UNHANDLED},

	{"IPv6 fragment header, not a VIP address: passed",
	 {V6(C6, "2001:db8:200::1", TCP, 40000, 80), .v6_ext = IPPROTO_FRAGMENT,
	  .v6_ext_present = 1},
	 XDP_PASS, OUT_SAME, 0, NULL, NULL, NULL, NULL, XLB_STAT_FRAGMENT},
	{"IPv6 first fragment to a VIP: balanced as its flow, IP6IP6",
	 {V6(C6, "2001:db8:100::1", TCP, 40000, 80), .v6_ext = IPPROTO_FRAGMENT,
	  .v6_ext_present = 1, .v6_frag_id = 0x1001},
	 XDP_TX, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	{"IPv6 later fragment to a VIP, its first fragment unseen: dropped",
	 {V6(C6, "2001:db8:100::1", TCP, 40000, 80), .v6_ext = IPPROTO_FRAGMENT,
	  .v6_ext_present = 1, .v6_frag_off = 0x0008, .v6_frag_id = 0x1002},
	 XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_FRAG_MISS},
	{"IPv6 routing header, not a VIP address: passed",
	 {V6(C6, "2001:db8:200::1", TCP, 40000, 80), .v6_ext = IPPROTO_ROUTING,
	  .v6_ext_present = 1},
	 XDP_PASS, OUT_SAME, 0, NULL, NULL, NULL, NULL, XLB_STAT_PASS_UNSUPPORTED},
	{"IPv6 routing header to a VIP: dropped",
	 {V6(C6, "2001:db8:100::1", TCP, 40000, 80), .v6_ext = IPPROTO_ROUTING,
	  .v6_ext_present = 1},
	 XDP_DROP, OUT_NONE, 0, NULL, NULL, NULL, NULL, XLB_STAT_DROP_VIP_UNHANDLED},
};

/* Frames with bytes after the IP packet (Ethernet padding, junk): what is
 * encapsulated is the IP packet only; what is passed untouched keeps them. */
static const struct {
	struct fixture f;
	size_t trailer;
} trailer_fixtures[] = {
	{{"1514-byte frame holding a 40-byte IPv4 packet: trimmed to it, 74 bytes out",
	  {V4(C4, "198.18.100.1", TCP, 40007, 80)},
	  XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	 1514 - 54},
	{{"IPv4 SYN with Ethernet padding to 60 bytes: padding trimmed",
	  {V4(C4, "198.18.100.1", TCP, 40008, 80), .tcp_flags = 0x02},
	  XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	 6},
	{{"IPv6 with trailing bytes: trimmed to payload length + 40",
	  {V6(C6, "2001:db8:100::1", TCP, 40002, 80), .payload_len = 10},
	  XDP_TX, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::11", pkt_lb_mac, be11_mac, XLB_STAT_TX},
	 100},
	{{"IPv4 to an IPv6 backend with trailing bytes: 4in6 of the IP packet only",
	  {V4(C4, "198.18.100.3", UDP, 5002, 53), .payload_len = 4},
	  XDP_TX, OUT_ENCAP, 6, "2001:db8::2", "2001:db8::12", pkt_lb_mac, be12_mac, XLB_STAT_TX},
	 33},
	{{"neighbour unresolved, trailing bytes: trimmed, encapsulated, passed",
	  {V4(C4, "198.18.100.4", TCP, 40001, 80), .payload_len = 10},
	  XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.99", pkt_client_mac, pkt_lb_mac,
	  XLB_STAT_FIB_NO_NEIGH},
	 20},
	{{"802.1Q tagged with trailing bytes: trimmed, encapsulated with its tag, passed",
	  {V4(C4, "198.18.100.1", TCP, 40010, 80), .vlan = 100},
	  XDP_PASS, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_client_mac, pkt_lb_mac,
	  XLB_STAT_FIB_PASS},
	 6},
	{{"not a VIP, trailing bytes: passed byte-identical, trailer included",
	  {V4(C4, "198.18.0.2", TCP, 40001, 22)}, XDP_PASS, OUT_SAME, 0, NULL, NULL, NULL, NULL,
	  XLB_STAT_PASS_NOT_VIP},
	 20},
};

/* Runs one fixture, its frame followed by trailer bytes. */
static void check_fixture(const struct fixture *f, size_t trailer)
{
	struct pkt in, out, want;
	__u64 before = counter(f->counter), bytes = counter_bytes(f->counter), all = verdicts();
	int action = -1;

	CU_ASSERT_FATAL(pkt_build(&in, &f->in) == 0);
	want = in;
	CU_ASSERT_FATAL(in.len + trailer <= sizeof(in.data));
	memset(in.data + in.len, 0xee, trailer);
	in.len += trailer;
	CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
	if (action != f->action)
		fprintf(stderr, "\n%s: action %d, want %d\n", f->desc, action, f->action);
	CU_ASSERT_EQUAL(action, f->action);
	CU_ASSERT_EQUAL(counter(f->counter), before + 1);
	CU_ASSERT_EQUAL(counter_bytes(f->counter), bytes + in.len);
	CU_ASSERT_EQUAL(verdicts(), all + 1);
	if (f->out == OUT_SAME)
		want = in;
	if (f->out == OUT_ENCAP) {
		struct xlb_flow flow;

		flow_of(&f->in, &flow);
		CU_ASSERT_FATAL(pkt_encap(&want, f->outer_family, f->outer_src, f->outer_dst,
					  xlb_hash_flow(&flow), f->smac, f->dmac) == 0);
	}
	if (f->out != OUT_NONE) {
		CU_ASSERT_FALSE(pkt_diff(f->desc, out.data, out.len, want.data, want.len));
	}
}

static void test_fixtures(void)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
		check_fixture(&fixtures[i], 0);
}

static void test_trailer_fixtures(void)
{
	for (size_t i = 0; i < sizeof(trailer_fixtures) / sizeof(trailer_fixtures[0]); i++)
		check_fixture(&trailer_fixtures[i].f, trailer_fixtures[i].trailer);
}

/* ---- bad packets ------------------------------------------------------ */

/* Overwrites one byte of a built frame at l3 offset + off. */
static void poke(struct pkt *p, size_t off, __u8 v)
{
	p->data[pkt_l3_off(p) + off] = v;
}

static void expect_pass_same(const char *desc, const struct pkt *in, enum xlb_stat reason)
{
	__u64 before = counter(reason), all = verdicts();
	struct pkt out;
	int action = -1;

	CU_ASSERT_FATAL(run(in, &out, &action) == 0);
	if (action != XDP_PASS || counter(reason) != before + 1)
		fprintf(stderr, "\n%s: action %d, counter %s +%llu\n", desc, action,
			xlb_stat_names[reason], (unsigned long long)(counter(reason) - before));
	CU_ASSERT_EQUAL(action, XDP_PASS);
	CU_ASSERT_EQUAL(counter(reason), before + 1);
	CU_ASSERT_EQUAL(verdicts(), all + 1);
	CU_ASSERT_FALSE(pkt_diff(desc, out.data, out.len, in->data, in->len));
}

/* Malformed past a valid IP header, to a VIP address: the kernel would
 * forward it (back to the router), so xlb drops it. */
static void expect_drop_vip(const char *desc, const struct pkt *in)
{
	__u64 before = counter(XLB_STAT_DROP_VIP_UNHANDLED), all = verdicts();
	struct pkt out;
	int action = -1;

	CU_ASSERT_FATAL(run(in, &out, &action) == 0);
	if (action != XDP_DROP || counter(XLB_STAT_DROP_VIP_UNHANDLED) != before + 1)
		fprintf(stderr, "\n%s: action %d, drop_vip_unhandled +%llu\n", desc, action,
			(unsigned long long)(counter(XLB_STAT_DROP_VIP_UNHANDLED) - before));
	CU_ASSERT_EQUAL(action, XDP_DROP);
	CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_VIP_UNHANDLED), before + 1);
	CU_ASSERT_EQUAL(verdicts(), all + 1);
}

static void test_bad_headers(void)
{
	const struct pkt_spec v4 = {V4(C4, "198.18.100.1", TCP, 41000, 80), .payload_len = 20};
	const struct pkt_spec u4 = {V4(C4, "198.18.100.2", UDP, 41000, 80), .payload_len = 20};
	const struct pkt_spec v6 = {V6(C6, "2001:db8:100::1", TCP, 41000, 80), .payload_len = 20};
	/* The same, to an address no VIP is on. */
	const struct pkt_spec n4 = {V4(C4, "198.18.200.1", TCP, 41000, 80), .payload_len = 20};
	const struct pkt_spec nu4 = {V4(C4, "198.18.200.1", UDP, 41000, 80), .payload_len = 20};
	struct pkt p;

	pkt_build(&p, &v4);
	poke(&p, 0, 0x44); /* IHL 4 */
	expect_pass_same("IHL < 5", &p, XLB_STAT_MALFORMED);

	pkt_build(&p, &v4);
	poke(&p, 0, 0x4f); /* IHL 15: 60 bytes, runs into TCP and past tot_len? no: within */
	poke(&p, 2, 0);
	poke(&p, 3, 40); /* tot_len 40 < 60 */
	expect_pass_same("IHL beyond total length", &p, XLB_STAT_MALFORMED);

	pkt_build(&p, &v4);
	poke(&p, 2, 0x05); /* tot_len 1280+: beyond the frame */
	expect_pass_same("total length beyond the frame", &p, XLB_STAT_MALFORMED);

	pkt_build(&p, &v4);
	poke(&p, 0, 0x65); /* version 6 in an IPv4 ethertype */
	expect_pass_same("IPv4 ethertype, version 6", &p, XLB_STAT_MALFORMED);

	pkt_build(&p, &n4);
	poke(&p, 20 + 12, 4 << 4); /* TCP data offset 4 */
	expect_pass_same("TCP data offset < 5", &p, XLB_STAT_MALFORMED);
	pkt_build(&p, &v4);
	poke(&p, 20 + 12, 4 << 4);
	expect_drop_vip("TCP data offset < 5, to a VIP", &p);

	pkt_build(&p, &n4);
	poke(&p, 20 + 12, 15 << 4); /* 60 bytes of TCP header, frame has 40 */
	expect_pass_same("TCP data offset beyond the packet", &p, XLB_STAT_MALFORMED);
	pkt_build(&p, &v4);
	poke(&p, 20 + 12, 15 << 4);
	expect_drop_vip("TCP data offset beyond the packet, to a VIP", &p);

	pkt_build(&p, &nu4);
	poke(&p, 20 + 4, 0);
	poke(&p, 20 + 5, 4); /* UDP length 4 < 8 */
	expect_pass_same("UDP length < 8", &p, XLB_STAT_MALFORMED);
	pkt_build(&p, &u4);
	poke(&p, 20 + 4, 0);
	poke(&p, 20 + 5, 4);
	expect_drop_vip("UDP length < 8, to a VIP", &p);

	pkt_build(&p, &nu4);
	poke(&p, 20 + 4, 0x10); /* UDP length beyond the IP packet */
	expect_pass_same("UDP length beyond the IP packet", &p, XLB_STAT_MALFORMED);
	pkt_build(&p, &u4);
	poke(&p, 20 + 4, 0x10);
	expect_drop_vip("UDP length beyond the IP packet, to a VIP", &p);

	/* IPv6 extension header running past the packet: still a valid IPv6
	 * header, so the kernel would forward it. */
	{
		const struct pkt_spec e6 = {V6(C6, "2001:db8:100::1", TCP, 41000, 80),
					    .v6_ext = 0, .v6_ext_present = 1};

		pkt_build(&p, &e6);
		poke(&p, 40 + 1, 0xff); /* hop-by-hop length: 2 KiB */
		expect_drop_vip("IPv6 hop-by-hop header beyond the packet, to a VIP", &p);
	}

	pkt_build(&p, &v6);
	poke(&p, 4, 0x10); /* payload length beyond the frame */
	expect_pass_same("IPv6 payload length beyond the frame", &p, XLB_STAT_MALFORMED);

	pkt_build(&p, &v6);
	poke(&p, 0, 0x45); /* version 4 in an IPv6 ethertype */
	expect_pass_same("IPv6 ethertype, version 4", &p, XLB_STAT_MALFORMED);

	pkt_build(&p, &v4);
	p.data[12] = 0x08;
	p.data[13] = 0x06; /* ARP */
	expect_pass_same("non-IP ethertype (ARP)", &p, XLB_STAT_PASS_NOT_IP);

	pkt_build(&p, &v4);
	p.data[12] = 0x88;
	p.data[13] = 0xcc; /* LLDP */
	expect_pass_same("non-IP ethertype (LLDP)", &p, XLB_STAT_PASS_NOT_IP);
}

/* Every truncation of valid frames is passed untouched and counted. */
static void test_truncation_sweep(void)
{
	const struct pkt_spec specs[] = {
		{V4(C4, "198.18.100.1", TCP, 42000, 80), .payload_len = 12},
		{V4(C4, "198.18.100.2", UDP, 42000, 9), .payload_len = 12, .ip_opts_len = 4},
		{V6(C6, "2001:db8:100::1", TCP, 42000, 80), .payload_len = 12},
		{V6(C6, "2001:db8:100::1", TCP, 42000, 80), .v6_ext = 0, .v6_ext_present = 1},
		{V4(C4, "198.18.100.1", TCP, 42000, 80), .vlan = 7},
	};

	for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
		struct pkt full, cut, out;

		CU_ASSERT_FATAL(pkt_build(&full, &specs[s]) == 0);
		for (size_t len = 1; len < full.len; len++) {
			__u64 before = counter(XLB_STAT_MALFORMED), all = verdicts();
			int action = -1;
			char what[64];

			cut = full;
			cut.len = len;
			snprintf(what, sizeof(what), "spec %zu cut at %zu", s, len);
			/* The kernel refuses frames shorter than an Ethernet header. */
			if (run(&cut, &out, &action) == -EINVAL && len < 14)
				continue;
			if (action != XDP_PASS || counter(XLB_STAT_MALFORMED) != before + 1)
				fprintf(stderr, "\n%s: action %d\n", what, action);
			CU_ASSERT_EQUAL(action, XDP_PASS);
			CU_ASSERT_EQUAL(counter(XLB_STAT_MALFORMED), before + 1);
			CU_ASSERT_EQUAL(verdicts(), all + 1);
			CU_ASSERT_FALSE(pkt_diff(what, out.data, out.len, cut.data, cut.len));
		}
	}
}

/* ---- behaviour across configuration changes --------------------------- */

#define MV "198.18.100.20:80/tcp"
#define NFLOWS 200

static const char *const mv_backends[] = {"198.18.0.21", "198.18.0.22", "198.18.0.23",
					  "198.18.0.24"};

static struct pkt_spec mv_flow(int i, __u8 flags)
{
	struct pkt_spec s = {V4(C4, "198.18.100.20", TCP, (__u16)(20000 + i), 80),
			     .tcp_flags = flags};
	return s;
}

static int setup_mv(__u32 vip_flags)
{
	struct xlb_vip_key key;

	xlb_vip_key_parse(MV, &key, err, sizeof(err));
	if (xlb_lb_vip_find(lb, &key))
		xlb_lb_vip_del(lb, &key, err, sizeof(err));
	if (vip(MV, vip_flags))
		return -1;
	for (size_t i = 0; i < 4; i++)
		if (backend_add(MV, mv_backends[i]))
			return -1;
	return 0;
}

static void test_same_flow_same_backend(void)
{
	char first[NFLOWS][INET6_ADDRSTRLEN], again[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	int used[4] = {0};

	CU_ASSERT_FATAL(setup_mv(XLB_VIP_F_NO_CONNTRACK) == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x02);

		send_flow(&s, first[i], sizeof(first[i]));
		lookup(MV, &s, want, sizeof(want));
		CU_ASSERT_STRING_EQUAL(first[i], want);
		for (int b = 0; b < 4; b++)
			used[b] += !strcmp(first[i], mv_backends[b]);
	}
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x10);

		send_flow(&s, again, sizeof(again));
		CU_ASSERT_STRING_EQUAL(again, first[i]);
	}
	/* Maglev spreads 200 flows over 4 backends: none is starved. */
	for (int b = 0; b < 4; b++)
		CU_ASSERT(used[b] >= NFLOWS / 4 / 2);
}

/* With conntrack, established flows keep their backend when one is added;
 * with conntrack off they follow the new ring. */
static void flows_across_add(__u32 vip_flags, int expect_kept)
{
	char before[NFLOWS][INET6_ADDRSTRLEN], after[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	int moved_in_ring = 0, kept = 0, followed = 0;

	CU_ASSERT_FATAL(setup_mv(vip_flags) == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x02);

		send_flow(&s, before[i], sizeof(before[i]));
	}
	CU_ASSERT_FATAL(backend_add(MV, "198.18.0.25") == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x10);

		lookup(MV, &s, want, sizeof(want));
		send_flow(&s, after, sizeof(after));
		if (strcmp(want, before[i]))
			moved_in_ring++;
		kept += !strcmp(after, before[i]);
		followed += !strcmp(after, want);
	}
	/* About a fifth of the flows map to the new backend on the new ring. */
	CU_ASSERT(moved_in_ring > NFLOWS / 10);
	if (expect_kept) {
		CU_ASSERT_EQUAL(kept, NFLOWS);
	} else {
		CU_ASSERT_EQUAL(followed, NFLOWS);
	}
}

static void test_conntrack_keeps_flows(void)
{
	__u64 hits = counter(XLB_STAT_CONN_HIT);

	flows_across_add(0, 1);
	CU_ASSERT(counter(XLB_STAT_CONN_HIT) >= hits + NFLOWS);
}

static void test_stateless_follows_ring(void)
{
	__u64 hits = counter(XLB_STAT_CONN_HIT), misses = counter(XLB_STAT_CONN_MISS);

	flows_across_add(XLB_VIP_F_NO_CONNTRACK, 0);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_HIT), hits);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_MISS), misses);
}

/* Removing a backend re-hashes its flows only; draining keeps them. */
static void test_remove_and_drain(void)
{
	char before[NFLOWS][INET6_ADDRSTRLEN], after[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	int on_removed = 0, on_drained = 0;

	CU_ASSERT_FATAL(setup_mv(0) == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x02);

		send_flow(&s, before[i], sizeof(before[i]));
	}
	/* Drain .22: established flows stay, new ones avoid it. */
	CU_ASSERT_FATAL(backend_weight(MV, "198.18.0.22", 0) == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x10), n = mv_flow(i + 1000, 0x02);

		send_flow(&s, after, sizeof(after));
		CU_ASSERT_STRING_EQUAL(after, before[i]);
		on_drained += !strcmp(before[i], "198.18.0.22");
		send_flow(&n, after, sizeof(after));
		CU_ASSERT_STRING_NOT_EQUAL(after, "198.18.0.22");
	}
	CU_ASSERT(on_drained > 0);
	/* Remove .21: its flows move to what the ring says, others stay. */
	CU_ASSERT_FATAL(backend_del(MV, "198.18.0.21") == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x10);

		send_flow(&s, after, sizeof(after));
		if (!strcmp(before[i], "198.18.0.21")) {
			on_removed++;
			lookup(MV, &s, want, sizeof(want));
			CU_ASSERT_STRING_EQUAL(after, want);
			CU_ASSERT_STRING_NOT_EQUAL(after, "198.18.0.21");
		} else {
			CU_ASSERT_STRING_EQUAL(after, before[i]);
		}
	}
	CU_ASSERT(on_removed > 0);
}

static int set_up(const char *addr, int up)
{
	struct xlb_vip_key key;
	struct xlb_lb_backend *b;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(MV, &key, err, sizeof(err)) || xlb_addr_parse(addr, &a, &fam))
		return -1;
	b = xlb_lb_backend_find(lb, xlb_lb_vip_find(lb, &key), &a, fam);
	return b ? xlb_lb_backend_set_up(lb, b->id, up) : -1;
}

/* Health verdicts: a down backend's flows re-hash on their next packet and
 * nobody else's move; all down fails open (or drops with fail-open off);
 * the first backend back takes every new flow. */
static void test_health_verdicts(void)
{
	char before[NFLOWS][INET6_ADDRSTRLEN], after[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
	int moved = 0, seen[4] = {0}, distinct = 0;
	struct xlb_vip_key key;
	struct xlb_lb_vip *v;
	__u64 drops, hits, stale;

	CU_ASSERT_FATAL(setup_mv(0) == 0);
	xlb_vip_key_parse(MV, &key, err, sizeof(err));
	v = xlb_lb_vip_find(lb, &key);
	CU_ASSERT_FATAL(v != NULL);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x02);

		send_flow(&s, before[i], sizeof(before[i]));
	}
	CU_ASSERT_FATAL(set_up("198.18.0.22", 0) == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x10), n = mv_flow(i + 1000, 0x02);

		send_flow(&s, after, sizeof(after));
		if (!strcmp(before[i], "198.18.0.22")) {
			moved++;
			lookup(MV, &s, want, sizeof(want));
			CU_ASSERT_STRING_EQUAL(after, want);
		} else {
			CU_ASSERT_STRING_EQUAL(after, before[i]);
		}
		send_flow(&n, after, sizeof(after));
		CU_ASSERT_STRING_NOT_EQUAL(after, "198.18.0.22");
	}
	CU_ASSERT(moved > 0);
	CU_ASSERT_EQUAL(v->failing_open, 0);
	/* The re-hashed entries were rewritten: the next packets hit them. */
	hits = counter(XLB_STAT_CONN_HIT);
	stale = counter(XLB_STAT_CONN_STALE);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x10);

		send_flow(&s, after, sizeof(after));
		CU_ASSERT_STRING_NOT_EQUAL(after, "198.18.0.22");
	}
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_HIT), hits + NFLOWS);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale);

	/* Every backend down: fail-open forwards new flows to all four. */
	CU_ASSERT_FATAL(set_up("198.18.0.21", 0) == 0);
	CU_ASSERT_FATAL(set_up("198.18.0.23", 0) == 0);
	CU_ASSERT_FATAL(set_up("198.18.0.24", 0) == 0);
	CU_ASSERT_EQUAL(v->failing_open, 1);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec n = mv_flow(i + 2000, 0x02);

		send_flow(&n, after, sizeof(after));
		for (int b = 0; b < 4; b++)
			seen[b] += !strcmp(after, mv_backends[b]);
	}
	for (int b = 0; b < 4; b++)
		distinct += seen[b] > 0;
	CU_ASSERT_EQUAL(seen[0] + seen[1] + seen[2] + seen[3], NFLOWS);
	CU_ASSERT_EQUAL(distinct, 4);

	/* fail-open off: new flows have no backend and are dropped. */
	CU_ASSERT_FATAL(xlb_lb_vip_set_health(lb, &key, 1, &v->hc, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(v->failing_open, 0);
	CU_ASSERT_EQUAL(v->dropping, 1);
	drops = counter(XLB_STAT_NO_BACKEND);
	for (int i = 0; i < 20; i++) {
		struct pkt_spec n = mv_flow(i + 3000, 0x02);

		send_flow(&n, after, sizeof(after));
		CU_ASSERT_STRING_EQUAL(after, "");
	}
	CU_ASSERT_EQUAL(counter(XLB_STAT_NO_BACKEND), drops + 20);

	/* The first backend back takes every new flow. */
	CU_ASSERT_FATAL(set_up("198.18.0.23", 1) == 0);
	CU_ASSERT_EQUAL(v->dropping, 0);
	for (int i = 0; i < 50; i++) {
		struct pkt_spec n = mv_flow(i + 4000, 0x02);

		send_flow(&n, after, sizeof(after));
		CU_ASSERT_STRING_EQUAL(after, "198.18.0.23");
	}
	CU_ASSERT_FATAL(xlb_lb_vip_set_health(lb, &key, 0, &v->hc, err, sizeof(err)) == 0);
}

/* Slots of lb's last built ring that hold backend id. */
static __u32 ring_slots(__u32 id)
{
	__u32 n = 0;

	for (__u32 i = 0; i < lb->dp->ring_size; i++)
		n += lb->ring[i] == id;
	return n;
}

/* Slow start: a backend added to a VIP with slow-start starts with a tiny
 * share of the ring, the tick rebuilds it with the share the elapsed time
 * gives (half way: 1/2 of a weight among 3 others, 1/7 of the ring), full
 * at the end and then no more ticks; a backend back up after its checks
 * failed ramps again; its own slow-start 0 ends its ramp at once. */
static void test_slow_start(void)
{
	const char *sv = "198.18.103.1:80/tcp";
	const char *addrs[] = {"198.18.13.1", "198.18.13.2", "198.18.13.3", "198.18.13.4"};
	__u32 m = lb->dp->ring_size, slots;
	struct xlb_lb_backend *b;
	struct xlb_vip_key key;
	struct xlb_lb_vip *v;
	union xlb_addr a;
	__u8 fam;

	CU_ASSERT_FATAL(vip(sv, 0) == 0);
	xlb_vip_key_parse(sv, &key, err, sizeof(err));
	v = xlb_lb_vip_find(lb, &key);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_FATAL(backend_add(sv, addrs[i]) == 0);
	CU_ASSERT_EQUAL(v->n_ramping, 0); /* no slow start on the VIP: none ramps */
	CU_ASSERT_EQUAL(
	    xlb_lb_vip_set_slow_start(lb, &key, XLB_SLOW_START_MAX + 1, err, sizeof(err)), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "bad slow-start '3601', expected 1-3600 seconds, or 0 or off "
				    "for none");
	CU_ASSERT_EQUAL(v->slow_start, 0);
	CU_ASSERT_FATAL(xlb_lb_vip_set_slow_start(lb, &key, 6, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(backend_add(sv, addrs[3]) == 0);
	xlb_addr_parse(addrs[3], &a, &fam);
	b = xlb_lb_backend_find(lb, v, &a, fam);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_EQUAL(v->n_ramping, 1);
	slots = ring_slots(b->id);
	CU_ASSERT(slots >= 1 && slots < m / 100);

	/* Half way: 500 of 3500 scaled weight, 1/7 of the slots. */
	b->ramp_ms -= 3000;
	CU_ASSERT(xlb_lb_slowstart_tick(lb) >= 1);
	slots = ring_slots(b->id);
	CU_ASSERT(slots > m / 7 - m / 50 && slots < m / 7 + m / 50);
	/* Over: the whole weight, a quarter, and no more rebuilds. */
	b->ramp_ms -= 3000;
	CU_ASSERT(xlb_lb_slowstart_tick(lb) >= 1);
	slots = ring_slots(b->id);
	CU_ASSERT(slots > m / 4 - m / 50 && slots < m / 4 + m / 50);
	CU_ASSERT_EQUAL(v->n_ramping, 0);
	CU_ASSERT_EQUAL(b->ramp_ms, 0);
	CU_ASSERT_EQUAL(xlb_lb_slowstart_tick(lb), 0);

	/* Down, then up again: it ramps from the start. */
	CU_ASSERT_FATAL(xlb_lb_backend_set_up(lb, b->id, 0) == 0);
	CU_ASSERT_EQUAL(ring_slots(b->id), 0);
	CU_ASSERT_FATAL(xlb_lb_backend_set_up(lb, b->id, 1) == 0);
	CU_ASSERT_EQUAL(v->n_ramping, 1);
	slots = ring_slots(b->id);
	CU_ASSERT(slots >= 1 && slots < m / 100);
	/* Its own slow-start 0: at its whole weight at once. */
	CU_ASSERT_FATAL(xlb_lb_backend_set_slow_start(lb, &key, &a, fam, 0, err, sizeof(err)) == 0);
	slots = ring_slots(b->id);
	CU_ASSERT(slots > m / 4 - m / 50 && slots < m / 4 + m / 50);
	CU_ASSERT_EQUAL(v->n_ramping, 0);
	CU_ASSERT_EQUAL(xlb_lb_vip_del(lb, &key, err, sizeof(err)), 0);
}

/* A batch rebuilds each VIP's ring once, at the commit, and yields the same
 * ring as adding the backends one by one. */
static void test_batch_one_rebuild(void)
{
	char one[NFLOWS][INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN];
	struct pkt_spec first = mv_flow(0, 0x02);
	struct xlb_vip_key key;
	__u64 builds;

	CU_ASSERT_FATAL(setup_mv(XLB_VIP_F_NO_CONNTRACK) == 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x02);

		lookup(MV, &s, one[i], sizeof(one[i]));
	}
	xlb_vip_key_parse(MV, &key, err, sizeof(err));
	CU_ASSERT_FATAL(xlb_lb_vip_del(lb, &key, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(vip(MV, XLB_VIP_F_NO_CONNTRACK) == 0);
	builds = lb->ring_builds;
	xlb_lb_batch_begin(lb);
	for (size_t i = 0; i < 4; i++)
		CU_ASSERT_FATAL(backend_add(MV, mv_backends[i]) == 0);
	CU_ASSERT_EQUAL(lb->ring_builds, builds);
	send_flow(&first, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, ""); /* not in service before the commit */
	CU_ASSERT_FATAL(xlb_lb_batch_commit(lb) == 0);
	CU_ASSERT_EQUAL(lb->ring_builds, builds + 1);
	for (int i = 0; i < NFLOWS; i++) {
		struct pkt_spec s = mv_flow(i, 0x02);

		send_flow(&s, got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, one[i]);
	}
}

/* One frame through the program: its action. */
static int action_of(const struct pkt_spec *s)
{
	struct pkt in, out;
	int action;

	if (pkt_build(&in, s) || run(&in, &out, &action))
		return -1;
	return action;
}

static int vip_del(const char *text)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_del(lb, &key, err, sizeof(err));
}

/* VIPs on an IPv4 address as xlb_vip_addrs counts them (0: no entry). */
static __u32 vip_addr_count(const char *addr)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_vip_addrs"));
	struct xlb_vip_addr_key key = {.family = XLB_AF_INET};
	struct xlb_vip_addr val;

	inet_pton(AF_INET, addr, &key.addr.v4);
	return bpf_map_lookup_elem(fd, &key, &val) ? 0 : val.vips;
}

/* The address map follows the VIPs through the library: an address two VIPs
 * share stays until the last goes; it is recounted from xlb_vips on load
 * (pins an xlbd left between two writes). An ICMP echo request to a VIP
 * address is answered by xlb, to another address passed. */
static void test_vip_addresses(void)
{
	const char *a = "198.18.100.30:80/tcp", *b = "198.18.100.30:443/tcp";
	struct pkt_spec other = {V4(C4, "198.18.100.30", TCP, 41000, 8080)};
	struct pkt_spec icmp = {V4(C4, "198.18.100.30", IPPROTO_ICMP, 0, 0), .payload_len = 8};
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_vip_addrs"));
	struct xlb_vip_addr_key bogus = {.family = XLB_AF_INET};
	struct xlb_vip_addr one = {.vips = 1};
	struct pkt echo, out;
	__u64 drops;
	int action;

	CU_ASSERT_EQUAL(action_of(&other), XDP_PASS);
	CU_ASSERT_FATAL(vip(a, 0) == 0);
	CU_ASSERT_FATAL(vip(b, 0) == 0);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.30"), 2);
	CU_ASSERT_EQUAL(action_of(&other), XDP_DROP);

	/* An echo request proper (type 8, code 0) is xlb's to answer
	 * (exact bytes: test_icmp_bpf.c); other ICMP is dropped. */
	CU_ASSERT_FATAL(pkt_build(&echo, &icmp) == 0);
	poke(&echo, 20, 8);
	poke(&echo, 21, 0);
	drops = counter(XLB_STAT_ICMP_ECHO_REPLY);
	CU_ASSERT(run(&echo, &out, &action) == 0 && action == XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_ICMP_ECHO_REPLY), drops + 1);
	poke(&echo, 20, 13); /* timestamp request */
	drops = counter(XLB_STAT_DROP_VIP_UNHANDLED);
	CU_ASSERT(run(&echo, &out, &action) == 0 && action == XDP_DROP);
	CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_VIP_UNHANDLED), drops + 1);

	/* Updating a VIP counts it once. */
	{
		struct xlb_vip_key key;

		CU_ASSERT_FATAL(xlb_vip_key_parse(a, &key, err, sizeof(err)) == 0);
		CU_ASSERT_FATAL(xlb_lb_vip_set_flags(lb, &key, XLB_VIP_F_SRC_HASH, err,
						     sizeof(err)) == 0);
		CU_ASSERT_EQUAL(vip_addr_count("198.18.100.30"), 2);
	}

	/* Recounted on load: a lost entry comes back, a stray one goes. */
	inet_pton(AF_INET, "198.18.100.31", &bogus.addr.v4);
	CU_ASSERT_FATAL(bpf_map_update_elem(fd, &bogus, &one, BPF_ANY) == 0);
	CU_ASSERT_FATAL(bpf_map_update_elem(fd, &(struct xlb_vip_addr_key){
		.addr.v4 = htonl(0xc612641e), .family = XLB_AF_INET}, &one, BPF_ANY) == 0);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.30"), 1);
	CU_ASSERT_FATAL(xlb_dp_loaded(dp) == 0);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.30"), 2);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.31"), 0);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.1"), 1);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.2"), 1);

	CU_ASSERT_FATAL(vip_del(a) == 0);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.30"), 1);
	CU_ASSERT_EQUAL(action_of(&other), XDP_DROP);
	CU_ASSERT_FATAL(vip_del(b) == 0);
	CU_ASSERT_EQUAL(vip_addr_count("198.18.100.30"), 0);
	CU_ASSERT_EQUAL(action_of(&other), XDP_PASS);
	CU_ASSERT(run(&echo, &out, &action) == 0 && action == XDP_PASS);
}

/* The next hop is looked up once per backend and CPU, then cached: the
 * cache keeps the MTU, a tagged frame is the kernel's even while a next hop
 * is cached, and a reused backend id (new generation) is looked up again. */
static void test_nexthop_cache(void)
{
	struct pkt_spec s = {V4(C4, "198.18.100.5", TCP, 41000, 80), .payload_len = 10};
	__u64 miss, pass;

	for (int i = 0; i < 20; i++) {
		s.sport = (__u16)(41000 + i);
		CU_ASSERT_EQUAL(action_of(&s), XDP_REDIRECT);
	}
	miss = counter(XLB_STAT_NEXTHOP_MISS);
	for (int i = 0; i < 20; i++) {
		s.sport = (__u16)(42000 + i);
		CU_ASSERT_EQUAL(action_of(&s), XDP_REDIRECT);
	}
	CU_ASSERT_EQUAL(counter(XLB_STAT_NEXTHOP_MISS), miss);
	/* From the cache: a tagged frame is the kernel's, a big one answered
	 * with ICMP from the cached MTU. */
	pass = counter(XLB_STAT_FIB_PASS);
	s.vlan = 100;
	CU_ASSERT_EQUAL(action_of(&s), XDP_PASS);
	CU_ASSERT_EQUAL(counter(XLB_STAT_FIB_PASS), pass + 1);
	s.vlan = 0;
	s.payload_len = 1500 - 40;
	CU_ASSERT_EQUAL(action_of(&s), XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_NEXTHOP_MISS), miss);
	s.payload_len = 1500 - 60;
	CU_ASSERT_EQUAL(action_of(&s), XDP_REDIRECT);
	/* The same id again, a new generation: looked up afresh. */
	CU_ASSERT_FATAL(backend_del("198.18.100.5:80/tcp", "198.18.2.5") == 0);
	CU_ASSERT_FATAL(backend_add("198.18.100.5:80/tcp", "198.18.2.5") == 0);
	s.payload_len = 10;
	CU_ASSERT_EQUAL(action_of(&s), XDP_REDIRECT);
	CU_ASSERT_EQUAL(counter(XLB_STAT_NEXTHOP_MISS), miss + 1);
	CU_ASSERT_EQUAL(action_of(&s), XDP_REDIRECT);
	CU_ASSERT_EQUAL(counter(XLB_STAT_NEXTHOP_MISS), miss + 1);
}

/* The permanent neighbour entry's MAC of 198.18.0.NN (setup above):
 * 02:00:00:00:00:NN, NN read as hex digits. */
static const __u8 *neigh_mac(const char *addr, __u8 *mac)
{
	unsigned int nn = (unsigned int)atoi(strrchr(addr, '.') + 1);

	memcpy(mac, (const __u8[6]){2, 0, 0, 0, 0, 0}, 6);
	mac[5] = (__u8)((nn / 10) << 4 | (nn % 10));
	return mac;
}

/* Runs a frame; on XDP_TX, the backend it was sent to (else ""). */
static int run_to(const struct pkt *in, struct pkt *out, char *backend, size_t len)
{
	int action = -1;

	backend[0] = 0;
	if (run(in, out, &action))
		return -1;
	if (action == XDP_TX)
		outer_dst(out, backend, len);
	return action;
}

/* A datagram's later fragments go where its first went, with the same
 * outer header, whichever backend that is; a datagram whose first fragment
 * was not seen, or whose backend left, is dropped; elsewhere, the kernel's. */
static void test_fragments(void)
{
	char first_be[INET6_ADDRSTRLEN], be[INET6_ADDRSTRLEN];
	__u64 follow = counter(XLB_STAT_FRAG_FOLLOW), firsts = counter(XLB_STAT_FRAG_FIRST);
	__u64 miss = counter(XLB_STAT_FRAG_MISS);
	int used[4] = {0};
	struct pkt in, out, want;
	__u8 mac[6];

	CU_ASSERT_FATAL(setup_mv(0) == 0);
	for (int i = 0; i < 40; i++) {
		struct pkt_spec first = {V4(C4, "198.18.100.20", TCP, (__u16)(30000 + i), 80),
					 .frag = 0x2000, .payload_len = 64,
					 .ip_id = (__u16)(0x2000 + i)};
		struct pkt_spec later = first;
		struct xlb_flow flow;

		CU_ASSERT_FATAL(pkt_build(&in, &first) == 0);
		CU_ASSERT_FATAL(run_to(&in, &out, first_be, sizeof(first_be)) == XDP_TX);
		for (int b = 0; b < 4; b++)
			used[b] += !strcmp(first_be, mv_backends[b]);
		/* Middle and last fragments: exact bytes, the first's outer header. */
		for (__u16 frag = 0x2000 | 9; frag; frag = frag == (0x2000 | 9) ? 18 : 0) {
			later.frag = frag;
			later.sport = later.dport = 0; /* what a later fragment's bytes hold */
			CU_ASSERT_FATAL(pkt_build(&in, &later) == 0);
			want = in;
			flow_of(&first, &flow);
			CU_ASSERT_FATAL(pkt_encap(&want, 4, "198.18.0.2", first_be,
						  xlb_hash_flow(&flow), pkt_lb_mac,
						  neigh_mac(first_be, mac)) == 0);
			CU_ASSERT_EQUAL(run_to(&in, &out, be, sizeof(be)), XDP_TX);
			CU_ASSERT_STRING_EQUAL(be, first_be);
			CU_ASSERT_FALSE(pkt_diff("IPv4 later fragment", out.data, out.len,
						 want.data, want.len));
		}
	}
	for (int b = 0; b < 4; b++)
		CU_ASSERT(used[b] > 0);
	CU_ASSERT_EQUAL(counter(XLB_STAT_FRAG_FIRST), firsts + 40);
	CU_ASSERT_EQUAL(counter(XLB_STAT_FRAG_FOLLOW), follow + 80);

	/* The first fragment's backend leaves: the rest cannot follow it. */
	{
		struct pkt_spec first = {V4(C4, "198.18.100.20", TCP, 31000, 80), .frag = 0x2000,
					 .payload_len = 64, .ip_id = 0x3000};
		struct pkt_spec later = first;

		CU_ASSERT_FATAL(pkt_build(&in, &first) == 0);
		CU_ASSERT_EQUAL(run_to(&in, &out, first_be, sizeof(first_be)), XDP_TX);
		CU_ASSERT_FATAL(backend_del(MV, first_be) == 0);
		later.frag = 9;
		CU_ASSERT_FATAL(pkt_build(&in, &later) == 0);
		CU_ASSERT_EQUAL(run_to(&in, &out, be, sizeof(be)), XDP_DROP);
		CU_ASSERT_EQUAL(counter(XLB_STAT_FRAG_MISS), miss + 1);
	}

	/* Not for a VIP address: first and later fragments pass untouched. */
	{
		struct pkt_spec s = {V4(C4, "198.18.200.1", UDP, 31000, 80), .frag = 0x2000,
				     .payload_len = 64, .ip_id = 0x4000};
		__u64 pass = counter(XLB_STAT_FRAGMENT);

		CU_ASSERT_FATAL(pkt_build(&in, &s) == 0);
		CU_ASSERT_EQUAL(run_to(&in, &out, be, sizeof(be)), XDP_PASS);
		CU_ASSERT_FALSE(pkt_diff("non-VIP first fragment", out.data, out.len, in.data,
					 in.len));
		s.frag = 9;
		CU_ASSERT_FATAL(pkt_build(&in, &s) == 0);
		CU_ASSERT_EQUAL(run_to(&in, &out, be, sizeof(be)), XDP_PASS);
		CU_ASSERT_EQUAL(counter(XLB_STAT_FRAGMENT), pass + 2);
	}

	/* A first fragment that splits the TCP header (RFC 1858) names no
	 * flow: dropped as unhandled VIP traffic. */
	{
		struct pkt_spec s = {V4(C4, "198.18.100.20", TCP, 31000, 80), .frag = 0x2000,
				     .ip_id = 0x5000};
		__u64 unhandled = counter(XLB_STAT_DROP_VIP_UNHANDLED);
		__u8 *ip;

		CU_ASSERT_FATAL(pkt_build(&in, &s) == 0);
		ip = in.data + 14;
		ip[2] = 0;
		ip[3] = 20 + 8; /* the IP packet ends 8 bytes into the TCP header */
		ip[10] = ip[11] = 0;
		{
			__u16 c = pkt_csum(ip, 20, 0);

			ip[10] = (__u8)(c >> 8);
			ip[11] = (__u8)c;
		}
		in.len = 14 + 28;
		CU_ASSERT_EQUAL(run_to(&in, &out, be, sizeof(be)), XDP_DROP);
		CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_VIP_UNHANDLED), unhandled + 1);
	}
}

/* IPv6: the fragment header's identification names the datagram. */
static void test_fragments_v6(void)
{
	struct pkt_spec first = {V6(C6, "2001:db8:100::1", UDP, 32000, 80),
				 .v6_ext = IPPROTO_FRAGMENT, .v6_ext_present = 1,
				 .v6_frag_id = 0xabcd0001, .payload_len = 32};
	struct pkt_spec later = first;
	struct pkt in, out, want;
	struct xlb_flow flow;

	CU_ASSERT_FATAL(vip("[2001:db8:100::1]:80/udp", 0) == 0 &&
			backend_add("[2001:db8:100::1]:80/udp", "2001:db8::12") == 0);
	CU_ASSERT_FATAL(pkt_build(&in, &first) == 0);
	CU_ASSERT_EQUAL(action_of(&first), XDP_TX);
	later.v6_frag_off = 0x0008 | 1;
	later.sport = later.dport = 0;
	CU_ASSERT_FATAL(pkt_build(&in, &later) == 0);
	want = in;
	flow_of(&first, &flow);
	CU_ASSERT_FATAL(pkt_encap(&want, 6, "2001:db8::2", "2001:db8::12", xlb_hash_flow(&flow),
				  pkt_lb_mac, be12_mac) == 0);
	{
		int action = -1;

		CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
		CU_ASSERT_EQUAL(action, XDP_TX);
		CU_ASSERT_FALSE(pkt_diff("IPv6 later fragment", out.data, out.len, want.data,
					 want.len));
	}
	/* Another identification: not the same datagram. */
	later.v6_frag_id = 0xabcd0002;
	CU_ASSERT_EQUAL(action_of(&later), XDP_DROP);
}

/* Forwarding off on the receiving interface (every host's default): the
 * route lookup refuses with its own cause, and nothing of it is cached, so
 * the first packet after the sysctl is set goes through. */
static void test_forwarding_disabled(void)
{
	struct pkt_spec s4 = {V4(C4, "198.18.102.4", TCP, 40000, 80), .payload_len = 10};
	struct pkt_spec s6 = {V6(C6, "2001:db8:102::4", TCP, 40000, 80), .payload_len = 10};
	__u64 off = counter(XLB_STAT_FIB_FWD_DISABLED);

	CU_ASSERT_FATAL(system("sysctl -qw net.ipv4.conf." LB_IF ".forwarding=0 "
			       "net.ipv6.conf." LB_IF ".forwarding=0") == 0);
	CU_ASSERT_EQUAL(action_of(&s4), XDP_DROP);
	CU_ASSERT_EQUAL(action_of(&s6), XDP_DROP);
	CU_ASSERT_EQUAL(counter(XLB_STAT_FIB_FWD_DISABLED), off + 2);
	CU_ASSERT_FATAL(system("sysctl -qw net.ipv4.conf." LB_IF ".forwarding=1 "
			       "net.ipv6.conf." LB_IF ".forwarding=1") == 0);
	CU_ASSERT_EQUAL(action_of(&s4), XDP_TX);
	CU_ASSERT_EQUAL(action_of(&s6), XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_FIB_FWD_DISABLED), off + 2);
}

/* An 802.1ad (QinQ outer) tag is handled as an 802.1Q one: encapsulated with
 * the tag as received, TPID included, and passed to the kernel. */
static void test_8021ad_tag(void)
{
	struct pkt_spec s = {V4(C4, "198.18.100.1", TCP, 40011, 80), .vlan = 200,
			     .payload_len = 16};
	__u64 pass = counter(XLB_STAT_FIB_PASS);
	struct pkt in, out, want;
	struct xlb_flow flow;
	int action = -1;

	CU_ASSERT_FATAL(pkt_build(&in, &s) == 0);
	want = in;
	flow_of(&s, &flow);
	CU_ASSERT_FATAL(pkt_encap(&want, 4, "198.18.0.2", "198.18.0.11", xlb_hash_flow(&flow),
				  pkt_client_mac, pkt_lb_mac) == 0);
	in.data[12] = want.data[12] = 0x88;
	in.data[13] = want.data[13] = 0xa8;
	CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
	CU_ASSERT_EQUAL(action, XDP_PASS);
	CU_ASSERT_EQUAL(counter(XLB_STAT_FIB_PASS), pass + 1);
	CU_ASSERT_FALSE(pkt_diff("802.1ad tag", out.data, out.len, want.data, want.len));
}

/* Source hashing: one client, many ports, one backend. */
static void test_source_hash(void)
{
	char first[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	int distinct_clients = 0;

	CU_ASSERT_FATAL(setup_mv(XLB_VIP_F_SRC_HASH | XLB_VIP_F_NO_CONNTRACK) == 0);
	for (int c = 0; c < 16; c++) {
		char src[32];
		struct pkt_spec s = mv_flow(0, 0x02);

		snprintf(src, sizeof(src), "198.18.1.%d", 10 + c);
		s.src = src;
		send_flow(&s, first, sizeof(first));
		CU_ASSERT(first[0] != 0);
		for (int i = 1; i < 20; i++) {
			s.sport = (__u16)(30000 + i * 7);
			send_flow(&s, b, sizeof(b));
			CU_ASSERT_STRING_EQUAL(b, first);
		}
		distinct_clients += strcmp(first, "198.18.0.21") != 0;
	}
	/* Different clients do spread (not all on one backend). */
	CU_ASSERT(distinct_clients > 0 && distinct_clients < 16);
}

/* A UDP flow idle past the timeout is re-hashed; an active one is kept. */
static void test_udp_timeout(void)
{
	const char *v = "198.18.100.21:53/udp";
	struct pkt_spec s = {V4(C4, "198.18.100.21", UDP, 5353, 53), .payload_len = 4};
	char first[INET6_ADDRSTRLEN], after[INET6_ADDRSTRLEN];
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_conns"));
	__u64 stale = counter(XLB_STAT_CONN_STALE);
	struct xlb_flow flow;
	struct xlb_conn conn;

	CU_ASSERT_FATAL(vip(v, 0) == 0);
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.21") == 0);
	send_flow(&s, first, sizeof(first));
	CU_ASSERT_STRING_EQUAL(first, "198.18.0.21");
	/* Move the ring: .22 takes over, the flow is still pinned to .21. */
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.22") == 0);
	CU_ASSERT_FATAL(backend_weight(v, "198.18.0.21", 0) == 0);
	send_flow(&s, after, sizeof(after));
	CU_ASSERT_STRING_EQUAL(after, "198.18.0.21");
	/* Age the entry beyond the 30 s timeout. */
	flow_of(&s, &flow);
	CU_ASSERT_FATAL(bpf_map_lookup_elem(fd, &flow, &conn) == 0);
	conn.last_seen_ns -= 31ULL * 1000000000ULL;
	CU_ASSERT_FATAL(bpf_map_update_elem(fd, &flow, &conn, BPF_EXIST) == 0);
	send_flow(&s, after, sizeof(after));
	CU_ASSERT_STRING_EQUAL(after, "198.18.0.22");
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 1);
}

/* Ages a flow's connection entry by ns; returns its last_seen_ns after. */
static __u64 age_conn(const struct pkt_spec *s, __u64 ns)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_conns"));
	struct xlb_flow flow;
	struct xlb_conn conn;

	flow_of(s, &flow);
	if (bpf_map_lookup_elem(fd, &flow, &conn))
		return 0;
	conn.last_seen_ns -= ns;
	if (bpf_map_update_elem(fd, &flow, &conn, BPF_EXIST))
		return 0;
	return conn.last_seen_ns;
}

static __u64 conn_last_seen(const struct pkt_spec *s)
{
	return age_conn(s, 0);
}

/* An active UDP flow keeps its backend under a short timeout: the idle
 * time is refreshed every min(1 s, timeout / 2), so a flow whose packets
 * come closer than the timeout never expires. With --udp-timeout 1 and a
 * refresh only after 1 s idle, it re-hashed every second. */
static void test_udp_timeout_refresh(void)
{
	const char *v = "198.18.100.23:53/udp";
	struct pkt_spec s = {V4(C4, "198.18.100.23", UDP, 5354, 53), .payload_len = 4};
	const __u64 ms = 1000000ULL;
	struct xlb_config cfg, one;
	char got[INET6_ADDRSTRLEN];
	__u64 stale, aged;

	CU_ASSERT_FATAL(xlb_dp_config_get(dp, &cfg) == 0);
	one = cfg;
	one.udp_timeout_s = 1;
	CU_ASSERT_FATAL(xlb_dp_config_set(dp, &one) == 0);
	CU_ASSERT_FATAL(vip(v, 0) == 0);
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.21") == 0);
	send_flow(&s, got, sizeof(got));
	send_flow(&s, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "198.18.0.21");
	/* The ring moves to .22: a re-hash would show. */
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.22") == 0);
	CU_ASSERT_FATAL(backend_weight(v, "198.18.0.21", 0) == 0);
	stale = counter(XLB_STAT_CONN_STALE);
	for (int i = 0; i < 4; i++) {
		/* 600 ms between packets, under the 1 s timeout. */
		aged = age_conn(&s, 600 * ms);
		CU_ASSERT_FATAL(aged != 0);
		send_flow(&s, got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, "198.18.0.21");
		CU_ASSERT(conn_last_seen(&s) >= aged + 500 * ms);
	}
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale);
	/* Idle past the timeout: re-hashed. */
	age_conn(&s, 1100 * ms);
	send_flow(&s, got, sizeof(got));
	CU_ASSERT_STRING_EQUAL(got, "198.18.0.22");
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 1);

	/* With the default 30 s, the entry is written at most once a second:
	 * 600 ms idle leaves it alone. */
	CU_ASSERT_FATAL(xlb_dp_config_set(dp, &cfg) == 0);
	aged = age_conn(&s, 600 * ms);
	send_flow(&s, got, sizeof(got));
	CU_ASSERT_EQUAL(conn_last_seen(&s), aged);
	aged = age_conn(&s, 600 * ms);
	send_flow(&s, got, sizeof(got));
	CU_ASSERT(conn_last_seen(&s) >= aged + 1000 * ms);
	CU_ASSERT_STRING_EQUAL(got, "198.18.0.22");
}

/* Per-VIP and per-backend counters count packets and frame bytes. */
static void test_vip_backend_counters(void)
{
	const char *v = "198.18.100.22:443/tcp";
	struct pkt_spec s = {V4(C4, "198.18.100.22", TCP, 6000, 443), .payload_len = 46};
	struct xlb_lb_backend *b;
	struct xlb_lb_vip *lv;
	struct xlb_vip_key key;
	union xlb_addr a;
	struct xlb_counter c;
	char out[INET6_ADDRSTRLEN];
	__u8 fam;

	CU_ASSERT_FATAL(vip(v, 0) == 0 && backend_add(v, "198.18.0.11") == 0);
	for (int i = 0; i < 3; i++)
		send_flow(&s, out, sizeof(out));
	xlb_vip_key_parse(v, &key, err, sizeof(err));
	xlb_addr_parse("198.18.0.11", &a, &fam);
	lv = xlb_lb_vip_find(lb, &key);
	CU_ASSERT_FATAL(lv != NULL);
	b = xlb_lb_backend_find(lb, lv, &a, fam);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT(xlb_dp_counter_vip(dp, lv->id, &c) == 0 && c.packets == 3 && c.bytes == 3 * 100);
	CU_ASSERT(xlb_dp_counter_backend(dp, b->id, &c) == 0 && c.packets == 3 &&
		  c.bytes == 3 * 100);
}

/* The outer source varies per flow in the configured bits only. */
static void test_outer_source_entropy(void)
{
	struct xlb_config cfg, vary;
	struct pkt in, out;
	int action, distinct = 0;
	__u8 first = 0;

	CU_ASSERT_FATAL(xlb_dp_config_get(dp, &cfg) == 0);
	vary = cfg;
	vary.src4_vary = htonl(0xff);
	CU_ASSERT_FATAL(xlb_dp_config_set(dp, &vary) == 0);
	for (int i = 0; i < 16; i++) {
		struct pkt_spec s = {V4(C4, "198.18.100.1", TCP, (__u16)(43000 + i), 80)};
		struct xlb_flow flow;
		size_t l3;
		__u8 want;

		pkt_build(&in, &s);
		CU_ASSERT_FATAL(run(&in, &out, &action) == 0 && action == XDP_TX);
		l3 = pkt_l3_off(&out);
		flow_of(&s, &flow);
		/* Network order: the varied byte is the last one of the address. */
		want = (__u8)(xlb_hash_flow(&flow) >> 24);
		CU_ASSERT(out.data[l3 + 12] == 198 && out.data[l3 + 13] == 18 &&
			  out.data[l3 + 14] == 0);
		CU_ASSERT_EQUAL(out.data[l3 + 15], want);
		CU_ASSERT_EQUAL(pkt_csum(out.data + l3, 20, 0), 0);
		if (i == 0)
			first = out.data[l3 + 15];
		distinct += out.data[l3 + 15] != first;
	}
	CU_ASSERT(distinct > 0);
	CU_ASSERT_FATAL(xlb_dp_config_set(dp, &cfg) == 0);
}

/* ---- connection-table pressure ---------------------------------------- */

static int map_fd_named(const char *name)
{
	return bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), name));
}

/* 1 if the flow has an entry in the table (xlb_conns or xlb_conns_new),
 * with its backend's address in addr. */
static int conn_entry(const char *table, const struct pkt_spec *s, char *addr, size_t len)
{
	struct xlb_backend be;
	struct xlb_flow flow;
	struct xlb_conn conn;

	flow_of(s, &flow);
	if (bpf_map_lookup_elem(map_fd_named(table), &flow, &conn))
		return 0;
	if (addr && !xlb_dp_backend_get(dp, conn.backend_id, &be))
		xlb_addr_format(&be.addr, be.family, addr, len);
	return 1;
}

/* Sets this CPU's (every CPU's) budget window: used entries, start. */
static int budget_window(__u64 window_ns, __u32 used)
{
	struct xlb_budget *b = calloc(dp->nr_cpus, sizeof(*b));
	__u32 zero = 0;
	int ret;

	if (!b)
		return -1;
	for (int i = 0; i < dp->nr_cpus; i++)
		b[i] = (struct xlb_budget){.window_ns = window_ns, .used = used};
	ret = bpf_map_update_elem(map_fd_named("xlb_budget"), &zero, b, BPF_ANY);
	free(b);
	return ret;
}

static int set_budget(__u32 budget)
{
	struct xlb_config cfg;

	if (xlb_dp_config_get(dp, &cfg))
		return -1;
	cfg.conn_budget = budget;
	return xlb_dp_config_set(dp, &cfg);
}

/* A SYN of a new flow to 198.18.100.1 (one backend, .11): sent as a fixture
 * (exact bytes out); returns whether it was recorded. */
static int new_syn(__u16 sport, __u8 flags)
{
	const struct fixture f = {
	    "new flow under or over the budget: IPIP to the ring's backend",
	    {V4(C4, "198.18.100.1", TCP, sport, 80), .tcp_flags = flags},
	    XDP_TX, OUT_ENCAP, 4, "198.18.0.2", "198.18.0.11", pkt_lb_mac, be11_mac, XLB_STAT_TX};

	check_fixture(&f, 0);
	return conn_entry("xlb_conns_new", &f.in, NULL, 0);
}

/* Two new entries a second: the third flow is forwarded all the same, to
 * the ring's backend with the exact bytes, but not recorded and counted;
 * a second later (the window rewritten) flows are recorded again. */
static void test_budget(void)
{
	__u64 ins = counter(XLB_STAT_CONN_INSERT), skip = counter(XLB_STAT_CONN_SKIP);

	CU_ASSERT_FATAL(set_budget(2) == 0 && budget_window(0, 0) == 0);
	CU_ASSERT(new_syn(41001, 0x02));
	CU_ASSERT(new_syn(41002, 0x02));
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins + 2);
	CU_ASSERT_FALSE(new_syn(41003, 0x02));
	CU_ASSERT_FALSE(new_syn(41004, 0x10)); /* an unknown ACK is no exception */
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_SKIP), skip + 2);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins + 2);
	/* The window began more than a second ago: a fresh budget. */
	CU_ASSERT_FATAL(budget_window(0, 2) == 0);
	CU_ASSERT(new_syn(41005, 0x02));
	CU_ASSERT(new_syn(41006, 0x02));
	CU_ASSERT_FALSE(new_syn(41007, 0x02));
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins + 4);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_SKIP), skip + 3);
	/* 0: no limit. */
	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT(new_syn(41008, 0x02));
	CU_ASSERT(new_syn(41009, 0x10));
}

/* A RST of an unknown flow is forwarded by the ring and never recorded,
 * budget or not; one of a recorded flow does not confirm it. */
static void test_rst_never_inserts(void)
{
	__u64 ins = counter(XLB_STAT_CONN_INSERT), skip = counter(XLB_STAT_CONN_SKIP);
	struct pkt_spec s = {V4(C4, "198.18.100.1", TCP, 41103, 80), .tcp_flags = 0x02};

	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT_FALSE(new_syn(41101, 0x04));
	CU_ASSERT_FALSE(new_syn(41102, 0x14));
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_SKIP), skip);
	CU_ASSERT(new_syn(41103, 0x02));
	CU_ASSERT(new_syn(41103, 0x14));
	CU_ASSERT_FALSE(conn_entry("xlb_conns", &s, NULL, 0));
}

/* Ages a flow's entry in the new-flow table by ns. */
static int age_new_conn(const struct pkt_spec *s, __u64 ns)
{
	int fd = map_fd_named("xlb_conns_new");
	struct xlb_flow flow;
	struct xlb_conn conn;

	flow_of(s, &flow);
	if (bpf_map_lookup_elem(fd, &flow, &conn))
		return -1;
	conn.last_seen_ns -= ns;
	return bpf_map_update_elem(fd, &flow, &conn, BPF_EXIST);
}

/* A SYN-only entry keeps its backend for syn_timeout (retransmits), then
 * is stale and re-hashed; the handshake's ACK makes the flow established. */
static void test_syn_only_expiry(void)
{
	const char *v = "198.18.100.25:80/tcp";
	struct pkt_spec syn = {V4(C4, "198.18.100.25", TCP, 41201, 80), .tcp_flags = 0x02};
	struct pkt_spec ack = syn;
	char b[INET6_ADDRSTRLEN], e[INET6_ADDRSTRLEN];
	__u64 stale = counter(XLB_STAT_CONN_STALE), prom = counter(XLB_STAT_CONN_PROMOTE);

	ack.tcp_flags = 0x10;
	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT_FATAL(vip(v, 0) == 0 && backend_add(v, "198.18.0.21") == 0);
	send_flow(&syn, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "198.18.0.21");
	/* The ring moves to .22; the retransmitted SYN stays with .21. */
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.22") == 0);
	CU_ASSERT_FATAL(backend_weight(v, "198.18.0.21", 0) == 0);
	send_flow(&syn, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "198.18.0.21");
	CU_ASSERT(conn_entry("xlb_conns_new", &syn, NULL, 0));
	CU_ASSERT_FALSE(conn_entry("xlb_conns", &syn, NULL, 0));
	/* Older than the SYN timeout: stale, re-hashed to .22 in place. */
	CU_ASSERT_FATAL(age_new_conn(&syn, (XLB_SYN_TIMEOUT_DEFAULT_S + 1) * 1000000000ULL) == 0);
	send_flow(&syn, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "198.18.0.22");
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_STALE), stale + 1);
	/* The ACK confirms it: established with .22, gone from the new table. */
	send_flow(&ack, b, sizeof(b));
	CU_ASSERT_STRING_EQUAL(b, "198.18.0.22");
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_PROMOTE), prom + 1);
	CU_ASSERT(conn_entry("xlb_conns", &ack, e, sizeof(e)) && !strcmp(e, "198.18.0.22"));
	CU_ASSERT_FALSE(conn_entry("xlb_conns_new", &ack, NULL, 0));
}

/* Flow i of the established flows (from 198.18.64.0/18) or of the flood
 * (from 198.19.0.0/18) to the VIP 198.18.100.26; src holds the address. */
static struct pkt_spec pressure_flow(int established, int i, __u8 flags, char *src)
{
	struct pkt_spec f = {V4(src, "198.18.100.26", TCP, (__u16)(1024 + (i >> 14)), 80),
			     .tcp_flags = flags};

	snprintf(src, INET_ADDRSTRLEN, "198.%d.%d.%d", established ? 18 : 19,
		 (established ? 64 : 0) + ((i >> 8) & 0x3f), i & 0xff);
	return f;
}

static int send_quiet(const struct pkt_spec *f)
{
	struct pkt in, out;
	int action;

	if (pkt_build(&in, f) || run(&in, &out, &action) || action != XDP_TX)
		return -1;
	return 0;
}

/* Issue 17 item 15: random-source ACKs and SYNs, a CPU's share of the
 * connection table and more, evicted idle established flows (the kernel's
 * LRU ages out an entry not looked up lately), which a later ring change
 * then broke. Now they fill the new-flow table only: every established
 * flow keeps its entry and its backend across a backend add. Pinned to one
 * CPU so that everything lands on one CPU's LRU lists. */
static void test_flood_keeps_established(void)
{
	const char *v = "198.18.100.26:80/tcp";
	int share = (int)(dp->max_conns / (__u32)dp->nr_cpus), est = share * 3 / 4;
	int kept = 0, moved = 0, sent = 0;
	char first[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], src[INET_ADDRSTRLEN];
	struct pkt_spec f;
	cpu_set_t old, one;

	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT_FATAL(sched_getaffinity(0, sizeof(old), &old) == 0);
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	CU_ASSERT_FATAL(sched_setaffinity(0, sizeof(one), &one) == 0);
	CU_ASSERT_FATAL(vip(v, 0) == 0 && backend_add(v, "198.18.0.21") == 0 &&
			backend_add(v, "198.18.0.22") == 0);
	for (int i = 0; i < est; i++) {
		f = pressure_flow(1, i, 0x02, src);
		CU_ASSERT_FATAL(send_quiet(&f) == 0);
		f.tcp_flags = 0x10;
		CU_ASSERT_FATAL(send_quiet(&f) == 0);
	}
	for (int i = 0; i < 2 * share; i++) {
		f = pressure_flow(0, i, (i & 1) ? 0x10 : 0x02, src);
		CU_ASSERT_FATAL(send_quiet(&f) == 0);
	}
	CU_ASSERT_FATAL(sched_setaffinity(0, sizeof(old), &old) == 0);
	for (int i = 0; i < est; i++) {
		f = pressure_flow(1, i, 0x10, src);
		kept += conn_entry("xlb_conns", &f, NULL, 0);
	}
	CU_ASSERT_EQUAL(kept, est);
	/* The ring changes: a sample of the established flows stays put. */
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.23") == 0);
	for (int i = 0; i < est; i += 64) {
		f = pressure_flow(1, i, 0x10, src);
		if (!conn_entry("xlb_conns", &f, first, sizeof(first)))
			continue;
		send_flow(&f, b, sizeof(b));
		moved += strcmp(b, first) != 0;
		sent++;
	}
	CU_ASSERT(sent > 0);
	CU_ASSERT_EQUAL(moved, 0);
	if (kept != est || moved)
		fprintf(stderr, "(%d of %d established kept, %d of %d sampled moved) ", kept, est,
			moved, sent);
}

/* ---- schedulers that take turns (rr, wrr) ------------------------------ */

/* Runs the rest of the test on the CPU it is on: the cursors are per CPU. */
static int pin_cpu(cpu_set_t *old)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(0, sizeof(*old), old))
		return -1;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

static int vip_sched(const char *text, __u32 flags)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_set_flags(lb, &key, flags, err, sizeof(err));
}

/* A SYN of new flow i from client C4 to the VIP address, port 80. */
static struct pkt_spec turn_flow(const char *vaddr, int i, __u8 flags)
{
	struct pkt_spec s = {V4(C4, vaddr, TCP, (__u16)(20000 + i), 80), .tcp_flags = flags};

	return s;
}

/* rr: new flows go to the 4 backends in turn, whatever their weights;
 * weight 0 gets none; a RST (never recorded) does not take a turn; every
 * flow keeps its backend afterwards. */
static void test_rr_in_turn(void)
{
	const char *v = "198.18.103.1:80/tcp";
	char got[12][INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	cpu_set_t old;
	struct pkt_spec s;

	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT_FATAL(vip(v, XLB_VIP_F_RR) == 0);
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.21") == 0 && backend_add(v, "198.18.0.22") == 0 &&
			backend_add(v, "198.18.0.23") == 0 && backend_add(v, "198.18.0.24") == 0 &&
			backend_add(v, "198.18.0.25") == 0);
	CU_ASSERT_FATAL(backend_weight(v, "198.18.0.22", 9) == 0);
	CU_ASSERT_FATAL(backend_weight(v, "198.18.0.25", 0) == 0);
	CU_ASSERT_FATAL(pin_cpu(&old) == 0);
	for (int i = 0; i < 12; i++) {
		s = turn_flow("198.18.103.1", i, 0x02);
		send_flow(&s, got[i], sizeof(got[i]));
		if (i == 5) {
			/* A RST of a flow no table knows: hashed, no turn taken. */
			s = turn_flow("198.18.103.1", 100, 0x04);
			send_flow(&s, b, sizeof(b));
			CU_ASSERT(b[0] != 0);
		}
	}
	CU_ASSERT_FATAL(sched_setaffinity(0, sizeof(old), &old) == 0);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			CU_ASSERT(strcmp(got[i], got[j]) != 0);
	for (int i = 0; i < 12; i++) {
		CU_ASSERT(got[i][0] && strcmp(got[i], "198.18.0.25") != 0);
		if (i >= 4)
			CU_ASSERT_STRING_EQUAL(got[i], got[i - 4]);
	}
	/* Established: each flow's ACK finds its backend, on any CPU. */
	for (int i = 0; i < 12; i++) {
		s = turn_flow("198.18.103.1", i, 0x10);
		send_flow(&s, b, sizeof(b));
		CU_ASSERT_STRING_EQUAL(b, got[i]);
	}
}

/* wrr 1:2:3:4: any 20 new flows in a row are 2, 4, 6, 8 of them (two
 * cycles), interleaved: the cycle is d c b d a c d b c d, so the same
 * backend twice in a row only where a cycle ends and the next begins
 * (bursts, d d d d c c c b b a, would repeat 6 times a cycle). */
static void test_wrr_in_turn(void)
{
	const char *v = "198.18.103.2:80/tcp";
	static const char *const addr[] = {"198.18.0.21", "198.18.0.22", "198.18.0.23",
					   "198.18.0.24"};
	char got[20][INET6_ADDRSTRLEN];
	int count[4] = {0}, repeats = 0;
	cpu_set_t old;
	struct pkt_spec s;

	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT_FATAL(vip(v, XLB_VIP_F_WRR) == 0);
	for (int k = 0; k < 4; k++) {
		CU_ASSERT_FATAL(backend_add(v, addr[k]) == 0);
		CU_ASSERT_FATAL(backend_weight(v, addr[k], (__u32)k + 1) == 0);
	}
	CU_ASSERT_FATAL(pin_cpu(&old) == 0);
	for (int i = 0; i < 20; i++) {
		s = turn_flow("198.18.103.2", i, 0x02);
		send_flow(&s, got[i], sizeof(got[i]));
	}
	CU_ASSERT_FATAL(sched_setaffinity(0, sizeof(old), &old) == 0);
	for (int i = 0; i < 20; i++) {
		for (int k = 0; k < 4; k++)
			count[k] += !strcmp(got[i], addr[k]);
		repeats += i && !strcmp(got[i], got[i - 1]);
	}
	for (int k = 0; k < 4; k++)
		CU_ASSERT_EQUAL(count[k], 2 * (k + 1));
	CU_ASSERT(repeats <= 2);
}

/* Switching a VIP between maglev, rr and wrr moves no established flow. */
/* ---- second chance ------------------------------------------------------ */

/* Runs one packet of spec and compares with its encapsulation to dst, with
 * the hint when hint is not NULL. */
static void expect_encap(const char *desc, const struct pkt_spec *spec, int family,
			 const char *src, const char *dst, const __u8 *dmac, const char *hint)
{
	struct pkt in, out, want;
	struct xlb_flow flow;
	int action = -1;

	CU_ASSERT_FATAL(pkt_build(&in, spec) == 0);
	want = in;
	flow_of(spec, &flow);
	CU_ASSERT_FATAL(pkt_encap(&want, family, src, dst, xlb_hash_flow(&flow), pkt_lb_mac,
				  dmac) == 0);
	if (hint)
		CU_ASSERT_FATAL(pkt_add_hint(&want, hint) == 0);
	CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
	CU_ASSERT_EQUAL(action, XDP_TX);
	CU_ASSERT_FALSE(pkt_diff(desc, out.data, out.len, want.data, want.len));
}

/* A port of client C whose flow the VIP's current ring gives to want. */
static __u16 port_to(const char *v, struct pkt_spec s, const char *want, __u16 from)
{
	char got[INET6_ADDRSTRLEN];

	for (s.sport = from; s.sport < from + 2000; s.sport++) {
		lookup(v, &s, got, sizeof(got));
		if (!strcmp(got, want))
			return s.sport;
	}
	return 0;
}

/* One family of test_second_chance: VIP v with backend a, then b added. */
static void second_chance_family(const char *v, struct pkt_spec s, int family, const char *src,
				 const char *a, const char *b)
{
	__u64 hints = counter(XLB_STAT_SECOND_CHANCE), inserts;
	__u16 moved, stays;

	if (vip(v, 0) || backend_add(v, a)) {
		fprintf(stderr, "\n%s: %s\n", v, err);
		CU_FAIL_FATAL("VIP setup");
	}
	/* One ring only, none before it: no hint. */
	s.sport = 42000;
	expect_encap("first ring: no hint", &s, family, src, a, be11_mac, NULL);
	CU_ASSERT_EQUAL(counter(XLB_STAT_SECOND_CHANCE), hints);

	CU_ASSERT_FATAL(backend_add(v, b) == 0);
	moved = port_to(v, s, b, 43000);
	stays = port_to(v, s, a, 43000);
	CU_ASSERT_FATAL(moved && stays);
	inserts = counter(XLB_STAT_CONN_INSERT);
	/* A mid-connection packet of a flow the new ring moved: to b, hinted
	 * with a; not recorded, so its next packet is hinted again. */
	s.sport = moved;
	expect_encap("ACK, ring changed: to the new choice, hinted with the old", &s, family, src,
		     b, be12_mac, a);
	expect_encap("its next packet: hinted again (not recorded)", &s, family, src, b, be12_mac,
		     a);
	CU_ASSERT_EQUAL(counter(XLB_STAT_SECOND_CHANCE), hints + 2);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), inserts);
	/* A RST: never hinted. */
	s.tcp_flags = 0x14;
	expect_encap("RST: no hint", &s, family, src, b, be12_mac, NULL);
	/* A SYN starts a flow on the current ring: no hint, recorded; from
	 * then on its packets hit the table and are never hinted. */
	s.tcp_flags = 0x02;
	expect_encap("SYN: no hint", &s, family, src, b, be12_mac, NULL);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), inserts + 1);
	s.tcp_flags = 0;
	expect_encap("ACK after the SYN: a hit, no hint", &s, family, src, b, be12_mac, NULL);
	/* The flow recorded on the first ring keeps its backend: a hit. */
	s.sport = 42000;
	expect_encap("flow recorded before the change: kept, no hint", &s, family, src, a,
		     be11_mac, NULL);
	/* Same choice on both rings: no hint, recorded as before. */
	s.sport = stays;
	expect_encap("ring choice unchanged: no hint", &s, family, src, a, be11_mac, NULL);
	CU_ASSERT_EQUAL(counter(XLB_STAT_SECOND_CHANCE), hints + 2);
}

/* The hint counts in the MTU check (1500 on the test link): a packet that
 * fits once encapsulated but not with its hint is answered with too big. */
static void second_chance_mtu(const char *v, struct pkt_spec s)
{
	__u64 too_big = counter(XLB_STAT_ICMP_TOO_BIG);
	struct pkt in, out;
	int action = -1;

	s.sport = port_to(v, s, "198.18.0.12", 46000);
	CU_ASSERT_FATAL(s.sport);
	s.payload_len = 1500 - 60 - 8;
	expect_encap("hinted, exactly the MTU with the hint: forwarded", &s, 4, "198.18.0.2",
		     "198.18.0.12", be12_mac, "198.18.0.11");
	s.payload_len = 1500 - 60;
	CU_ASSERT_FATAL(pkt_build(&in, &s) == 0);
	CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
	CU_ASSERT_EQUAL(action, XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_ICMP_TOO_BIG), too_big + 1);
}

/* The previous ring of each VIP is kept for the window, then dropped (as
 * xlbd's tick does); dropped, no hint. */
static void second_chance_expiry(const char *v, struct pkt_spec s, int family, const char *src,
				 const char *a, const char *b)
{
	const long long window_ms = XLB_SECOND_CHANCE_WINDOW_DEFAULT_S * 1000LL;
	struct xlb_vip_key key;
	struct xlb_lb_vip *lv;
	struct timespec ts;
	long long now;

	CU_ASSERT_FATAL(xlb_vip_key_parse(v, &key, err, sizeof(err)) == 0);
	lv = xlb_lb_vip_find(lb, &key);
	CU_ASSERT_FATAL(lv != NULL);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
	s.sport = port_to(v, s, b, 44000);
	CU_ASSERT_FATAL(s.sport);
	CU_ASSERT_EQUAL(xlb_dp_ring_prev_expire(dp, now), 0);
	/* Kept for the whole window from its change, to the ms. */
	CU_ASSERT(xlb_dp_ring_prev_left_ms(dp, lv->id, now) > window_ms - 60000);
	CU_ASSERT(xlb_dp_ring_prev_left_ms(dp, lv->id, now) <= window_ms);
	expect_encap("inside the window: hinted", &s, family, src, b, be12_mac, a);
	CU_ASSERT_EQUAL(xlb_dp_ring_prev_expire(dp, now + window_ms + 1000), 0);
	CU_ASSERT_EQUAL(xlb_dp_ring_prev_left_ms(dp, lv->id, now + window_ms + 1000), 0);
	s.sport++;
	s.sport = port_to(v, s, b, s.sport);
	expect_encap("after the window: no hint", &s, family, src, b, be12_mac, NULL);
}

static void test_second_chance(void)
{
	struct pkt_spec s4 = {V4(C4, "198.18.105.1", TCP, 0, 80), .payload_len = 12};
	struct pkt_spec s6 = {V6(C6, "2001:db8:105::1", TCP, 0, 80), .payload_len = 12};

	second_chance_family("198.18.105.1:80/tcp", s4, 4, "198.18.0.2", "198.18.0.11",
			     "198.18.0.12");
	second_chance_family("[2001:db8:105::1]:80/tcp", s6, 6, "2001:db8::2", "2001:db8::11",
			     "2001:db8::12");
	second_chance_mtu("198.18.105.1:80/tcp", s4);
	second_chance_expiry("198.18.105.1:80/tcp", s4, 4, "198.18.0.2", "198.18.0.11",
			     "198.18.0.12");
}

/* A UDP VIP whose ring changed: never hinted. */
static void test_second_chance_not_udp(void)
{
	struct pkt_spec s = {V4(C4, "198.18.105.2", UDP, 0, 53), .payload_len = 8};
	__u64 hints = counter(XLB_STAT_SECOND_CHANCE);

	CU_ASSERT_FATAL(vip("198.18.105.2:53/udp", 0) == 0 &&
			backend_add("198.18.105.2:53/udp", "198.18.0.11") == 0 &&
			backend_add("198.18.105.2:53/udp", "198.18.0.12") == 0);
	s.sport = port_to("198.18.105.2:53/udp", s, "198.18.0.12", 45000);
	CU_ASSERT_FATAL(s.sport);
	expect_encap("UDP, ring changed: no hint", &s, 4, "198.18.0.2", "198.18.0.12", be12_mac,
		     NULL);
	CU_ASSERT_EQUAL(counter(XLB_STAT_SECOND_CHANCE), hints);
}

static void test_sched_switch_keeps_flows(void)
{
	const char *v = "198.18.105.3:80/tcp";
	static const __u32 scheds[] = {XLB_VIP_F_RR, XLB_VIP_F_WRR, XLB_VIP_F_SRC_HASH, 0};
	char first[16][INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct pkt_spec s;

	CU_ASSERT_FATAL(set_budget(0) == 0);
	CU_ASSERT_FATAL(vip(v, 0) == 0);
	CU_ASSERT_FATAL(backend_add(v, "198.18.0.21") == 0 && backend_add(v, "198.18.0.22") == 0 &&
			backend_add(v, "198.18.0.23") == 0);
	CU_ASSERT_FATAL(backend_weight(v, "198.18.0.23", 3) == 0);
	for (int i = 0; i < 16; i++) {
		s = turn_flow("198.18.105.3", i, 0x02);
		send_flow(&s, first[i], sizeof(first[i]));
		s.tcp_flags = 0x10;
		send_flow(&s, b, sizeof(b));
		CU_ASSERT_STRING_EQUAL(b, first[i]);
	}
	for (size_t k = 0; k < sizeof(scheds) / sizeof(scheds[0]); k++) {
		CU_ASSERT_FATAL(vip_sched(v, scheds[k]) == 0);
		for (int i = 0; i < 16; i++) {
			s = turn_flow("198.18.105.3", i, 0x10);
			send_flow(&s, b, sizeof(b));
			CU_ASSERT_STRING_EQUAL(b, first[i]);
		}
	}
}

XLB_SUITE(lb_bpf, suite_init, suite_cleanup,
	  {"fixture table: encapsulation, next hop, pass and drop", test_fixtures},
	  {"bytes after the IP packet are not forwarded", test_trailer_fixtures},
	  {"bad headers are passed untouched and counted", test_bad_headers},
	  {"VIP addresses: counted per VIP, recounted on load, unbalanced traffic dropped",
	   test_vip_addresses},
	  {"every truncation of valid frames is passed and counted", test_truncation_sweep},
	  {"same 5-tuple, same backend; agrees with lookup", test_same_flow_same_backend},
	  {"conntrack keeps established flows across a backend add", test_conntrack_keeps_flows},
	  {"stateless VIP follows the new ring", test_stateless_follows_ring},
	  {"drain keeps flows, remove re-hashes only its own", test_remove_and_drain},
	  {"health: down re-hashes its own, all down fails open or drops", test_health_verdicts},
	  {"batch: one ring rebuild at the commit, same ring", test_batch_one_rebuild},
	  {"slow start: ramped ring shares, tick, again after down, own 0", test_slow_start},
	  {"next hop cached per backend: MTU, tagged frames, id reuse", test_nexthop_cache},
	  {"IPv4 fragments follow their first fragment's backend", test_fragments},
	  {"IPv6 fragments follow their first fragment's backend", test_fragments_v6},
	  {"forwarding off on the interface: dropped under its own cause, not cached",
	   test_forwarding_disabled},
	  {"802.1ad tag: encapsulated with it, passed", test_8021ad_tag},
	  {"source-hash VIP keeps a client on one backend", test_source_hash},
	  {"UDP flow re-hashed after the idle timeout", test_udp_timeout},
	  {"UDP flow active under a 1 s timeout keeps its backend", test_udp_timeout_refresh},
	  {"per-VIP and per-backend counters", test_vip_backend_counters},
	  {"outer source varies per flow in the configured bits", test_outer_source_entropy},
	  {"budget: insert under it, forward unrecorded above, refill a second later", test_budget},
	  {"RST never inserts", test_rst_never_inserts},
	  {"SYN-only entry: kept for retransmits, stale after the SYN timeout", test_syn_only_expiry},
	  {"a random SYN/ACK flood evicts no established flow", test_flood_keeps_established},
	  {"rr: new flows in turn, weight 0 none, RST takes no turn, flows kept", test_rr_in_turn},
	  {"wrr 1:2:3:4: proportional over two cycles, interleaved", test_wrr_in_turn},
	  {"switching maglev/rr/wrr/sh moves no established flow", test_sched_switch_keeps_flows},
	  {"second chance: a moved flow's packets hinted with the old ring's choice, exact bytes",
	   test_second_chance},
	  {"second chance: never for UDP", test_second_chance_not_udp})
