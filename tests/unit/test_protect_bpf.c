// SPDX-License-Identifier: GPL-2.0
/* test_protect_bpf.c: a VIP's source ACL and its limit of new flows per
 * client, through BPF_PROG_TEST_RUN of xlb_lb with maps written by lb.c:
 * exact verdicts and counters for ACL hits and misses in both families,
 * the precedence of allow and deny, the ACL flag gating the trie, and the
 * token bucket's take, refill and cap (time made to pass by rewriting the
 * bucket's last_ns), with established flows never limited. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "expect.h"
#include "xlb_test.h"
#include "pkt.h"
#include "bpf_env.h"
#include "addr.h"
#include "cmd.h"
#include "dataplane.h"
#include "lb.h"

#define IF "xlbp0"
#define A4 "198.18.100.1:80/tcp"
#define A6 "[2001:db8:100::1]:80/tcp"
#define L4 "198.18.100.2:80/tcp"
#define L6 "[2001:db8:100::2]:0/udp"
#define N4 "198.18.100.3:80/tcp"

static const char *const setup[] = {
    "ip link set lo up",
    "ip link add " IF " address 02:00:00:00:00:02 type veth peer name xlbp1",
    "ip link set " IF " up && ip link set xlbp1 up",
    "sysctl -qw net.ipv4.conf.all.forwarding=1 net.ipv6.conf.all.forwarding=1",
    "ip addr add 198.18.0.2/24 dev " IF,
    "ip -6 addr add 2001:db8::2/64 dev " IF " nodad",
    "ip neigh add 198.18.0.11 lladdr 02:00:00:00:00:11 dev " IF " nud permanent",
    "ip neigh add 2001:db8::11 lladdr 02:00:00:00:00:11 dev " IF " nud permanent",
    NULL,
};

static struct xlb_dp *dp;
static struct xlb_lb *lb;
static int prog_fd;
static unsigned int ifindex;
static char err[XLB_ERRLEN];

static int add_vip(const char *v, const char *backend)
{
	struct xlb_vip_key key;
	union xlb_addr a;
	__u8 fam;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || xlb_addr_parse(backend, &a, &fam))
		return -1;
	if (xlb_lb_vip_add(lb, &key, 0, err, sizeof(err)))
		return -1;
	return xlb_lb_backend_add(lb, &key, &a, fam, 1, err, sizeof(err));
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
	inet_pton(AF_INET, "198.18.0.2", &cfg.src4);
	inet_pton(AF_INET6, "2001:db8::2", &cfg.src6);
	if (xlb_dp_config_set(dp, &cfg))
		return -1;
	if (add_vip(A4, "198.18.0.11") || add_vip(A6, "2001:db8::11") ||
	    add_vip(L4, "198.18.0.11") || add_vip(L6, "2001:db8::11") ||
	    add_vip(N4, "198.18.0.11")) {
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

/* The VIP's protection as "vip set VIP <words>" gives it (all parts not
 * given: none). */
static int protect(const char *v, const char *words)
{
	char line[512], *argv[32], *save = NULL;
	struct xlb_vip_key key;
	struct xlb_cmd c;
	int argc = 0;

	snprintf(line, sizeof(line), "vip set %s %s", v, words);
	for (char *w = strtok_r(line, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	if (xlb_cmd_parse(argc, argv, &c, err, sizeof(err)) ||
	    xlb_vip_key_parse(v, &key, err, sizeof(err)))
		return -1;
	return xlb_lb_vip_set_protect(lb, &key, &c.prot, err, sizeof(err));
}

static const struct xlb_lb_vip *vip_of(const char *v)
{
	struct xlb_vip_key key;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)))
		return NULL;
	return xlb_lb_vip_find(lb, &key);
}

/* The flags the data plane has for the VIP. */
static __u32 dp_flags(const char *v)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_vips"));
	struct xlb_vip_key key;
	struct xlb_vip val;

	if (xlb_vip_key_parse(v, &key, err, sizeof(err)) || bpf_map_lookup_elem(fd, &key, &val))
		return ~0U;
	return val.flags;
}

