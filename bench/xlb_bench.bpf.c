// SPDX-License-Identifier: GPL-2.0
/* xlb_bench.bpf.c: the benchmark's XDP programs (bench/xlb_bench.c). bench_lb
 * runs the real packet path (lb_process, included from xlb.bpf.c with its
 * maps, which the tool shares with a loaded data plane) once per
 * BPF_PROG_TEST_RUN repeat, after putting the original frame back: the kernel
 * does not reset the frame between repeats, so without this the program
 * would see its own encapsulated output. bench_restore is the same wrapper
 * without the packet path, so that its cost can be subtracted; the other
 * programs are baselines and the veth throughput harness.
 */
#include "xlb.bpf.c"

/* Every benchmark frame is exactly this long (the tool pads the payload), so
 * the restore is one fixed-size copy the verifier can check in one go. */
#define BENCH_FRAME_LEN 96
/* Offsets in an untagged IPv4 frame with a 20-byte header (rewrite modes). */
#define BENCH_V4_SADDR_OFF (14 + 12)
#define BENCH_V4_SPORT_OFF (14 + 20)
/* Bytes pushed by bench_pushpop: an IPv4 header, as an IPIP encap would. */
#define BENCH_PUSH_LEN 20

/* Knobs set by the tool through the skeleton's bss before each case. */
/* The original frame, restored before each run; in 8-byte words, so that the
 * copy is 12 word moves and not 96 byte moves. */
__u64 bench_frame[BENCH_FRAME_LEN / 8];
__u32 bench_new_flow;		/* 1: new IPv4 source address/port on every packet */
__u32 bench_cycle_mask;		/* non-zero: cycle the source over mask + 1 flows (power of 2) */
__u32 bench_stale_conn;		/* 1: make bench_conn_key's entry stale before each packet */
struct xlb_flow bench_conn_key; /* the flow whose entry bench_stale_conn spoils */
__be32 bench_src_base;		/* first source address of the rewrite modes, network order */
__u32 bench_gen_mask;		/* bench_gen: flows of the generator, minus one (power of 2) */
__u32 bench_pair;		/* cycle mode: two packets per flow in a row (record, confirm) */

/* Per-CPU sequence numbers: [0] the rewrite modes of bench_lb/bench_restore,
 * [1] the traffic generator. Per CPU so that no two CPUs share a line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} bench_seq SEC(".maps");

/* Receiver counters of the throughput harness: [0] IPv4 frames (the
 * generator's, reflected or encapsulated; not the kernel's own ND or MLD),
 * [1] those that arrive IPIP-encapsulated (proof that xlb sent them). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} bench_rx SEC(".maps");

static __always_inline __u64 next_seq(__u32 index)
{
	__u64 *seq = bpf_map_lookup_elem(&bench_seq, &index);

	if (!seq)
		return 0;
	return (*seq)++;
}

/* Undoes the previous run's growth of the frame, then copies the original
 * bytes back over it. */
static __always_inline int restore_frame(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int grown = (int)(data_end - data) - BENCH_FRAME_LEN;

	if (grown && bpf_xdp_adjust_head(ctx, grown))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + BENCH_FRAME_LEN > data_end)
		return -1;
#pragma unroll
	for (int i = 0; i < BENCH_FRAME_LEN / 8; i++)
		((__u64 *)data)[i] = bench_frame[i];
	return 0;
}

/* Source address and port of flow number n, from bench_src_base: 256 ports
 * per address in the cycle mode, 65536 in the new-flow mode. */
static __always_inline int rewrite_source(struct xdp_md *ctx, __u32 n, int port_bits)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__be32 *saddr = data + BENCH_V4_SADDR_OFF;
	__be16 *sport = data + BENCH_V4_SPORT_OFF;

	if ((void *)(sport + 1) > data_end)
		return -1;
	*saddr = bpf_htonl(bpf_ntohl(bench_src_base) + (n >> port_bits));
	*sport = bpf_htons((__u16)(1024 + (n & ((1U << port_bits) - 1))));
	return 0;
}

/* Everything bench_lb does besides the packet path. */
static __always_inline int prepare(struct xdp_md *ctx)
{
	if (restore_frame(ctx))
		return -1;
	if (bench_new_flow)
		return rewrite_source(ctx, (__u32)next_seq(0), 16);
	if (bench_cycle_mask)
		return rewrite_source(ctx, (__u32)(next_seq(0) >> (bench_pair ? 1 : 0)) & bench_cycle_mask,
				      8);
	if (bench_stale_conn) {
		/* A generation that no backend has: the data plane re-picks
		 * and overwrites the entry, as it would for a rewritten SYN. */
		struct xlb_flow key = bench_conn_key;
		struct xlb_conn *conn = bpf_map_lookup_elem(&xlb_conns, &key);

		if (conn)
			conn->backend_gen ^= 0x80000000U;
		/* A SYN's entry is in the new-flow table. */
		conn = bpf_map_lookup_elem(&xlb_conns_new, &key);
		if (conn)
			conn->backend_gen ^= 0x80000000U;
	}
	return 0;
}

/* The real packet path on the restored frame; returns its action. */
SEC("xdp")
int bench_lb(struct xdp_md *ctx)
{
	if (prepare(ctx))
		return XDP_ABORTED;
	return lb_process(ctx);
}

/* Prefixes of the packet path, for a breakdown of where a conn-table hit's
 * time goes (no counters; each returns XDP_TX once its stage succeeded). */
enum bench_stage {
	STAGE_PARSE,
	STAGE_VIP,   /* + VIP lookup (exact port, else address and port 0) and config */
	STAGE_CONN,  /* + flow hash, conn-table lookup, backend entry */
	STAGE_FIB,   /* + outer source and next hop (cache, else bpf_fib_lookup) */
	STAGE_ENCAP, /* + outer header and MACs: lb_process without counters */
};

