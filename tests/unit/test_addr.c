// SPDX-License-Identifier: GPL-2.0
/* test_addr.c: VIPs and endpoints print back to the text they were parsed
 * from, even at their longest (save writes them into the rules file). */
#include <string.h>

#include "addr.h"
#include "log.h"
#include "xlb_test.h"

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

XLB_SUITE(addr, NULL, NULL, {"longest VIP and endpoint print whole", test_longest_print_whole});
