// SPDX-License-Identifier: GPL-2.0
/* test_addr.c: the address, VIP and endpoint parsers (user/addr.h), the only
 * place where text meets network byte order: good inputs with their exact
 * wire values, bad inputs with their exact error text, print -> parse. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"
#include "expect.h"
#include "log.h"
#include "xlb_test.h"

/* The 16 address bytes as the data plane keys hold them. */
#define V4(a, b, c, d)                                                                             \
	{                                                                                          \
		a, b, c, d                                                                         \
	}
#define DB8(...)                                                                                   \
	{                                                                                          \
		0x20, 0x01, 0x0d, 0xb8, __VA_ARGS__                                                \
	}

static void expect_bytes(const char *tcase, const __u8 *got, const __u8 *want)
{
	char g[XLB_ADDR_STRLEN], w[XLB_ADDR_STRLEN];

	if (!memcmp(got, want, 16)) {
		CU_PASS("address bytes");
		return;
	}
	inet_ntop(AF_INET6, got, g, sizeof(g));
	inet_ntop(AF_INET6, want, w, sizeof(w));
	expect_str(tcase, "address bytes (as IPv6)", g, w);
}

static const struct {
	const char *text;
	__u8 family;
	__u8 bytes[16];
	const char *printed; /* canonical form */
} addr_good[] = {
    {"198.18.0.1", XLB_AF_INET, V4(198, 18, 0, 1), "198.18.0.1"},
    {"0.0.0.0", XLB_AF_INET, V4(0, 0, 0, 0), "0.0.0.0"},
    {"255.255.255.255", XLB_AF_INET, V4(255, 255, 255, 255), "255.255.255.255"},
    {"2001:db8::1", XLB_AF_INET6, DB8([15] = 1), "2001:db8::1"},
    {"[2001:db8::1]", XLB_AF_INET6, DB8([15] = 1), "2001:db8::1"},
    {"2001:DB8:0:0:0:0:0:21", XLB_AF_INET6, DB8([15] = 0x21), "2001:db8::21"},
    {"2001:db8:100::1", XLB_AF_INET6, DB8(0x01, 0x00, [15] = 1), "2001:db8:100::1"},
    {"::", XLB_AF_INET6, {0}, "::"},
    {"::ffff:198.18.0.1", XLB_AF_INET6, {[10] = 0xff, 0xff, 198, 18, 0, 1}, "::ffff:198.18.0.1"},
};

/* xlb_addr_parse gives no message: its callers word the error. */
static const char *const addr_bad[] = {
    "",
    "198.18.0.256",
    "198.18.0",
    "198.18.0.1.",
    "198.18.0.1:80",
    " 198.18.0.1",
    "198.18.0.1 ",
    "2001:db8::1::2",
    "2001:db8::g",
    "[2001:db8::1",
    "2001:db8::1]",
    "[]",
    "[[2001:db8::1]]",
    "localhost",
    "[2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:1111:2222:3333:4444:5555]",
};

static void test_addr_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(addr_good); i++) {
		const char *t = addr_good[i].text;
		char printed[XLB_ADDR_STRLEN];
		union xlb_addr a;
		__u8 family = 0;

		memset(&a, 0xa5, sizeof(a));
		expect_int(t, "xlb_addr_parse", xlb_addr_parse(t, &a, &family), 0);
		expect_int(t, "family", family, addr_good[i].family);
		/* IPv4 fills the first 4 bytes and zeroes the rest. */
		expect_bytes(t, a.bytes, addr_good[i].bytes);
		xlb_addr_format(&a, family, printed, sizeof(printed));
		expect_str(t, "printed", printed, addr_good[i].printed);
	}
	for (size_t i = 0; i < ARRAY_SIZE(addr_bad); i++) {
		union xlb_addr a;
		__u8 family = 0;

		expect_int(addr_bad[i], "xlb_addr_parse", xlb_addr_parse(addr_bad[i], &a, &family),
			   -EINVAL);
	}
}

