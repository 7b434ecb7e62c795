/* SPDX-License-Identifier: GPL-2.0 */
/* conn_state.h: what a connection-table entry means to userspace, without
 * touching a map: its state's name, the timeout its state and protocol get,
 * whether it has expired, and how it counts for its backend (active: new or
 * established; inactive: closing). The sweep (sweep.h), conns listings and
 * explain share these rules, which are the data plane's (bpf/conns.bpf.h). */
#ifndef XLB_CONN_STATE_H
#define XLB_CONN_STATE_H

#include "xlb.h"

/* "new", "established", "closing"; "unknown" for a value out of range. */
const char *xlb_conn_state_name(__u32 state);

/* Idle seconds after which the entry expires: the data plane's rule
 * (xlb_conn_timeout_s() in xlb.h: UDP by udp_timeout_s, TCP by its state,
 * in either table), except that a timeout of 0 (a config that left it
 * unset) counts as its default: the sweep must never read it as "expire at
 * once", which would delete every flow. */
__u32 xlb_conn_limit_s(const struct xlb_flow *f, const struct xlb_conn *c,
		       const struct xlb_config *cfg);

/* 1 when the entry has been idle longer than its timeout at now_ns (the
 * data plane's clock: CLOCK_MONOTONIC coarse). A stamp in the future (a
 * write racing the read) is not idle. */
int xlb_conn_expired(const struct xlb_flow *f, const struct xlb_conn *c,
		     const struct xlb_config *cfg, __u64 now_ns);

/* The entry's idle time and age in ms at now_ns (0 for stamps ahead). */
__u64 xlb_conn_idle_ms(const struct xlb_conn *c, __u64 now_ns);
__u64 xlb_conn_age_ms(const struct xlb_conn *c, __u64 now_ns);

/* 1 when a live entry counts as an open flow of its backend (lc, wlc):
 * new or established; closing ones are inactive. */
int xlb_conn_is_active(const struct xlb_conn *c);

/* The clock the data plane stamps entries with (bpf_ktime_get_coarse_ns). */
__u64 xlb_conn_now_ns(void);

#endif
