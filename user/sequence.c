// SPDX-License-Identifier: GPL-2.0
/* sequence.c: the rr and wrr sequences (see sequence.h). wrr is smooth
 * weighted round robin: each step every backend gains its weight, the one
 * with the most credit is chosen and pays the total; over a cycle each is
 * chosen weight times, never in a burst longer than its share needs. */
#include <errno.h>
#include <stdlib.h>

#include "sequence.h"

static __u32 gcd(__u32 a, __u32 b)
{
	while (b) {
		__u32 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* One wrr cycle (at most m slots) into ring; returns its length. */
static __u32 smooth_cycle(const struct xlb_maglev_backend *b, size_t n, __s64 *credit, __u32 m,
			  __u32 *ring)
{
	__u32 g = 0, len;
	__u64 total = 0;

	for (size_t i = 0; i < n; i++)
		if (b[i].weight)
			g = gcd(b[i].weight, g);
	for (size_t i = 0; i < n; i++)
		total += b[i].weight / g;
	len = total < m ? (__u32)total : m;
	for (__u32 s = 0; s < len; s++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (!b[i].weight)
				continue;
			credit[i] += b[i].weight / g;
			if (best == n || credit[i] > credit[best])
				best = i;
		}
		credit[best] -= (__s64)total;
		ring[s] = b[best].id;
	}
	return len;
}

int xlb_sequence_build(const struct xlb_maglev_backend *backends, size_t n, int weighted, __u32 m,
		       __u32 *ring)
{
	__u32 *cycle, len = 0;
	__s64 *credit;

	for (size_t i = 0; i < n; i++)
		len += backends[i].weight > 0;
	if (!len || !m)
		return -ENOENT;
	cycle = calloc(m, sizeof(*cycle));
	credit = calloc(n, sizeof(*credit));
	if (!cycle || !credit) {
		free(cycle);
		free(credit);
		return -ENOMEM;
	}
	if (weighted) {
		len = smooth_cycle(backends, n, credit, m, cycle);
	} else {
		len = 0;
		for (size_t i = 0; i < n; i++)
			if (backends[i].weight && len < m)
				cycle[len++] = backends[i].id;
	}
	for (__u32 s = 0; s < m; s++)
		ring[s] = cycle[s % len];
	free(cycle);
	free(credit);
	return 0;
}
