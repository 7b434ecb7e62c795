// SPDX-License-Identifier: GPL-2.0
/* preview.c: a change's effect, computed aside (preview.h). The rings
 * before and after come from the same weighted Maglev and membership rules
 * the load balancer applies (lb.c's rebuild: health, weight, fail-open), so
 * the slot counts are the ones the change would make: a Maglev ring depends
 * only on its members' (family, address, weight). A backend keeps its
 * health across the change; a new one starts up, as xlb_lb_backend_add()
 * has it. Connections break when their entry's backend is removed (alone
 * or with its VIP): the data plane then re-hashes them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "preview.h"
#include "conn_state.h"
#include "addr.h"
#include "dataplane.h"
#include "health_state.h"
#include "lb.h"
#include "log.h"
#include "maglev.h"
#include "rules.h"

#define NO_OWNER 0xffffffffU

/* Work space of one VIP's two rings. */
struct ring_pair {
	struct xlb_maglev_backend *mb; /* members, id = index in owners */
	union xlb_addr *owners;	       /* distinct addresses of both rings */
	__u8 *owner_family;
	int *up, *in;
	__u32 *weight;
	__u32 n_owners, cap;
	__u32 *before, *after; /* ring_size slots each */
};

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static __u32 owner_of(struct ring_pair *rp, const union xlb_addr *a, __u8 family)
{
	for (__u32 i = 0; i < rp->n_owners; i++)
		if (rp->owner_family[i] == family && !memcmp(&rp->owners[i], a, sizeof(*a)))
			return i;
	rp->owners[rp->n_owners] = *a;
	rp->owner_family[rp->n_owners] = family;
	return rp->n_owners++;
}

/* Builds ring from the n members in rp->mb (weights already 0 for those
 * out); an empty ring is all NO_OWNER. */
static int build(struct ring_pair *rp, size_t n, __u32 m, __u32 *ring)
{
	int err = xlb_maglev_build(rp->mb, n, m, ring);

	if (err == -ENOENT) {
		for (__u32 i = 0; i < m; i++)
			ring[i] = NO_OWNER;
		return 0;
	}
	return err;
}

/* The ring the VIP has now: its backends in the ring. */
static int ring_before(struct xlb_lb *lb, const struct xlb_vip_key *key, struct ring_pair *rp,
		       __u32 *in_ring)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, key);
	size_t n = 0;

	*in_ring = 0;
	if (v)
		for (__u32 i = 0; i < lb->dp->max_backends; i++) {
			struct xlb_lb_backend *b = &lb->backends[i];

			if (!b->used || b->vip != v->id || !b->in_ring)
				continue;
			rp->mb[n].addr = b->addr;
			rp->mb[n].family = b->family;
			rp->mb[n].weight = b->weight;
			rp->mb[n].id = owner_of(rp, &b->addr, b->family);
			n++;
		}
	*in_ring = n;
	return build(rp, n, lb->dp->ring_size, rp->before);
}

/* The ring the target would give it. */
static int ring_after(struct xlb_lb *lb, const struct xlb_rules *t, const struct xlb_rules_vip *tv,
		      struct ring_pair *rp, __u32 *in_ring)
{
	struct xlb_lb_vip *v = tv ? xlb_lb_vip_find(lb, &tv->key) : NULL;
	size_t n = 0, in = 0;

	*in_ring = 0;
	if (!tv)
		return build(rp, 0, lb->dp->ring_size, rp->after);
	for (size_t j = 0; j < t->n_backends; j++) {
		const struct xlb_rules_backend *rb = &t->backends[j];
		struct xlb_lb_backend *b;

		if (memcmp(&rb->vip, &tv->key, sizeof(tv->key)))
			continue;
		b = v ? xlb_lb_backend_find(lb, v, &rb->addr, rb->family) : NULL;
		rp->up[n] = b ? b->up : 1;
		rp->weight[n] = rb->weight;
		rp->mb[n].addr = rb->addr;
		rp->mb[n].family = rb->family;
		rp->mb[n].id = owner_of(rp, &rb->addr, rb->family);
		n++;
	}
	xlb_hc_ring_members(rp->up, rp->weight, n, !tv->fail_close, rp->in);
	for (size_t k = 0; k < n; k++)
		if (rp->in[k])
			rp->mb[in++] = (struct xlb_maglev_backend){
			    .addr = rp->mb[k].addr,
			    .family = rp->mb[k].family,
			    .weight = rp->weight[k],
			    .id = rp->mb[k].id,
			};
	*in_ring = in;
	return build(rp, in, lb->dp->ring_size, rp->after);
}

