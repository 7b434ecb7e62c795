// SPDX-License-Identifier: GPL-2.0
/* test_decap.c: the backends' decapsulation program (bpf/xlb_decap.bpf.c) run
 * through BPF_PROG_TEST_RUN on fixture tables {description, frame, expected
 * action, expected bytes, expected counter}, plus truncation sweeps of every
 * tunnel kind. Needs root (loads the real object).
 *
 * The program accepts tunnels from LB4/LB6 and the prefixes LB_NET4/LB_NET6
 * (--from) carrying packets to OURS4/OURS6 or the VIP ranges (the local
 * routes), filled through user/decap.c as xlb-decap fills them.
 *
 * Expected output of a decapsulation: the inner frame as pkt_build made it,
 * with the Ethernet addresses of the *received* (encapsulated) frame: the
 * program keeps the L2 header, only its ethertype follows the inner family.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/CUnit.h>

#include "addr.h"
#include "decap.h"
#include "local_routes.h"
#include "log.h"
#include "xlb.h"
#include "xlb_decap.h"
#include "xlb_decap.skel.h"
#include "xlb_test.h"
#include "pkt.h"

/* The backend under test holds OURS4/OURS6; the LB sends from LB4/LB6. */
#define CLIENT4 "198.18.1.10"
#define VIP4	"198.18.100.1"
#define LB4	"198.18.0.2"
#define OURS4	"198.18.0.11"
#define OTHER4	"198.18.0.12"
#define CLIENT6 "2001:db8:1::10"
#define VIP6	"2001:db8:100::1"
#define LB6	"2001:db8::2"
#define OURS6	"2001:db8::11"
#define OTHER6	"2001:db8::12"
/* OURS4's four bytes as the first word of an IPv6 address: the family in the
 * key must keep it apart from OURS4. */
#define OURS4_AS6 "c612:b::"
/* --from holds LB4, LB6 and these prefixes; STRANGER4/6 are outside it. */
#define LB_NET4	   "198.18.2.0/24"
#define LB_IN_NET4 "198.18.2.77"
#define LB_NET6	   "2001:db8:2::/48"
#define LB_IN_NET6 "2001:db8:2:5::9"
#define STRANGER4  "198.18.0.3"
#define STRANGER6  "2001:db8::3"
/* LB4's bytes as an IPv6 source: an IPv4 prefix must not cover it. */
#define LB4_AS6 "c612:2::"
/* Local routes: our addresses and the VIP ranges on lo (as the lab has them:
 * `ip route add local 198.18.100.0/24 dev lo`). NOT_LOCAL4/6 lie outside. */
#define VIP_NET4   "198.18.100.0/24"
#define VIP_NET6   "2001:db8:100::/64"
#define VIP_OTHER4 "198.18.100.77"
#define NOT_LOCAL4 "198.18.101.1"
#define NOT_LOCAL6 "2001:db8:101::1"
/* VIP4's bytes as an IPv6 destination: the IPv4 VIP range must not cover it. */
#define VIP4_AS6 "c612:6401::"

#define ECN_ECT1 0x1
#define ECN_ECT0 0x2
#define ECN_CE	 0x3

/* MACs of the encapsulated frames: from the LB's router to this backend. */
static const __u8 lb_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x0a};
static const __u8 backend_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x0b};

static struct xlb_decap_bpf *skel;
static struct xlb_decap_maps maps;
static int prog_fd, stats_fd;
static libbpf_print_fn_t old_print;

static const char *stat_names[] = {
#define XLB_DECAP_STAT_NAME(name, str, help) str,
    XLB_DECAP_STATS(XLB_DECAP_STAT_NAME)
#undef XLB_DECAP_STAT_NAME
};

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int add_addr(int family, const char *text)
{
	struct xlb_decap_key key = {0};
	struct xlb_decap_addr val = {.ifindex = 1};

	key.family = family == 6 ? XLB_AF_INET6 : XLB_AF_INET;
	if (inet_pton(family == 6 ? AF_INET6 : AF_INET, text, key.addr.bytes) != 1)
		return -1;
	return bpf_map_update_elem(bpf_map__fd(skel->maps.xlb_decap_addrs), &key, &val, BPF_ANY);
}

/* Parses a comma-separated list into the map through set (the library's
 * xlb_decap_set_from or _set_local). */
static int set_list(int (*set)(const struct xlb_decap_maps *, const struct xlb_prefix *, size_t),
		    const char *list)
{
	struct xlb_prefix p[16];
	char err[XLB_ERRLEN];
	int n = xlb_prefix_list_parse(list, p, 16, err, sizeof(err));

	if (n < 0) {
		fprintf(stderr, "test_decap: %s\n", err);
		return -1;
	}
	return set(&maps, p, (size_t)n);
}

#define FROM_LIST  LB4 "," LB6 "," LB_NET4 "," LB_NET6
#define LOCAL_LIST OURS4 "," OURS6 ",127.0.0.0/8," VIP_NET4 "," VIP_NET6

static int suite_init(void)
{
	old_print = libbpf_set_print(silent);
	skel = xlb_decap_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "test_decap: cannot load xlb_decap (root needed): %s\n",
			strerror(errno));
		return -1;
	}
	prog_fd = bpf_program__fd(skel->progs.xlb_decap);
	stats_fd = bpf_map__fd(skel->maps.xlb_decap_stats);
	if (add_addr(4, OURS4) || add_addr(6, OURS6) || add_addr(4, "127.0.0.1"))
		return -1;
	if (xlb_decap_maps_from_obj(skel->obj, &maps) || set_list(xlb_decap_set_from, FROM_LIST) ||
	    set_list(xlb_decap_set_local, LOCAL_LIST))
		return -1;
	return 0;
}

static int suite_cleanup(void)
{
	xlb_decap_maps_close(&maps);
	xlb_decap_bpf__destroy(skel);
	skel = NULL;
	libbpf_set_print(old_print);
	return 0;
}

