// SPDX-License-Identifier: GPL-2.0
/* conns.c: conns and conns flush (conns.h). An entry belongs to the VIP
 * its flow's destination names (the all-ports VIP of the address when the
 * port has none of its own) and to the backend its id and generation name
 * now; an entry of an older generation has no backend. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "conns.h"
#include "addr.h"
#include "cmd.h"
#include "conn_state.h"
#include "dataplane.h"
#include "lb.h"
#include "log.h"
#include "refusal.h"
#include "sweep.h"

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const struct xlb_lb_backend *entry_backend(const struct xlb_lb *lb, const struct xlb_conn *c)
{
	const struct xlb_lb_backend *b;

	if (c->backend_id >= lb->dp->max_backends)
		return NULL;
	b = &lb->backends[c->backend_id];
	return b->used && lb->gens[b->id] == c->backend_gen ? b : NULL;
}

/* The flow's destination as a VIP key (port as on the wire). */
static void flow_vip(const struct xlb_flow *f, struct xlb_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = f->dst;
	k->port = f->dport;
	k->proto = f->proto;
	k->family = f->family;
}

/* 1 when the entry is one of v's flows. */
static int entry_in_vip(struct xlb_lb *lb, const struct xlb_flow *f,
			const struct xlb_lb_backend *be, const struct xlb_lb_vip *v)
{
	struct xlb_vip_key k;

	if (f->family != v->key.family || f->proto != v->key.proto ||
	    memcmp(&f->dst, &v->key.addr, sizeof(f->dst)))
		return 0;
	if (f->dport == v->key.port)
		return 1;
	if (v->key.port)
		return 0;
	/* All-ports VIP: unless the port has a VIP of its own. */
	if (be)
		return &lb->vips[be->vip] == v;
	flow_vip(f, &k);
	return !xlb_lb_vip_find(lb, &k);
}

struct list_ctx {
	struct xlb_lb *lb;
	const struct xlb_cmd *c;
	const struct xlb_lb_vip *vip; /* filter, NULL: all */
	const char *table;	      /* "established" or "new" */
	__u64 now_ns;
	__u64 matched;
	json_t *arr;
	int nomem;
};

static int list_entry(const struct xlb_flow *f, const struct xlb_conn *c, void *ctx)
{
	struct list_ctx *l = ctx;
	const struct xlb_lb_backend *be = entry_backend(l->lb, c);
	char client[XLB_ADDR_STRLEN], vip[XLB_ADDR_STRLEN], addr[XLB_ADDR_STRLEN];
	struct xlb_vip_key k;
	json_t *o;

	if (l->vip && !entry_in_vip(l->lb, f, be, l->vip))
		return 0;
	if ((l->c->given & XLB_CMD_G_BACKEND) &&
	    (!be || be->family != l->c->family || memcmp(&be->addr, &l->c->addr, sizeof(be->addr))))
		return 0;
	l->matched++;
	if (json_array_size(l->arr) >= l->c->limit)
		return 0;
	xlb_endpoint_format(&f->src, f->family, f->sport, client, sizeof(client));
	if (be) {
		xlb_vip_key_format(&l->lb->vips[be->vip].key, vip, sizeof(vip));
		xlb_addr_format(&be->addr, be->family, addr, sizeof(addr));
	} else {
		flow_vip(f, &k);
		xlb_vip_key_format(&k, vip, sizeof(vip));
	}
	o = json_pack("{s:s, s:s, s:s?, s:I, s:s, s:s, s:I, s:I}", "client", client, "vip", vip,
		      "backend", be ? addr : NULL, "backend_id", (json_int_t)c->backend_id, "state",
		      xlb_conn_state_name(c->state), "table", l->table, "age_ms",
		      (json_int_t)xlb_conn_age_ms(c, l->now_ns), "idle_ms",
		      (json_int_t)xlb_conn_idle_ms(c, l->now_ns));
	if (!o || json_array_append_new(l->arr, o)) {
		l->nomem = 1;
		return 1;
	}
	return 0;
}

/* The VIP a request names, refused by name when there is none. */
static int find_vip(struct xlb_lb *lb, const struct xlb_cmd *c, const struct xlb_lb_vip **v,
		    char *err, size_t errlen)
{
	char name[XLB_ADDR_STRLEN];

	*v = NULL;
	if (!(c->given & XLB_CMD_G_VIP))
		return 0;
	*v = xlb_lb_vip_find(lb, &c->vip);
	if (*v)
		return 0;
	xlb_vip_key_format(&c->vip, name, sizeof(name));
	return xlb_refuse_no_vip(name, err, errlen);
}