static __always_inline int run_stages(struct xdp_md *ctx, const enum bench_stage upto)
{
	const struct xlb_nexthop *nh = NULL;
	struct xlb_nexthop scratch;
	struct xlb_conn *stale = NULL;
	const struct xlb_config *cfg;
	union xlb_addr src = {};
	struct packet pkt = {};
	struct xlb_backend *be;
	struct xlb_vip *vip;
	__u32 zero = 0, id = 0, hash;
	void *data, *data_end;
	int vip_addr;

	if (prepare(ctx))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (parse_packet(data, data_end, &pkt) != PARSE_OK)
		return XDP_PASS;
	if (upto == STAGE_PARSE)
		return XDP_TX;
	vip = find_vip(&pkt.flow, &vip_addr);
	if (!vip)
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&xlb_config, &zero);
	if (!cfg)
		return XDP_PASS;
	if (upto == STAGE_VIP)
		return XDP_TX;
	hash = xlb_hash_flow(&pkt.flow);
	be = lookup_conn(vip, &pkt, cfg, bpf_ktime_get_coarse_ns(), &id, &stale, 0);
	if (!be)
		return XDP_DROP;
	if (upto == STAGE_CONN)
		return XDP_TX;
	outer_source(cfg, be->family, hash, &src);
	/* Without this, clang 14 emitted a 4-byte store of a spilled
	 * pointer here, which the verifier rejects ("invalid size of
	 * register spill"). */
	asm volatile("" : : "r"(&src) : "memory");
	if (verdict_action(route_outer(ctx, &pkt, be, id, outer_len(be), &src,
				       bpf_ktime_get_coarse_ns(), &scratch, &nh)) != XDP_TX)
		return XDP_DROP;
	if (upto == STAGE_FIB)
		return XDP_TX;
	if (trim_to_ip(ctx, &pkt))
		return XDP_DROP;
	return encap_packet(ctx, &pkt, be, &src, hash, nh, NULL) ? XDP_DROP : XDP_TX;
}

SEC("xdp")
int bench_stage_parse(struct xdp_md *ctx)
{
	return run_stages(ctx, STAGE_PARSE);
}

SEC("xdp")
int bench_stage_vip(struct xdp_md *ctx)
{
	return run_stages(ctx, STAGE_VIP);
}

SEC("xdp")
int bench_stage_conn(struct xdp_md *ctx)
{
	return run_stages(ctx, STAGE_CONN);
}

SEC("xdp")
int bench_stage_fib(struct xdp_md *ctx)
{
	return run_stages(ctx, STAGE_FIB);
}

SEC("xdp")
int bench_stage_encap(struct xdp_md *ctx)
{
	return run_stages(ctx, STAGE_ENCAP);
}

/* The wrapper alone: its cost, subtracted from bench_lb's. */
SEC("xdp")
int bench_restore(struct xdp_md *ctx)
{
	if (prepare(ctx))
		return XDP_ABORTED;
	return XDP_TX;
}

/* Baseline: the cheapest forwarding decision. Also the plain reflector of the
 * throughput comparison (sends the frame back unchanged). */
SEC("xdp")
int bench_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

/* Baseline: touch the frame (swap the MACs) and send it back. */
SEC("xdp")
int bench_macswap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

/* Baseline: what an encapsulation costs at least (grow the head, write a
 * header, shrink it back so the next repeat starts from the same frame). */
SEC("xdp")
int bench_pushpop(struct xdp_md *ctx)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -BENCH_PUSH_LEN))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + BENCH_PUSH_LEN + sizeof(struct ethhdr) > data_end)
		return XDP_DROP;
	__builtin_memcpy(data, data + BENCH_PUSH_LEN, sizeof(struct ethhdr));
	__builtin_memset(data + sizeof(struct ethhdr), 0, BENCH_PUSH_LEN - 8);
	if (bpf_xdp_adjust_head(ctx, BENCH_PUSH_LEN))
		return XDP_DROP;
	return XDP_TX;
}

/* Traffic generator, run with BPF_F_TEST_XDP_LIVE_FRAMES: varies the source
 * port over bench_gen_mask + 1 flows and sends the frame out of the
 * interface it was "received" on, towards the load balancer's veth. The
 * kernel initialises a page's data only the first time it uses the page, and
 * pages come back from the receiver as xlb left them (encapsulated), hence
 * the restore. */
SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	/* Each CPU's generator sends flows of its own, as RSS would spread
	 * them: the two-core mode shares no connection entry between CPUs. */
	__u32 n = ((__u32)next_seq(1) & bench_gen_mask) +
		  bpf_get_smp_processor_id() * (bench_gen_mask + 1);
	void *data, *data_end;
	__be16 *sport;

	if (restore_frame(ctx))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	sport = data + BENCH_V4_SPORT_OFF;
	if ((void *)(sport + 1) > data_end)
		return XDP_DROP;
	*sport = bpf_htons((__u16)(1024 + n));
	return XDP_TX;
}

/* Receiver of the throughput harness: counts and drops. */
SEC("xdp")
int bench_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 index = 0;
	__u64 *n;

	if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_DROP;
	n = bpf_map_lookup_elem(&bench_rx, &index);
	if (n)
		(*n)++;
	if (iph->protocol != IPPROTO_IPIP)
		return XDP_DROP;
	index = 1;
	n = bpf_map_lookup_elem(&bench_rx, &index);
	if (n)
		(*n)++;
	return XDP_DROP;
}
