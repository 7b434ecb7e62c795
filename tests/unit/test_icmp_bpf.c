// SPDX-License-Identifier: GPL-2.0
/* test_icmp_bpf.c: the ICMP xlb_lb handles itself (bpf/icmp.bpf.h), run
 * through BPF_PROG_TEST_RUN with maps filled by the daemon's library: echo
 * replies, errors about a VIP flow delivered to the flow's backend, and the
 * fragmentation needed / packet too big xlb sends for packets that do not
 * fit once encapsulated, with their rate limit. Expected frames come from
 * tests/lib/pkt.c, written from the RFCs. Own network namespace: LB_IF with
 * a 1500-byte MTU and permanent neighbours for the backends. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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
#include "xlb_hash.h"

#define LB_IF "xlbi0"

static const char *const setup[] = {
	"ip link set lo up",
	"ip link add " LB_IF " address 02:00:00:00:00:02 type veth peer name xlbi1",
	"ip link set " LB_IF " up && ip link set xlbi1 up",
	"sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
	"ip addr add 198.18.0.2/24 dev " LB_IF,
	"ip -6 addr add 2001:db8::2/64 dev " LB_IF " nodad",
	"for i in 11 12 13 14; do "
	"ip neigh add 198.18.0.$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent && "
	"ip neigh add 2001:db8::$i lladdr 02:00:00:00:00:$i dev " LB_IF " nud permanent "
	"|| exit 1; done",
	NULL,
};

#define C4 "198.18.1.2"
#define C6 "2001:db8:1::2"
#define VIP4 "198.18.100.1"  /* :80/tcp -> 198.18.0.11 */
#define VIP6 "2001:db8:100::1" /* :80/tcp -> 2001:db8::11 */
#define VIPU "198.18.100.3"  /* :53/udp -> 2001:db8::12 (4in6) */
#define VIPM "198.18.100.2"  /* :80/tcp -> 198.18.0.11..13, later 14 */
#define ROUTER4 "198.18.0.1"
#define ROUTER6 "2001:db8::1"

static const __u8 be11_mac[6] = {2, 0, 0, 0, 0, 0x11};
static const __u8 be12_mac[6] = {2, 0, 0, 0, 0, 0x12};

static struct xlb_dp *dp;
static struct xlb_lb *lb;
static int prog_fd;
static unsigned int lb_ifindex;
static char err[XLB_ERRLEN];

/* ---- helpers ---------------------------------------------------------- */

static int vip(const char *text)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_add(lb, &key, 0, err, sizeof(err));
}

static int backend_add(const char *v, const char *addr)
{
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(addr, &a, &fam))
		return -1;
	return xlb_lb_backend_add(lb, &key, &a, fam, 1, err, sizeof(err));
}

static int run(const struct pkt *in, struct pkt *out, int *action)
{
	struct xdp_md ctx = {.data_end = (__u32)in->len, .ingress_ifindex = lb_ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data, .data_size_in = (__u32)in->len,
		    .data_out = out->data, .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts))
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

static __u32 flow_hash(int family, const char *src, const char *dst, __u8 proto, __u16 sport,
		       __u16 dport)
{
	struct xlb_flow f = {0};
	int af = family == 6 ? AF_INET6 : AF_INET;

	f.family = family == 6 ? XLB_AF_INET6 : XLB_AF_INET;
	inet_pton(af, src, &f.src);
	inet_pton(af, dst, &f.dst);
	f.sport = htons(sport);
	f.dport = htons(dport);
	f.proto = proto;
	return xlb_hash_flow(&f);
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

/* Backend a new flow client:sport -> v would get, per xlb_lb_lookup. */
static void lookup(const char *v, const char *client, __u16 sport, char *buf, size_t len)
{
	struct xlb_lb_backend *be;
	struct xlb_vip_key key;
	union xlb_addr src;
	__u8 fam;

	buf[0] = 0;
	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(client, &src, &fam))
		return;
	if (xlb_lb_lookup(lb, &key, &src, fam, htons(sport), &be, err, sizeof(err)))
		return;
	xlb_addr_format(&be->addr, be->family, buf, len);
}

/* Runs in, checks the action, the exact output (want NULL: not checked)
 * and that counter moved by one. */
