// SPDX-License-Identifier: GPL-2.0
/* test_novip_bpf.c: the prefilter in front of the VIP lookups (xlb_novip,
 * bpf/novip.bpf.h), through BPF_PROG_TEST_RUN of xlb_lb with maps written by
 * lb.c: traffic for no VIP is passed byte-identical, whether its address's
 * bit is set or shared with a VIP address; a VIP whose address shares its bit
 * with another VIP's keeps working when that one goes; an unfilled map only
 * costs the exact lookups; and the bit is what the program reads. */
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
#include "xlb_hash.h"

#define IF "xlbn0"
#define VIP_A "198.18.100.1"
#define VIP_A6 "2001:db8:100::1"
#define BACKEND "198.18.0.11"
#define BACKEND6 "2001:db8::11"
#define CLIENT "198.18.1.2"
#define CLIENT6 "2001:db8:1::2"

static const char *const setup[] = {
    "ip link set lo up",
    "ip link add " IF " address 02:00:00:00:00:02 type veth peer name xlbn1",
    "ip link set " IF " up && ip link set xlbn1 up",
    "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
    "ip addr add 198.18.0.2/24 dev " IF,
    "ip -6 addr add 2001:db8::2/64 dev " IF " nodad",
    "ip neigh add " BACKEND " lladdr 02:00:00:00:00:11 dev " IF " nud permanent",
    "ip neigh add " BACKEND6 " lladdr 02:00:00:00:00:11 dev " IF " nud permanent",
    NULL,
};

static const __u8 be_mac[6] = {2, 0, 0, 0, 0, 0x11};

static struct xlb_dp *dp;
static struct xlb_lb *lb;
static int prog_fd, novip_fd;
static unsigned int ifindex;
static char err[XLB_ERRLEN];
/* Addresses found at init: COLL shares VIP_A's bit and is no VIP's;
 * COLL6 likewise for VIP_A6; FREE's bit no VIP address has. */
static char coll[INET_ADDRSTRLEN], coll6[INET6_ADDRSTRLEN], free4[INET_ADDRSTRLEN];

static int vip_op(int add, const char *addr, int family)
{
	char text[96];
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	snprintf(text, sizeof(text), family == 6 ? "[%s]:80/tcp" : "%s:80/tcp", addr);
	if (xlb_vip_key_parse(text, &key, err, sizeof(err)))
		return -1;
	if (!add)
		return xlb_lb_vip_del(lb, &key, err, sizeof(err));
	if (xlb_addr_parse(family == 6 ? BACKEND6 : BACKEND, &a, &fam) ||
	    xlb_lb_vip_add(lb, &key, 0, err, sizeof(err)))
		return -1;
	return xlb_lb_backend_add(lb, &key, &a, fam, 1, err, sizeof(err));
}

static __u32 bit_of(const char *addr, int family)
{
	union xlb_addr a = {0};

	inet_pton(family == 6 ? AF_INET6 : AF_INET, addr, &a);
	return xlb_novip_bit(&a, family == 6 ? XLB_AF_INET6 : XLB_AF_INET);
}

/* The address's bit in the program's map: 1 set, 0 clear, -1 unreadable. */
static int bit_set(const char *addr, int family)
{
	__u32 bit = bit_of(addr, family), word = bit / 64;
	__u64 w;

	if (bpf_map_lookup_elem(novip_fd, &word, &w))
		return -1;
	return (int)(w >> (bit % 64) & 1);
}

static int write_word(__u32 word, __u64 w)
{
	return bpf_map_update_elem(novip_fd, &word, &w, BPF_ANY);
}

/* The first address of 198.19.0.0/16 (IPv4) or 2001:db8:200::/112 whose bit
 * is (want_same) or is not that of addr. */
static int find_addr(const char *addr, int family, int want_same, char *out, size_t len)
{
	__u32 bit = bit_of(addr, family);

	for (__u32 i = 1; i < 65536; i++) {
		char cand[INET6_ADDRSTRLEN];

		if (family == 6)
			snprintf(cand, sizeof(cand), "2001:db8:200::%x", i);
		else
			snprintf(cand, sizeof(cand), "198.19.%u.%u", i >> 8, i & 255);
		if ((bit_of(cand, family) == bit) == want_same) {
			snprintf(out, len, "%s", cand);
			return 0;
		}
	}
	return -1;
}

