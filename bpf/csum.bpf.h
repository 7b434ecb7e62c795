/* SPDX-License-Identifier: GPL-2.0 */
/* csum.bpf.h: the Internet checksum (RFC 1071) as the XDP programs need it:
 * a fresh IPv4 header's (xlb.bpf.c's outer header), a received header's
 * check, and the incremental update of one word (RFC 1624). All sums are of
 * 16-bit words in network order. */
#ifndef XLB_CSUM_BPF_H
#define XLB_CSUM_BPF_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

/* Longest IPv4 header (IHL 15) in 16-bit words: bounds the checksum loop. */
#define XLB_IPV4_MAX_WORDS 30

/* Folds a 32-bit sum of 16-bit words and complements it, as the kernel's
 * csum_fold() does: the value a checksum field holds. */
static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Checksum of an IPv4 header without options (ten words; the check field
 * must be 0 while it is summed). */
static __always_inline __u16 csum_ipv4_header(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return csum_fold(sum);
}

/* Whether a received IPv4 header, options included, has a valid checksum:
 * over a valid header the complemented sum is 0. */
static __always_inline int ipv4_csum_ok(struct iphdr *iph, void *data_end)
{
	__u16 *w = (void *)iph;
	__u32 words = iph->ihl * 2, sum = 0;

	for (__u32 i = 0; i < XLB_IPV4_MAX_WORDS; i++) {
		__u16 *p = w + i;

		if (i >= words)
			break;
		/* Keeps clang from turning the check into data_end - w, a
		 * pointer subtraction the verifier refuses. */
		barrier_var(p);
		if ((void *)(p + 1) > data_end)
			return 0;
		sum += *p;
	}
	return csum_fold(sum) == 0;
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum after one word of
 * the summed data changed from old_word to new_word. */
static __always_inline void csum_replace2(__u16 *check, __u16 old_word, __u16 new_word)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~old_word;
	sum += new_word;
	*check = csum_fold(sum);
}

#endif
