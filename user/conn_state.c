// SPDX-License-Identifier: GPL-2.0
/* conn_state.c: the meaning of a connection-table entry (conn_state.h). */
#include <time.h>
#include <netinet/in.h>

#include "conn_state.h"

#define NSEC_PER_SEC 1000000000ULL

const char *xlb_conn_state_name(__u32 state)
{
	switch (state) {
	case XLB_CONN_NEW:
		return "new";
	case XLB_CONN_ESTABLISHED:
		return "established";
	case XLB_CONN_CLOSING:
		return "closing";
	}
	return "unknown";
}

static __u32 or_default(__u32 s, __u32 def)
{
	return s ? s : def;
}

__u32 xlb_conn_limit_s(const struct xlb_flow *f, const struct xlb_conn *c,
		       const struct xlb_config *cfg)
{
	struct xlb_config set = *cfg;

	set.udp_timeout_s = or_default(cfg->udp_timeout_s, XLB_UDP_TIMEOUT_DEFAULT_S);
	set.syn_timeout_s = or_default(cfg->syn_timeout_s, XLB_SYN_TIMEOUT_DEFAULT_S);
	set.tcp_timeout_s = or_default(cfg->tcp_timeout_s, XLB_TCP_TIMEOUT_DEFAULT_S);
	set.fin_timeout_s = or_default(cfg->fin_timeout_s, XLB_FIN_TIMEOUT_DEFAULT_S);
	return xlb_conn_timeout_s(&set, f->proto == IPPROTO_TCP, c->state);
}

int xlb_conn_expired(const struct xlb_flow *f, const struct xlb_conn *c,
		     const struct xlb_config *cfg, __u64 now_ns)
{
	if (now_ns <= c->last_seen_ns)
		return 0;
	return now_ns - c->last_seen_ns > (__u64)xlb_conn_limit_s(f, c, cfg) * NSEC_PER_SEC;
}

__u64 xlb_conn_idle_ms(const struct xlb_conn *c, __u64 now_ns)
{
	return now_ns > c->last_seen_ns ? (now_ns - c->last_seen_ns) / 1000000 : 0;
}

__u64 xlb_conn_age_ms(const struct xlb_conn *c, __u64 now_ns)
{
	__u64 created = (__u64)c->created_s * NSEC_PER_SEC;

	return now_ns > created ? (now_ns - created) / 1000000 : 0;
}

int xlb_conn_is_active(const struct xlb_conn *c)
{
	return c->state != XLB_CONN_CLOSING;
}

__u64 xlb_conn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}