static int suite_init(void)
{
	struct xlb_dp_opts opts = {.max_vips = 16, .max_backends = 16, .max_conns = 4096};
	struct xlb_config cfg = {.udp_timeout_s = 30, .syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S};

	if (bpf_env_enter(setup))
		return -1;
	ifindex = bpf_env_ifindex(IF);
	if (xlb_dp_open(&opts, &dp) || xlb_dp_load(dp) || xlb_lb_new(dp, &lb))
		return -1;
	prog_fd = xlb_dp_prog_fd(dp);
	novip_fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_novip"));
	inet_pton(AF_INET, "198.18.0.2", &cfg.src4);
	inet_pton(AF_INET6, "2001:db8::2", &cfg.src6);
	if (novip_fd < 0 || xlb_dp_config_set(dp, &cfg) || vip_op(1, VIP_A, 4) ||
	    vip_op(1, VIP_A6, 6)) {
		fprintf(stderr, "setup: %s\n", err);
		return -1;
	}
	if (find_addr(VIP_A, 4, 1, coll, sizeof(coll)) ||
	    find_addr(VIP_A6, 6, 1, coll6, sizeof(coll6)) ||
	    find_addr(VIP_A, 4, 0, free4, sizeof(free4)) || bit_of(free4, 4) == bit_of(VIP_A6, 6))
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	xlb_lb_free(lb);
	xlb_dp_close(dp);
	bpf_env_leave();
	return 0;
}

static __u64 counter(__u32 index)
{
	struct xlb_counter c;

	return xlb_dp_counter(dp, index, &c) ? ~0ULL : c.packets;
}

