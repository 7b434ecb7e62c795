// SPDX-License-Identifier: GPL-2.0
/* announce_plan.c: the announcement decision (see announce_plan.h). The
 * sets are small (one entry per VIP address): linear scans are enough. */
#include <errno.h>
#include <string.h>

#include "announce_plan.h"

int xlb_announce_vip_usable(__u32 n_in_ring)
{
	return n_in_ring > 0;
}

int xlb_announce_addr_eq(const struct xlb_announce_addr *a, const struct xlb_announce_addr *b)
{
	size_t len = a->family == XLB_AF_INET ? 4 : 16;

	return a->family == b->family && !memcmp(a->addr.bytes, b->addr.bytes, len);
}

int xlb_announce_addr_in(const struct xlb_announce_addr *set, size_t n,
			 const struct xlb_announce_addr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (xlb_announce_addr_eq(&set[i], addr))
			return 1;
	return 0;
}

int xlb_announce_wanted(const struct xlb_announce_vip *vips, size_t n,
			struct xlb_announce_addr *out, size_t max)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct xlb_announce_addr a = {.family = vips[i].family};

		if (!xlb_announce_vip_usable(vips[i].n_in_ring))
			continue;
		memcpy(a.addr.bytes, vips[i].addr.bytes, sizeof(a.addr));
		if (xlb_announce_addr_in(out, k, &a))
			continue;
		if (k == max)
			return -E2BIG;
		out[k++] = a;
	}
	return (int)k;
}

void xlb_announce_plan(const struct xlb_announce_addr *want, size_t nw,
		       const struct xlb_announce_addr *have, size_t nh,
		       struct xlb_announce_addr *add, size_t *nadd, struct xlb_announce_addr *del,
		       size_t *ndel)
{
	*nadd = 0;
	*ndel = 0;
	for (size_t i = 0; i < nw; i++)
		if (!xlb_announce_addr_in(have, nh, &want[i]))
			add[(*nadd)++] = want[i];
	for (size_t i = 0; i < nh; i++)
		if (!xlb_announce_addr_in(want, nw, &have[i]))
			del[(*ndel)++] = have[i];
}
