/* SPDX-License-Identifier: GPL-2.0 */
/* novip.bpf.h: the prefilter in front of the VIP lookups. Most traffic an
 * xlb host sees in front of a router is for no VIP; one array lookup, which
 * the verifier inlines, sends it on instead of two hash lookups that miss. */
#ifndef XLB_NOVIP_BPF_H
#define XLB_NOVIP_BPF_H

#include "maps.bpf.h"
#include "xlb_hash.h"

/* Whether no VIP address can be the flow's destination. A clear bit (a VIP
 * address's, one that shares its bit, or a map not filled yet) says
 * nothing: the exact lookups decide. */
static __always_inline int surely_not_vip(const struct xlb_flow *flow)
{
	__u32 bit = xlb_novip_bit(&flow->dst, flow->family);
	__u32 word = bit / 64;
	__u64 *w = bpf_map_lookup_elem(&xlb_novip, &word);

	return w && (*w >> (bit % 64)) & 1;
}

#endif
