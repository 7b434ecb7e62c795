/* SPDX-License-Identifier: GPL-2.0 */
/* gen.h: the fuzzer's frame generator. Frame i of seed s depends on (s, i)
 * only, so any frame can be rebuilt from the two numbers. It builds valid
 * traffic for the configured VIPs (and for other addresses), ICMP with
 * embedded packets, fragments, tags, options, extension headers, trailers,
 * oversize frames, then mutates some: bit flips, header fields set to edge
 * values, truncations. */
#ifndef XLB_FUZZ_GEN_H
#define XLB_FUZZ_GEN_H

#include <stddef.h>
#include <linux/types.h>

#define GEN_FRAME_MAX 2048
/* BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header. */
#define GEN_FRAME_MIN 14

struct gen_target {
	int family;    /* 4 or 6 */
	__u8 addr[16]; /* network order */
	__u8 proto;    /* 6 or 17 */
	__u16 port;    /* host order; 0: all ports */
};

struct gen_cfg {
	const struct gen_target *vips;
	size_t n_vips;
	const __u8 *lb_mac, *client_mac;
};

/* Builds frame `index` of `seed` into buf (GEN_FRAME_MAX bytes); returns
 * its length. */
size_t gen_frame(const struct gen_cfg *cfg, __u64 seed, __u64 index, __u8 *buf);

#endif
