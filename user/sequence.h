/* SPDX-License-Identifier: GPL-2.0 */
/* sequence.h: builds the ring of an rr or wrr VIP: one cycle of its
 * backends in turn, repeated over every slot, which the data plane walks
 * with a per-CPU cursor (bpf/sched.bpf.h). */
#ifndef XLB_SEQUENCE_H
#define XLB_SEQUENCE_H

#include <stddef.h>

#include "maglev.h"

/* Fills ring[0..m) with the ids of the backends of weight > 0, in input
 * order. weighted 0 (rr): each once per cycle, weights otherwise ignored.
 * weighted 1 (wrr): smooth weighted round robin, a cycle of sum(weights)
 * / gcd(weights) slots where each backend has weight / gcd slots spread
 * as evenly as it goes (weights 5,1,1 give a a b a c a a). A cycle longer
 * than m is cut at m slots. Returns 0; -ENOENT if no backend has weight >
 * 0 (the caller then removes the ring); -ENOMEM; ring is untouched then. */
int xlb_sequence_build(const struct xlb_maglev_backend *backends, size_t n, int weighted, __u32 m,
		       __u32 *ring);

#endif /* XLB_SEQUENCE_H */
