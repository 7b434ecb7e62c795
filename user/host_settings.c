// SPDX-License-Identifier: GPL-2.0
/* host_settings.c: the sysctls the data plane depends on. bpf_fib_lookup()
 * refuses to resolve a next hop on an interface that does not forward
 * (BPF_FIB_LKUP_RET_FWD_DISABLED), and packets xlb encapsulates and passes to
 * the kernel (next hop not resolved yet, VLAN-tagged, egress not xlb's) are
 * forwarded by the kernel, with this host's address as outer source. Every
 * host's default is off for all of these, which made a fresh xlbd drop
 * every VIP packet without a word. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host_settings.h"
#include "log.h"

struct setting {
	const char *fmt; /* under /proc/sys, %s: the interface */
	const char *want;
	const char *why;
};

static const struct setting v4_settings[] = {
	{"net/ipv4/conf/%s/forwarding", "1",
	 "bpf_fib_lookup resolves IPv4 next hops only on a forwarding interface, and the "
	 "kernel forwards what xlb passes to it only from one"},
	{"net/ipv4/conf/%s/accept_local", "1",
	 "encapsulated packets xlb passes to the kernel carry this host's own address as "
	 "source, which IPv4 drops as martian otherwise"},
};

static const struct setting v6_settings[] = {
	{"net/ipv6/conf/%s/forwarding", "1",
	 "bpf_fib_lookup resolves IPv6 next hops only on a forwarding interface"},
};

/* Kernels from 6.17 forward IPv6 received on one interface without turning
 * forwarding on for all (which would also stop every interface accepting
 * router advertisements). */
static const struct setting v6_force = {
	"net/ipv6/conf/%s/force_forwarding", "1",
	"the kernel forwards the IPv6 packets xlb passes to it (next hop not resolved yet) "
	"only when this interface is forced to forward or all interfaces forward"};

/* The name sysctl(8) takes for a /proc/sys path: separators become dots
 * and a dot inside a component (an interface such as eth0.100) a slash. */
static void dotted(const char *path, char *out, size_t len)
{
	size_t i;

	for (i = 0; path[i] && i + 1 < len; i++)
		out[i] = path[i] == '/' ? '.' : path[i] == '.' ? '/' : path[i];
	out[i] = '\0';
}

int xlb_sysctl_read(const char *path, char *buf, size_t len)
{
	char file[256];
	ssize_t n;
	int fd;

	snprintf(file, sizeof(file), "/proc/sys/%s", path);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

static int sysctl_write(const char *path, const char *value)
{
	char file[256];
	size_t n = strlen(value);
	int fd, ret = 0;

	snprintf(file, sizeof(file), "/proc/sys/%s", path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		ret = -errno;
	close(fd);
	return ret;
}

/* One setting: right already, set (fix), or reported. Returns 0 when it
 * holds, -EPERM (check only) or -errno (cannot set) otherwise. */
static int apply(const struct setting *s, const char *ifname, int fix, char *err, size_t errlen)
{
	char path[160], name[160], have[32];
	int ret;

	snprintf(path, sizeof(path), s->fmt, ifname);
	dotted(path, name, sizeof(name));
	ret = xlb_sysctl_read(path, have, sizeof(have));
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot read %s: %s", name, strerror(-ret));
	if (!strcmp(have, s->want))
		return 0;
	if (!fix) {
		xlb_errf(-EPERM, err, errlen,
			 "%s is %s, xlb needs %s: %s. Fix: sysctl -w %s=%s (or start without "
			 "--no-sysctl and xlbd sets it)",
			 name, have, s->want, s->why, name, s->want);
		pr_err("%s", err);
		return -EPERM;
	}
	ret = sysctl_write(path, s->want);
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot set %s=%s (%s): %s", name, s->want,
				s->why, strerror(-ret));
	pr_info("sysctl %s: %s -> %s (%s)", name, have, s->want, s->why);
	return 0;
}

/* Forwarding stops an interface accepting router advertisements unless
 * accept_ra is 2: keep a host that configures itself from them as it was. */
static int keep_router_advertisements(const char *ifname, char *err, size_t errlen)
{
	static const struct setting ra = {
	    "net/ipv6/conf/%s/accept_ra", "2",
	    "forwarding would stop the interface accepting router advertisements; 2 keeps "
	    "them as before"};
	char path[160], have[32];

	snprintf(path, sizeof(path), "net/ipv6/conf/%s/forwarding", ifname);
	if (xlb_sysctl_read(path, have, sizeof(have)) || !strcmp(have, "1"))
		return 0;
	snprintf(path, sizeof(path), "net/ipv6/conf/%s/accept_ra", ifname);
	if (xlb_sysctl_read(path, have, sizeof(have)) || strcmp(have, "1"))
		return 0;
	return apply(&ra, ifname, 1, err, errlen);
}

static int apply_v6(const char *ifname, int fix, char *err, size_t errlen)
{
	char path[160], have[32];
	int ret, first = 0;

	snprintf(path, sizeof(path), "net/ipv6/conf/%s/disable_ipv6", ifname);
	if (xlb_sysctl_read(path, have, sizeof(have)) || !strcmp(have, "1"))
		return 0; /* no IPv6 on the interface: nothing of it to forward */
	if (fix && (ret = keep_router_advertisements(ifname, err, errlen)))
		return ret;
	for (size_t i = 0; i < sizeof(v6_settings) / sizeof(v6_settings[0]); i++) {
		ret = apply(&v6_settings[i], ifname, fix, err, errlen);
		if (ret && ret != -EPERM)
			return ret;
		if (ret && !first)
			first = ret;
	}
	if (!xlb_sysctl_read("net/ipv6/conf/all/forwarding", have, sizeof(have)) &&
	    !strcmp(have, "1"))
		return first;
	snprintf(path, sizeof(path), "net/ipv6/conf/%s/force_forwarding", ifname);
	if (xlb_sysctl_read(path, have, sizeof(have)) == -ENOENT) {
		pr_warn("interface %s: this kernel forwards IPv6 only with "
			"net.ipv6.conf.all.forwarding=1, which xlbd does not set (it changes every "
			"interface): IPv6 packets whose next hop is not resolved yet are dropped "
			"by the kernel until it is",
			ifname);
		return first;
	}
	ret = apply(&v6_force, ifname, fix, err, errlen);
	if (ret && ret != -EPERM)
		return ret;
	return first ? first : ret;
}

int xlb_host_settings_apply(const char *ifname, int fix, char *err, size_t errlen)
{
	char first_err[XLB_ERRLEN] = "";
	int ret, first = 0;

	for (size_t i = 0; i < sizeof(v4_settings) / sizeof(v4_settings[0]); i++) {
		ret = apply(&v4_settings[i], ifname, fix, err, errlen);
		if (ret && ret != -EPERM)
			return ret;
		if (ret && !first) {
			first = ret;
			snprintf(first_err, sizeof(first_err), "%s", err);
		}
	}
	ret = apply_v6(ifname, fix, err, errlen);
	if (ret && ret != -EPERM)
		return ret;
	if (first) {
		snprintf(err, errlen, "%s", first_err);
		return first;
	}
	return ret;
}