/* Entries of the VIP id in xlb_acl. */
static int acl_entries(__u32 vip_id)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_acl"));
	struct xlb_acl_key key, next;
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		n += key.vip_id == vip_id;
	}
	return n;
}

static __u64 counter(__u32 index)
{
	struct xlb_counter c;

	return xlb_dp_counter(dp, index, &c) ? ~0ULL : c.packets;
}

static __u64 vip_drops(const char *v, int limit)
{
	const struct xlb_lb_vip *lv = vip_of(v);
	struct xlb_counter c;

	if (!lv || (limit ? xlb_dp_counter_vip_limit(dp, lv->id, &c)
			  : xlb_dp_counter_vip_acl(dp, lv->id, &c)))
		return ~0ULL;
	return c.packets;
}

/* The action xlb_lb takes on one TCP (or UDP) packet from src:sport. */
static int send_one(int family, const char *src, const char *dst, int proto, __u16 sport,
		    __u16 dport, __u8 tcp_flags)
{
	struct pkt_spec s = {.family = family,
			     .src = src,
			     .dst = dst,
			     .proto = proto,
			     .sport = sport,
			     .dport = dport,
			     .tcp_flags = tcp_flags,
			     .payload_len = 8};
	struct pkt in, out;
	struct xdp_md ctx = {.ingress_ifindex = ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_out = out.data,
		    .data_size_out = sizeof(out.data), .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);

	if (pkt_build(&in, &s))
		return -1;
	ctx.data_end = (__u32)in.len;
	opts.data_in = in.data;
	opts.data_size_in = (__u32)in.len;
	if (bpf_prog_test_run_opts(prog_fd, &opts))
		return -errno;
	return (int)opts.retval;
}

#define SYN 0x02
#define ACK 0x10
#define RST 0x04

struct acl_case {
	const char *prot; /* vip set words */
	const char *src;
	int action;
};

static void run_acl_cases(const char *v, int family, const char *dst, const struct acl_case *t,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__u64 drops = counter(XLB_STAT_DROP_ACL), vd = vip_drops(v, 0);
		__u64 tx = counter(XLB_STAT_TX);
		int deny = t[i].action == XDP_DROP, got;

		if (protect(v, t[i].prot)) {
			CU_FAIL("protect");
			fprintf(stderr, "  %s %s: %s\n", v, t[i].prot, err);
			continue;
		}
		got = send_one(family, t[i].src, dst, IPPROTO_TCP, (__u16)(41000 + i), 80, SYN);
		if (got != t[i].action || counter(XLB_STAT_DROP_ACL) != drops + deny ||
		    vip_drops(v, 0) != vd + deny || counter(XLB_STAT_TX) != tx + !deny) {
			CU_FAIL("ACL verdict");
			fprintf(stderr, "  %s [%s] from %s: action %d, want %d\n", v, t[i].prot,
				t[i].src, got, t[i].action);
		}
	}
}

