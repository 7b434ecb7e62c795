/* SPDX-License-Identifier: GPL-2.0 */
/* conns.bpf.h: the connection tables. A flow's first packet is recorded in
 * xlb_conns_new (under the CPU's budget, never for a RST); its next packet
 * that is not a SYN or RST confirms it and moves it to xlb_conns. A spoofed
 * flood sends one packet per 5-tuple, so it churns the new-flow table only:
 * established flows are never evicted by it. A flow that ECMP moved here
 * from another xlb arrives mid-connection (an ACK): recorded like a SYN, it
 * is established from its second packet on. */
#ifndef XLB_CONNS_BPF_H
#define XLB_CONNS_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "stats.bpf.h"
#include "budget.bpf.h"

#define NSEC_PER_SEC 1000000000ULL

/* A UDP flow idle for longer than the timeout is a new flow: re-hash it.
 * The timestamp is written at most once a second, to keep the shared cache
 * line clean on the hot path, and at least every half timeout: a packet
 * then never finds more than refresh + its gap since the last write, so a
 * flow whose packets come closer than the timeout never expires. */
static __always_inline int udp_conn_expired(struct xlb_conn *conn, const struct xlb_config *cfg,
					    __u64 now)
{
	__u64 timeout = (__u64)cfg->udp_timeout_s * NSEC_PER_SEC;
	__u64 idle = now - conn->last_seen_ns;

	if (idle > timeout)
		return 1;
	if (idle > (timeout / 2 < NSEC_PER_SEC ? timeout / 2 : NSEC_PER_SEC))
		conn->last_seen_ns = now;
	return 0;
}

/* The entry's backend if it is still the one it chose: same generation,
 * valid, and of this VIP. */
static __always_inline struct xlb_backend *conn_backend(const struct xlb_vip *vip,
							const struct xlb_conn *conn)
{
	__u32 id = conn->backend_id;
	struct xlb_backend *be = bpf_map_lookup_elem(&xlb_backends, &id);

	if (!be || be->gen != conn->backend_gen || !(be->flags & XLB_BACKEND_F_VALID) ||
	    be->vip_id != vip->id)
		return NULL;
	return be;
}

/* The backend of an established flow, if its entry is still usable. An
 * entry that is not goes to *stale, for the caller to rewrite in place. */
static __always_inline struct xlb_backend *lookup_conn(const struct xlb_vip *vip,
						       const struct packet *pkt,
						       const struct xlb_config *cfg, __u64 now,
						       __u32 *backend_id, struct xlb_conn **stale)
{
	struct xlb_backend *be;
	struct xlb_conn *conn;

	conn = bpf_map_lookup_elem(&xlb_conns, &pkt->flow);
	if (!conn)
		return NULL;
	be = conn_backend(vip, conn);
	if (!be || (pkt->flow.proto == IPPROTO_UDP && udp_conn_expired(conn, cfg, now))) {
		count_event(XLB_STAT_CONN_STALE);
		*stale = conn;
		return NULL;
	}
	*backend_id = conn->backend_id;
	return be;
}

/* A packet that shows the flow is real: not its first (the caller knows),
 * and for TCP neither a SYN (a retransmit, or a flood's) nor a RST. */
static __always_inline int confirms_flow(const struct packet *pkt)
{
	return !(pkt->tcp_flags & (TCP_F_SYN | TCP_F_RST));
}

/* An unconfirmed entry is usable for a handshake's time (TCP, from the
 * SYN; retransmits included) or a UDP idle timeout. After that it is stale:
 * a flow that never got past its first packet re-hashes. */
static __always_inline int new_conn_expired(const struct xlb_conn *conn, const struct packet *pkt,
					    const struct xlb_config *cfg, __u64 now)
{
	__u32 s = pkt->flow.proto == IPPROTO_TCP ? cfg->syn_timeout_s : cfg->udp_timeout_s;

	return now - conn->last_seen_ns > (__u64)s * NSEC_PER_SEC;
}

/* Moves a confirmed flow to the established table. Inserting into a full
 * xlb_conns evicts its least recently used flow, but only as fast as flows
 * confirm, which the budget bounds. */
static __always_inline void promote_conn(const struct packet *pkt, const struct xlb_conn *conn,
					 __u64 now)
{
	struct xlb_conn est = {
	    .backend_id = conn->backend_id,
	    .backend_gen = conn->backend_gen,
	    .last_seen_ns = now,
	};

	if (bpf_map_update_elem(&xlb_conns, &pkt->flow, &est, BPF_ANY))
		return;
	bpf_map_delete_elem(&xlb_conns_new, &pkt->flow);
	count_event(XLB_STAT_CONN_PROMOTE);
}

/* The backend of an unconfirmed flow, promoting it if this packet confirms
 * it (a packet of the flow: record). A stale entry goes to *stale as in
 * lookup_conn(). */
static __always_inline struct xlb_backend *
lookup_new_conn(const struct xlb_vip *vip, const struct packet *pkt, const struct xlb_config *cfg,
		__u64 now, __u32 *backend_id, struct xlb_conn **stale, int record)
{
	struct xlb_backend *be;
	struct xlb_conn *conn;

	conn = bpf_map_lookup_elem(&xlb_conns_new, &pkt->flow);
	if (!conn)
		return NULL;
	be = conn_backend(vip, conn);
	if (!be || new_conn_expired(conn, pkt, cfg, now)) {
		count_event(XLB_STAT_CONN_STALE);
		*stale = conn;
		return NULL;
	}
	*backend_id = conn->backend_id;
	if (record && confirms_flow(pkt))
		promote_conn(pkt, conn, now);
	return be;
}

/* Points a stale entry at the ring's choice, in place: an update would
 * unlink and relink the LRU entry, several times the cost. A reader on
 * another CPU may see old and new fields mixed for a moment; conn_backend()
 * rejects a mix that does not name a valid backend of this VIP, and the
 * re-hash lands on the same ring slot. */
static __always_inline void rewrite_conn(struct xlb_conn *stale, __u32 backend_id,
					 const struct xlb_backend *be, __u64 now)
{
	stale->backend_id = backend_id;
	stale->backend_gen = be->gen;
	stale->last_seen_ns = now;
}

/* Records a flow's first packet in the new-flow table, unless it is a RST
 * (it ends a flow, and a RST flood must cost nothing) or the CPU's budget
 * is spent: then the flow goes by the ring alone, which is consistent
 * until the ring changes, and its next packet tries again. */
static __always_inline void record_new_conn(const struct packet *pkt, const struct xlb_config *cfg,
					    __u64 now, __u32 backend_id,
					    const struct xlb_backend *be)
{
	struct xlb_conn conn = {
	    .backend_id = backend_id,
	    .backend_gen = be->gen,
	    .last_seen_ns = now,
	};

	if (pkt->tcp_flags & TCP_F_RST)
		return;
	if (!budget_take(cfg, now)) {
		count_event(XLB_STAT_CONN_SKIP);
		return;
	}
	if (!bpf_map_update_elem(&xlb_conns_new, &pkt->flow, &conn, BPF_ANY))
		count_event(XLB_STAT_CONN_INSERT);
}

#endif