static const struct {
	const char *text;
	__u8 family;
	__u8 bytes[16];
	__u16 port; /* host order */
	__u8 proto;
	const char *printed;
} vip_good[] = {
    {"198.18.100.1:80/tcp", XLB_AF_INET, V4(198, 18, 100, 1), 80, IPPROTO_TCP,
     "198.18.100.1:80/tcp"},
    {"198.18.100.2:0/udp", XLB_AF_INET, V4(198, 18, 100, 2), 0, IPPROTO_UDP, "198.18.100.2:0/udp"},
    {"198.18.100.3:65535/udp", XLB_AF_INET, V4(198, 18, 100, 3), 65535, IPPROTO_UDP,
     "198.18.100.3:65535/udp"},
    {"198.18.100.4:0080/tcp", XLB_AF_INET, V4(198, 18, 100, 4), 80, IPPROTO_TCP,
     "198.18.100.4:80/tcp"},
    {"[2001:db8:100::1]:443/tcp", XLB_AF_INET6, DB8(0x01, 0x00, [15] = 1), 443, IPPROTO_TCP,
     "[2001:db8:100::1]:443/tcp"},
    {"[2001:DB8:100:0::1]:0/udp", XLB_AF_INET6, DB8(0x01, 0x00, [15] = 1), 0, IPPROTO_UDP,
     "[2001:db8:100::1]:0/udp"},
    /* 258 = 0x0102: the byte order shows in the key. */
    {"198.18.100.5:258/tcp", XLB_AF_INET, V4(198, 18, 100, 5), 258, IPPROTO_TCP,
     "198.18.100.5:258/tcp"},
};

static const struct {
	const char *text;
	const char *err;
} vip_bad[] = {
    {"198.18.100.300:80/tcp", "bad VIP address '198.18.100.300', expected an IPv4 or IPv6 address"},
    {":80/tcp", "bad VIP address '', expected an IPv4 or IPv6 address"},
    {"198.18.100.9:65536/tcp",
     "bad port '65536' in VIP '198.18.100.9:65536/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:-1/tcp",
     "bad port '-1' in VIP '198.18.100.9:-1/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:/tcp",
     "bad port '' in VIP '198.18.100.9:/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:8a/tcp",
     "bad port '8a' in VIP '198.18.100.9:8a/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:+80/tcp",
     "bad port '+80' in VIP '198.18.100.9:+80/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9: 80/tcp",
     "bad port ' 80' in VIP '198.18.100.9: 80/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:-0/tcp",
     "bad port '-0' in VIP '198.18.100.9:-0/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:0x50/tcp",
     "bad port '0x50' in VIP '198.18.100.9:0x50/tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:80 /tcp",
     "bad port '80 ' in VIP '198.18.100.9:80 /tcp', expected 0-65535 (0 = all ports)"},
    {"198.18.100.9:80/sctp",
     "bad protocol 'sctp' in VIP '198.18.100.9:80/sctp', expected tcp or udp"},
    {"198.18.100.9:80/TCP", "bad protocol 'TCP' in VIP '198.18.100.9:80/TCP', expected tcp or udp"},
    {"198.18.100.9:80/", "bad protocol '' in VIP '198.18.100.9:80/', expected tcp or udp"},
    {"198.18.100.9:80",
     "bad VIP '198.18.100.9:80', expected ADDR:PORT/PROTO with PROTO tcp or udp"},
    {"198.18.100.9:123456789/tcp",
     "bad VIP '198.18.100.9:123456789/tcp', expected ADDR:PORT/PROTO with PROTO tcp or udp"},
    {"198.18.100.9/tcp", "bad VIP '198.18.100.9/tcp', expected ADDR:PORT/PROTO, e.g. "
			 "198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp"},
    {"2001:db8::9:80/tcp", "bad VIP '2001:db8::9:80/tcp', expected ADDR:PORT/PROTO, e.g. "
			   "198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp"},
    {"[2001:db8::9:80/tcp", "bad VIP '[2001:db8::9:80/tcp', expected ADDR:PORT/PROTO, e.g. "
			    "198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp"},
    {"[2001:db8::9]80/tcp", "bad VIP '[2001:db8::9]80/tcp', expected ADDR:PORT/PROTO, e.g. "
			    "198.18.100.1:80/tcp or [2001:db8:100::1]:443/udp"},
    {"", "bad VIP '', expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp or "
	 "[2001:db8:100::1]:443/udp"},
};