static void expect(const char *desc, const struct pkt *in, int action, const struct pkt *want,
		   enum xlb_stat reason)
{
	__u64 before = counter(reason);
	struct pkt out;
	int got = -1;

	CU_ASSERT_FATAL(run(in, &out, &got) == 0);
	if (got != action)
		fprintf(stderr, "\n%s: action %d, want %d\n", desc, got, action);
	CU_ASSERT_EQUAL(got, action);
	if (counter(reason) != before + 1)
		fprintf(stderr, "\n%s: counter %u did not move by one\n", desc, reason);
	CU_ASSERT_EQUAL(counter(reason), before + 1);
	if (want)
		CU_ASSERT_FALSE(pkt_diff(desc, out.data, out.len, want->data, want->len));
}

/* body: the pattern payload of pkt.c, n bytes. */
static void pattern(__u8 *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (__u8)(i * 5 + 3);
}

/* The IP packet of a frame built from s, cut to its first n bytes: what an
 * ICMP error quotes. */
static size_t quote_of(const struct pkt_spec *s, size_t n, __u8 *buf)
{
	struct pkt p;
	size_t l3;

	if (pkt_build(&p, s))
		return 0;
	l3 = pkt_l3_off(&p);
	if (n > p.len - l3)
		n = p.len - l3;
	memcpy(buf, p.data + l3, n);
	return n;
}

/* ---- suite setup ------------------------------------------------------ */

static int suite_init(void)
{
	struct xlb_dp_opts opts = {.max_vips = 16, .max_backends = 64, .max_conns = 4096};
	struct xlb_config cfg = {.udp_timeout_s = 30};

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
	if (xlb_dp_config_set(dp, &cfg))
		return -1;
	if (vip(VIP4 ":80/tcp") || backend_add(VIP4 ":80/tcp", "198.18.0.11") ||
	    vip("[" VIP6 "]:80/tcp") || backend_add("[" VIP6 "]:80/tcp", "2001:db8::11") ||
	    vip(VIPU ":53/udp") || backend_add(VIPU ":53/udp", "2001:db8::12") ||
	    vip(VIPM ":80/tcp") || backend_add(VIPM ":80/tcp", "198.18.0.11") ||
	    backend_add(VIPM ":80/tcp", "198.18.0.12") ||
	    backend_add(VIPM ":80/tcp", "198.18.0.13")) {
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

/* ---- echo ------------------------------------------------------------- */

/* An echo request to a VIP address comes back as its reply: addresses and
 * MACs swapped, TTL 64, type 0 / 129, identifier, sequence and data kept,
 * checksums right. To an address no VIP is on, it is the kernel's. */
static void test_echo(void)
{
	struct pkt_spec q4 = {.family = 4, .src = C4, .dst = VIP4, .ttl = 50, .tos = 0x10};
	struct pkt_spec r4 = {.family = 4, .src = VIP4, .dst = C4, .ttl = 64, .tos = 0x10};
	struct pkt_spec q6 = {.family = 6, .src = C6, .dst = VIP6, .ttl = 50};
	struct pkt_spec r6 = {.family = 6, .src = VIP6, .dst = C6, .ttl = 64};
	struct pkt_spec own = {.family = 4, .src = C4, .dst = "198.18.0.2"};
	struct pkt in, want;
	__u8 body[56];

	pattern(body, sizeof(body));
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &q4, 8, 0, 0x4d2 << 16 | 7, body, sizeof(body)) == 0);
	CU_ASSERT_FATAL(pkt_build_icmp(&want, &r4, 0, 0, 0x4d2 << 16 | 7, body, sizeof(body)) ==
			0);
	pkt_swap_macs(&want);
	expect("IPv4 echo request to a VIP: answered", &in, XDP_TX, &want,
	       XLB_STAT_ICMP_ECHO_REPLY);

	CU_ASSERT_FATAL(pkt_build_icmp(&in, &q6, 128, 0, 0x4d2 << 16 | 9, body, 31) == 0);
	CU_ASSERT_FATAL(pkt_build_icmp(&want, &r6, 129, 0, 0x4d2 << 16 | 9, body, 31) == 0);
	pkt_swap_macs(&want);
	expect("IPv6 echo request to a VIP (odd length): answered", &in, XDP_TX, &want,
	       XLB_STAT_ICMP_ECHO_REPLY);

	CU_ASSERT_FATAL(pkt_build_icmp(&in, &own, 8, 0, 1, body, 8) == 0);
	expect("echo request to the LB's own address: the kernel's, untouched", &in, XDP_PASS,
	       &in, XLB_STAT_PASS_UNSUPPORTED);

	/* The IP packet ends before its ICMP header (what follows is Ethernet
	 * padding): no echo request. */
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &q4, 8, 0, 1, body, 8) == 0);
	in.data[14 + 2] = 0;
	in.data[14 + 3] = 20;
	in.data[14 + 10] = in.data[14 + 11] = 0;
	{
		__u16 c = pkt_csum(in.data + 14, 20, 0);

		in.data[14 + 10] = c >> 8;
		in.data[14 + 11] = c & 0xff;
	}
	expect("IPv4 header alone, an echo request in the padding: dropped", &in, XDP_DROP,
	       NULL, XLB_STAT_DROP_VIP_UNHANDLED);

	/* An echo reply to a VIP address is nobody's: dropped. */
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &q4, 0, 0, 1, body, 8) == 0);
	expect("IPv4 echo reply to a VIP: dropped", &in, XDP_DROP, NULL,
	       XLB_STAT_DROP_VIP_UNHANDLED);
}

