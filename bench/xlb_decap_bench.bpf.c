// SPDX-License-Identifier: GPL-2.0
/* xlb_decap_bench.bpf.c: xlb-bench's wrapper of the backends' program
 * (bpf/xlb_decap.bpf.c): bench_decap restores the original frame (a
 * decapsulation or a forward changed it), runs the decap path and returns
 * its reason, so that one BPF_PROG_TEST_RUN with repeat times the same
 * packet every time; bench_decap_restore is the restore alone. */
#include "xlb_decap.bpf.c"

/* Every frame of the decap cases is exactly this long (the tool pads it). */
#define DECAP_BENCH_LEN 128

/* The original frame, set by the tool through the skeleton's bss. */
__u64 decap_bench_frame[DECAP_BENCH_LEN / 8];

/* Undoes the last run's change of the frame's start, then copies the
 * original back over it. */
static __always_inline int restore_decap_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int moved = (int)(data_end - data) - DECAP_BENCH_LEN;

	if (moved && bpf_xdp_adjust_head(ctx, moved))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + DECAP_BENCH_LEN > data_end)
		return -1;
#pragma unroll
	for (int i = 0; i < DECAP_BENCH_LEN / 8; i++)
		((__u64 *)data)[i] = decap_bench_frame[i];
	return 0;
}

SEC("xdp")
int bench_decap(struct xdp_md *ctx)
{
	if (restore_decap_frame(ctx))
		return -1;
	return decap(ctx);
}

SEC("xdp")
int bench_decap_restore(struct xdp_md *ctx)
{
	if (restore_decap_frame(ctx))
		return -1;
	return XDP_TX;
}