static void test_vip_key_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(vip_good); i++) {
		const char *t = vip_good[i].text;
		char err[256] = "", printed[XLB_ADDR_STRLEN];
		struct xlb_vip_key k, again;

		memset(&k, 0xa5, sizeof(k));
		expect_int(t, "xlb_vip_key_parse", xlb_vip_key_parse(t, &k, err, sizeof(err)), 0);
		expect_str(t, "no error text", err, "");
		expect_int(t, "family", k.family, vip_good[i].family);
		expect_bytes(t, k.addr.bytes, vip_good[i].bytes);
		expect_int(t, "port (network order)", k.port, htons(vip_good[i].port));
		expect_int(t, "proto", k.proto, vip_good[i].proto);
		xlb_vip_key_format(&k, printed, sizeof(printed));
		expect_str(t, "printed", printed, vip_good[i].printed);
		/* The printed form parses to the same key, padding included:
		 * the data plane hashes all 20 bytes. */
		expect_int(t, "reparse", xlb_vip_key_parse(printed, &again, err, sizeof(err)), 0);
		expect_int(t, "reparse gives the same key", memcmp(&k, &again, sizeof(k)), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(vip_bad); i++) {
		char err[256] = "";
		struct xlb_vip_key k;

		expect_int(vip_bad[i].text, "xlb_vip_key_parse",
			   xlb_vip_key_parse(vip_bad[i].text, &k, err, sizeof(err)), -EINVAL);
		expect_str(vip_bad[i].text, "error text", err, vip_bad[i].err);
	}
}

static const struct {
	const char *text;
	__u8 family;
	__u8 bytes[16];
	__u16 port;
} ep_good[] = {
    {"198.18.1.2:40000", XLB_AF_INET, V4(198, 18, 1, 2), 40000},
    {"198.18.1.2:1", XLB_AF_INET, V4(198, 18, 1, 2), 1},
    {"198.18.1.2:65535", XLB_AF_INET, V4(198, 18, 1, 2), 65535},
    {"[2001:db8:1::2]:40000", XLB_AF_INET6, DB8(0x00, 0x01, [15] = 2), 40000},
};

static const struct {
	const char *text;
	const char *err;
} ep_bad[] = {
    {"198.18.1.1", "bad endpoint '198.18.1.1', expected ADDR:PORT, e.g. 198.18.1.2:40000 or "
		   "[2001:db8:1::2]:40000"},
    {"2001:db8::1:5", "bad endpoint '2001:db8::1:5', expected ADDR:PORT, e.g. 198.18.1.2:40000 "
		      "or [2001:db8:1::2]:40000"},
    {"198.18.1.300:5", "bad endpoint '198.18.1.300:5', expected ADDR:PORT, e.g. "
		       "198.18.1.2:40000 or [2001:db8:1::2]:40000"},
    {"[2001:db8::1]", "bad endpoint '[2001:db8::1]', expected ADDR:PORT, e.g. 198.18.1.2:40000 "
		      "or [2001:db8:1::2]:40000"},
    {"198.18.1.1:0", "bad port '0' in '198.18.1.1:0', expected 1-65535"},
    {"198.18.1.1:65536", "bad port '65536' in '198.18.1.1:65536', expected 1-65535"},
    {"198.18.1.1:", "bad port '' in '198.18.1.1:', expected 1-65535"},
    {"[2001:db8::1]:x", "bad port 'x' in '[2001:db8::1]:x', expected 1-65535"},
    {"198.18.1.1:+80", "bad port '+80' in '198.18.1.1:+80', expected 1-65535"},
    {"198.18.1.1: 80", "bad port ' 80' in '198.18.1.1: 80', expected 1-65535"},
    {"198.18.1.1:-80", "bad port '-80' in '198.18.1.1:-80', expected 1-65535"},
    {"198.18.1.1:\t80", "bad port '\t80' in '198.18.1.1:\t80', expected 1-65535"},
};

static void test_endpoint_parse(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(ep_good); i++) {
		const char *t = ep_good[i].text;
		char err[256] = "";
		union xlb_addr a;
		__u8 family = 0;
		__be16 port = 0;

		expect_int(t, "xlb_endpoint_parse",
			   xlb_endpoint_parse(t, &a, &family, &port, err, sizeof(err)), 0);
		expect_str(t, "no error text", err, "");
		expect_int(t, "family", family, ep_good[i].family);
		expect_bytes(t, a.bytes, ep_good[i].bytes);
		expect_int(t, "port (network order)", port, htons(ep_good[i].port));
	}
	for (size_t i = 0; i < ARRAY_SIZE(ep_bad); i++) {
		char err[256] = "";
		union xlb_addr a;
		__u8 family;
		__be16 port;

		expect_int(ep_bad[i].text, "xlb_endpoint_parse",
			   xlb_endpoint_parse(ep_bad[i].text, &a, &family, &port, err, sizeof(err)),
			   -EINVAL);
		expect_str(ep_bad[i].text, "error text", err, ep_bad[i].err);
	}
}