/* Counters summed over CPUs. */
static void read_stats(struct xlb_counter out[__XLB_DECAP_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct xlb_counter percpu[ncpu];

	for (__u32 i = 0; i < __XLB_DECAP_STAT_MAX; i++) {
		out[i].packets = out[i].bytes = 0;
		if (bpf_map_lookup_elem(stats_fd, &i, percpu))
			continue;
		for (int c = 0; c < ncpu; c++) {
			out[i].packets += percpu[c].packets;
			out[i].bytes += percpu[c].bytes;
		}
	}
}

/* Runs one frame; checks action, output bytes and that exactly counter `stat`
 * moved, by one packet of in->len bytes. Returns 0 if all held. */
static int run_frame(const char *what, const __u8 *in, size_t in_len, __u32 want_action,
		     const __u8 *want, size_t want_len, int stat)
{
	struct xlb_counter before[__XLB_DECAP_STAT_MAX], after[__XLB_DECAP_STAT_MAX];
	__u8 out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)in_len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int bad = 0, err;

	read_stats(before);
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err) {
		fprintf(stderr, "\n%s: BPF_PROG_TEST_RUN failed: %s\n", what, strerror(-err));
		return 1;
	}
	read_stats(after);
	if (opts.retval != want_action) {
		fprintf(stderr, "\n%s: action %u, want %u\n", what, opts.retval, want_action);
		bad = 1;
	}
	bad |= pkt_diff(what, out, opts.data_size_out, want, want_len);
	for (int i = 0; i < __XLB_DECAP_STAT_MAX; i++) {
		__u64 dp = after[i].packets - before[i].packets;
		__u64 db = after[i].bytes - before[i].bytes;
		__u64 wp = i == stat ? 1 : 0;

		if (dp != wp || db != wp * in_len) {
			fprintf(
			    stderr,
			    "\n%s: counter %s moved by %llu packets/%llu bytes, want %llu/%llu\n",
			    what, stat_names[i], (unsigned long long)dp, (unsigned long long)db,
			    (unsigned long long)wp, (unsigned long long)(wp * in_len));
			bad = 1;
		}
	}
	return bad;
}

/* ---- frame builders ---------------------------------------------------- */

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static void refresh_csum4(__u8 *iph)
{
	put16(iph + 10, 0);
	put16(iph + 10, pkt_csum(iph, (size_t)(iph[0] & 0xf) * 4, 0));
}

/* A client packet to the VIP of the given family. */
static struct pkt_spec client(int family, __u8 proto)
{
	struct pkt_spec s = {
	    .family = family,
	    .src = family == 6 ? CLIENT6 : CLIENT4,
	    .dst = family == 6 ? VIP6 : VIP4,
	    .proto = proto,
	    .sport = 40000,
	    .dport = proto == IPPROTO_UDP ? 53 : 80,
	    .payload_len = 100,
	};
	return s;
}

/* in = spec encapsulated in outer_family from src towards dst; want = spec
 * itself with the received frame's MACs. */
static int tunnel_from(struct pkt *in, struct pkt *want, const struct pkt_spec *spec,
		       int outer_family, const char *src, const char *dst)
{
	if (pkt_build(in, spec) || pkt_build(want, spec))
		return -1;
	if (pkt_encap(in, outer_family, src, dst, 0x12345, lb_mac, backend_mac))
		return -1;
	memcpy(want->data, backend_mac, 6);
	memcpy(want->data + 6, lb_mac, 6);
	return 0;
}

/* The same from the load balancer's own address. */
static int tunnel(struct pkt *in, struct pkt *want, const struct pkt_spec *spec, int outer_family,
		  const char *dst)
{
	return tunnel_from(in, want, spec, outer_family, outer_family == 6 ? LB6 : LB4, dst);
}

/* Inserts n bytes of IPv4 options (NOPs, then EOL) into the outer header. */
static void add_outer_opts(struct pkt *p, size_t n)
{
	size_t l3 = pkt_l3_off(p);
	__u8 *iph = p->data + l3;

	memmove(iph + 20 + n, iph + 20, p->len - l3 - 20);
	memset(iph + 20, 1, n);
	iph[20 + n - 1] = 0; /* end of option list */
	iph[0] = (__u8)(0x40 | (20 + n) / 4);
	put16(iph + 2, (__u16)(get16(iph + 2) + n));
	refresh_csum4(iph);
	p->len += n;
}

/* Sets the ECN field of the outer header (IPv4 or IPv6) and fixes its checksum. */
static void set_outer_ecn(struct pkt *p, __u8 ecn)
{
	__u8 *l3 = p->data + pkt_l3_off(p);

	if (l3[0] >> 4 == 4) {
		l3[1] = (__u8)((l3[1] & ~3) | ecn);
		refresh_csum4(l3);
	} else {
		l3[1] = (__u8)((l3[1] & ~0x30) | ecn << 4);
	}
}

/* ---- fixture table ------------------------------------------------------ */

struct decap_case {
	const char *name;
	/* Fills in and want; want->len 0 means "the input, byte-identical". */
	int (*build)(struct pkt *in, struct pkt *want);
	__u32 action;
	int stat;
};

#define TUNNEL_CASE(fn, fam, proto, vlan_id, outer, dst)                                           \
	static int fn(struct pkt *in, struct pkt *want)                                            \
	{                                                                                          \
		struct pkt_spec s = client(fam, proto);                                            \
		s.vlan = vlan_id;                                                                  \
		return tunnel(in, want, &s, outer, dst);                                           \
	}

TUNNEL_CASE(ipip_udp, 4, IPPROTO_UDP, 0, 4, OURS4)
TUNNEL_CASE(ipip_tcp, 4, IPPROTO_TCP, 0, 4, OURS4)
TUNNEL_CASE(ip6ip6_tcp, 6, IPPROTO_TCP, 0, 6, OURS6)
TUNNEL_CASE(ip6ip6_udp, 6, IPPROTO_UDP, 0, 6, OURS6)
TUNNEL_CASE(v4in6_udp, 4, IPPROTO_UDP, 0, 6, OURS6)
TUNNEL_CASE(v6in4_tcp, 6, IPPROTO_TCP, 0, 4, OURS4)
TUNNEL_CASE(vlan_ipip, 4, IPPROTO_TCP, 100, 4, OURS4)
TUNNEL_CASE(vlan_v4in6, 4, IPPROTO_UDP, 4094, 6, OURS6)
TUNNEL_CASE(vlan_ip6ip6, 6, IPPROTO_TCP, 7, 6, OURS6)

