/* SPDX-License-Identifier: GPL-2.0 */
/* acl.bpf.h: a VIP's source ACL. One LPM trie holds every VIP's prefixes,
 * keyed by {vip id, family, prefix}; the longest prefix that matches the
 * client decides. Userspace writes a /0 deny for a VIP that has an allow
 * list, so a client that matches nothing is allowed only when there is
 * none. VIPs without an ACL never get here (XLB_VIP_F_ACL). */
#ifndef XLB_ACL_BPF_H
#define XLB_ACL_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

/* 1 when the VIP's ACL denies the packet's source. */
static __always_inline int acl_denies(const struct xlb_vip *vip, const struct packet *pkt)
{
	struct xlb_acl_key key = {
	    .prefixlen = XLB_ACL_KEY_HEAD_BITS + (pkt->flow.family == XLB_AF_INET6 ? 128 : 32),
	    .vip_id = vip->id,
	    .family = pkt->flow.family,
	    .addr = pkt->flow.src,
	};
	struct xlb_acl *acl = bpf_map_lookup_elem(&xlb_acl, &key);

	return acl && acl->action == XLB_ACL_DENY;
}

#endif