static void test_acl_v4(void)
{
	static const struct acl_case t[] = {
	    {"allow any deny none", "198.18.1.2", XDP_TX},
	    /* an allow list: what it names passes, the rest is denied */
	    {"allow 198.18.1.0/24", "198.18.1.2", XDP_TX},
	    {"allow 198.18.1.0/24", "198.18.2.2", XDP_DROP},
	    /* the longest match decides, both ways */
	    {"allow 198.18.0.0/16 deny 198.18.1.0/24", "198.18.1.2", XDP_DROP},
	    {"allow 198.18.0.0/16 deny 198.18.1.0/24", "198.18.2.2", XDP_TX},
	    {"allow 198.18.0.0/16 deny 198.18.1.0/24", "198.19.0.1", XDP_DROP},
	    {"allow 198.18.1.128/25 deny 198.18.1.0/24", "198.18.1.200", XDP_TX},
	    {"allow 198.18.1.128/25 deny 198.18.1.0/24", "198.18.1.5", XDP_DROP},
	    {"allow 198.18.1.128/25 deny 198.18.1.0/24", "198.19.0.1", XDP_DROP},
	    /* only a deny list: the rest passes */
	    {"deny 198.18.1.0/24", "198.18.1.2", XDP_DROP},
	    {"deny 198.18.1.0/24", "198.18.2.2", XDP_TX},
	    /* an explicit /0 allow with a host denied */
	    {"allow 0.0.0.0/0 deny 198.18.1.2", "198.18.1.2", XDP_DROP},
	    {"allow 0.0.0.0/0 deny 198.18.1.2", "198.18.1.3", XDP_TX},
	    {"allow 198.18.1.3", "198.18.1.3", XDP_TX},
	    {"allow 198.18.1.3", "198.18.1.2", XDP_DROP},
	    {"deny 0.0.0.0/0", "198.18.1.2", XDP_DROP},
	};
	const struct xlb_lb_vip *v = vip_of(A4);

	CU_ASSERT_FATAL(v != NULL);
	run_acl_cases(A4, 4, "198.18.100.1", t, ARRAY_SIZE(t));
	/* Cleared: no flag, no entry left for the VIP. */
	CU_ASSERT(dp_flags(A4) & XLB_VIP_F_ACL);
	CU_ASSERT_EQUAL(acl_entries(v->id), 1);
	CU_ASSERT_EQUAL(protect(A4, "deny none"), 0);
	CU_ASSERT_EQUAL(dp_flags(A4) & XLB_VIP_F_ACL, 0);
	CU_ASSERT_EQUAL(acl_entries(v->id), 0);
	CU_ASSERT_EQUAL(send_one(4, "198.18.1.2", "198.18.100.1", IPPROTO_TCP, 42000, 80, SYN),
			XDP_TX);
}

static void test_acl_v6(void)
{
	static const struct acl_case t[] = {
	    {"allow 2001:db8:1::/48", "2001:db8:1::2", XDP_TX},
	    {"allow 2001:db8:1::/48", "2001:db8:2::2", XDP_DROP},
	    {"allow 2001:db8::/32 deny 2001:db8:1:5::/64", "2001:db8:1:5::99", XDP_DROP},
	    {"allow 2001:db8::/32 deny 2001:db8:1:5::/64", "2001:db8:1:6::99", XDP_TX},
	    {"allow 2001:db8:1:5::99 deny 2001:db8:1:5::/64", "2001:db8:1:5::99", XDP_TX},
	    {"allow 2001:db8:1:5::99 deny 2001:db8:1:5::/64", "2001:db8:1:5::98", XDP_DROP},
	    {"deny 2001:db8:1::/48", "2001:db8:1::2", XDP_DROP},
	    {"deny 2001:db8:1::/48", "2001:db9::2", XDP_TX},
	    {"allow any deny none", "2001:db8:1::2", XDP_TX},
	};

	run_acl_cases(A6, 6, "2001:db8:100::1", t, ARRAY_SIZE(t));
	CU_ASSERT_EQUAL(dp_flags(A6) & XLB_VIP_F_ACL, 0);
}

/* The ACL applies to every packet: an established flow from a client that
 * becomes denied is dropped from its next packet on. */
static void test_acl_established(void)
{
	CU_ASSERT_EQUAL(protect(A4, "allow any deny none"), 0);
	CU_ASSERT_EQUAL(send_one(4, "198.18.1.9", "198.18.100.1", IPPROTO_TCP, 43000, 80, SYN),
			XDP_TX);
	CU_ASSERT_EQUAL(send_one(4, "198.18.1.9", "198.18.100.1", IPPROTO_TCP, 43000, 80, ACK),
			XDP_TX);
	CU_ASSERT_EQUAL(protect(A4, "deny 198.18.1.9"), 0);
	CU_ASSERT_EQUAL(send_one(4, "198.18.1.9", "198.18.100.1", IPPROTO_TCP, 43000, 80, ACK),
			XDP_DROP);
	CU_ASSERT_EQUAL(protect(A4, "deny none"), 0);
}

/* A VIP without the flag never reads the trie: an entry there (as an
 * earlier xlbd could leave in a pin) denies nothing. */