/* A fragment of an echo request (ping -s 3000) is no whole message: xlb
 * holds only part of the datagram and cannot answer it, so a first
 * fragment is dropped like any fragment to a VIP address that no VIP
 * takes, byte for byte as received. Found by xlb-fuzz: the first fragment
 * was "answered" with a reply that still said MF, its later fragments
 * dropped (frag_miss). */
static void test_echo_fragment(void)
{
	struct pkt_spec f4 = {.family = 4, .src = C4, .dst = VIP4, .ttl = 50, .frag = 0x2000};
	struct pkt_spec f6 = {.family = 6, .src = C6, .dst = VIP6, .ttl = 50, .v6_ext = 44,
			      .v6_ext_present = 1, .v6_frag_off = 0x0001, .v6_frag_id = 7};
	struct pkt in;
	__u8 body[56];

	pattern(body, sizeof(body));
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &f4, 8, 0, 0x4d2 << 16 | 7, body, sizeof(body)) == 0);
	expect("IPv4 echo request, first fragment (MF): dropped untouched", &in, XDP_DROP, &in,
	       XLB_STAT_DROP_VIP_UNHANDLED);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &f6, 128, 0, 0x4d2 << 16 | 7, body, sizeof(body)) ==
			0);
	expect("IPv6 echo request behind a fragment header: dropped untouched", &in, XDP_DROP,
	       &in, XLB_STAT_DROP_VIP_UNHANDLED);
}

/* ---- errors about a VIP flow ----------------------------------------- */

/* A router's error about a backend's reply (from the VIP) goes, whole and
 * encapsulated, to the backend; 8 bytes past the quoted IP header are
 * enough. */