static const struct xlb_rules_vip *target_vip(const struct xlb_rules *t,
					      const struct xlb_vip_key *key)
{
	for (size_t i = 0; i < t->n_vips; i++)
		if (!memcmp(&t->vips[i].key, key, sizeof(*key)))
			return &t->vips[i];
	return NULL;
}

static int target_has_backend(const struct xlb_rules *t, const struct xlb_vip_key *key,
			      const struct xlb_lb_backend *b)
{
	for (size_t j = 0; j < t->n_backends; j++)
		if (!memcmp(&t->backends[j].vip, key, sizeof(*key)) &&
		    t->backends[j].family == b->family &&
		    !memcmp(&t->backends[j].addr, &b->addr, sizeof(b->addr)))
			return 1;
	return 0;
}

/* What the connection walk needs: which backend ids lose their entries. */
struct walk_ctx {
	struct xlb_lb *lb;
	struct xlb_preview *p;
	int *breaks; /* per backend id: index in p->vips, or -1 */
	struct xlb_config cfg; /* the timeouts */
	__u64 now_ns;	       /* coarse, as the data plane stamps entries */
};

/* An entry the data plane would use now (lookup_conn's rules), and that
 * would stop being usable: its backend goes away. */
static int count_entry(const struct xlb_flow *f, const struct xlb_conn *c, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct xlb_lb_backend *b;
	int vi;

	if (c->backend_id >= w->lb->dp->max_backends || (vi = w->breaks[c->backend_id]) < 0)
		return 0;
	b = &w->lb->backends[c->backend_id];
	if (!b->used || !(b->dp_flags & XLB_BACKEND_F_VALID) ||
	    c->backend_gen != w->lb->gens[b->id])
		return 0;
	if (xlb_conn_expired(f, c, &w->cfg, w->now_ns))
		return 0;
	w->p->vips[vi].conns_break++;
	w->p->conns_break++;
	return 0;
}

static int count_breaks(struct xlb_lb *lb, const struct xlb_rules *t, struct xlb_preview *p,
			char *err, size_t errlen)
{
	struct walk_ctx w = {.lb = lb, .p = p};
	struct xlb_config cfg = {.udp_timeout_s = XLB_UDP_TIMEOUT_DEFAULT_S,
				 .syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S,
				 .tcp_timeout_s = XLB_TCP_TIMEOUT_DEFAULT_S,
				 .fin_timeout_s = XLB_FIN_TIMEOUT_DEFAULT_S};
	long long t0;
	int any = 0, ret;

	w.breaks = malloc(lb->dp->max_backends * sizeof(*w.breaks));
	if (!w.breaks)
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];
		const struct xlb_vip_key *key;

		w.breaks[i] = -1;
		if (!b->used)
			continue;
		key = &lb->vips[b->vip].key;
		if (target_vip(t, key) && target_has_backend(t, key, b))
			continue;
		for (size_t k = 0; k < p->n_vips; k++)
			if (!memcmp(&p->vips[k].key, key, sizeof(*key)))
				w.breaks[i] = k;
		any = 1;
	}
	p->conns_complete = 1;
	if (!any) {
		free(w.breaks);
		return 0; /* nothing to count: no need to walk */
	}
	xlb_dp_config_get(lb->dp, &cfg);
	w.cfg = cfg;
	w.now_ns = xlb_conn_now_ns();
	t0 = mono_us();
	ret = xlb_dp_conn_walk(lb->dp, XLB_PREVIEW_BUDGET_US, count_entry, &w, &p->conns_scanned,
			       &p->conns_complete);
	p->scan_us = mono_us() - t0;
	free(w.breaks);
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot read the connection table: %s",
				strerror(-ret));
	return 0;
}

static void pair_free(struct ring_pair *rp)
{
	free(rp->mb);
	free(rp->owners);
	free(rp->owner_family);
	free(rp->up);
	free(rp->in);
	free(rp->weight);
	free(rp->before);
	free(rp->after);
}

