/* SPDX-License-Identifier: GPL-2.0 */
/* model.h: a userspace reference model of the load balancer's documented
 * rules (README "The data plane's rules", docs/architecture.md's packet path,
 * the counters of include/xlb.h, the comments of the bpf/ headers), written
 * from those texts and sharing no code with the BPF program (only the
 * shared key layouts of include/xlb.h, to name map entries). Given a frame
 * and the configuration it predicts the XDP action, the frame that leaves
 * and the counters that move; it keeps its own mirror of the state it
 * predicts (connection entries, fragment entries), since frames run in
 * sequence. The fuzzer (fuzz.c) compares it with the real program. */
#ifndef XLB_FUZZ_MODEL_H
#define XLB_FUZZ_MODEL_H

#include <stddef.h>
#include <linux/types.h>
#include "xlb.h"

#define MODEL_FRAME_MAX 4096

/* How the environment routes a backend's outer packet (the fuzzer's
 * network namespace makes each one so). */
enum model_route {
	MODEL_ROUTE_TX,		 /* on the receiving link, neighbour known: XDP_TX */
	MODEL_ROUTE_NO_NEIGH,	 /* on the link, neighbour unknown: passed encapsulated */
	MODEL_ROUTE_UNREACHABLE, /* blackhole/unreachable/prohibit route: dropped */
	MODEL_ROUTE_NO_ROUTE,	 /* no route at all: dropped */
	MODEL_ROUTE_REDIRECT,	 /* another interface given to xlb: redirected */
	MODEL_ROUTE_OTHER_DEV,	 /* another interface, not xlb's: passed encapsulated */
};

struct model_backend {
	int used;
	int valid; /* its flows may use it (xlb_backends' valid flag) */
	__u32 gen; /* bumped when the id is reused: old entries re-hash */
	union xlb_addr addr;
	__u8 family;
	__u32 vip_id;
	enum model_route route;
	__u8 dmac[6]; /* MODEL_ROUTE_TX, _REDIRECT: the neighbour's MAC */
	__u8 smac[6]; /* MODEL_ROUTE_TX, _REDIRECT: the egress interface's MAC */
	__u32 mtu;    /* the route's MTU (L3 bytes) */
};

struct model_vip {
	struct xlb_vip_key key; /* address, port (0: all), proto, family */
	__u32 id;
	__u32 flags; /* enum xlb_vip_flags */
	int has_ring;
};

/* The ring as userspace built it: backend id in a VIP's slot. Returns 0,
 * or non-zero when the VIP has no ring. */
typedef int (*model_ring_fn)(void *ctx, __u32 vip_id, __u32 slot, __u32 *backend_id);

struct model_cfg {
	struct model_vip *vips;
	size_t n_vips;
	struct model_backend *backends; /* indexed by backend id; the caller
					 * updates it in place as it changes */
	size_t n_backends;
	__u32 ring_size;
	model_ring_fn ring;
	/* The ring the VIP had before its last change, which userspace keeps
	 * for the second chance (user/dataplane.c ring_keep_prev); non-zero:
	 * none kept. Same ctx as ring. */
	model_ring_fn prev_ring;
	void *ring_ctx;
	struct xlb_config outer; /* src4/src6 and their vary bits; timeouts unused */
};

/* What the model predicts for one frame. */
struct model_result {
	int action;		      /* XDP_* */
	enum xlb_stat reason;	      /* the verdict's counter */
	__u32 events[__XLB_STAT_MAX]; /* event counters (conn_*, frag_*) that move */
	__u8 out[MODEL_FRAME_MAX];
	size_t out_len;
};

struct model;

int model_new(const struct model_cfg *cfg, struct model **out);
void model_free(struct model *m);
/* Predicts one frame; the model's state moves as the data plane's must. */
void model_run(struct model *m, const __u8 *frame, size_t len, struct model_result *r);

/* The model's mirror of the data plane's tables. */
enum model_table {
	MODEL_CONNS,	 /* xlb_conns: established flows (struct xlb_flow keys) */
	MODEL_CONNS_NEW, /* xlb_conns_new: flows seen once (struct xlb_flow keys) */
	MODEL_FRAGS,	 /* xlb_frags: datagrams (struct xlb_frag_key keys) */
	__MODEL_TABLES,
};
size_t model_table_count(const struct model *m, enum model_table t);
/* Calls cb with every key of the table (as the data plane's map holds it),
 * then empties the model's table: the fuzzer deletes the same keys from
 * the maps, so that no LRU ever evicts and the mirror stays exact. */
int model_table_flush(struct model *m, enum model_table t,
		      int (*cb)(void *ctx, const void *key, size_t key_len), void *ctx);

#endif