static void test_error_to_backend(void)
{
	struct pkt_spec reply4 = {.family = 4, .src = VIP4, .dst = C4, .proto = IPPROTO_TCP,
				  .sport = 80, .dport = 40100, .frag = 0x4000, .payload_len = 1400};
	struct pkt_spec reply6 = {.family = 6, .src = VIP6, .dst = C6, .proto = IPPROTO_TCP,
				  .sport = 80, .dport = 40100, .payload_len = 1400};
	struct pkt_spec udp = {.family = 4, .src = VIPU, .dst = C4, .proto = IPPROTO_UDP,
			       .sport = 53, .dport = 5353, .payload_len = 100};
	struct pkt_spec other = {.family = 4, .src = "198.18.200.9", .dst = C4,
				 .proto = IPPROTO_TCP, .sport = 80, .dport = 40100};
	struct pkt_spec o4 = {.family = 4, .src = ROUTER4, .dst = VIP4, .frag = 0x4000};
	struct pkt_spec o6 = {.family = 6, .src = ROUTER6, .dst = VIP6};
	struct pkt_spec ou = {.family = 4, .src = ROUTER4, .dst = VIPU};
	struct pkt_spec onv = {.family = 4, .src = ROUTER4, .dst = "198.18.0.2"};
	struct pkt in, want;
	__u8 q[1500];
	size_t n;
	__u64 fwd = counter(XLB_STAT_ICMP_ERROR_FWD);

	n = quote_of(&reply4, 28, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	want = in;
	CU_ASSERT_FATAL(pkt_encap(&want, 4, "198.18.0.2", "198.18.0.11", 0, pkt_lb_mac,
				  be11_mac) == 0);
	expect("IPv4 fragmentation needed about a VIP flow, 8 bytes quoted: to its backend", &in,
	       XDP_TX, &want, XLB_STAT_TX);

	n = quote_of(&reply4, 548, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 11, 0, 0, q, n) == 0);
	want = in;
	CU_ASSERT_FATAL(pkt_encap(&want, 4, "198.18.0.2", "198.18.0.11", 0, pkt_lb_mac,
				  be11_mac) == 0);
	expect("IPv4 time exceeded about a VIP flow, 548 bytes quoted: to its backend", &in,
	       XDP_TX, &want, XLB_STAT_TX);

	n = quote_of(&reply6, 48, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o6, 2, 0, 1400, q, n) == 0);
	want = in;
	CU_ASSERT_FATAL(pkt_encap(&want, 6, "2001:db8::2", "2001:db8::11",
				  flow_hash(6, C6, VIP6, IPPROTO_TCP, 40100, 80), pkt_lb_mac,
				  be11_mac) == 0);
	expect("IPv6 packet too big about a VIP flow: to its backend, the flow's flow label",
	       &in, XDP_TX, &want, XLB_STAT_TX);

	n = quote_of(&udp, 28, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &ou, 3, 3, 0, q, n) == 0);
	want = in;
	CU_ASSERT_FATAL(pkt_encap(&want, 6, "2001:db8::2", "2001:db8::12",
				  flow_hash(4, C4, VIPU, IPPROTO_UDP, 5353, 53), pkt_lb_mac,
				  be12_mac) == 0);
	expect("IPv4 port unreachable about a UDP VIP flow: 4in6 to its backend", &in, XDP_TX,
	       &want, XLB_STAT_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_ICMP_ERROR_FWD), fwd + 4);

	n = quote_of(&reply4, 27, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	expect("quote 7 bytes past its IP header: dropped", &in, XDP_DROP, NULL,
	       XLB_STAT_DROP_VIP_UNHANDLED);

	n = quote_of(&other, 28, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	expect("error to a VIP address about a packet not from a VIP: dropped", &in, XDP_DROP,
	       NULL, XLB_STAT_DROP_VIP_UNHANDLED);

	n = quote_of(&reply4, 28, q);
	q[9] = IPPROTO_ICMP;
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	expect("error about a VIP's ICMP: dropped", &in, XDP_DROP, NULL,
	       XLB_STAT_DROP_VIP_UNHANDLED);

	n = quote_of(&reply4, 28, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 5, 0, 0, q, n) == 0);
	expect("redirect to a VIP address: dropped", &in, XDP_DROP, NULL,
	       XLB_STAT_DROP_VIP_UNHANDLED);

	CU_ASSERT_FATAL(pkt_build_icmp(&in, &onv, 3, 4, 1400, q, n) == 0);
	expect("error to the LB's own address: the kernel's, untouched", &in, XDP_PASS, &in,
	       XLB_STAT_PASS_UNSUPPORTED);
	CU_ASSERT_EQUAL(counter(XLB_STAT_ICMP_ERROR_FWD), fwd + 4);
}

/* An error's quote cut at every length (the IP packet shortened, its
 * headers consistent): forwarded only from the quoted IP header + 8 bytes
 * on, dropped below, never anything else. */
