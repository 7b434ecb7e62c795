// SPDX-License-Identifier: GPL-2.0
/* test_host_settings.c: the sysctls xlbd checks and sets on its interface,
 * in a private network namespace (kernel defaults: all off). Check-only
 * refuses and changes nothing; fixing sets each, and a second check passes. */
#include <errno.h>
#include <string.h>

#include "xlb_test.h"
#include "bpf_env.h"
#include "host_settings.h"
#include "log.h"

#define IF "xlbh0"

static const char *const setup[] = {
	"ip link add " IF " type veth peer name xlbh1",
	"ip link add xlbh2 type veth peer name xlbh3",
	"sysctl -qw net.ipv6.conf.xlbh2.disable_ipv6=1",
	"ip link add xlbh.4 type veth peer name xlbh5",
	NULL,
};

static int suite_init(void)
{
	return bpf_env_enter(setup);
}

static int suite_cleanup(void)
{
	bpf_env_leave();
	return 0;
}

static const char *value(const char *path)
{
	static char buf[32];

	return xlb_sysctl_read(path, buf, sizeof(buf)) ? "?" : buf;
}

static void test_check_refuses_and_changes_nothing(void)
{
	char err[XLB_ERRLEN] = "";

	CU_ASSERT_EQUAL(xlb_host_settings_apply(IF, 0, err, sizeof(err)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "net.ipv4.conf." IF ".forwarding is 0, xlb needs 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "sysctl -w net.ipv4.conf." IF ".forwarding=1"));
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/" IF "/forwarding"), "0");
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/" IF "/accept_local"), "0");
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/" IF "/forwarding"), "0");
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/" IF "/accept_ra"), "1");
}

static void test_fix_sets_each(void)
{
	char err[XLB_ERRLEN] = "";

	CU_ASSERT_EQUAL(xlb_host_settings_apply(IF, 1, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/" IF "/forwarding"), "1");
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/" IF "/accept_local"), "1");
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/" IF "/forwarding"), "1");
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/" IF "/force_forwarding"), "1");
	/* Router advertisements still accepted on the forwarding interface. */
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/" IF "/accept_ra"), "2");
	/* Nothing global, nothing on other interfaces. */
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/all/forwarding"), "0");
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/all/forwarding"), "0");
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/xlbh1/forwarding"), "0");
	CU_ASSERT_EQUAL(xlb_host_settings_apply(IF, 0, err, sizeof(err)), 0);
}

/* An interface without IPv6 needs only the IPv4 settings. */
static void test_no_ipv6(void)
{
	char err[XLB_ERRLEN] = "";

	CU_ASSERT_EQUAL(xlb_host_settings_apply("xlbh2", 1, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/xlbh2/forwarding"), "1");
	CU_ASSERT_STRING_EQUAL(value("net/ipv6/conf/xlbh2/forwarding"), "0");
	CU_ASSERT_EQUAL(xlb_host_settings_apply("xlbh2", 0, err, sizeof(err)), 0);
}

/* A dot in the interface's name (VLAN devices: eth0.100) is part of the
 * name, not a separator; the fix names it as sysctl(8) wants it. */
static void test_dotted_interface(void)
{
	char err[XLB_ERRLEN] = "";

	CU_ASSERT_EQUAL(xlb_host_settings_apply("xlbh.4", 0, err, sizeof(err)), -EPERM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "sysctl -w net.ipv4.conf.xlbh/4.forwarding=1"));
	CU_ASSERT_EQUAL(xlb_host_settings_apply("xlbh.4", 1, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(value("net/ipv4/conf/xlbh.4/forwarding"), "1");
}

static void test_no_such_interface(void)
{
	char err[XLB_ERRLEN] = "";

	CU_ASSERT_EQUAL(xlb_host_settings_apply("nosuch0", 1, err, sizeof(err)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "net.ipv4.conf.nosuch0.forwarding"));
}

XLB_SUITE(host_settings, suite_init, suite_cleanup,
	  {"check only: refuses, names the fix, changes nothing",
	   test_check_refuses_and_changes_nothing},
	  {"fix: sets each per-interface setting, nothing global", test_fix_sets_each},
	  {"interface without IPv6: IPv4 settings only", test_no_ipv6},
	  {"interface name with a dot: read, set and named as sysctl(8) wants",
	   test_dotted_interface},
	  {"no such interface: an error naming the setting", test_no_such_interface})