static int ipip_df(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_TCP);

	s.frag = 0x4000; /* DF, copied to the outer header: not a fragment */
	return tunnel(in, want, &s, 4, OURS4);
}

static int ipip_inner_fragment(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_UDP);

	s.frag = 0x2000; /* inner MF: the kernel reassembles the inner packet */
	return tunnel(in, want, &s, 4, OURS4);
}

static int ipip_opts4(struct pkt *in, struct pkt *want)
{
	int err = ipip_udp(in, want);

	add_outer_opts(in, 4);
	return err;
}

static int ipip_opts40(struct pkt *in, struct pkt *want)
{
	int err = vlan_ipip(in, want);

	add_outer_opts(in, 40);
	return err;
}

/* A frame shorter than 60 bytes arrives padded; the padding stays behind the
 * inner packet, which the kernel trims to the IP length. */
static int ipip_padded(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, 253 /* RFC 3692 experimental: no L4 header */);
	size_t pad;
	int err;

	s.payload_len = 4;
	err = tunnel(in, want, &s, 4, OURS4);
	pad = 60 - in->len;
	memset(in->data + in->len, 0xee, pad);
	memset(want->data + want->len, 0xee, pad);
	in->len += pad;
	want->len += pad;
	return err;
}

static int ecn_case(struct pkt *in, struct pkt *want, int inner, int outer, __u8 in_ecn,
		    __u8 out_ecn, __u8 want_ecn)
{
	struct pkt_spec s = client(inner, IPPROTO_TCP), w = s;
	int err;

	s.tos = (__u8)(0xb8 | in_ecn); /* DSCP EF, kept */
	w.tos = (__u8)(0xb8 | want_ecn);
	err = tunnel(in, want, &s, outer, outer == 6 ? OURS6 : OURS4);
	set_outer_ecn(in, out_ecn);
	/* pkt_build computes the inner checksum with the new ECN itself. */
	err |= pkt_build(want, &w);
	memcpy(want->data, backend_mac, 6);
	memcpy(want->data + 6, lb_mac, 6);
	return err;
}

static int ecn_ce_ect0_v4(struct pkt *in, struct pkt *want)
{
	return ecn_case(in, want, 4, 4, ECN_ECT0, ECN_CE, ECN_CE);
}

static int ecn_ce_ect1_v6in6(struct pkt *in, struct pkt *want)
{
	return ecn_case(in, want, 6, 6, ECN_ECT1, ECN_CE, ECN_CE);
}

static int ecn_ect1_ect0_v4in6(struct pkt *in, struct pkt *want)
{
	return ecn_case(in, want, 4, 6, ECN_ECT0, ECN_ECT1, ECN_ECT1);
}

static int ecn_notect_ce_inner(struct pkt *in, struct pkt *want)
{
	return ecn_case(in, want, 4, 4, ECN_CE, 0, ECN_CE);
}

static int ecn_ce_over_notect(struct pkt *in, struct pkt *want)
{
	int err = ecn_case(in, want, 4, 4, 0, ECN_CE, 0);

	want->len = 0;
	return err;
}

/* From inside a --from prefix rather than one of its addresses, and to
 * another VIP of a local range. */
static int ipip_from_net(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_TCP);

	s.dst = VIP_OTHER4;
	return tunnel_from(in, want, &s, 4, LB_IN_NET4, OURS4);
}

static int ip6ip6_from_net(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(6, IPPROTO_UDP);

	return tunnel_from(in, want, &s, 6, LB_IN_NET6, OURS6);
}

/* ---- refused ------------------------------------------------------------ */

/* Outer source src: not from a load balancer, passed as it came. */
static int from_source(struct pkt *in, struct pkt *want, int inner, int outer, const char *src)
{
	struct pkt_spec s = client(inner, IPPROTO_TCP);
	int err = tunnel_from(in, want, &s, outer, src, outer == 6 ? OURS6 : OURS4);

	want->len = 0;
	return err;
}

static int ipip_stranger(struct pkt *in, struct pkt *want)
{
	return from_source(in, want, 4, 4, STRANGER4);
}

static int ip6ip6_stranger(struct pkt *in, struct pkt *want)
{
	return from_source(in, want, 6, 6, STRANGER6);
}

static int v4in6_stranger(struct pkt *in, struct pkt *want)
{
	return from_source(in, want, 4, 6, STRANGER6);
}

static int v6in4_stranger(struct pkt *in, struct pkt *want)
{
	return from_source(in, want, 6, 4, STRANGER4);
}

static int v4in6_lb4_bytes(struct pkt *in, struct pkt *want)
{
	return from_source(in, want, 4, 6, LB4_AS6);
}

static int ipip_stranger_vlan(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_UDP);
	int err;

	s.vlan = 42;
	err = tunnel_from(in, want, &s, 4, "203.0.113.9", OURS4);
	want->len = 0;
	return err;
}

/* From a load balancer, to an inner destination that is not ours: dropped,
 * the frame as it came. */
static int to_inner(struct pkt *in, struct pkt *want, int inner, int outer, const char *dst)
{
	struct pkt_spec s = client(inner, IPPROTO_UDP);
	int err;

	s.dst = dst;
	err = tunnel(in, want, &s, outer, outer == 6 ? OURS6 : OURS4);
	want->len = 0;
	return err;
}

static int ipip_not_local(struct pkt *in, struct pkt *want)
{
	return to_inner(in, want, 4, 4, NOT_LOCAL4);
}

static int ip6ip6_not_local(struct pkt *in, struct pkt *want)
{
	return to_inner(in, want, 6, 6, NOT_LOCAL6);
}

static int v4in6_not_local(struct pkt *in, struct pkt *want)
{
	return to_inner(in, want, 4, 6, NOT_LOCAL4);
}

static int v6in4_vip4_bytes(struct pkt *in, struct pkt *want)
{
	return to_inner(in, want, 6, 4, VIP4_AS6);
}

