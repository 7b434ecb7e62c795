/* SPDX-License-Identifier: GPL-2.0 */
/* conns.bpf.h: the connection tables. A flow's first packet is recorded in
 * xlb_conns_new (under the CPU's budget, never for a RST); its next packet
 * that is not a SYN or RST confirms it and moves it to xlb_conns. A spoofed
 * flood sends one packet per 5-tuple, so it churns the new-flow table only:
 * established flows are never evicted by it. A flow that ECMP moved here
 * from another xlb arrives mid-connection (an ACK): recorded like a SYN, it
 * is established from its second packet on.
 *
 * Each entry has a state seen from the client's packets alone (with direct
 * server return the replies bypass xlb): new when recorded, established
 * once confirmed, closing from the client's FIN or RST; each state has its
 * idle timeout (xlb_conn_timeout_s). New and established flows count on their
 * backend in xlb_backend_conns, which lc and wlc read (sched.bpf.h). */
#ifndef XLB_CONNS_BPF_H
#define XLB_CONNS_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "stats.bpf.h"
#include "budget.bpf.h"
#include "limit.bpf.h"

#define NSEC_PER_SEC 1000000000ULL

/* Adds delta to a backend's open flows (lc, wlc): on a flow's start and
 * close only, never per packet, since the counter is shared by all CPUs. */
static __always_inline void count_conn(__u32 backend_id, __s64 delta)
{
	struct xlb_backend_conns *c = bpf_map_lookup_elem(&xlb_backend_conns, &backend_id);

	if (c)
		__sync_fetch_and_add(&c->active, delta);
}

/* Moves the entry from state from to state to; 1 for the one CPU that did.
 * created_s and state are one aligned 8-byte word (little endian: state is
 * its high half), swapped whole: clang 14 has no 32-bit compare-and-swap
 * for the BPF ISA this is built for. */
static __always_inline int conn_move(struct xlb_conn *conn, __u32 from, __u32 to)
{
	__u64 *word = (__u64 *)&conn->created_s;
	__u64 old = *word;

	if ((__u32)(old >> 32) != from)
		return 0;
	return __sync_val_compare_and_swap(word, old, (old & 0xffffffffULL) | (__u64)to << 32) ==
	       old;
}
_Static_assert(__builtin_offsetof(struct xlb_conn, created_s) % 8 == 0 &&
		   __builtin_offsetof(struct xlb_conn, state) ==
		       __builtin_offsetof(struct xlb_conn, created_s) + 4,
	       "xlb_conn: created_s and state form one word");

/* A client's FIN or RST closes a counted flow: it stops counting for lc and
 * wlc at once, and its entry expires after fin_timeout. Only the CPU whose
 * compare-and-swap wins subtracts. */
static __always_inline void note_close(struct xlb_conn *conn, const struct packet *pkt)
{
	__u32 state = conn->state;

	if (!(pkt->tcp_flags & (TCP_F_FIN | TCP_F_RST)) || state == XLB_CONN_CLOSING)
		return;
	if (conn_move(conn, state, XLB_CONN_CLOSING))
		count_conn(conn->backend_id, -1);
}

/* A flow idle for longer than its state's timeout is a new flow: re-pick
 * it. The timestamp is written at most once a second, to keep the shared
 * cache line clean on the hot path, and at least every half timeout: a
 * packet then never finds more than refresh + its gap since the last write,
 * so a flow whose packets come closer than the timeout never expires. */
static __always_inline int conn_expired(struct xlb_conn *conn, const struct packet *pkt,
					const struct xlb_config *cfg, __u64 now)
{
	__u64 timeout =
	    (__u64)xlb_conn_timeout_s(cfg, pkt->flow.proto == IPPROTO_TCP, conn->state) *
	    NSEC_PER_SEC;
	__u64 idle = now - conn->last_seen_ns;

	/* Another CPU may have refreshed the entry after this one read its
	 * clock: a stamp ahead of now is fresh, not an idle time wrapped. */
	if ((__s64)idle <= 0)
		return 0;
	if (idle > timeout)
		return 1;
	if (idle > (timeout / 2 < NSEC_PER_SEC ? timeout / 2 : NSEC_PER_SEC))
		conn->last_seen_ns = now;
	return 0;
}

/* An entry is usable for this packet unless expired, or closing while a
 * SYN opens the same 5-tuple again (port reuse): that is a new flow. */
static __always_inline int conn_stale(struct xlb_conn *conn, const struct packet *pkt,
				      const struct xlb_config *cfg, __u64 now)
{
	if (conn->state == XLB_CONN_CLOSING && starts_flow(pkt))
		return 1;
	return conn_expired(conn, pkt, cfg, now);
}

/* The common hit, decided in one pass: an established flow's packet that
 * neither opens nor closes it, under half a second after its stamp. Every
 * timeout is 1 s at least (xlbd refuses less, xlb_dp_config_set() turns 0
 * into the default), so such an entry is neither expired nor due for a
 * refresh: nothing to check further, nothing to write. This pass took back
 * about half of what state tracking added to a hit (docs/performance.md).
 * A stamp ahead of now wraps to a large idle time: the full path. */
