// SPDX-License-Identifier: GPL-2.0
/* refusal.c: the wording of the refusals that several layers make (see
 * refusal.h). Each says what was wrong and what would be valid. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "refusal.h"
#include "addr.h"
#include "addr_class.h"
#include "log.h"

int xlb_refuse_no_vip(const char *vip, char *err, size_t errlen)
{
	return xlb_errf(-ENOENT, err, errlen,
			"no VIP %s, add it first with 'vip add %s' (see 'list')", vip, vip);
}

int xlb_refuse_vip_exists(const char *vip, char *err, size_t errlen)
{
	return xlb_errf(-EEXIST, err, errlen,
			"VIP %s exists already, change it with 'vip set' or remove it with 'vip "
			"del' first",
			vip);
}

int xlb_refuse_vips_full(const char *vip, __u32 max, char *err, size_t errlen)
{
	return xlb_errf(-ENOSPC, err, errlen,
			"cannot add VIP %s: all %u VIPs are in use (xlbd --max-vips)", vip, max);
}

int xlb_refuse_no_backend(const char *addr, const char *vip, char *err, size_t errlen)
{
	return xlb_errf(-ENOENT, err, errlen,
			"no backend %s in VIP %s, add it with 'backend add' (see 'list')", addr,
			vip);
}

int xlb_refuse_backend_exists(const char *addr, const char *vip, char *err, size_t errlen)
{
	return xlb_errf(-EEXIST, err, errlen,
			"backend %s exists already in VIP %s, change its weight with 'backend set'",
			addr, vip);
}

int xlb_refuse_backends_full(const char *addr, __u32 max, char *err, size_t errlen)
{
	return xlb_errf(-ENOSPC, err, errlen,
			"cannot add backend %s: all %u backends are in use (xlbd --max-backends)",
			addr, max);
}

int xlb_refuse_weight(const char *weight, char *err, size_t errlen)
{
	return xlb_errf(-EINVAL, err, errlen, "bad weight '%s', expected 0-%u (0 = drain)", weight,
			XLB_MAX_WEIGHT);
}

int xlb_refuse_backend_family(const char *addr, const char *vip, char *err, size_t errlen)
{
	return xlb_errf(
	    -EINVAL, err, errlen,
	    "backend %s is IPv4 but VIP %s is IPv6, an IPv6 VIP needs IPv6 backends (an "
	    "IPv4 VIP takes either)",
	    addr, vip);
}

int xlb_refuse_client_family(const char *client, __u8 vip_family, char *err, size_t errlen)
{
	return xlb_errf(-EINVAL, err, errlen,
			"client %s and the VIP differ in address family, expected an %s client",
			client, vip_family == XLB_AF_INET6 ? "IPv6" : "IPv4");
}

/* "198.18.0.9" out of "::ffff:198.18.0.9": what the operator meant. */
static void unmapped(const union xlb_addr *addr, char *buf, size_t len)
{
	union xlb_addr v4 = {.v4 = addr->v6[3]};

	xlb_addr_format(&v4, XLB_AF_INET, buf, len);
}

int xlb_check_vip_addr(const struct xlb_vip_key *key, char *err, size_t errlen)
{
	enum xlb_addr_class c = xlb_addr_classify(&key->addr, key->family);
	char a[XLB_ADDR_STRLEN], v[XLB_ADDR_STRLEN];

	if (c == XLB_ADDR_UNICAST)
		return 0;
	xlb_addr_format(&key->addr, key->family, a, sizeof(a));
	xlb_vip_key_format(key, v, sizeof(v));
	if (c == XLB_ADDR_V4_MAPPED) {
		struct xlb_vip_key k4 = *key;
		char meant[XLB_ADDR_STRLEN];

		memset(&k4.addr, 0, sizeof(k4.addr));
		k4.addr.v4 = key->addr.v6[3];
		k4.family = XLB_AF_INET;
		xlb_vip_key_format(&k4, meant, sizeof(meant));
		return xlb_errf(-EINVAL, err, errlen,
				"VIP %s: its address %s is %s, expected the IPv4 VIP %s", v, a,
				xlb_addr_class_why(c), meant);
	}
	return xlb_errf(-EINVAL, err, errlen,
			"VIP %s: its address %s is %s, expected a unicast address that is "
			"routed to this load balancer",
			v, a, xlb_addr_class_why(c));
}

/* "198.18.0.0/30": the outer sources of a family, the vary bits as a prefix. */
static void outer_range(const struct xlb_config *cfg, __u8 family, char *buf, size_t len)
{
	struct xlb_prefix p = {.family = family};
	__u32 vary;

	if (family == XLB_AF_INET6) {
		p.addr = cfg->src6;
		vary = ntohl(cfg->src6_vary);
		p.addr.v6[3] &= ~cfg->src6_vary;
		p.len = (__u8)(128 - __builtin_popcount(vary));
	} else {
		vary = ntohl(cfg->src4_vary);
		p.addr.v4 = cfg->src4 & ~cfg->src4_vary;
		p.len = (__u8)(32 - __builtin_popcount(vary));
	}
	if (!vary)
		xlb_addr_format(&p.addr, family, buf, len);
	else
		xlb_prefix_format(&p, buf, len);
}

int xlb_check_backend_addr(const union xlb_addr *addr, __u8 family,
			   const struct xlb_config *outer, char *err, size_t errlen)
{
	enum xlb_addr_class c = xlb_addr_classify(addr, family);
	int v6 = family == XLB_AF_INET6;
	char a[XLB_ADDR_STRLEN], o[XLB_ADDR_STRLEN];

	xlb_addr_format(addr, family, a, sizeof(a));
	if (c == XLB_ADDR_V4_MAPPED) {
		unmapped(addr, o, sizeof(o));
		return xlb_errf(-EINVAL, err, errlen,
				"backend %s is %s, expected the IPv4 backend %s", a,
				xlb_addr_class_why(c), o);
	}
	if (c != XLB_ADDR_UNICAST)
		return xlb_errf(-EINVAL, err, errlen,
				"backend %s is %s, expected the unicast address of another host "
				"that this load balancer routes to",
				a, xlb_addr_class_why(c));
	if (!outer)
		return 0;
	if (!xlb_outer_has_family(outer, family))
		return xlb_errf(-EINVAL, err, errlen,
				"backend %s needs an %s outer source and this xlbd has none (no "
				"--src%c, no %s address on its interface), expected %s",
				a, v6 ? "IPv6" : "IPv4", v6 ? '6' : '4',
				v6 ? "global IPv6" : "IPv4",
				v6 ? "xlbd started with --src6 ADDR" : "xlbd started with --src4 ADDR");
	if (xlb_outer_is_source(outer, addr, family)) {
		outer_range(outer, family, o, sizeof(o));
		return xlb_errf(-EINVAL, err, errlen,
				"backend %s is this load balancer's own outer source (%s): its "
				"tunnels would be addressed to itself, expected the address of "
				"another host",
				a, o);
	}
	return 0;
}