static void test_acl_flag_gates(void)
{
	const struct xlb_lb_vip *v = vip_of(N4);
	struct xlb_acl_key key = {.prefixlen = XLB_ACL_KEY_HEAD_BITS, .family = XLB_AF_INET};
	struct xlb_acl val = {.action = XLB_ACL_DENY};

	CU_ASSERT_FATAL(v != NULL);
	key.vip_id = v->id;
	CU_ASSERT_EQUAL_FATAL(xlb_dp_acl_replace(dp, v->id, &key, &val, 1), 0);
	CU_ASSERT_EQUAL(dp_flags(N4) & XLB_VIP_F_ACL, 0);
	CU_ASSERT_EQUAL(send_one(4, "198.18.1.2", "198.18.100.3", IPPROTO_TCP, 44000, 80, SYN),
			XDP_TX);
	/* Setting an ACL replaces whatever the trie held for the id. */
	CU_ASSERT_EQUAL(protect(N4, "deny 198.18.7.0/24"), 0);
	CU_ASSERT_EQUAL(acl_entries(v->id), 1);
	CU_ASSERT_EQUAL(send_one(4, "198.18.1.2", "198.18.100.3", IPPROTO_TCP, 44001, 80, SYN),
			XDP_TX);
	CU_ASSERT_EQUAL(protect(N4, "deny none"), 0);
	CU_ASSERT_EQUAL(acl_entries(v->id), 0);
}

/* Moves the client's bucket's last refill back by ns: time passes. */
static int age_bucket(const char *v, int family, const char *src, __u64 ns)
{
	int fd = bpf_map__fd(bpf_object__find_map_by_name(xlb_dp_object(dp), "xlb_buckets"));
	const struct xlb_lb_vip *lv = vip_of(v);
	struct xlb_bucket_key key = {.family = family == 6 ? XLB_AF_INET6 : XLB_AF_INET};
	struct xlb_bucket b;

	if (!lv)
		return -1;
	key.vip_id = lv->id;
	inet_pton(family == 6 ? AF_INET6 : AF_INET, src, &key.src);
	if (family == 6)
		key.src.v6[2] = key.src.v6[3] = 0;
	if (bpf_map_lookup_elem(fd, &key, &b))
		return -1;
	b.last_ns -= ns;
	return bpf_map_update_elem(fd, &key, &b, BPF_EXIST);
}

#define C   "198.18.1.2"
#define SEC 1000000000ULL

static int syn4(const char *src, __u16 sport)
{
	return send_one(4, src, "198.18.100.2", IPPROTO_TCP, sport, 80, SYN);
}