static void test_error_quote_lengths(void)
{
	struct pkt_spec reply4 = {.family = 4, .src = VIP4, .dst = C4, .proto = IPPROTO_TCP,
				  .sport = 80, .dport = 40150, .payload_len = 20};
	struct pkt_spec o4 = {.family = 4, .src = ROUTER4, .dst = VIP4};
	struct pkt in, out;
	__u8 q[64];
	size_t n = quote_of(&reply4, sizeof(q), q);
	int action;

	for (size_t k = 0; k <= n; k++) {
		__u64 drops = counter(XLB_STAT_DROP_VIP_UNHANDLED), tx = counter(XLB_STAT_TX);
		int want = k >= 28 ? XDP_TX : XDP_DROP;

		CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, k) == 0);
		CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
		if (action != want)
			fprintf(stderr, "\nquote of %zu bytes: action %d, want %d\n", k, action,
				want);
		CU_ASSERT_EQUAL(action, want);
		CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_VIP_UNHANDLED), drops + (want == XDP_DROP));
		CU_ASSERT_EQUAL(counter(XLB_STAT_TX), tx + (want == XDP_TX));
	}
}

/* Where an error goes: the flow's connection table entry first, else the
 * ring's choice for the flow, as its own packets. */
static void test_error_follows_flow(void)
{
	enum { FLOWS = 40 };
	struct pkt_spec o4 = {.family = 4, .src = ROUTER4, .dst = VIPM};
	struct pkt_spec reply = {.family = 4, .src = VIPM, .dst = C4, .proto = IPPROTO_TCP,
				 .sport = 80};
	struct pkt_spec fwd = {.family = 4, .src = C4, .dst = VIPM, .proto = IPPROTO_TCP,
			       .dport = 80};
	char first[FLOWS][INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN], ring[INET6_ADDRSTRLEN];
	struct pkt in, out;
	int action, moved = 0;
	__u8 q[64];
	size_t n;

	for (int i = 0; i < FLOWS; i++) {
		reply.dport = fwd.sport = (__u16)(43000 + i);
		n = quote_of(&reply, 28, q);
		CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
		CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
		CU_ASSERT_EQUAL(action, XDP_TX);
		outer_dst(&out, first[i], sizeof(first[i]));
		lookup(VIPM ":80/tcp", C4, fwd.sport, ring, sizeof(ring));
		if (strcmp(first[i], ring))
			fprintf(stderr, "\nflow %d: error went to %s, ring says %s\n", i, first[i],
				ring);
		CU_ASSERT_STRING_EQUAL(first[i], ring);
		/* Its SYN and an ACK establish the flow (the error recorded
		 * nothing: it is no packet of the flow). A SYN first: a flow
		 * met mid-connection after a ring change is not recorded
		 * (the second chance), and earlier tests changed the ring. */
		for (int k = 0; k < 2; k++) {
			fwd.tcp_flags = k ? 0x10 : 0x02;
			CU_ASSERT_FATAL(pkt_build(&in, &fwd) == 0);
			CU_ASSERT_FATAL(run(&in, &out, &action) == 0 && action == XDP_TX);
			outer_dst(&out, got, sizeof(got));
			CU_ASSERT_STRING_EQUAL(got, first[i]);
		}
	}
	/* A new backend moves some flows on the ring; their entries keep them,
	 * and their errors follow the entries. */
	CU_ASSERT_FATAL(backend_add(VIPM ":80/tcp", "198.18.0.14") == 0);
	for (int i = 0; i < FLOWS; i++) {
		reply.dport = (__u16)(43000 + i);
		lookup(VIPM ":80/tcp", C4, reply.dport, ring, sizeof(ring));
		moved += strcmp(ring, first[i]) != 0;
		n = quote_of(&reply, 28, q);
		CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
		CU_ASSERT_FATAL(run(&in, &out, &action) == 0 && action == XDP_TX);
		outer_dst(&out, got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, first[i]);
	}
	CU_ASSERT(moved > 0);
}

/* An error about a flow reads the connection tables and writes nothing: a
 * spoofed one must not create an entry (about an unknown flow), confirm a
 * new flow's entry into the established table, or rewrite one. Found
 * while writing xlb-fuzz's model of the documented rule (the entry, else
 * the ring). */