/* Runs one TCP ACK from the client to dst:80; the action, or -1. */
static int send_to(const char *dst, int family, __u16 sport, struct pkt *in, struct pkt *out)
{
	struct pkt_spec s = {.family = family, .src = family == 6 ? CLIENT6 : CLIENT, .dst = dst,
			     .proto = IPPROTO_TCP, .sport = sport, .dport = 80,
			     .payload_len = 20};
	struct xdp_md ctx = {.ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (pkt_build(in, &s))
		return -1;
	ctx.data_end = (__u32)in->len;
	opts.data_in = in->data;
	opts.data_size_in = (__u32)in->len;
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -1;
	out->len = opts.data_size_out;
	return (int)opts.retval;
}

/* Traffic for no VIP: passed byte-identical, counted as not a VIP's. */
static void check_passed(const char *dst, int family, const char *what)
{
	__u64 before = counter(XLB_STAT_PASS_NOT_VIP);
	struct pkt in, out;

	CU_ASSERT_EQUAL(send_to(dst, family, 40000, &in, &out), XDP_PASS);
	CU_ASSERT_FALSE(pkt_diff(what, out.data, out.len, in.data, in.len));
	CU_ASSERT_EQUAL(counter(XLB_STAT_PASS_NOT_VIP), before + 1);
}

/* A VIP's flow: encapsulated to the backend, exact bytes. */
static void check_balanced(const char *dst, int family, __u16 sport, const char *what)
{
	__u64 before = counter(XLB_STAT_TX);
	struct pkt in, out, want;
	struct xlb_flow flow = {.family = family == 6 ? XLB_AF_INET6 : XLB_AF_INET,
				.sport = htons(sport), .dport = htons(80),
				.proto = IPPROTO_TCP};

	inet_pton(family == 6 ? AF_INET6 : AF_INET, family == 6 ? CLIENT6 : CLIENT, &flow.src);
	inet_pton(family == 6 ? AF_INET6 : AF_INET, dst, &flow.dst);
	CU_ASSERT_EQUAL(send_to(dst, family, sport, &in, &out), XDP_TX);
	want = in;
	CU_ASSERT_FATAL(pkt_encap(&want, family, family == 6 ? "2001:db8::2" : "198.18.0.2",
				  family == 6 ? BACKEND6 : BACKEND, xlb_hash_flow(&flow),
				  pkt_lb_mac, be_mac) == 0);
	CU_ASSERT_FALSE(pkt_diff(what, out.data, out.len, want.data, want.len));
	CU_ASSERT_EQUAL(counter(XLB_STAT_TX), before + 1);
}

/* Filled on load: a VIP address's bit is clear, another set; traffic for
 * no VIP passes, a colliding address's too (through the exact lookups),
 * and the VIPs are balanced. */
static void test_filter_filled(void)
{
	CU_ASSERT_EQUAL(bit_set(VIP_A, 4), 0);
	CU_ASSERT_EQUAL(bit_set(VIP_A6, 6), 0);
	CU_ASSERT_EQUAL(bit_set(free4, 4), 1);
	check_passed(free4, 4, "IPv4, no VIP, bit set");
	check_passed(coll, 4, "IPv4, no VIP, VIP_A's bit");
	check_passed(coll6, 6, "IPv6, no VIP, VIP_A6's bit");
	check_passed("2001:db8:300::1", 6, "IPv6, no VIP");
	check_balanced(VIP_A, 4, 40001, "IPv4 VIP");
	check_balanced(VIP_A6, 6, 40001, "IPv6 VIP");
}

/* Two VIP addresses on one bit: the bit stays clear until both are gone,
 * then is set again. */
static void test_shared_bit(void)
{
	CU_ASSERT_FATAL(vip_op(1, coll, 4) == 0);
	CU_ASSERT_EQUAL(bit_set(coll, 4), 0);
	check_balanced(coll, 4, 40002, "colliding IPv4 VIP");
	CU_ASSERT_FATAL(vip_op(0, VIP_A, 4) == 0);
	CU_ASSERT_EQUAL(bit_set(coll, 4), 0);
	check_balanced(coll, 4, 40003, "colliding IPv4 VIP, the other gone");
	check_passed(VIP_A, 4, "IPv4, a VIP no longer");
	CU_ASSERT_FATAL(vip_op(0, coll, 4) == 0);
	CU_ASSERT_EQUAL(bit_set(coll, 4), 1);
	check_passed(coll, 4, "IPv4, last VIP on the bit gone");
	CU_ASSERT_FATAL(vip_op(1, VIP_A, 4) == 0);
	CU_ASSERT_EQUAL(bit_set(VIP_A, 4), 0);
	check_balanced(VIP_A, 4, 40004, "IPv4 VIP again");
}

/* The map is what the program reads: all zero (a program not filled yet)
 * costs the exact lookups only; a VIP's bit set by mistake passes its
 * traffic, which is why userspace clears it first. Refilled on load. */
static void test_bit_is_read(void)
{
	__u32 bit = bit_of(VIP_A, 4);

	for (__u32 i = 0; i < XLB_NOVIP_WORDS; i++)
		CU_ASSERT_FATAL(write_word(i, 0) == 0);
	check_passed(free4, 4, "IPv4, no VIP, map empty");
	check_balanced(VIP_A, 4, 40005, "IPv4 VIP, map empty");
	CU_ASSERT_FATAL(write_word(bit / 64, 1ULL << (bit % 64)) == 0);
	CU_ASSERT_EQUAL(send_to(VIP_A, 4, 40006, &(struct pkt){0}, &(struct pkt){0}), XDP_PASS);
	CU_ASSERT_FATAL(xlb_dp_loaded(dp) == 0);
	CU_ASSERT_EQUAL(bit_set(VIP_A, 4), 0);
	CU_ASSERT_EQUAL(bit_set(free4, 4), 1);
	check_balanced(VIP_A, 4, 40007, "IPv4 VIP, refilled");
}

XLB_SUITE(novip_bpf, suite_init, suite_cleanup,
	  {"prefilter: filled on load, no-VIP traffic passed untouched, collisions fall through",
	   test_filter_filled},
	  {"prefilter: two VIP addresses on one bit, either may go", test_shared_bit},
	  {"prefilter: an empty map costs only speed, the bit is what the program reads",
	   test_bit_is_read})