/* Keys built from wire values print in the form the parser reads back. */
static void test_format_parse(void)
{
	static const struct {
		__u8 family;
		__u8 bytes[16];
		__u16 port;
		__u8 proto;
		const char *printed;
	} keys[] = {
	    {XLB_AF_INET, V4(198, 18, 100, 9), 0, IPPROTO_UDP, "198.18.100.9:0/udp"},
	    {XLB_AF_INET, V4(198, 18, 100, 9), 8080, IPPROTO_TCP, "198.18.100.9:8080/tcp"},
	    {XLB_AF_INET6, DB8([15] = 0x99), 53, IPPROTO_UDP, "[2001:db8::99]:53/udp"},
	    {XLB_AF_INET6,
	     DB8(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 65535,
	     IPPROTO_TCP, "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/tcp"},
	};
	char buf[XLB_ADDR_STRLEN], err[256];

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct xlb_vip_key k = {0}, back;

		memcpy(k.addr.bytes, keys[i].bytes, 16);
		k.family = keys[i].family;
		k.port = htons(keys[i].port);
		k.proto = keys[i].proto;
		xlb_vip_key_format(&k, buf, sizeof(buf));
		expect_str(keys[i].printed, "printed", buf, keys[i].printed);
		expect_int(buf, "parse", xlb_vip_key_parse(buf, &back, err, sizeof(err)), 0);
		expect_int(buf, "same key", memcmp(&k, &back, sizeof(k)), 0);
	}
	/* The longest VIP fits XLB_ADDR_STRLEN. */
	expect_int("longest VIP", "length", strlen(keys[3].printed) < XLB_ADDR_STRLEN, 1);
	expect_str("proto names", "tcp", xlb_proto_name(IPPROTO_TCP), "tcp");
	expect_str("proto names", "udp", xlb_proto_name(IPPROTO_UDP), "udp");
	expect_str("proto names", "other", xlb_proto_name(IPPROTO_SCTP), "?");
}

static void test_longest_print_whole(void)
{
	static const char vip[] = "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535/tcp";
	static const char ep[] = "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535";
	char out[XLB_ADDR_STRLEN], err[XLB_ERRLEN];
	struct xlb_vip_key key;
	union xlb_addr a;
	__be16 port;
	__u8 fam;

	CU_ASSERT_FATAL(xlb_vip_key_parse(vip, &key, err, sizeof(err)) == 0);
	xlb_vip_key_format(&key, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, vip);
	CU_ASSERT_FATAL(xlb_endpoint_parse(ep, &a, &fam, &port, err, sizeof(err)) == 0);
	xlb_endpoint_format(&a, fam, port, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, ep);
}

/* Prefixes (xlb-decap --from, source ACLs): canonical text back, bits
 * beyond the length refused with the prefix that was meant. */
static void test_prefix_parse(void)
{
	static const struct {
		const char *in, *printed, *err;
	} cases[] = {
	    {"198.18.0.0/24", "198.18.0.0/24", NULL},
	    {"198.18.0.2", "198.18.0.2/32", NULL},
	    {"2001:db8::/32", "2001:db8::/32", NULL},
	    {"0.0.0.0/0", "0.0.0.0/0", NULL},
	    {"198.18.0.1/24", NULL,
	     "prefix '198.18.0.1/24' has bits set beyond /24, expected 198.18.0.0/24"},
	    {"198.18.0.0/33", NULL, "bad prefix length in '198.18.0.0/33', expected /0-32"},
	    {"2001:db8::/+64", NULL, "bad prefix length in '2001:db8::/+64', expected /0-128"},
	    {"nonsense/8", NULL,
	     "bad prefix 'nonsense/8', expected an IPv4 or IPv6 address with an optional /LEN, "
	     "e.g. 198.18.0.0/24 or 2001:db8::2"},
	};
	char err[XLB_ERRLEN], out[XLB_ADDR_STRLEN];
	struct xlb_prefix p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = xlb_prefix_parse(cases[i].in, &p, err, sizeof(err));

		if (cases[i].err) {
			expect_int(cases[i].in, "refused", ret, -EINVAL);
			expect_str(cases[i].in, "error", err, cases[i].err);
			continue;
		}
		expect_int(cases[i].in, "parsed", ret, 0);
		xlb_prefix_format(&p, out, sizeof(out));
		expect_str(cases[i].in, "printed", out, cases[i].printed);
	}
}

