/* SPDX-License-Identifier: GPL-2.0 */
/* l2.bpf.h: the Ethernet header and at most one 802.1Q/802.1ad tag, as both
 * XDP programs (xlb.bpf.c and xlb_decap.bpf.c) read them. One tag is all
 * they handle: xlb's frames carry none or the access VLAN's. */
#ifndef XLB_L2_BPF_H
#define XLB_L2_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>

/* 802.1Q/802.1ad tag; not in the UAPI headers. */
struct vlan_hdr {
	__be16 tci;
	__be16 proto; /* ethertype of what follows */
};

/* The L2 header's length (14, or 18 with a tag) into *l3_off and the
 * ethertype of what follows it into *proto. Returns 0, or -1 when the frame
 * ends inside the L2 header. */
static __always_inline int parse_l2(void *data, void *data_end, __be16 *proto, __u32 *l3_off)
{
	struct ethhdr *eth = data;
	struct vlan_hdr *vh = (void *)(eth + 1);

	if ((void *)(eth + 1) > data_end)
		return -1;
	*proto = eth->h_proto;
	*l3_off = sizeof(*eth);
	if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
		return 0;
	if ((void *)(vh + 1) > data_end)
		return -1;
	*proto = vh->proto;
	*l3_off += sizeof(*vh);
	return 0;
}

#endif