/* The other end of the backend's own network: a relay, not a VIP. */
static int ipip_to_neighbour(struct pkt *in, struct pkt *want)
{
	return to_inner(in, want, 4, 4, OTHER4);
}

/* ---- passed untouched --------------------------------------------------- */

static int plain(struct pkt *in, struct pkt *want, int family, __u8 proto, const char *dst)
{
	struct pkt_spec s = client(family, proto);

	s.dst = dst;
	want->len = 0;
	return pkt_build(in, &s);
}

static int plain_udp4(struct pkt *in, struct pkt *want)
{
	return plain(in, want, 4, IPPROTO_UDP, OURS4);
}

static int plain_tcp6(struct pkt *in, struct pkt *want)
{
	return plain(in, want, 6, IPPROTO_TCP, OURS6);
}

static int gre4(struct pkt *in, struct pkt *want)
{
	return plain(in, want, 4, 47, OURS4);
}

static int icmp6(struct pkt *in, struct pkt *want)
{
	return plain(in, want, 6, IPPROTO_ICMPV6, OURS6);
}

/* IPIP behind a hop-by-hop header: xlb never sends it; not stripped. */
static int ipip_behind_hbh(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(6, IPPROTO_IPIP);

	s.dst = OURS6;
	s.v6_ext = 0;
	s.v6_ext_present = 1;
	want->len = 0;
	return pkt_build(in, &s);
}

static int arp(struct pkt *in, struct pkt *want)
{
	/* clang-format off */
	static const __u8 frame[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 1, 0x0a, 0x08, 0x06, /* eth */
		0, 1, 0x08, 0, 6, 4, 0, 1,                                             /* request */
		0x02, 0, 0, 0, 1, 0x0a, 198, 18, 0, 2,                                 /* sender */
		0, 0, 0, 0, 0, 0, 198, 18, 0, 11,                                      /* target */
	};
	/* clang-format on */

	memcpy(in->data, frame, sizeof(frame));
	in->len = sizeof(frame);
	want->len = 0;
	return 0;
}

static int untouched(int (*build)(struct pkt *, struct pkt *), struct pkt *in, struct pkt *want)
{
	int err = build(in, want);

	want->len = 0;
	return err;
}

TUNNEL_CASE(ipip_not_ours_raw, 4, IPPROTO_UDP, 0, 4, OTHER4)
TUNNEL_CASE(ip6ip6_not_ours_raw, 6, IPPROTO_UDP, 0, 6, OTHER6)
TUNNEL_CASE(v4in6_family_raw, 4, IPPROTO_UDP, 0, 6, OURS4_AS6)
TUNNEL_CASE(vlan_v4in6_not_ours_raw, 4, IPPROTO_TCP, 5, 6, OTHER6)

static int ipip_not_ours(struct pkt *in, struct pkt *want)
{
	return untouched(ipip_not_ours_raw, in, want);
}

static int ip6ip6_not_ours(struct pkt *in, struct pkt *want)
{
	return untouched(ip6ip6_not_ours_raw, in, want);
}

static int v4in6_family(struct pkt *in, struct pkt *want)
{
	return untouched(v4in6_family_raw, in, want);
}

static int vlan_v4in6_not_ours(struct pkt *in, struct pkt *want)
{
	return untouched(vlan_v4in6_not_ours_raw, in, want);
}

static int outer_mf(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	put16(iph + 6, 0x2000); /* more fragments, offset 0 */
	refresh_csum4(iph);
	return err;
}

static int outer_offset(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	put16(iph + 6, 0x0010); /* last fragment, offset 128 bytes */
	refresh_csum4(iph);
	return err;
}

static int outer_frag6(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(6, IPPROTO_IPV6);

	s.dst = OURS6;
	s.v6_ext = IPPROTO_FRAGMENT;
	s.v6_ext_present = 1;
	want->len = 0;
	return pkt_build(in, &s);
}

/* ---- malformed: counted, passed untouched -------------------------------- */

static int bad_outer_ihl(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	iph[0] = 0x44;
	refresh_csum4(iph);
	return err;
}

/* IHL 2 with every field placed so that, if the IHL were believed, the
 * "header" checksums and the next 20 bytes parse as an inner IPv4 header: only
 * the IHL check stands between this frame and a bogus decap. */
static int bad_outer_ihl2(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);
	__u32 sum;

	iph[0] = 0x42;
	iph[8] = 0x45;				      /* TTL, read as the inner version/IHL */
	put16(iph + 10, (__u16)(get16(iph + 2) - 8)); /* checksum field = inner length */
	put16(iph + 4, 0);
	sum = get16(iph) + get16(iph + 2) + get16(iph + 6);
	sum = (sum & 0xffff) + (sum >> 16);
	put16(iph + 4, (__u16)~sum); /* the 8 "header" bytes now sum to 0xffff */
	return err;
}

static int bad_outer_version(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	iph[0] = 0x65;
	return err;
}

static int bad_outer_csum(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_tcp, in, want);

	in->data[pkt_l3_off(in) + 10] ^= 0x40;
	return err;
}

static int bad_outer_csum_opts(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_opts40, in, want);

	in->data[pkt_l3_off(in) + 20 + 39] = 7; /* an option byte, checksum stale */
	return err;
}

static int outer_len_short(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	/* Outer length one byte short of the inner packet. */
	put16(iph + 2, (__u16)(get16(iph + 2) - 1));
	refresh_csum4(iph);
	return err;
}

static int outer_len_below_hdr(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	put16(iph + 2, 19);
	refresh_csum4(iph);
	return err;
}

static int outer_len_long(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	put16(iph + 2, (__u16)(get16(iph + 2) + 1));
	refresh_csum4(iph);
	return err;
}

static int inner_version_mismatch(struct pkt *in, struct pkt *want)
{
	int err = untouched(v6in4_tcp, in, want);
	__u8 *iph = in->data + pkt_l3_off(in);

	iph[9] = IPPROTO_IPIP; /* says IPv4, carries IPv6 */
	refresh_csum4(iph);
	return err;
}