/* xlb-decap's --from: every item through xlb_prefix_parse, its errors kept;
 * no empty item, no more than the map holds. */
static void test_prefix_list_parse(void)
{
	static const struct {
		const char *in;
		int ret;
		const char *printed; /* the prefixes, space-separated; or the error */
	} cases[] = {
	    {"198.18.0.2", 1, "198.18.0.2/32"},
	    {"198.18.0.2,2001:db8::2", 2, "198.18.0.2/32 2001:db8::2/128"},
	    {"198.18.0.0/24,[2001:db8::]/64,10.0.0.1", 3,
	     "198.18.0.0/24 2001:db8::/64 10.0.0.1/32"},
	    {"0.0.0.0/0,::/0", 2, "0.0.0.0/0 ::/0"},
	    {"", -EINVAL,
	     "empty prefix in '', expected PREFIX[,PREFIX...], e.g. 198.18.0.2,2001:db8::/64"},
	    {"198.18.0.2,", -EINVAL,
	     "empty prefix in '198.18.0.2,', expected PREFIX[,PREFIX...], e.g. "
	     "198.18.0.2,2001:db8::/64"},
	    {",198.18.0.2", -EINVAL,
	     "empty prefix in ',198.18.0.2', expected PREFIX[,PREFIX...], e.g. "
	     "198.18.0.2,2001:db8::/64"},
	    {"198.18.0.2,,2001:db8::2", -EINVAL,
	     "empty prefix in '198.18.0.2,,2001:db8::2', expected PREFIX[,PREFIX...], e.g. "
	     "198.18.0.2,2001:db8::/64"},
	    {"198.18.0.2, 2001:db8::2", -EINVAL,
	     "bad prefix ' 2001:db8::2', expected an IPv4 or IPv6 address with an optional /LEN, "
	     "e.g. 198.18.0.0/24 or 2001:db8::2"},
	    {"198.18.0.1/24", -EINVAL,
	     "prefix '198.18.0.1/24' has bits set beyond /24, expected 198.18.0.0/24"},
	    {"198.18.0.2,2001:db8::/129", -EINVAL,
	     "bad prefix length in '2001:db8::/129', expected /0-128"},
	    {"1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", -E2BIG,
	     "too many prefixes in '1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4', at most 3"},
	    {"198.18.0.2,0123456789abcdef0123456789abcdef0123456789abcdef0123456789", -EINVAL,
	     "bad prefix '0123456789abcdef0123456789abcdef0123456789abcdef0123456789', expected an "
	     "IPv4 or IPv6 address with an optional /LEN, e.g. 198.18.0.0/24 or 2001:db8::2"},
	};
	char err[XLB_ERRLEN], one[XLB_ADDR_STRLEN], all[256];
	struct xlb_prefix p[3];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		err[0] = 0;
		ret = xlb_prefix_list_parse(cases[i].in, p, 3, err, sizeof(err));
		expect_int(cases[i].in, "result", ret, cases[i].ret);
		if (ret < 0) {
			expect_str(cases[i].in, "error", err, cases[i].printed);
			continue;
		}
		all[0] = 0;
		for (int k = 0; k < ret; k++) {
			xlb_prefix_format(&p[k], one, sizeof(one));
			snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", k ? " " : "",
				 one);
		}
		expect_str(cases[i].in, "prefixes", all, cases[i].printed);
	}
}

XLB_SUITE(addr, NULL, NULL, {"addr parse: good, bad, printed", test_addr_parse},
	  {"VIP parse: wire values and every error", test_vip_key_parse},
	  {"endpoint parse: wire values and every error", test_endpoint_parse},
	  {"VIP format -> parse round trip", test_format_parse},
	  {"longest VIP and endpoint print whole", test_longest_print_whole},
	  {"prefix parse: canonical, every error", test_prefix_parse},
	  {"prefix list parse (xlb-decap --from): lists, every error", test_prefix_list_parse});
