/* SPDX-License-Identifier: GPL-2.0 */
/* maglev.h: builds a VIP's lookup ring (xlb_rings) from its backends with
 * weighted Maglev hashing (Eisenbud et al., NSDI'16), so that every xlb
 * instance computes the same ring from the same backend set.
 */
#ifndef XLB_MAGLEV_H
#define XLB_MAGLEV_H

#include <stddef.h>

#include "xlb.h"

/* One backend as the ring builder sees it. Only (family, addr, weight) shape
 * the ring; id is just what lands in the slots. */
struct xlb_maglev_backend {
	union xlb_addr addr; /* network order, IPv4 in addr.v4, rest zero */
	__u8 family;	     /* XLB_AF_INET or XLB_AF_INET6 */
	__u32 weight;	     /* 0 = not in the ring (draining / down) */
	__u32 id;	     /* value written into ring slots */
};

/* Fills ring[0..m) with the ids of the backends. The ring depends only on the
 * set of (family, addr, weight): input order and ids do not change which
 * address owns a slot. Returns 0; -EINVAL if m is not a prime >= 2, two
 * backends share (family, addr), a weight exceeds XLB_MAX_WEIGHT, a family is
 * unknown or an IPv4 address has non-zero bytes past addr.v4; -ENOENT if no
 * backend has weight > 0 (the caller then removes the ring); -ENOMEM. ring is
 * left untouched on error. */
int xlb_maglev_build(const struct xlb_maglev_backend *backends, size_t n, __u32 m, __u32 *ring);

/* 1 if m is prime, else 0. Ring sizes must be prime (see XLB_RING_SIZE_DEFAULT). */
int xlb_is_prime(__u32 m);

#endif /* XLB_MAGLEV_H */