static void test_error_records_nothing(void)
{
	struct pkt_spec o4 = {.family = 4, .src = ROUTER4, .dst = VIP4};
	struct pkt_spec reply = {.family = 4, .src = VIP4, .dst = C4, .proto = IPPROTO_TCP,
				 .sport = 80, .dport = 44100};
	struct pkt_spec syn = {.family = 4, .src = C4, .dst = VIP4, .proto = IPPROTO_TCP,
			       .sport = 44100, .dport = 80, .tcp_flags = 0x02};
	__u64 ins = counter(XLB_STAT_CONN_INSERT), prom = counter(XLB_STAT_CONN_PROMOTE);
	struct xlb_config cfg, saved;
	struct pkt in, out;
	int action;
	__u8 q[64];
	size_t n = quote_of(&reply, 28, q);

	/* The SYN's entry must stay usable meanwhile (this suite's timeout is 0). */
	CU_ASSERT_FATAL(xlb_dp_config_get(dp, &saved) == 0);
	cfg = saved;
	cfg.syn_timeout_s = 60;
	CU_ASSERT_FATAL(xlb_dp_config_set(dp, &cfg) == 0);

	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	expect("error about an unknown flow: forwarded", &in, XDP_TX, NULL, XLB_STAT_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins);
	CU_ASSERT_FATAL(pkt_build(&in, &syn) == 0);
	CU_ASSERT_FATAL(run(&in, &out, &action) == 0 && action == XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins + 1);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	expect("error about a flow past its SYN only: forwarded", &in, XDP_TX, NULL, XLB_STAT_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_INSERT), ins + 1);
	CU_ASSERT_EQUAL(counter(XLB_STAT_CONN_PROMOTE), prom);
	CU_ASSERT(xlb_dp_config_set(dp, &saved) == 0);
}

/* ---- too big ----------------------------------------------------------- */

/* The error xlb must send for in, built from the RFCs: from the VIP to
 * the client, back to the sender's MAC, quoting the packet's first bytes
 * (576 bytes in all for IPv4, 1280 for IPv6). */
static void want_too_big(struct pkt *want, const struct pkt *in, const struct pkt_spec *s,
			 __u32 mtu)
{
	size_t max = s->family == 6 ? 1280 - 48 : 576 - 28, quote = in->len - 14;
	struct pkt_spec r = {.family = s->family, .src = s->dst, .dst = s->src, .ttl = 64,
			     .tos = s->family == 6 ? 0 : 0xc0};

	if (quote > max)
		quote = max;
	CU_ASSERT_FATAL(pkt_build_icmp(want, &r, s->family == 6 ? 2 : 3, s->family == 6 ? 0 : 4,
				       mtu, in->data + 14, quote) == 0);
	if (s->family == 4)
		pkt_set_ipv4_id(want, 0);
	pkt_swap_macs(want);
}

