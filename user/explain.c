// SPDX-License-Identifier: GPL-2.0
/* explain.c: one flow's way through the data plane's maps (explain.h),
 * following bpf/xlb.bpf.c's pick_backend: the connection table first
 * (unless the VIP is stateless) with lookup_conn's rules of a usable entry,
 * else the ring. Reads only; the entry's LRU position may move. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "explain.h"
#include "addr.h"
#include "conn_state.h"
#include "dataplane.h"
#include "lb.h"
#include "log.h"
#include "refusal.h"
#include "xlb_hash.h"

/* lookup_conn()'s verdict on the entry: NULL when usable, else why not. */
static const char *conn_verdict(struct xlb_lb *lb, struct xlb_explain *x, __u64 now)
{
	struct xlb_config cfg;
	struct xlb_backend be;

	if (xlb_dp_backend_get(lb->dp, x->conn.backend_id, &be))
		return "its backend id is out of range";
	if (be.gen != x->conn.backend_gen)
		return "its backend was removed (or its id reused) since";
	if (!(be.flags & XLB_BACKEND_F_VALID))
		return "its backend is down or removed";
	if (be.vip_id != x->vip->id)
		return "its backend id serves another VIP now";
	if (!xlb_dp_config_get(lb->dp, &cfg) && xlb_conn_expired(&x->flow, &x->conn, &cfg, now))
		return x->flow.proto == IPPROTO_UDP ? "UDP flow idle past the UDP timeout"
						    : "TCP flow idle past its state's timeout";
	return NULL;
}

static int read_conn(struct xlb_lb *lb, struct xlb_explain *x, char *err, size_t errlen)
{
	__u64 now = xlb_conn_now_ns();
	__u32 id;
	int ret;

	ret = xlb_dp_conn_get(lb->dp, &x->flow, &x->conn);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot read the connection table: %s",
				strerror(-ret));
	x->have_conn = 1;
	x->conn_age_ms = xlb_conn_idle_ms(&x->conn, now);
	id = x->conn.backend_id;
	if (id < lb->dp->max_backends && lb->backends[id].used)
		x->conn_be = &lb->backends[id];
	x->conn_stale = conn_verdict(lb, x, now);
	return 0;
}

static int read_ring(struct xlb_lb *lb, struct xlb_explain *x, char *err, size_t errlen)
{
	int ret = xlb_dp_ring_slot(lb->dp, x->vip->id, x->slot, &x->ring_id);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot read the ring: %s", strerror(-ret));
	x->have_ring = 1;
	if (x->ring_id < lb->dp->max_backends && lb->backends[x->ring_id].used &&
	    lb->backends[x->ring_id].vip == x->vip->id)
		x->ring_be = &lb->backends[x->ring_id];
	return 0;
}

int xlb_explain_flow(struct xlb_lb *lb, const struct xlb_vip_key *vkey, const union xlb_addr *src,
		     __u8 src_family, __be16 sport, struct xlb_explain *out, char *err,
		     size_t errlen)
{
	struct xlb_explain *x = out;
	int ret;

	memset(x, 0, sizeof(*x));
	x->vip = xlb_lb_vip_match(lb, vkey, &x->all_ports, err, errlen);
	if (!x->vip)
		return -ENOENT;
	if (src_family != vkey->family) {
		char client[XLB_ADDR_STRLEN];

		xlb_endpoint_format(src, src_family, sport, client, sizeof(client));
		return xlb_refuse_client_family(client, vkey->family, err, errlen);
	}
	xlb_lb_flow(x->vip, vkey, src, sport, &x->flow, &x->hash);
	x->slot = xlb_ring_slot(x->hash, lb->dp->ring_size);
	if (!(x->vip->flags & XLB_VIP_F_NO_CONNTRACK)) {
		ret = read_conn(lb, x, err, errlen);
		if (ret)
			return ret;
	}
	ret = read_ring(lb, x, err, errlen);
	if (ret)
		return ret;
	if (x->have_conn && !x->conn_stale) {
		x->use = XLB_EXPLAIN_CONN;
		x->use_be = x->conn_be;
	} else if (x->have_ring && x->ring_be) {
		x->use = XLB_EXPLAIN_RING;
		x->use_be = x->ring_be;
	}
	return 0;
}