static void test_limit_bucket(void)
{
	__u64 drops = counter(XLB_STAT_DROP_LIMIT), vd = vip_drops(L4, 1);

	CU_ASSERT_EQUAL_FATAL(protect(L4, "limit 1/s burst 2"), 0);
	CU_ASSERT(dp_flags(L4) & XLB_VIP_F_LIMIT);
	/* a full bucket of two, then nothing */
	CU_ASSERT_EQUAL(syn4(C, 1), XDP_TX);
	CU_ASSERT_EQUAL(syn4(C, 2), XDP_TX);
	CU_ASSERT_EQUAL(syn4(C, 3), XDP_DROP);
	CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_LIMIT), drops + 1);
	CU_ASSERT_EQUAL(vip_drops(L4, 1), vd + 1);
	/* established (table hits) never limited, nor what opens no flow */
	CU_ASSERT_EQUAL(send_one(4, C, "198.18.100.2", IPPROTO_TCP, 1, 80, ACK), XDP_TX);
	CU_ASSERT_EQUAL(send_one(4, C, "198.18.100.2", IPPROTO_TCP, 2, 80, SYN), XDP_TX);
	CU_ASSERT_EQUAL(send_one(4, C, "198.18.100.2", IPPROTO_TCP, 9, 80, RST), XDP_TX);
	CU_ASSERT_EQUAL(send_one(4, C, "198.18.100.2", IPPROTO_TCP, 10, 80, ACK), XDP_TX);
	CU_ASSERT_EQUAL(send_one(4, C, "198.18.100.2", IPPROTO_TCP, 11, 80, SYN | ACK), XDP_TX);
	/* another client has its own bucket */
	CU_ASSERT_EQUAL(syn4("198.18.1.3", 1), XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_LIMIT), drops + 1);
	/* one second: one flow */
	CU_ASSERT_EQUAL_FATAL(age_bucket(L4, 4, C, SEC), 0);
	CU_ASSERT_EQUAL(syn4(C, 4), XDP_TX);
	CU_ASSERT_EQUAL(syn4(C, 5), XDP_DROP);
	/* half a second: not yet */
	CU_ASSERT_EQUAL_FATAL(age_bucket(L4, 4, C, SEC / 2), 0);
	CU_ASSERT_EQUAL(syn4(C, 6), XDP_DROP);
	/* another half: the halves add up */
	CU_ASSERT_EQUAL_FATAL(age_bucket(L4, 4, C, SEC / 2 + SEC / 100), 0);
	CU_ASSERT_EQUAL(syn4(C, 7), XDP_TX);
	/* ten seconds: the bucket holds its burst, no more */
	CU_ASSERT_EQUAL_FATAL(age_bucket(L4, 4, C, 10 * SEC), 0);
	CU_ASSERT_EQUAL(syn4(C, 8), XDP_TX);
	CU_ASSERT_EQUAL(syn4(C, 12), XDP_TX);
	CU_ASSERT_EQUAL(syn4(C, 13), XDP_DROP);
	CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_LIMIT), drops + 4);
	CU_ASSERT_EQUAL(vip_drops(L4, 1), vd + 4);
	/* off: no flag, nothing limited */
	CU_ASSERT_EQUAL(protect(L4, "limit off"), 0);
	CU_ASSERT_EQUAL(dp_flags(L4) & XLB_VIP_F_LIMIT, 0);
	CU_ASSERT_EQUAL(syn4(C, 14), XDP_TX);
	CU_ASSERT_EQUAL(counter(XLB_STAT_DROP_LIMIT), drops + 4);
}

/* IPv6 clients by their /64; UDP: every datagram that no table knows. */
static void test_limit_v6_udp(void)
{
	const char *dst = "2001:db8:100::2";

	CU_ASSERT_EQUAL_FATAL(protect(L6, "limit 1/s burst 1"), 0);
	CU_ASSERT_EQUAL(send_one(6, "2001:db8:1::2", dst, IPPROTO_UDP, 1, 53, 0), XDP_TX);
	CU_ASSERT_EQUAL(send_one(6, "2001:db8:1::99", dst, IPPROTO_UDP, 2, 53, 0), XDP_DROP);
	CU_ASSERT_EQUAL(send_one(6, "2001:db8:1:0:ffff::1", dst, IPPROTO_UDP, 3, 53, 0), XDP_DROP);
	CU_ASSERT_EQUAL(send_one(6, "2001:db8:1:1::2", dst, IPPROTO_UDP, 4, 53, 0), XDP_TX);
	/* the first flow's next datagram hits the table */
	CU_ASSERT_EQUAL(send_one(6, "2001:db8:1::2", dst, IPPROTO_UDP, 1, 53, 0), XDP_TX);
	CU_ASSERT_EQUAL(vip_drops(L6, 1), 2);
	CU_ASSERT_EQUAL_FATAL(age_bucket(L6, 6, "2001:db8:1::2", SEC), 0);
	CU_ASSERT_EQUAL(send_one(6, "2001:db8:1::99", dst, IPPROTO_UDP, 2, 53, 0), XDP_TX);
	CU_ASSERT_EQUAL(protect(L6, "limit off"), 0);
}

XLB_SUITE(protect_bpf, suite_init, suite_cleanup,
	  {"ACL, IPv4: allow/deny precedence, default deny with an allow list, cleared",
	   test_acl_v4},
	  {"ACL, IPv6: the same with /48, /64 and /128 prefixes", test_acl_v6},
	  {"ACL applies to established flows at once", test_acl_established},
	  {"ACL flag gates the trie; setting an ACL replaces stray entries", test_acl_flag_gates},
	  {"limit: burst, refill, cap; established and non-SYN never limited", test_limit_bucket},
	  {"limit: IPv6 clients by /64, UDP", test_limit_v6_udp})