static int inner_version_mismatch6(struct pkt *in, struct pkt *want)
{
	int err = untouched(ip6ip6_udp, in, want);

	in->data[pkt_l3_off(in) + 6] = IPPROTO_IPIP;
	return err;
}

static int inner_ihl(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);

	in->data[pkt_l3_off(in) + 20] = 0x44;
	return err;
}

static int inner_len_long(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *inner = in->data + pkt_l3_off(in) + 20;

	put16(inner + 2, (__u16)(get16(inner + 2) + 1));
	return err;
}

static int inner_len_below_hdr(struct pkt *in, struct pkt *want)
{
	int err = untouched(ipip_udp, in, want);
	__u8 *inner = in->data + pkt_l3_off(in) + 20;

	put16(inner + 2, 16);
	return err;
}

static int outer6_len_long(struct pkt *in, struct pkt *want)
{
	int err = untouched(v4in6_udp, in, want);
	__u8 *ip6 = in->data + pkt_l3_off(in);

	put16(ip6 + 4, (__u16)(get16(ip6 + 4) + 1));
	return err;
}

static int inner6_len_long(struct pkt *in, struct pkt *want)
{
	int err = untouched(ip6ip6_tcp, in, want);
	__u8 *inner = in->data + pkt_l3_off(in) + 40;

	put16(inner + 4, (__u16)(get16(inner + 4) + 1));
	return err;
}

static int outer6_jumbo(struct pkt *in, struct pkt *want)
{
	int err = untouched(ip6ip6_tcp, in, want);

	put16(in->data + pkt_l3_off(in) + 4, 0); /* jumbogram without HBH */
	return err;
}

static int inner_version6(struct pkt *in, struct pkt *want)
{
	int err = untouched(ip6ip6_tcp, in, want);
	__u8 *inner = in->data + pkt_l3_off(in) + 40;

	inner[0] = (__u8)(0x40 | (inner[0] & 0x0f));
	return err;
}

#define DECAP(fn, text)                                                                            \
	{                                                                                          \
		text, fn, XDP_PASS, XLB_DECAP_STAT_DECAP                                           \
	}
#define PASS(fn, text, stat)                                                                       \
	{                                                                                          \
		text, fn, XDP_PASS, XLB_DECAP_STAT_##stat                                          \
	}

/* ---- second chance ------------------------------------------------------ */

/* in = spec in a hinted tunnel from the LB to dst, naming hint; want = the
 * frame forwarded to hint: the tunnel without the hint, addressed to hint,
 * from the LB still, MACs swapped (back where it came from). */
static int hinted_forward(struct pkt *in, struct pkt *want, const struct pkt_spec *spec,
			  int outer, const char *dst, const char *hint)
{
	const char *lb = outer == 6 ? LB6 : LB4;

	if (pkt_build(in, spec) || pkt_build(want, spec) ||
	    pkt_encap(in, outer, lb, dst, 0x12345, lb_mac, backend_mac) ||
	    pkt_encap(want, outer, lb, hint, 0x12345, backend_mac, lb_mac))
		return -1;
	return pkt_add_hint(in, hint);
}

/* No socket here for the flow (nothing listens on port 80 in the test's
 * namespace): forwarded. */
static int hint4_forward(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_TCP);

	return hinted_forward(in, want, &s, 4, OURS4, OTHER4);
}

static int hint6_forward(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(6, IPPROTO_TCP);

	return hinted_forward(in, want, &s, 6, OURS6, OTHER6);
}

static int hint4in6_forward(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_TCP);

	return hinted_forward(in, want, &s, 6, OURS6, OTHER6);
}

static int hint_vlan_forward(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_TCP);

	s.vlan = 100;
	return hinted_forward(in, want, &s, 4, OURS4, OTHER4);
}

/* Hinted, but the stripped packet is what the host gets: a UDP flow (the
 * LB never hints UDP; a hint on it is not followed), or a hint naming this
 * host itself. */
static int hinted_local(struct pkt *in, struct pkt *want, const struct pkt_spec *spec, int outer,
			const char *hint)
{
	int err = tunnel(in, want, spec, outer, outer == 6 ? OURS6 : OURS4);

	return err ? err : pkt_add_hint(in, hint);
}

static int hint4_udp(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_UDP);

	return hinted_local(in, want, &s, 4, OTHER4);
}

static int hint6_self(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(6, IPPROTO_TCP);

	return hinted_local(in, want, &s, 6, OURS6);
}

/* The checks before the hint still hold: a stranger's hinted tunnel is
 * refused, one to an inner destination not local dropped. */
static int hint4_stranger(struct pkt *in, struct pkt *want)
{
	struct pkt_spec s = client(4, IPPROTO_TCP);
	int err = tunnel_from(in, want, &s, 4, STRANGER4, OURS4);

	if (err || pkt_add_hint(in, OTHER4))
		return -1;
	want->len = 0;
	return err;
}

static int hint4_not_local(struct pkt *in, struct pkt *want)
{
	int err = ipip_not_local(in, want);

	if (err || pkt_add_hint(in, OTHER4))
		return -1;
	want->len = 0;
	return err;
}

/* Another IPv6 destination options header than the LB's: not a tunnel of
 * xlb's, passed. */
static int dstopts6_other(struct pkt *in, struct pkt *want)
{
	int err = untouched(ip6ip6_tcp, in, want);

	if (err || pkt_add_hint(in, OTHER6))
		return -1;
	in->data[pkt_l3_off(in) + 42] = 0x3e; /* another option type */
	return err;
}

/* An 8-byte IPv4 option that is not the hint: stripped with the header as
 * any option is. */
static int ipip_other_opt8(struct pkt *in, struct pkt *want)
{
	int err = ipip_tcp(in, want);
	__u8 *ip = in->data + pkt_l3_off(in);

	if (err || pkt_add_hint(in, OTHER4))
		return -1;
	ip[20] = 0x9e;
	refresh_csum4(ip);
	return err;
}

