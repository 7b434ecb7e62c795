/* SPDX-License-Identifier: GPL-2.0 */
/* pkt.h: a small packet builder for the BPF fixture tests. It writes frames
 * (Ethernet, optional 802.1Q, IPv4/IPv6, TCP/UDP, payload) and the outer
 * headers xlb is expected to add, independently of the code under test. */
#ifndef XLB_TEST_PKT_H
#define XLB_TEST_PKT_H

#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 2048

struct pkt {
	__u8 data[PKT_MAX];
	size_t len;
};

struct pkt_spec {
	int family;           /* 4 or 6 */
	const char *src, *dst; /* textual addresses */
	__u8 proto;           /* IPPROTO_TCP, IPPROTO_UDP, or any other */
	__u16 sport, dport;   /* host order */
	__u8 tcp_flags;       /* e.g. 0x02 SYN, 0x10 ACK (default ACK when 0) */
	size_t payload_len;   /* bytes of pattern payload after L4 */
	__u16 vlan;           /* 802.1Q VLAN id, 0 = untagged */
	__u8 tos;             /* IPv4 TOS / IPv6 traffic class */
	__u8 ttl;             /* TTL / hop limit (default 64 when 0) */
	__u16 frag;           /* IPv4 flags+fragment offset field, host order (0x4000 = DF) */
	__u8 ip_opts_len;     /* IPv4 option bytes (NOPs), multiple of 4 */
	__u8 v6_ext;          /* IPv6: insert this extension header (0 = none), e.g. 0 HBH, 44 frag */
	int v6_ext_present;   /* with v6_ext: 1 to insert one 8-byte extension header */
	__u32 flow_label;     /* IPv6 flow label */
	__u16 ip_id;          /* IPv4 identification (default 0xbeef when 0) */
	__u16 v6_frag_off;    /* IPv6 fragment header's offset<<3|M (default 0x0001 when 0) */
	__u32 v6_frag_id;     /* IPv6 fragment header's identification */
};

/* Fixed MACs of the test frames. */
extern const __u8 pkt_client_mac[6], pkt_lb_mac[6];

/* Builds a frame from spec into p; returns 0 or -1 if it does not fit. */
int pkt_build(struct pkt *p, const struct pkt_spec *spec);

/* Offset of the L3 header (14, or 18 with a VLAN tag). */
size_t pkt_l3_off(const struct pkt *p);

/* Prepends an outer header after the L2 header, as xlb must:
 * outer_family 4 -> IPv4 (proto 4 or 41 by inner), 6 -> IPv6 (next header 4 or 41).
 * Lengths, TOS/traffic class copied from the inner header, TTL 64, DF copied
 * (IPv4 outer), id copied from an inner IPv4 header, flow label given.
 * The Ethernet header is rewritten with the given MACs and the right ethertype. */
int pkt_encap(struct pkt *p, int outer_family, const char *src, const char *dst,
	      __u32 flow_label, const __u8 *smac, const __u8 *dmac);

/* Puts the load balancer's second-chance hint naming hint after the outer
 * header of a frame pkt_encap made, as xlb must: IPv4, option 30 of RFC
 * 4727 (8 bytes: type, length 8, two zero bytes, the address), IHL, total
 * length and checksum following; IPv6, a destination options header (next
 * header 60, 24 bytes: the tunnel's protocol, length 2, option 0x1e of
 * length 16 with the address, PadN of 2 zeros), payload length following.
 * 0, or -1 if it does not fit. */
int pkt_add_hint(struct pkt *p, const char *hint);

/* Builds an ICMP (spec->family 4) or ICMPv6 (6) message from spec's IP
 * fields (proto and payload_len are set here): type, code, the header's
 * last four bytes (rest, host order: echo id << 16 | seq, or the MTU), then
 * body. Checksums computed (ICMPv6 over its pseudo-header). 0 or -1. */
int pkt_build_icmp(struct pkt *p, const struct pkt_spec *spec, __u8 type, __u8 code, __u32 rest,
		   const __u8 *body, size_t body_len);

/* Sets an IPv4 frame's identification and fixes its header checksum. */
void pkt_set_ipv4_id(struct pkt *p, __u16 id);

/* Swaps the frame's destination and source MACs. */
void pkt_swap_macs(struct pkt *p);

/* Standard Internet checksum over buf (returns the folded, complemented sum). */
__u16 pkt_csum(const void *buf, size_t len, __u32 seed);

/* Prints a hex diff of two buffers to stderr; returns 1 if they differ. */
int pkt_diff(const char *what, const __u8 *got, size_t got_len, const __u8 *want,
	     size_t want_len);

#endif