int xlb_conns_list(struct xlb_lb *lb, const struct xlb_cmd *c, json_t **out, char *err,
		   size_t errlen)
{
	struct list_ctx l = {.lb = lb, .c = c};
	long long t0 = mono_us(), left;
	__u64 scanned = 0, n;
	int complete = 1, done, ret;

	ret = find_vip(lb, c, &l.vip, err, errlen);
	if (ret)
		return ret;
	l.arr = json_array();
	if (!l.arr)
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	l.now_ns = xlb_conn_now_ns();
	for (int t = XLB_DP_CONNS; t <= XLB_DP_CONNS_NEW && complete; t++) {
		left = XLB_CONNS_LIST_BUDGET_US - (mono_us() - t0);
		l.table = t == XLB_DP_CONNS ? "established" : "new";
		ret = xlb_dp_conn_walk_table(lb->dp, t, left > 0 ? (unsigned int)left : 0,
					     list_entry, &l, &n, &done);
		scanned += n;
		complete = done;
		if (ret || l.nomem) {
			json_decref(l.arr);
			if (l.nomem)
				return xlb_errf(-ENOMEM, err, errlen, "out of memory");
			return xlb_errf(ret, err, errlen, "cannot read the connection table: %s",
					strerror(-ret));
		}
	}
	*out = json_pack("{s:o, s:I, s:I, s:I, s:I, s:b, s:I, s:I}", "conns", l.arr, "matched",
			 (json_int_t)l.matched, "shown", (json_int_t)json_array_size(l.arr),
			 "limit", (json_int_t)c->limit, "more",
			 (json_int_t)(l.matched - json_array_size(l.arr)), "complete", complete,
			 "scanned", (json_int_t)scanned, "scan_ms",
			 (json_int_t)((mono_us() - t0) / 1000));
	return *out ? 0 : xlb_errf(-ENOMEM, err, errlen, "out of memory");
}

/* The VIP's entries of one table, collected first: a delete inside the
 * walk would be safe (the walk's cursor is a bucket), but the keys of the
 * batch under way are the walk's own buffer. */
struct flush_ctx {
	struct xlb_lb *lb;
	const struct xlb_lb_vip *vip;
	struct xlb_flow *keys;
	__u32 *ids; /* backend id whose count it holds, or UINT32_MAX */
	size_t n, cap;
	int nomem;
};

static int flush_entry(const struct xlb_flow *f, const struct xlb_conn *c, void *ctx)
{
	struct flush_ctx *x = ctx;
	const struct xlb_lb_backend *be = entry_backend(x->lb, c);

	if (!entry_in_vip(x->lb, f, be, x->vip))
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 1024;
		struct xlb_flow *k = realloc(x->keys, cap * sizeof(*k));
		__u32 *ids;

		if (!k) {
			x->nomem = 1;
			return 1;
		}
		x->keys = k;
		ids = realloc(x->ids, cap * sizeof(*ids));
		if (!ids) {
			x->nomem = 1;
			return 1;
		}
		x->ids = ids;
		x->cap = cap;
	}
	x->keys[x->n] = *f;
	x->ids[x->n] = be && xlb_conn_is_active(c) ? be->id : UINT32_MAX;
	x->n++;
	return 0;
}

/* Deletes what flush_entry collected, in batches (the kernel loops); each
 * active flow deleted leaves its backend's count (the data plane never sees
 * it end). A key already gone stops the kernel's loop: skip it, go on.
 * *deleted: how many were still there. */
static int flush_table(struct xlb_lb *lb, enum xlb_dp_conn_table t, struct flush_ctx *x,
		       __s64 *delta, __u64 *deleted)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = xlb_dp_conn_table_fd(lb->dp, t);
	size_t i = 0;

	*deleted = 0;
	while (i < x->n) {
		__u32 count = x->n - i > 4096 ? 4096 : (__u32)(x->n - i), want = count;
		int gone = bpf_map_delete_batch(fd, &x->keys[i], &count, &opts) ? errno : 0;

		if (gone && (gone != ENOENT || count >= want))
			return -gone;
		for (__u32 k = 0; k < count; k++)
			if (x->ids[i + k] != UINT32_MAX)
				delta[x->ids[i + k]]--;
		*deleted += count;
		i += count + (gone ? 1 : 0);
	}
	return 0;
}

int xlb_conns_flush(struct xlb_lb *lb, const struct xlb_cmd *c, json_t **out, char *err,
		    size_t errlen)
{
	struct flush_ctx x = {.lb = lb};
	char name[XLB_ADDR_STRLEN];
	__u64 deleted[2] = {0, 0}, scanned;
	__s64 *delta;
	int complete, ret = 0;

	ret = find_vip(lb, c, &x.vip, err, errlen);
	if (ret)
		return ret;
	delta = calloc(lb->dp->max_backends, sizeof(*delta));
	if (!delta)
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	/* The counts the sweep began with no longer hold. */
	if (lb->dp->sweep)
		xlb_sweep_abort(lb->dp->sweep);
	for (int t = XLB_DP_CONNS; t <= XLB_DP_CONNS_NEW && !ret; t++) {
		x.n = 0;
		ret = xlb_dp_conn_walk_table(lb->dp, t, UINT32_MAX, flush_entry, &x, &scanned,
					     &complete);
		if (!ret && x.nomem)
			ret = -ENOMEM;
		if (!ret)
			ret = flush_table(lb, t, &x, delta, &deleted[t]);
	}
	for (__u32 id = 0; id < lb->dp->max_backends; id++) {
		int r = delta[id] ? xlb_dp_backend_conns_add(lb->dp, id, delta[id]) : 0;

		if (r && !ret)
			ret = r;
	}
	free(delta);
	free(x.keys);
	free(x.ids);
	xlb_vip_key_format(&x.vip->key, name, sizeof(name));
	if (ret)
		return xlb_errf(ret, err, errlen,
				"cannot flush the connections of VIP %s: %s (%llu deleted)", name,
				strerror(-ret), (unsigned long long)(deleted[0] + deleted[1]));
	*out = json_pack("{s:s, s:I, s:I, s:I}", "vip", name, "flushed",
			 (json_int_t)(deleted[0] + deleted[1]), "established",
			 (json_int_t)deleted[0], "new", (json_int_t)deleted[1]);
	return *out ? 0 : xlb_errf(-ENOMEM, err, errlen, "out of memory");
}