static const struct decap_case decap_cases[] = {
    DECAP(ipip_udp, "IPIP, inner UDP"),
    DECAP(ipip_tcp, "IPIP, inner TCP"),
    DECAP(ipip_df, "IPIP with DF (not a fragment)"),
    DECAP(ipip_inner_fragment, "IPIP carrying an inner fragment"),
    DECAP(ip6ip6_tcp, "IP6IP6, inner TCP"),
    DECAP(ip6ip6_udp, "IP6IP6, inner UDP"),
    DECAP(v4in6_udp, "4in6: family changes, ethertype follows"),
    DECAP(v6in4_tcp, "6in4 (IPv4 protocol 41)"),
    DECAP(vlan_ipip, "VLAN 100, IPIP: tag kept"),
    DECAP(vlan_v4in6, "VLAN 4094, 4in6: ethertype inside the tag follows"),
    DECAP(vlan_ip6ip6, "VLAN 7, IP6IP6"),
    DECAP(ipip_opts4, "outer IPv4 with 4 option bytes"),
    DECAP(ipip_opts40, "VLAN, outer IPv4 with 40 option bytes (IHL 15)"),
    DECAP(ipip_padded, "60-byte frame with Ethernet padding: padding kept after the inner packet"),
    DECAP(ecn_ce_ect0_v4, "ECN: outer CE over inner ECT(0) -> inner CE, checksum updated"),
    DECAP(ecn_ce_ect1_v6in6, "ECN: outer CE over inner ECT(1), IPv6 -> inner CE"),
    DECAP(ecn_ect1_ect0_v4in6, "ECN: outer ECT(1) over inner ECT(0) -> ECT(1)"),
    DECAP(ecn_notect_ce_inner, "ECN: outer not-ECT over inner CE -> CE kept"),
    DECAP(ipip_from_net, "IPIP from inside a --from IPv4 prefix, to another VIP of a local range"),
    DECAP(ip6ip6_from_net, "IP6IP6 from inside a --from IPv6 prefix"),
    {"ECN: outer CE over inner not-ECT -> dropped (RFC 6040)", ecn_ce_over_notect, XDP_DROP,
     XLB_DECAP_STAT_DROP_ECN},
    PASS(plain_udp4, "plain IPv4 UDP to us", PASS_NOT_TUNNEL),
    PASS(plain_tcp6, "plain IPv6 TCP to us", PASS_NOT_TUNNEL),
    PASS(gre4, "GRE to us", PASS_NOT_TUNNEL),
    PASS(icmp6, "ICMPv6 to us", PASS_NOT_TUNNEL),
    PASS(arp, "ARP request", PASS_NOT_TUNNEL),
    PASS(ipip_behind_hbh, "IPv6 hop-by-hop header, then IPIP", PASS_NOT_TUNNEL),
    PASS(ipip_not_ours, "IPIP to another host", PASS_NOT_LOCAL),
    PASS(ip6ip6_not_ours, "IP6IP6 to another host", PASS_NOT_LOCAL),
    PASS(v4in6_family, "4in6 to our IPv4 address's bytes as IPv6", PASS_NOT_LOCAL),
    PASS(vlan_v4in6_not_ours, "VLAN, 4in6 to another host", PASS_NOT_LOCAL),
    PASS(ipip_stranger, "IPIP from a source outside --from", REFUSE_SOURCE),
    PASS(ip6ip6_stranger, "IP6IP6 from a source outside --from", REFUSE_SOURCE),
    PASS(v4in6_stranger, "4in6 from a source outside --from", REFUSE_SOURCE),
    PASS(v6in4_stranger, "6in4 from a source outside --from", REFUSE_SOURCE),
    PASS(v4in6_lb4_bytes, "4in6 from the LB's IPv4 address's bytes as IPv6", REFUSE_SOURCE),
    PASS(ipip_stranger_vlan, "VLAN, IPIP from a source outside --from", REFUSE_SOURCE),
    {"IPIP from the LB to an inner destination not local -> dropped", ipip_not_local, XDP_DROP,
     XLB_DECAP_STAT_REFUSE_INNER},
    {"IP6IP6 from the LB to an inner destination not local -> dropped", ip6ip6_not_local, XDP_DROP,
     XLB_DECAP_STAT_REFUSE_INNER},
    {"4in6 from the LB to an inner destination not local -> dropped", v4in6_not_local, XDP_DROP,
     XLB_DECAP_STAT_REFUSE_INNER},
    {"6in4 to the IPv4 VIP range's bytes as IPv6 -> dropped", v6in4_vip4_bytes, XDP_DROP,
     XLB_DECAP_STAT_REFUSE_INNER},
    {"IPIP from the LB relaying to a neighbour -> dropped", ipip_to_neighbour, XDP_DROP,
     XLB_DECAP_STAT_REFUSE_INNER},
    PASS(outer_mf, "outer IPv4 first fragment (MF)", PASS_FRAGMENT),
    PASS(outer_offset, "outer IPv4 later fragment (offset)", PASS_FRAGMENT),
    PASS(outer_frag6, "outer IPv6 fragment header, then IPv6", PASS_FRAGMENT),
    PASS(bad_outer_ihl, "outer IHL 4", MALFORMED),
    PASS(bad_outer_ihl2, "outer IHL 2 that would parse as a tunnel", MALFORMED),
    PASS(bad_outer_version, "ethertype IPv4, version 6", MALFORMED),
    PASS(bad_outer_csum, "outer IPv4 checksum wrong", MALFORMED),
    PASS(bad_outer_csum_opts, "outer IPv4 checksum wrong in the options", MALFORMED),
    PASS(outer_len_short, "outer length shorter than the inner packet", MALFORMED),
    PASS(outer_len_below_hdr, "outer length below its header", MALFORMED),
    PASS(outer_len_long, "outer length beyond the frame", MALFORMED),
    PASS(inner_version_mismatch, "protocol 4 carrying IPv6", MALFORMED),
    PASS(inner_version_mismatch6, "next header 4 carrying IPv6", MALFORMED),
    PASS(inner_version6, "next header 41 carrying IPv4", MALFORMED),
    PASS(inner_ihl, "inner IHL 4", MALFORMED),
    PASS(inner_len_long, "inner length beyond the outer payload", MALFORMED),
    PASS(inner_len_below_hdr, "inner length below its header", MALFORMED),
    PASS(outer6_len_long, "outer IPv6 payload length beyond the frame", MALFORMED),
    PASS(inner6_len_long, "inner IPv6 payload length beyond the outer payload", MALFORMED),
    PASS(outer6_jumbo, "outer IPv6 payload length 0", MALFORMED),
    {"hinted IPIP, no socket for the flow -> forwarded to the hint, hint removed", hint4_forward,
     XDP_TX, XLB_DECAP_STAT_FORWARD},
    {"hinted IP6IP6, no socket -> forwarded, destination options removed", hint6_forward, XDP_TX,
     XLB_DECAP_STAT_FORWARD},
    {"hinted 4in6, no socket -> forwarded", hint4in6_forward, XDP_TX, XLB_DECAP_STAT_FORWARD},
    {"hinted IPIP behind a VLAN tag, no socket -> forwarded, tag kept", hint_vlan_forward, XDP_TX,
     XLB_DECAP_STAT_FORWARD},
    {"hinted IPIP carrying UDP -> stripped here (hints are for TCP)", hint4_udp, XDP_PASS,
     XLB_DECAP_STAT_HINT_LOCAL},
    {"hinted IP6IP6 naming this host -> stripped here", hint6_self, XDP_PASS,
     XLB_DECAP_STAT_HINT_LOCAL},
    {"IPIP with another 8-byte option -> stripped as before", ipip_other_opt8, XDP_PASS,
     XLB_DECAP_STAT_DECAP},
    PASS(hint4_stranger, "hinted IPIP from a source outside --from", REFUSE_SOURCE),
    {"hinted IPIP to an inner destination not local -> dropped", hint4_not_local, XDP_DROP,
     XLB_DECAP_STAT_REFUSE_INNER},
    PASS(dstopts6_other, "IPv6 destination options not the hint's", PASS_NOT_TUNNEL),
};