static __always_inline int conn_steady(const struct xlb_conn *conn, const struct packet *pkt,
				       __u64 now)
{
	return conn->state == XLB_CONN_ESTABLISHED &&
	       !(pkt->tcp_flags & (TCP_F_SYN | TCP_F_FIN | TCP_F_RST)) &&
	       now - conn->last_seen_ns < NSEC_PER_SEC / 2;
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

/* A packet of a tracked flow moves its state on: a FIN or RST closes it, a
 * confirming packet establishes an entry of xlb_conns that was recorded
 * anew in place (stale, or a SYN that reused a closing entry's 5-tuple).
 * The state is read first, so that an established flow's packet writes
 * nothing. */
static __always_inline void note_flow_packet(struct xlb_conn *conn, const struct packet *pkt)
{
	if (pkt->tcp_flags & (TCP_F_FIN | TCP_F_RST))
		note_close(conn, pkt);
	else if (conn->state == XLB_CONN_NEW && !(pkt->tcp_flags & TCP_F_SYN))
		conn_move(conn, XLB_CONN_NEW, XLB_CONN_ESTABLISHED);
}

/* The backend of an established flow, if its entry is still usable, its
 * state moved on by a packet of the flow (record). An entry that is not
 * usable goes to *stale, for the caller to rewrite in place. */
static __always_inline struct xlb_backend *
lookup_conn(const struct xlb_vip *vip, const struct packet *pkt, const struct xlb_config *cfg,
	    __u64 now, __u32 *backend_id, struct xlb_conn **stale, int record)
{
	struct xlb_backend *be;
	struct xlb_conn *conn;

	conn = bpf_map_lookup_elem(&xlb_conns, &pkt->flow);
	if (!conn)
		return NULL;
	be = conn_backend(vip, conn);
	if (be && conn_steady(conn, pkt, now)) {
		*backend_id = conn->backend_id;
		return be;
	}
	if (!be || conn_stale(conn, pkt, cfg, now)) {
		count_event(XLB_STAT_CONN_STALE);
		*stale = conn;
		return NULL;
	}
	*backend_id = conn->backend_id;
	if (record)
		note_flow_packet(conn, pkt);
	return be;
}

/* A packet that shows the flow is real: not its first (the caller knows),
 * and for TCP neither a SYN (a retransmit, or a flood's) nor a RST. */
static __always_inline int confirms_flow(const struct packet *pkt)
{
	return !(pkt->tcp_flags & (TCP_F_SYN | TCP_F_RST));
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
	    .created_s = conn->created_s,
	    .state = conn->state == XLB_CONN_CLOSING ? XLB_CONN_CLOSING : XLB_CONN_ESTABLISHED,
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
	if (!be || conn_stale(conn, pkt, cfg, now)) {
		count_event(XLB_STAT_CONN_STALE);
		*stale = conn;
		return NULL;
	}
	*backend_id = conn->backend_id;
	if (!record)
		return be;
	note_close(conn, pkt);
	if (confirms_flow(pkt))
		promote_conn(pkt, conn, now);
	return be;
}

/* The state a flow's entry starts in: a FIN (of a flow ECMP moved here
 * mid-connection, or one whose entry expired) closes it at once. */
static __always_inline __u32 first_state(const struct packet *pkt)
{
	return pkt->tcp_flags & (TCP_F_FIN | TCP_F_RST) ? XLB_CONN_CLOSING : XLB_CONN_NEW;
}

/* 1 if the entry still counts on its backend: not closing, and the backend
 * is the one it chose (xlbd zeroes a backend id's count when it reuses it). */
static __always_inline int conn_counted(const struct xlb_conn *conn)
{
	__u32 id = conn->backend_id;
	struct xlb_backend *be;

	if (conn->state == XLB_CONN_CLOSING)
		return 0;
	be = bpf_map_lookup_elem(&xlb_backends, &id);
	return be && be->gen == conn->backend_gen;
}

/* Points a stale entry at the scheduler's choice, in place, as a flow
 * recorded anew: an update would unlink and relink the LRU entry, several
 * times the cost. A reader on another CPU may see old and new fields mixed
 * for a moment; conn_backend() rejects a mix that does not name a valid
 * backend of this VIP, and the re-hash lands on the same ring slot. The
 * counts move from the old backend to the new one (plain stores, not
 * compare-and-swap: a race here is rare and xlbd's sweep corrects it). */
static __always_inline void rewrite_conn(struct xlb_conn *stale, const struct packet *pkt,
					 __u32 backend_id, const struct xlb_backend *be, __u64 now)
{
	__u32 state = first_state(pkt);
	int was = conn_counted(stale), is = state == XLB_CONN_NEW;

	if (was && (!is || stale->backend_id != backend_id || stale->backend_gen != be->gen))
		count_conn(stale->backend_id, -1);
	else if (was)
		is = 0; /* counted there already */
	stale->backend_id = backend_id;
	stale->backend_gen = be->gen;
	stale->last_seen_ns = now;
	stale->created_s = (__u32)(now / NSEC_PER_SEC);
	stale->state = state;
	if (is)
		count_conn(backend_id, 1);
}

/* Records a flow's first packet in the new-flow table, unless it is a RST
 * (it ends a flow, and a RST flood must cost nothing) or the CPU's budget
 * is spent: then the flow goes by the ring alone, which is consistent
 * until the ring changes, and its next packet tries again. A new entry
 * counts on its backend until it closes or expires. */
static __always_inline void record_new_conn(const struct packet *pkt, const struct xlb_config *cfg,
					    __u64 now, __u32 backend_id,
					    const struct xlb_backend *be)
{
	struct xlb_conn conn = {
	    .backend_id = backend_id,
	    .backend_gen = be->gen,
	    .last_seen_ns = now,
	    .created_s = (__u32)(now / NSEC_PER_SEC),
	    .state = first_state(pkt),
	};

	if (pkt->tcp_flags & TCP_F_RST)
		return;
	if (!budget_take(cfg, now)) {
		count_event(XLB_STAT_CONN_SKIP);
		return;
	}
	if (bpf_map_update_elem(&xlb_conns_new, &pkt->flow, &conn, BPF_ANY))
		return;
	count_event(XLB_STAT_CONN_INSERT);
	if (conn.state == XLB_CONN_NEW)
		count_conn(backend_id, 1);
}

#endif