static int pair_alloc(struct ring_pair *rp, __u32 backends, __u32 m)
{
	__u32 cap = 2 * backends + 1; /* before and after, all distinct at worst */

	memset(rp, 0, sizeof(*rp));
	rp->cap = cap;
	rp->mb = calloc(cap, sizeof(*rp->mb));
	rp->owners = calloc(cap, sizeof(*rp->owners));
	rp->owner_family = calloc(cap, 1);
	rp->up = calloc(cap, sizeof(int));
	rp->in = calloc(cap, sizeof(int));
	rp->weight = calloc(cap, sizeof(__u32));
	rp->before = calloc(m, sizeof(__u32));
	rp->after = calloc(m, sizeof(__u32));
	if (!rp->mb || !rp->owners || !rp->owner_family || !rp->up || !rp->in || !rp->weight ||
	    !rp->before || !rp->after)
		return -ENOMEM;
	return 0;
}

/* Lists every VIP of lb and of t once. */
static int list_vips(struct xlb_lb *lb, const struct xlb_rules *t, struct xlb_preview *p)
{
	p->vips = calloc(lb->dp->max_vips + t->n_vips, sizeof(*p->vips));
	if (!p->vips)
		return -ENOMEM;
	for (__u32 i = 0; i < lb->dp->max_vips; i++) {
		const struct xlb_rules_vip *tv;

		if (!lb->vips[i].used)
			continue;
		tv = target_vip(t, &lb->vips[i].key);
		p->vips[p->n_vips].key = lb->vips[i].key;
		p->vips[p->n_vips].change = tv ? XLB_PREVIEW_UNCHANGED : XLB_PREVIEW_REMOVED;
		p->vips[p->n_vips].rehash =
		    tv && (tv->flags ^ lb->vips[i].flags) & XLB_VIP_F_SCHED;
		p->vips[p->n_vips].tracked =
		    !((tv ? tv->flags : lb->vips[i].flags) & XLB_VIP_F_NO_CONNTRACK);
		p->n_vips++;
	}
	for (size_t i = 0; i < t->n_vips; i++) {
		if (xlb_lb_vip_find(lb, &t->vips[i].key))
			continue;
		p->vips[p->n_vips].key = t->vips[i].key;
		p->vips[p->n_vips].change = XLB_PREVIEW_ADDED;
		p->vips[p->n_vips].tracked = !(t->vips[i].flags & XLB_VIP_F_NO_CONNTRACK);
		p->n_vips++;
	}
	return 0;
}

int xlb_preview_rules(struct xlb_lb *lb, const struct xlb_rules *target, struct xlb_preview *p,
		      char *err, size_t errlen)
{
	struct ring_pair rp;
	__u32 m = lb->dp->ring_size;
	int ret;

	memset(p, 0, sizeof(*p));
	p->ring_size = m;
	if (list_vips(lb, target, p) ||
	    pair_alloc(&rp, lb->dp->max_backends + (__u32)target->n_backends, m)) {
		pair_free(&rp);
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	}
	for (size_t i = 0; i < p->n_vips; i++) {
		struct xlb_preview_vip *pv = &p->vips[i];

		rp.n_owners = 0;
		ret = ring_before(lb, &pv->key, &rp, &pv->in_ring_before);
		if (!ret)
			ret = ring_after(lb, target, target_vip(target, &pv->key), &rp,
					 &pv->in_ring_after);
		if (ret) {
			char v[XLB_ADDR_STRLEN];

			pair_free(&rp);
			xlb_vip_key_format(&pv->key, v, sizeof(v));
			return xlb_errf(ret, err, errlen, "vip %s: cannot compute its ring: %s", v,
					strerror(-ret));
		}
		for (__u32 s = 0; s < m; s++)
			pv->slots_changed += rp.before[s] != rp.after[s];
		if (pv->change == XLB_PREVIEW_UNCHANGED && (pv->slots_changed || pv->rehash))
			pv->change = XLB_PREVIEW_CHANGED;
	}
	pair_free(&rp);
	ret = count_breaks(lb, target, p, err, errlen);
	for (size_t i = 0; i < p->n_vips; i++)
		if (p->vips[i].change == XLB_PREVIEW_UNCHANGED && p->vips[i].conns_break)
			p->vips[i].change = XLB_PREVIEW_CHANGED;
	return ret;
}

void xlb_preview_free(struct xlb_preview *p)
{
	free(p->vips);
	memset(p, 0, sizeof(*p));
}