static int run_case(const struct decap_case *c)
{
	static struct pkt in, want;

	memset(&want, 0, sizeof(want));
	if (c->build(&in, &want)) {
		fprintf(stderr, "\n%s: builder failed\n", c->name);
		return 1;
	}
	if (!want.len)
		want = in;
	return run_frame(c->name, in.data, in.len, c->action, want.data, want.len, c->stat);
}

/* Runs the table's cases that decapsulate (decap 1) or those that must leave
 * the frame as it came (decap 0). */
static void run_table(int decap)
{
	for (size_t i = 0; i < sizeof(decap_cases) / sizeof(decap_cases[0]); i++) {
		const struct decap_case *c = &decap_cases[i];
		int strips = c->stat == XLB_DECAP_STAT_DECAP || c->stat == XLB_DECAP_STAT_DROP_ECN ||
			     c->stat == XLB_DECAP_STAT_HINT_LOCAL || c->stat == XLB_DECAP_STAT_FORWARD;

		if (strips == decap)
			CU_ASSERT(!run_case(c));
	}
}

static void test_decapsulates(void)
{
	run_table(1);
}

static void test_passes_untouched(void)
{
	run_table(0);
}

/* Every prefix of a valid tunnel frame (from the 14 bytes BPF_PROG_TEST_RUN
 * accepts at least) is malformed: passed byte-identical, counted once. */
static void sweep_to(int (*build)(struct pkt *, struct pkt *), const char *what, __u32 action,
		     int stat)
{
	static struct pkt in, want;
	char name[128];
	int failures = 0;

	CU_ASSERT_FATAL(!build(&in, &want));
	for (size_t len = 14; len < in.len; len++) {
		snprintf(name, sizeof(name), "%s truncated to %zu of %zu bytes", what, len, in.len);
		if (run_frame(name, in.data, len, XDP_PASS, in.data, len, XLB_DECAP_STAT_MALFORMED))
			failures++;
	}
	/* And the whole frame still decapsulates. */
	failures += run_frame(what, in.data, in.len, action, want.data, want.len, stat);
	CU_ASSERT_EQUAL(failures, 0);
}

static void sweep(int (*build)(struct pkt *, struct pkt *), const char *what)
{
	sweep_to(build, what, XDP_PASS, XLB_DECAP_STAT_DECAP);
}

static void test_truncated_hinted(void)
{
	sweep_to(hint4_forward, "hinted IPIP", XDP_TX, XLB_DECAP_STAT_FORWARD);
	sweep_to(hint6_forward, "hinted IP6IP6", XDP_TX, XLB_DECAP_STAT_FORWARD);
}

/* A hinted tunnel whose flow has a socket here is stripped (hint_local);
 * a listener on the port alone does not hold the flow: forwarded. The
 * socket is a real TCP connection over lo in the test's namespace (the
 * inner destination 127.0.0.1 is in the local routes). */
