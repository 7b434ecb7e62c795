// SPDX-License-Identifier: GPL-2.0
/* refusal.c: the wording of the refusals that several layers make (see
 * refusal.h). Each says what was wrong and what would be valid. */
#include <errno.h>

#include "refusal.h"
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
