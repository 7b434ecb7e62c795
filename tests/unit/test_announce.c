// SPDX-License-Identifier: GPL-2.0
/* test_announce.c: which VIP addresses are announced and what a sync
 * changes in the announcement table (user/announce_plan.c), with ring
 * membership from the health rules (xlb_hc_ring_members) as xlbd has it. */
#include <string.h>
#include <arpa/inet.h>

#include "announce.h"
#include "announce_plan.h"
#include "health_state.h"
#include "xlb_test.h"

static struct xlb_announce_vip vip4(const char *a, __u32 in_ring)
{
	struct xlb_announce_vip v = {.family = XLB_AF_INET, .n_in_ring = in_ring};

	inet_pton(AF_INET, a, &v.addr.v4);
	return v;
}

static struct xlb_announce_vip vip6(const char *a, __u32 in_ring)
{
	struct xlb_announce_vip v = {.family = XLB_AF_INET6, .n_in_ring = in_ring};

	inet_pton(AF_INET6, a, v.addr.bytes);
	return v;
}

static struct xlb_announce_addr addr_of(struct xlb_announce_vip v)
{
	struct xlb_announce_addr a = {.addr = v.addr, .family = v.family};

	return a;
}

/* How many backends a VIP has in its ring, from up/weight/fail-open. */
static __u32 in_ring(const int *up, const __u32 *w, size_t n, int fail_open)
{
	int in[8];
	__u32 k = 0;

	xlb_hc_ring_members(up, w, n, fail_open, in);
	for (size_t i = 0; i < n; i++)
		k += (__u32)in[i];
	return k;
}

static void test_usable(void)
{
	int up_one[] = {0, 1}, up_none[] = {0, 0};
	__u32 w[] = {1, 1}, w_drain[] = {0, 0}, w_mixed[] = {0, 5};

	CU_ASSERT_TRUE(xlb_announce_vip_usable(in_ring(up_one, w, 2, 0)));
	/* All down: announced only while failing open. */
	CU_ASSERT_FALSE(xlb_announce_vip_usable(in_ring(up_none, w, 2, 0)));
	CU_ASSERT_TRUE(xlb_announce_vip_usable(in_ring(up_none, w, 2, 1)));
	/* All draining (weight 0): nothing takes new flows, even failing open. */
	CU_ASSERT_FALSE(xlb_announce_vip_usable(in_ring(up_one, w_drain, 2, 1)));
	/* The one up backend is draining, the weighted one down. */
	CU_ASSERT_FALSE(xlb_announce_vip_usable(in_ring(up_one + 0, w_mixed, 1, 0)));
	CU_ASSERT_TRUE(xlb_announce_vip_usable(in_ring(up_one, w_mixed, 2, 0)));
	/* No backends at all. */
	CU_ASSERT_FALSE(xlb_announce_vip_usable(in_ring(up_one, w, 0, 1)));
}

static void test_shared_address(void)
{
	struct xlb_announce_vip vips[] = {
	    vip4("198.18.100.1", 0), /* :80, all down */
	    vip4("198.18.100.1", 2), /* :443, usable: the address stays up */
	    vip4("198.18.100.2", 0), /* alone and unusable */
	    vip6("2001:db8:100::1", 1), vip4("198.18.100.3", 1),
	    vip4("198.18.100.3", 1), /* once, however many VIPs */
	};
	struct xlb_announce_addr out[8];
	int n = xlb_announce_wanted(vips, 6, out, 8);

	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_TRUE(
	    xlb_announce_addr_eq(&out[0], &(struct xlb_announce_addr[]){addr_of(vips[1])}[0]));
	CU_ASSERT_TRUE(
	    xlb_announce_addr_eq(&out[1], &(struct xlb_announce_addr[]){addr_of(vips[3])}[0]));
	CU_ASSERT_TRUE(
	    xlb_announce_addr_eq(&out[2], &(struct xlb_announce_addr[]){addr_of(vips[4])}[0]));
	/* Every VIP of an address unusable: withdrawn. */
	vips[1].n_in_ring = 0;
	n = xlb_announce_wanted(vips, 6, out, 8);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(xlb_announce_wanted(vips, 6, out, 1), -E2BIG);
}

/* The same 16 bytes, read as IPv4 (first 4) and IPv6, are other addresses;
 * IPv4 compares its 4 bytes only. */
static void test_family(void)
{
	struct xlb_announce_addr a = {.family = XLB_AF_INET}, b = {.family = XLB_AF_INET6};

	a.addr.v4 = htonl(0xc6126401);
	b.addr.v4 = a.addr.v4;
	CU_ASSERT_FALSE(xlb_announce_addr_eq(&a, &b));
	b = a;
	b.addr.bytes[15] = 7;
	CU_ASSERT_TRUE(xlb_announce_addr_eq(&a, &b));
}

static void test_plan(void)
{
	struct xlb_announce_addr want[3] = {addr_of(vip4("198.18.100.1", 1)),
					    addr_of(vip6("2001:db8:100::1", 1)),
					    addr_of(vip4("198.18.100.5", 1))};
	struct xlb_announce_addr have[3] = {addr_of(vip4("198.18.100.5", 1)),
					    addr_of(vip4("198.18.100.9", 1)),
					    addr_of(vip6("2001:db8:100::1", 1))};
	struct xlb_announce_addr add[3], del[3];
	size_t na, nd;

	xlb_announce_plan(want, 3, have, 3, add, &na, del, &nd);
	CU_ASSERT_EQUAL_FATAL(na, 1);
	CU_ASSERT_EQUAL_FATAL(nd, 1);
	CU_ASSERT_TRUE(xlb_announce_addr_eq(&add[0], &want[0]));
	CU_ASSERT_TRUE(xlb_announce_addr_eq(&del[0], &have[1]));
	/* In step: nothing to do (a restarted xlbd changes nothing). */
	xlb_announce_plan(want, 3, want, 3, add, &na, del, &nd);
	CU_ASSERT_EQUAL(na + nd, 0);
	/* Nothing wanted (detach, every VIP gone): everything goes. */
	xlb_announce_plan(want, 0, have, 3, add, &na, del, &nd);
	CU_ASSERT_EQUAL(na, 0);
	CU_ASSERT_EQUAL(nd, 3);
}

static void test_table_ids(void)
{
	CU_ASSERT_EQUAL(xlb_announce_table_valid(100), 0);
	CU_ASSERT_EQUAL(xlb_announce_table_valid(4294967295UL), 0);
	CU_ASSERT_EQUAL(xlb_announce_table_valid(0), -EINVAL);
	CU_ASSERT_EQUAL(xlb_announce_table_valid(253), -EINVAL);
	CU_ASSERT_EQUAL(xlb_announce_table_valid(254), -EINVAL);
	CU_ASSERT_EQUAL(xlb_announce_table_valid(255), -EINVAL);
}

XLB_SUITE(announce, NULL, NULL, {"ring members make a VIP usable", test_usable},
	  {"an address shared by VIPs is announced while any is usable", test_shared_address},
	  {"IPv4 and IPv6 addresses never match", test_family},
	  {"the plan adds the missing and removes the unwanted", test_plan},
	  {"table ids: not 0 or the kernel's own", test_table_ids})