static void test_hint_socket(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct pkt in, want, fwd;
	struct pkt_spec s = client(4, IPPROTO_TCP);
	int l, c;
	__u16 lport, cport;

	l = socket(AF_INET, SOCK_STREAM, 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(l >= 0 && c >= 0);
	CU_ASSERT_FATAL(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 4) == 0);
	CU_ASSERT_FATAL(getsockname(l, (struct sockaddr *)&a, &alen) == 0);
	lport = ntohs(a.sin_port);
	CU_ASSERT_FATAL(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
	CU_ASSERT_FATAL(getsockname(c, (struct sockaddr *)&a, &alen) == 0);
	cport = ntohs(a.sin_port);

	/* The client's packet to the server: the server's socket holds it. */
	s.src = s.dst = "127.0.0.1";
	s.sport = cport;
	s.dport = lport;
	CU_ASSERT_FATAL(tunnel(&in, &want, &s, 4, OURS4) == 0);
	CU_ASSERT_FATAL(pkt_add_hint(&in, OTHER4) == 0);
	CU_ASSERT(!run_frame("hinted, established socket here -> stripped", in.data, in.len,
			     XDP_PASS, want.data, want.len, XLB_DECAP_STAT_HINT_LOCAL));
	/* Another client port: only the listener matches. */
	s.sport = (__u16)(cport + 1 == lport ? cport + 2 : cport + 1);
	CU_ASSERT_FATAL(hinted_forward(&in, &fwd, &s, 4, OURS4, OTHER4) == 0);
	CU_ASSERT(!run_frame("hinted, only a listener here -> forwarded", in.data, in.len, XDP_TX,
			     fwd.data, fwd.len, XLB_DECAP_STAT_FORWARD));
	close(c);
	close(l);
}

static void test_truncated_ipip(void)
{
	sweep(ipip_udp, "IPIP");
}

static void test_truncated_ip6ip6(void)
{
	sweep(ip6ip6_tcp, "IP6IP6");
}

static void test_truncated_4in6(void)
{
	sweep(v4in6_udp, "4in6");
}

static void test_truncated_6in4(void)
{
	sweep(v6in4_tcp, "6in4");
}

static void test_truncated_vlan(void)
{
	sweep(vlan_v4in6, "VLAN 4in6");
	sweep(vlan_ipip, "VLAN IPIP");
}

static void test_truncated_options(void)
{
	sweep(ipip_opts40, "IPIP with IHL 15");
}

/* The map decides: an address removed from it stops decapsulation, adding it
 * back resumes it (what `xlb-decap attach` relies on when refreshing). */
static void test_address_map(void)
{
	static struct pkt in, want;
	struct xlb_decap_key key = {0};
	struct xlb_decap_addr val = {0};
	int fd = bpf_map__fd(skel->maps.xlb_decap_addrs);

	CU_ASSERT_FATAL(!ipip_udp(&in, &want));
	key.family = XLB_AF_INET;
	CU_ASSERT_FATAL(inet_pton(AF_INET, OURS4, key.addr.bytes) == 1);
	CU_ASSERT_FATAL(!bpf_map_delete_elem(fd, &key));
	CU_ASSERT(!run_frame("IPIP after the address left the map", in.data, in.len, XDP_PASS,
			     in.data, in.len, XLB_DECAP_STAT_PASS_NOT_LOCAL));
	CU_ASSERT_FATAL(!bpf_map_update_elem(fd, &key, &val, BPF_ANY));
	CU_ASSERT(!run_frame("IPIP after the address came back", in.data, in.len, XDP_PASS,
			     want.data, want.len, XLB_DECAP_STAT_DECAP));
}

/* --from is a set that attach replaces: a source dropped from it is refused,
 * put back it is accepted again; the same for the local routes. */
static void test_from_and_local_maps(void)
{
	static struct pkt in, want;

	CU_ASSERT_FATAL(!ipip_udp(&in, &want));
	CU_ASSERT_FATAL(!set_list(xlb_decap_set_from, LB6 "," LB_NET4));
	CU_ASSERT(!run_frame("IPIP after LB4 left --from", in.data, in.len, XDP_PASS, in.data,
			     in.len, XLB_DECAP_STAT_REFUSE_SOURCE));
	CU_ASSERT_FATAL(!set_list(xlb_decap_set_from, FROM_LIST));
	CU_ASSERT(!run_frame("IPIP after LB4 came back to --from", in.data, in.len, XDP_PASS,
			     want.data, want.len, XLB_DECAP_STAT_DECAP));

	CU_ASSERT_FATAL(!set_list(xlb_decap_set_local, OURS4 "," VIP_NET6));
	CU_ASSERT(!run_frame("IPIP after the IPv4 VIP range left the local routes", in.data, in.len,
			     XDP_DROP, in.data, in.len, XLB_DECAP_STAT_REFUSE_INNER));
	CU_ASSERT_FATAL(!set_list(xlb_decap_set_local, LOCAL_LIST));
	CU_ASSERT(!run_frame("IPIP after the IPv4 VIP range came back", in.data, in.len, XDP_PASS,
			     want.data, want.len, XLB_DECAP_STAT_DECAP));
}

/* The local routes come from table local: lo's 127.0.0.0/8 and 127.0.0.1
 * are there (type local), its broadcast 127.255.255.255 (type broadcast) and
 * the main table's routes are not. */
static void test_local_routes(void)
{
	static struct xlb_prefix p[XLB_DECAP_MAX_LOCAL];
	int n = xlb_local_routes(p, XLB_DECAP_MAX_LOCAL);
	int net8 = 0, host = 0, bcast = 0, other_len = 0;
	char buf[XLB_ADDR_STRLEN];

	CU_ASSERT_FATAL(n > 0);
	for (int i = 0; i < n; i++) {
		xlb_prefix_format(&p[i], buf, sizeof(buf));
		net8 |= !strcmp(buf, "127.0.0.0/8");
		host |= !strcmp(buf, "127.0.0.1/32");
		bcast |= !strcmp(buf, "127.255.255.255/32");
		/* A default route would open everything. */
		other_len |= p[i].len == 0;
	}
	CU_ASSERT(net8);
	CU_ASSERT(host);
	CU_ASSERT(!bcast);
	CU_ASSERT(!other_len);
	/* Too small an array is refused rather than cut short. */
	CU_ASSERT_EQUAL(xlb_local_routes(p, 1), -E2BIG);
}

XLB_SUITE(decap, suite_init, suite_cleanup,
	  {"tunnel frames for us are stripped to the inner frame", test_decapsulates},
	  {"everything else leaves byte-identical (refused inner destinations dropped), counted by "
	   "reason",
	   test_passes_untouched},
	  {"truncated IPIP at every length", test_truncated_ipip},
	  {"truncated IP6IP6 at every length", test_truncated_ip6ip6},
	  {"truncated 4in6 at every length", test_truncated_4in6},
	  {"truncated 6in4 at every length", test_truncated_6in4},
	  {"truncated VLAN-tagged tunnels at every length", test_truncated_vlan},
	  {"truncated outer IPv4 with options at every length", test_truncated_options},
	  {"truncated hinted tunnels at every length", test_truncated_hinted},
	  {"hinted: a socket of the flow keeps it here, a listener does not", test_hint_socket},
	  {"the address map decides what is ours", test_address_map},
	  {"--from and the local routes decide, replaced as sets", test_from_and_local_maps},
	  {"local routes: table local's type-local prefixes only", test_local_routes});
