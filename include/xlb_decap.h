/* SPDX-License-Identifier: GPL-2.0 */
/* xlb_decap.h: what the backends' decapsulation program (bpf/xlb_decap.bpf.c)
 * and its loader (tools/xlb_decap.c) share: the local-address map key, the
 * prefix key of the source and inner-destination maps, the counters by
 * reason, limits and pin paths. Depends only on xlb.h.
 */
#ifndef XLB_DECAP_H
#define XLB_DECAP_H

#include <linux/types.h>

#include "xlb.h"

/* Pins live under XLB_DECAP_PIN_ROOT/IFACE (initial network namespace) or
 * XLB_DECAP_PIN_ROOT/netns-COOKIE/IFACE (any other one): /sys/fs/bpf is shared
 * by every network namespace of a mount namespace, and two namespaces may
 * each have an "eth0". */
#define XLB_DECAP_PIN_ROOT "/sys/fs/bpf/xlb-decap"
/* Local addresses one host can hold; VIPs on lo count too. */
#define XLB_DECAP_MAX_ADDRS 4096
/* Prefixes of --from (the load balancers' outer sources). */
#define XLB_DECAP_MAX_FROM 256
/* Local routes (table local, type local) of one host: its addresses and the
 * ranges routed to lo, such as VIPs held with `ip route add local`. */
#define XLB_DECAP_MAX_LOCAL 4096
/* libxdp run priority: lower runs first. Ahead of the default (50) so that a
 * firewall or xlb_lb chained after it sees the inner packet. */
#define XLB_DECAP_RUN_PRIO 20

/* xlb_decap_addrs key: an address of this host. Tunnel packets are stripped
 * only when their outer destination is one of these. */
struct xlb_decap_key {
	union xlb_addr addr; /* network order; IPv4 in v4, the other 12 bytes zero */
	__u8 family;         /* enum xlb_family */
	__u8 pad[3];         /* zero, so that keys compare equal */
};
_Static_assert(sizeof(struct xlb_decap_key) == 20, "xlb_decap_key layout");
_Static_assert(__builtin_offsetof(struct xlb_decap_key, family) == 16, "xlb_decap_key family");

/* xlb_decap_addrs value. */
struct xlb_decap_addr {
	__u32 ifindex; /* interface that held the address when the map was filled (informational) */
};
_Static_assert(sizeof(struct xlb_decap_addr) == 4, "xlb_decap_addr layout");

/* Key of the LPM tries xlb_decap_from (outer sources accepted) and
 * xlb_decap_local (inner destinations accepted). The family is matched as part
 * of the prefix, so that an IPv4 prefix never covers IPv6 bytes: prefixlen is
 * 32 (family and pad) + the address prefix length. */
struct xlb_decap_prefix {
	__u32 prefixlen;     /* host order: XLB_DECAP_PREFIX_BITS + address bits */
	__u8 family;         /* enum xlb_family */
	__u8 pad[3];         /* zero */
	union xlb_addr addr; /* network order; IPv4 in v4, the other 12 bytes zero */
};
#define XLB_DECAP_PREFIX_BITS 32
_Static_assert(sizeof(struct xlb_decap_prefix) == 24, "xlb_decap_prefix layout");
_Static_assert(__builtin_offsetof(struct xlb_decap_prefix, addr) == 8, "xlb_decap_prefix addr");

/* Counters by reason; every frame the program sees lands in exactly one.
 * X(name, "printed name", "what it means"). Values are struct xlb_counter
 * (xlb.h): packets and frame bytes as received. */
#define XLB_DECAP_STATS(X)                                                                         \
	X(DECAP, "decap", "tunnel packet for this host: outer header stripped, inner passed")     \
	X(PASS_NOT_TUNNEL, "pass_not_tunnel",                                                      \
	  "not IPv4/IPv6, or not IPIP/IPv6-in-IP: passed untouched")                               \
	X(PASS_NOT_LOCAL, "pass_not_local",                                                        \
	  "tunnel packet whose outer destination is not an address of this host: passed untouched") \
	X(REFUSE_SOURCE, "refuse_source",                                                          \
	  "tunnel packet for this host from a source outside --from: passed untouched")            \
	X(REFUSE_INNER, "refuse_inner",                                                            \
	  "tunnel from --from whose inner destination is not local to this host: dropped")         \
	X(PASS_FRAGMENT, "pass_fragment",                                                          \
	  "outer IPv4 fragment or IPv6 fragment header: passed untouched")                         \
	X(MALFORMED, "malformed", "truncated or inconsistent headers: passed untouched")           \
	X(DROP_ECN, "drop_ecn", "outer CE over a not-ECT inner packet (RFC 6040): dropped")        \
	X(DECAP_FAIL, "decap_fail", "bpf_xdp_adjust_head refused: passed untouched")               \
	X(HINT_LOCAL, "hint_local",                                                                \
	  "tunnel with a second-chance hint whose flow has a socket here: stripped, inner passed") \
	X(FORWARD, "forward",                                                                      \
	  "tunnel with a second-chance hint whose flow has no socket here: sent on to the hinted " \
	  "backend without the hint (XDP_TX back to the neighbour it came from)")

enum xlb_decap_stat {
#define XLB_DECAP_STAT_ENUM(name, str, help) XLB_DECAP_STAT_##name,
	XLB_DECAP_STATS(XLB_DECAP_STAT_ENUM)
#undef XLB_DECAP_STAT_ENUM
	__XLB_DECAP_STAT_MAX
};

#endif /* XLB_DECAP_H */