static void test_too_big(void)
{
	struct pkt_spec df = {.family = 4, .src = C4, .dst = VIP4, .proto = IPPROTO_TCP,
			      .sport = 40200, .dport = 80, .frag = 0x4000, .payload_len = 1460};
	struct pkt_spec nodf = df;
	struct pkt_spec v6 = {.family = 6, .src = C6, .dst = VIP6, .proto = IPPROTO_TCP,
			      .sport = 40200, .dport = 80, .payload_len = 1440};
	struct pkt_spec in6 = {.family = 4, .src = C4, .dst = VIPU, .proto = IPPROTO_UDP,
			       .sport = 5000, .dport = 53, .frag = 0x4000, .payload_len = 1450};
	struct pkt_spec mcast = df;
	struct pkt_spec o4 = {.family = 4, .src = ROUTER4, .dst = VIP4};
	struct pkt_spec reply4 = {.family = 4, .src = VIP4, .dst = C4, .proto = IPPROTO_TCP,
				  .sport = 80, .dport = 40100};
	struct pkt in, want;
	__u8 q[1500];
	size_t n;

	CU_ASSERT_FATAL(pkt_build(&in, &df) == 0);
	want_too_big(&want, &in, &df, 1500 - 20);
	expect("IPv4 DF, 1500 bytes, IPIP: fragmentation needed, MTU 1480, 548 bytes quoted",
	       &in, XDP_TX, &want, XLB_STAT_ICMP_TOO_BIG);

	nodf.frag = 0;
	nodf.sport = 40201;
	CU_ASSERT_FATAL(pkt_build(&in, &nodf) == 0);
	want_too_big(&want, &in, &nodf, 1500 - 20);
	expect("IPv4 without DF: the same fragmentation needed (xlb never fragments)", &in,
	       XDP_TX, &want, XLB_STAT_ICMP_TOO_BIG);

	CU_ASSERT_FATAL(pkt_build(&in, &v6) == 0);
	want_too_big(&want, &in, &v6, 1500 - 40);
	expect("IPv6, 1480 bytes, IP6IP6: packet too big, MTU 1460, 1232 bytes quoted", &in,
	       XDP_TX, &want, XLB_STAT_ICMP_TOO_BIG);

	CU_ASSERT_FATAL(pkt_build(&in, &in6) == 0);
	want_too_big(&want, &in, &in6, 1500 - 40);
	expect("IPv4 UDP to an IPv6 backend (4in6): fragmentation needed, MTU 1460", &in,
	       XDP_TX, &want, XLB_STAT_ICMP_TOO_BIG);

	mcast.src = "224.1.2.3";
	CU_ASSERT_FATAL(pkt_build(&in, &mcast) == 0);
	expect("too big from a multicast source: dropped, no error sent", &in, XDP_DROP, NULL,
	       XLB_STAT_TOO_BIG);

	/* An ICMP error about a VIP flow, too big for the tunnel itself:
	 * never an error about an error (RFC 1122 3.2.2). */
	reply4.payload_len = 1500;
	n = quote_of(&reply4, 1500 - 28, q);
	CU_ASSERT_FATAL(pkt_build_icmp(&in, &o4, 3, 4, 1400, q, n) == 0);
	expect("ICMP error about a VIP flow, too big once encapsulated: dropped, no error", &in,
	       XDP_DROP, NULL, XLB_STAT_TOO_BIG);
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* The default rate limit, 1000 a second per CPU in bursts of 50: after a
 * pause that fills the bucket, a run of 200 too-big packets gets the burst
 * and what the time refilled; the rest are dropped and counted. */
static void test_rate_limit(void)
{
	enum { N = 200 };
	struct pkt_spec s = {.family = 4, .src = C4, .dst = VIP4, .proto = IPPROTO_TCP,
			     .sport = 40300, .dport = 80, .frag = 0x4000, .payload_len = 1460};
	__u64 limited = counter(XLB_STAT_ICMP_RATE_LIMITED), dropped = counter(XLB_STAT_TOO_BIG);
	__u64 t0, ms, sent = 0;
	struct timespec pause = {.tv_nsec = 200 * 1000000};
	struct pkt in, out;
	int action;

	CU_ASSERT_FATAL(pkt_build(&in, &s) == 0);
	nanosleep(&pause, NULL);
	t0 = now_ms();
	for (int i = 0; i < N; i++) {
		CU_ASSERT_FATAL(run(&in, &out, &action) == 0);
		sent += action == XDP_TX;
	}
	/* The program's coarse clock runs up to a tick (10 ms at HZ=100) behind. */
	ms = now_ms() - t0 + 10;
	fprintf(stderr, "(%llu of %d sent in %llu ms) ", (unsigned long long)sent, N,
		(unsigned long long)ms - 10);
	CU_ASSERT(sent >= XLB_ICMP_BURST);
	CU_ASSERT(sent <= XLB_ICMP_BURST + ms * XLB_ICMP_RATE_DEFAULT / 1000 + 1);
	CU_ASSERT(sent < N);
	CU_ASSERT_EQUAL(counter(XLB_STAT_ICMP_RATE_LIMITED), limited + (N - sent));
	CU_ASSERT_EQUAL(counter(XLB_STAT_TOO_BIG), dropped + (N - sent));
}

XLB_SUITE(icmp_bpf, suite_init, suite_cleanup,
	  {"echo requests to a VIP answered, exact bytes", test_echo},
	  {"fragments of echo requests are dropped, not answered", test_echo_fragment},
	  {"errors about a VIP flow go to its backend, exact bytes", test_error_to_backend},
	  {"errors quoting less than IP header + 8 bytes are dropped", test_error_quote_lengths},
	  {"errors follow the flow: connection entry, else ring", test_error_follows_flow},
	  {"errors create, confirm and rewrite no connection entry", test_error_records_nothing},
	  {"too big: fragmentation needed / packet too big, exact bytes", test_too_big},
	  {"generated ICMP is rate-limited per CPU and counted", test_rate_limit})
