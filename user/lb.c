// SPDX-License-Identifier: GPL-2.0
/* lb.c: the configured load balancer (see lb.h): validates operator changes,
 * assigns VIP and backend ids, rebuilds Maglev rings and keeps the data
 * plane's validity flags in step. On a restart it adopts the ids found in the
 * pinned maps, so that established flows keep their backends. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

#include "lb.h"
#include "addr.h"
#include "health.h"
#include "log.h"
#include "maglev.h"
#include "sequence.h"
#include "refusal.h"
#include "slowstart.h"
#include "xlb_hash.h"

/* What the pinned maps held when this process started. */
struct xlb_lb_adopt {
	int vip_valid; /* per VIP id: an entry exists in xlb_vips */
	struct xlb_vip_key vip_key;
	int be_valid; /* per backend id: an entry to adopt, valid or down */
	int be_down;  /* that entry was down by health checks */
	struct xlb_backend be;
};

/* Per-backend inputs and outputs of one ring rebuild. */
struct xlb_lb_scratch {
	__u32 idx;
	__u32 weight;
	int up;
	int in_ring;
};

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int adopt_vip(const struct xlb_vip_key *key, const struct xlb_vip *vip, void *ctx)
{
	struct xlb_lb *lb = ctx;

	if (vip->id < lb->dp->max_vips) {
		lb->adopt[vip->id].vip_valid = 1;
		lb->adopt[vip->id].vip_key = *key;
	}
	return 0;
}

static int read_adoptable(struct xlb_lb *lb)
{
	struct xlb_backend be;

	xlb_dp_vip_foreach(lb->dp, adopt_vip, lb);
	for (__u32 id = 0; id < lb->dp->max_backends; id++) {
		if (xlb_dp_backend_get(lb->dp, id, &be))
			return -EIO;
		lb->gens[id] = be.gen;
		if (be.flags & (XLB_BACKEND_F_VALID | XLB_BACKEND_F_DOWN)) {
			lb->adopt[id].be_valid = 1;
			lb->adopt[id].be_down = !!(be.flags & XLB_BACKEND_F_DOWN);
			lb->adopt[id].be = be;
		}
	}
	return 0;
}

int xlb_lb_new(struct xlb_dp *dp, struct xlb_lb **out)
{
	size_t nadopt = dp->max_vips > dp->max_backends ? dp->max_vips : dp->max_backends;
	struct xlb_lb *lb = calloc(1, sizeof(*lb));
	int err;

	if (!lb)
		return -ENOMEM;
	lb->dp = dp;
	lb->vips = calloc(dp->max_vips, sizeof(*lb->vips));
	lb->backends = calloc(dp->max_backends, sizeof(*lb->backends));
	lb->gens = calloc(dp->max_backends, sizeof(*lb->gens));
	lb->ring = calloc(dp->ring_size, sizeof(*lb->ring));
	lb->members = calloc(dp->max_backends, sizeof(*lb->members));
	lb->scratch = calloc(dp->max_backends, sizeof(*lb->scratch));
	lb->adopt = calloc(nadopt, sizeof(*lb->adopt));
	lb->m_up = calloc(dp->max_backends, sizeof(*lb->m_up));
	lb->m_in = calloc(dp->max_backends, sizeof(*lb->m_in));
	lb->m_weight = calloc(dp->max_backends, sizeof(*lb->m_weight));
	if (!lb->vips || !lb->backends || !lb->gens || !lb->ring || !lb->members || !lb->adopt ||
	    !lb->scratch || !lb->m_up || !lb->m_in || !lb->m_weight) {
		xlb_lb_free(lb);
		return -ENOMEM;
	}
	if (dp->adopted) {
		err = read_adoptable(lb);
		if (err) {
			xlb_lb_free(lb);
			return err;
		}
	}
	*out = lb;
	return 0;
}

void xlb_lb_free(struct xlb_lb *lb)
{
	if (!lb)
		return;
	free(lb->vips);
	free(lb->backends);
	free(lb->gens);
	free(lb->ring);
	free(lb->members);
	free(lb->scratch);
	free(lb->adopt);
	free(lb->m_up);
	free(lb->m_in);
	free(lb->m_weight);
	free(lb);
}

struct xlb_lb_vip *xlb_lb_vip_find(struct xlb_lb *lb, const struct xlb_vip_key *key)
{
	for (__u32 i = 0; i < lb->dp->max_vips; i++)
		if (lb->vips[i].used && !memcmp(&lb->vips[i].key, key, sizeof(*key)))
			return &lb->vips[i];
	return NULL;
}

struct xlb_lb_backend *xlb_lb_backend_find(struct xlb_lb *lb, const struct xlb_lb_vip *vip,
					   const union xlb_addr *addr, __u8 family)
{
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];

		if (b->used && b->vip == vip->id && b->family == family &&
		    !memcmp(&b->addr, addr, sizeof(*addr)))
			return b;
	}
	return NULL;
}

void xlb_lb_set_outer(struct xlb_lb *lb, const struct xlb_config *cfg)
{
	lb->outer = *cfg;
	lb->have_outer = 1;
}

const struct xlb_config *xlb_lb_outer(const struct xlb_lb *lb)
{
	return lb->have_outer ? &lb->outer : NULL;
}

int xlb_lb_backend_usable(const struct xlb_lb *lb, const union xlb_addr *addr, __u8 family,
			  char *err, size_t errlen)
{
	return xlb_check_backend_addr(addr, family, xlb_lb_outer(lb), err, errlen);
}

static int vip_not_found(const struct xlb_vip_key *key, char *err, size_t errlen)
{
	char v[XLB_ADDR_STRLEN];

	xlb_vip_key_format(key, v, sizeof(v));
	return xlb_refuse_no_vip(v, err, errlen);
}

/* Pushes the backend's entry with the given validity, unless the map holds
 * exactly that already: a ring rebuild then writes only the backends whose
 * state changed, not all of the VIP's. A backend down by its checks says so
 * in the entry even while fail-open keeps it valid, for the next xlbd. */
static int write_backend(struct xlb_lb *lb, struct xlb_lb_backend *b, int valid)
{
	struct xlb_backend be = {
		.addr = b->addr,
		.gen = lb->gens[b->id],
		.vip_id = b->vip,
		.family = b->family,
		.flags = (valid ? XLB_BACKEND_F_VALID : 0) |
			 (b->used && !b->up ? XLB_BACKEND_F_DOWN : 0),
	};
	int err;

	if (b->dp_written && b->dp_flags == be.flags)
		return 0;
	err = xlb_dp_backend_set(lb->dp, b->id, &be);
	b->dp_written = !err;
	b->dp_flags = be.flags;
	return err;
}

/* Which backends go into the ring (health_state.c decides, fail-open included). */
static int ring_members(struct xlb_lb *lb, struct xlb_lb_scratch *sc, __u32 n, int fail_open)
{
	int open;

	for (__u32 k = 0; k < n; k++) {
		lb->m_up[k] = sc[k].up;
		lb->m_weight[k] = sc[k].weight;
	}
	open = xlb_hc_ring_members(lb->m_up, lb->m_weight, n, fail_open, lb->m_in);
	for (__u32 k = 0; k < n; k++)
		sc[k].in_ring = lb->m_in[k];
	return open;
}

/* Says loudly when a VIP starts or stops running without a healthy backend. */
static void log_all_down(struct xlb_lb_vip *v, int open, int dropping)
{
	char name[XLB_ADDR_STRLEN];

	if (open == v->failing_open && dropping == v->dropping)
		return;
	xlb_vip_key_format(&v->key, name, sizeof(name));
	if (open)
		pr_warn("vip %s: every backend is down, FAIL-OPEN: forwarding to all of them", name);
	else if (dropping)
		pr_warn("vip %s: every backend is down and fail-open is off: new flows are DROPPED",
			name);
	else
		pr_info("vip %s: %s over, forwarding to healthy backends only", name,
			v->failing_open ? "FAIL-OPEN" : "dropping");
	v->failing_open = open;
	v->dropping = dropping;
}

static int rebuild_ring_now(struct xlb_lb *lb, struct xlb_lb_vip *v);
static int rebuild_ring(struct xlb_lb *lb, struct xlb_lb_vip *v);

__u32 xlb_lb_backend_slow_start(const struct xlb_lb *lb, const struct xlb_lb_backend *b)
{
	return b->ss_own >= 0 ? (__u32)b->ss_own : lb->vips[b->vip].slow_start;
}

/* The ring weight of each member: its weight, or while it ramps its share
 * of it. Only while one ramps are the weights scaled, finely enough for
 * a ramp of weight 1 among weights of 1; a ramp that is over ends here. */
static void ring_weights(struct xlb_lb *lb, struct xlb_lb_vip *v, struct xlb_lb_scratch *sc,
			 __u32 n)
{
	__u64 now = now_ms();
	__u32 maxw = 0, scale = 1, ramping = 0;

	for (__u32 k = 0; k < n; k++) {
		struct xlb_lb_backend *b = &lb->backends[sc[k].idx];
		__u32 ss = xlb_lb_backend_slow_start(lb, b);

		if (b->ramp_ms && !xlb_slowstart_ramping(ss, now - b->ramp_ms))
			b->ramp_ms = 0;
		if (!sc[k].in_ring)
			continue;
		ramping += b->ramp_ms != 0;
		if (b->weight > maxw)
			maxw = b->weight;
	}
	if (ramping)
		scale = xlb_slowstart_scale(maxw);
	for (__u32 k = 0; k < n; k++) {
		struct xlb_lb_backend *b = &lb->backends[sc[k].idx];
		__u32 full = b->weight * scale;

		b->ring_weight = b->ramp_ms
				     ? xlb_slowstart_weight(full, xlb_lb_backend_slow_start(lb, b),
							    now - b->ramp_ms)
				     : full;
	}
	v->n_ramping = ramping;
	v->ss_scale = scale;
}

int xlb_lb_backend_ramp(const struct xlb_lb *lb, const struct xlb_lb_backend *b, __u64 *eff_milli,
			__u64 *remaining_ms)
{
	const struct xlb_lb_vip *v = &lb->vips[b->vip];
	__u32 ss = xlb_lb_backend_slow_start(lb, b);
	__u64 now = now_ms();

	if (!b->ramp_ms || !b->in_ring || !v->n_ramping ||
	    !xlb_slowstart_ramping(ss, now - b->ramp_ms))
		return 0;
	*eff_milli = (__u64)b->ring_weight * 1000 / (v->ss_scale ? v->ss_scale : 1);
	*remaining_ms = (__u64)ss * 1000 - (now - b->ramp_ms);
	return 1;
}

int xlb_lb_slowstart_tick(struct xlb_lb *lb)
{
	int ret = 0, n = 0;

	for (__u32 i = 0; i < lb->dp->max_vips; i++) {
		struct xlb_lb_vip *v = &lb->vips[i];
		int err;

		if (!v->used || !v->n_ramping)
			continue;
		err = rebuild_ring_now(lb, v);
		if (err)
			ret = ret ?: err;
		else
			n++;
	}
	return ret ?: n;
}

static int check_slow_start(__u32 seconds, char *err, size_t errlen)
{
	if (seconds <= XLB_SLOW_START_MAX)
		return 0;
	return xlb_errf(-EINVAL, err, errlen,
			"bad slow-start '%u', expected 1-%u seconds, or 0 or off for none", seconds,
			XLB_SLOW_START_MAX);
}

int xlb_lb_vip_set_slow_start(struct xlb_lb *lb, const struct xlb_vip_key *key, __u32 seconds,
			      char *err, size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, key);
	__u32 old;
	int ret;

	if (!v)
		return vip_not_found(key, err, errlen);
	if (check_slow_start(seconds, err, errlen))
		return -EINVAL;
	old = v->slow_start;
	v->slow_start = seconds;
	ret = rebuild_ring(lb, v);
	if (ret) {
		v->slow_start = old;
		rebuild_ring(lb, v);
		return xlb_errf(ret, err, errlen, "cannot update the ring: %s", strerror(-ret));
	}
	return 0;
}

/* The backends lc and wlc choose from: the ring's (up or failing open,
 * weight > 0), at their ring weight (slow start included). Written for
 * every VIP, so that a switch to lc or wlc finds them current; a VIP with
 * more than the data plane scans gets none (it cannot be lc or wlc). */
static int members_write(struct xlb_lb *lb, const struct xlb_lb_vip *v, __u32 in_n)
{
	const struct xlb_maglev_backend *mb = lb->members;
	struct xlb_members ms = {0};

	for (__u32 k = 0; in_n <= XLB_LC_MAX_BACKENDS && k < in_n; k++) {
		if (!mb[k].weight)
			continue;
		ms.m[ms.count].id = mb[k].id;
		ms.m[ms.count].weight = mb[k].weight;
		ms.count++;
	}
	return xlb_dp_members_set(lb->dp, v->id, &ms);
}

/* Recomputes the VIP's ring from its backends' weights and health, and the
 * validity of each. Order matters for packets in flight: backends that become
 * valid are marked before the new ring is swapped in, those that stop being
 * valid after, so no packet finds an invalid backend on the ring. */
static int rebuild_ring_now(struct xlb_lb *lb, struct xlb_lb_vip *v)
{
	struct xlb_lb_scratch *sc = lb->scratch;
	struct xlb_maglev_backend *mb = lb->members;
	__u32 n = 0, in_n = 0;
	int err, open, dropping;

	lb->ring_builds++;
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];

		if (!b->used || b->vip != v->id)
			continue;
		sc[n].idx = i;
		sc[n].up = b->up;
		sc[n].weight = b->weight;
		n++;
	}
	open = ring_members(lb, sc, n, !v->fail_close);
	dropping = 0;
	if (v->fail_close) {
		int weighted = 0, in = 0;

		for (__u32 k = 0; k < n; k++) {
			weighted |= sc[k].weight > 0;
			in |= sc[k].in_ring;
		}
		dropping = weighted && !in;
	}
	log_all_down(v, open, dropping);
	ring_weights(lb, v, sc, n);
	for (__u32 k = 0; k < n; k++) {
		struct xlb_lb_backend *b = &lb->backends[sc[k].idx];

		/* Up (or failing open) backends keep their flows, draining too. */
		if (b->up || open) {
			err = write_backend(lb, b, 1);
			if (err)
				return err;
		}
		if (sc[k].in_ring) {
			mb[in_n].addr = b->addr;
			mb[in_n].family = b->family;
			mb[in_n].weight = b->ring_weight;
			mb[in_n].id = b->id;
			in_n++;
		}
	}
	err = members_write(lb, v, in_n);
	if (err)
		return err;
	if (v->flags & XLB_VIP_F_IN_TURN)
		err = xlb_sequence_build(mb, in_n, !!(v->flags & XLB_VIP_F_WRR), lb->dp->ring_size,
					 lb->ring);
	else
		err = xlb_maglev_build(mb, in_n, lb->dp->ring_size, lb->ring);
	if (err == -ENOENT)
		err = xlb_dp_ring_clear(lb->dp, v->id);
	else if (!err)
		err = xlb_dp_ring_set(lb->dp, v->id, lb->ring);
	if (err)
		return err; /* still dirty: a later rebuild retries */
	v->dirty = 0;
	v->n_in_ring = in_n;
	for (__u32 k = 0; k < n; k++) {
		struct xlb_lb_backend *b = &lb->backends[sc[k].idx];

		b->in_ring = sc[k].in_ring;
		if (!b->up && !open) {
			err = write_backend(lb, b, 0);
			if (err)
				return err;
		}
	}
	return 0;
}

/* "3 of 5 backends take new flows", and whether that is by fail-open. */
static void log_in_service(const struct xlb_lb_vip *v, const char *prefix)
{
	char name[XLB_ADDR_STRLEN];

	xlb_vip_key_format(&v->key, name, sizeof(name));
	pr_info("vip %s: %s%u of %u backends take new flows%s", name, prefix, v->n_in_ring,
		v->n_backends,
		v->failing_open ? " (FAIL-OPEN: all down, forwarding to all)" : "");
}

/* Inside a batch a VIP's ring is rebuilt once, at the commit, however many
 * of its backends changed: restoring 1000 backends is then 1 build, not
 * 1000. Only changes that may wait use this (additions, weights, health);
 * a removal must leave the ring before its backend becomes invalid and
 * calls rebuild_ring_now(). */
static int rebuild_ring(struct xlb_lb *lb, struct xlb_lb_vip *v)
{
	if (lb->batch) {
		v->dirty = 1;
		return 0;
	}
	return rebuild_ring_now(lb, v);
}

void xlb_lb_batch_begin(struct xlb_lb *lb)
{
	lb->batch = 1;
}

int xlb_lb_batch_commit(struct xlb_lb *lb)
{
	int ret = 0, err;

	lb->batch = 0;
	for (__u32 i = 0; i < lb->dp->max_vips; i++) {
		struct xlb_lb_vip *v = &lb->vips[i];

		if (!v->used || !v->dirty)
			continue;
		err = rebuild_ring_now(lb, v);
		ret = ret ?: err;
		if (!err && v->report)
			log_in_service(v, "");
		v->report = 0;
	}
	return ret;
}

/* The engine calls back here after a backend's verdict changed. */
static void on_health(void *ctx, __u64 key, const struct xlb_hc_state *st)
{
	struct xlb_lb *lb = ctx;
	int ret = xlb_lb_backend_set_up(lb, (__u32)key, st->up);

	if (ret && ret != -ENOENT)
		pr_err("backend id %llu: cannot apply its health to the ring: %s",
		       (unsigned long long)key, strerror(-ret));
}

void xlb_lb_set_health(struct xlb_lb *lb, struct xlb_hc *hc)
{
	lb->hc = hc;
}

int xlb_lb_backend_check(const struct xlb_lb *lb, const struct xlb_lb_backend *b,
			 struct xlb_hc_cfg *out, char *err, size_t errlen)
{
	const struct xlb_lb_vip *v = &lb->vips[b->vip];

	return xlb_hc_cfg_resolve(out, &v->hc, &b->hc, v->key.proto, ntohs(v->key.port), err,
				  errlen);
}

/* Starts checking a backend, or changes its check to the current options. */
static int check_sync(struct xlb_lb *lb, const struct xlb_lb_backend *b, char *err, size_t errlen)
{
	struct xlb_hc_cfg cfg;
	char name[XLB_ADDR_STRLEN];
	int ret;

	if (!lb->hc)
		return 0;
	ret = xlb_lb_backend_check(lb, b, &cfg, err, errlen);
	if (ret)
		return ret;
	ret = xlb_hc_update(lb->hc, b->id, &cfg);
	if (ret == -ENOENT)
		ret = xlb_hc_add(lb->hc, b->id, b->family, &b->addr, &cfg, on_health, lb);
	if (ret) {
		xlb_addr_format(&b->addr, b->family, name, sizeof(name));
		return xlb_errf(ret, err, errlen, "cannot start checking backend %s: %s", name,
				strerror(-ret));
	}
	return 0;
}

static void check_stop(struct xlb_lb *lb, const struct xlb_lb_backend *b)
{
	if (lb->hc)
		xlb_hc_del(lb->hc, b->id);
}

static int vip_entry_write(struct xlb_lb *lb, const struct xlb_lb_vip *v)
{
	struct xlb_vip vip = {.id = v->id, .flags = v->flags | xlb_protect_flags(&v->prot)};

	return xlb_dp_vip_set(lb->dp, &v->key, &vip);
}

/* Writes prot's ACL entries and limit for v. Those it has go in before the
 * VIP's flags say so (first), those it lacks go after (second). */
static int protect_write(struct xlb_lb *lb, const struct xlb_lb_vip *v,
			 const struct xlb_protect *prot, int second)
{
	struct xlb_acl_key keys[XLB_ACL_ENTRIES_PER_VIP];
	struct xlb_acl vals[XLB_ACL_ENTRIES_PER_VIP];
	struct xlb_limit lim;
	size_t n = xlb_protect_acl_entries(prot, v->id, v->key.family, keys, vals);
	int ret = 0;

	if (!!n != second)
		ret = xlb_dp_acl_replace(lb->dp, v->id, keys, vals, n);
	xlb_protect_limit(prot, &lim);
	if (!ret && !!prot->rate != second)
		ret = xlb_dp_limit_set(lb->dp, v->id, &lim);
	return ret;
}

int xlb_lb_vip_set_protect(struct xlb_lb *lb, const struct xlb_vip_key *key,
			   const struct xlb_protect *prot, char *err, size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, key);
	struct xlb_protect old;
	int ret;

	if (!v)
		return vip_not_found(key, err, errlen);
	old = v->prot;
	ret = protect_write(lb, v, prot, 0);
	if (!ret) {
		v->prot = *prot;
		ret = vip_entry_write(lb, v);
		if (ret)
			v->prot = old;
	}
	if (!ret)
		ret = protect_write(lb, v, prot, 1);
	if (ret) {
		/* Back to what was, as far as the data plane lets us. */
		protect_write(lb, v, &v->prot, 0);
		vip_entry_write(lb, v);
		protect_write(lb, v, &v->prot, 1);
		return xlb_errf(ret, err, errlen, "cannot write the VIP's ACL or limit: %s",
				strerror(-ret));
	}
	return 0;
}

int xlb_lb_vip_add(struct xlb_lb *lb, const struct xlb_vip_key *key, __u32 flags, char *err,
		   size_t errlen)
{
	char name[XLB_ADDR_STRLEN];
	__u32 id = lb->dp->max_vips;
	struct xlb_lb_vip *v;
	int ret;

	xlb_vip_key_format(key, name, sizeof(name));
	if (xlb_check_vip_addr(key, err, errlen))
		return -EINVAL;
	if (xlb_lb_vip_find(lb, key))
		return xlb_refuse_vip_exists(name, err, errlen);
	/* The id it had before a restart, so flows and counters carry on. */
	for (__u32 i = 0; i < lb->dp->max_vips; i++)
		if (lb->adopt[i].vip_valid && !lb->vips[i].used &&
		    !memcmp(&lb->adopt[i].vip_key, key, sizeof(*key)))
			id = i;
	for (__u32 i = 0; id == lb->dp->max_vips && i < lb->dp->max_vips; i++)
		if (!lb->vips[i].used && !lb->adopt[i].vip_valid)
			id = i;
	for (__u32 i = 0; id == lb->dp->max_vips && i < lb->dp->max_vips; i++)
		if (!lb->vips[i].used)
			id = i;
	if (id == lb->dp->max_vips)
		return xlb_refuse_vips_full(name, lb->dp->max_vips, err, errlen);
	v = &lb->vips[id];
	memset(v, 0, sizeof(*v));
	v->id = id;
	v->key = *key;
	v->flags = flags;
	xlb_hc_cfg_init(&v->hc);
	if (!lb->adopt[id].vip_valid) {
		ret = xlb_dp_ring_clear(lb->dp, id);
		if (!ret)
			ret = xlb_dp_ring_prev_drop(lb->dp, id);
		if (!ret)
			ret = xlb_dp_counter_reset(lb->dp, XLB_STATS_VIP_BASE + id);
		if (!ret)
			ret = xlb_dp_counter_reset(
			    lb->dp, xlb_stats_vip_acl(lb->dp->max_vips, lb->dp->max_backends, id));
		if (!ret)
			ret = xlb_dp_counter_reset(
			    lb->dp,
			    xlb_stats_vip_limit(lb->dp->max_vips, lb->dp->max_backends, id));
		if (ret)
			goto fail;
	}
	ret = vip_entry_write(lb, v);
	if (ret)
		goto fail;
	lb->adopt[id].vip_valid = 0;
	v->used = 1;
	return 0;
fail:
	return xlb_errf(ret, err, errlen, "cannot write VIP %s to the data plane: %s", name,
			strerror(-ret));
}

int xlb_lb_vip_set_flags(struct xlb_lb *lb, const struct xlb_vip_key *key, __u32 flags, char *err,
			 size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, key);
	__u32 old;
	int ret;

	if (!v)
		return vip_not_found(key, err, errlen);
	old = v->flags;
	v->flags = flags;
	ret = vip_entry_write(lb, v);
	if (ret) {
		v->flags = old;
		return xlb_errf(ret, err, errlen, "cannot update the VIP: %s", strerror(-ret));
	}
	/* Another scheduler: another ring. Established flows keep their
	 * entries; for the moment between the two writes new flows find the
	 * old ring, whose every slot names a backend of the VIP all the same. */
	if (((old | flags) & XLB_VIP_F_IN_TURN) && ((old ^ flags) & XLB_VIP_F_SCHED)) {
		ret = rebuild_ring(lb, v);
		if (ret)
			return xlb_errf(ret, err, errlen, "cannot rebuild the VIP's ring: %s",
					strerror(-ret));
	}
	return 0;
}

int xlb_lb_vip_del(struct xlb_lb *lb, const struct xlb_vip_key *key, char *err, size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, key);
	int ret;

	if (!v)
		return vip_not_found(key, err, errlen);
	/* VIP entry first: from then on its traffic goes to the kernel. */
	ret = xlb_dp_vip_del(lb->dp, key);
	if (!ret)
		ret = xlb_dp_ring_clear(lb->dp, v->id);
	if (!ret)
		ret = xlb_dp_ring_prev_drop(lb->dp, v->id);
	if (!ret) {
		struct xlb_members none = {0};

		ret = xlb_dp_members_set(lb->dp, v->id, &none);
	}
	if (!ret) {
		struct xlb_protect none = {0};

		ret = protect_write(lb, v, &none, 1);
		if (!ret)
			memset(&v->prot, 0, sizeof(v->prot));
	}
	for (__u32 i = 0; !ret && i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];

		if (b->used && b->vip == v->id) {
			check_stop(lb, b);
			ret = write_backend(lb, b, 0);
			b->used = 0;
		}
	}
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot remove the VIP from the data plane: %s",
				strerror(-ret));
	v->used = 0;
	return 0;
}

static int check_weight(__u32 weight, char *err, size_t errlen)
{
	char w[16];

	if (weight <= XLB_MAX_WEIGHT)
		return 0;
	snprintf(w, sizeof(w), "%u", weight);
	return xlb_refuse_weight(w, err, errlen);
}

/* An adopted backend that was down stays down in the checker too, which
 * then needs `rise` good checks to bring it up. Without a checker (or a
 * check) nothing would ever bring it back: then it is up at once. */
static void keep_down(struct xlb_lb *lb, struct xlb_lb_backend *b, const char *name)
{
	char v[XLB_ADDR_STRLEN];

	xlb_vip_key_format(&lb->vips[b->vip].key, v, sizeof(v));
	if (lb->hc && !xlb_hc_mark_down(lb->hc, b->id)) {
		pr_info("vip %s: backend %s was down when the last xlbd stopped, stays down "
			"until its checks pass",
			v, name);
		return;
	}
	xlb_lb_backend_set_up(lb, b->id, 1);
}

int xlb_lb_backend_add(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
		       const union xlb_addr *addr, __u8 family, __u32 weight, char *err,
		       size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, vkey);
	char name[XLB_ADDR_STRLEN], vname[XLB_ADDR_STRLEN];
	__u32 id = lb->dp->max_backends;
	struct xlb_lb_backend *b;
	int ret, start_down = 0;
	__u32 adopted = lb->dp->max_backends;

	if (!v)
		return vip_not_found(vkey, err, errlen);
	xlb_addr_format(addr, family, name, sizeof(name));
	if (check_weight(weight, err, errlen))
		return -EINVAL;
	xlb_vip_key_format(vkey, vname, sizeof(vname));
	if (!xlb_backend_family_fits(v->key.family, family))
		return xlb_refuse_backend_family(name, vname, err, errlen);
	if (xlb_lb_backend_usable(lb, addr, family, err, errlen))
		return -EINVAL;
	if (xlb_lb_backend_find(lb, v, addr, family))
		return xlb_refuse_backend_exists(name, vname, err, errlen);
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		const struct xlb_backend *a = &lb->adopt[i].be;

		if (lb->adopt[i].be_valid && !lb->backends[i].used && a->vip_id == v->id &&
		    a->family == family && !memcmp(&a->addr, addr, sizeof(*addr)))
			id = adopted = i;
	}
	for (__u32 i = 0; id == lb->dp->max_backends && i < lb->dp->max_backends; i++)
		if (!lb->backends[i].used && !lb->adopt[i].be_valid)
			id = i;
	for (__u32 i = 0; id == lb->dp->max_backends && i < lb->dp->max_backends; i++)
		if (!lb->backends[i].used)
			id = i;
	if (id == lb->dp->max_backends)
		return xlb_refuse_backends_full(name, lb->dp->max_backends, err, errlen);
	b = &lb->backends[id];
	memset(b, 0, sizeof(*b));
	b->id = id;
	b->vip = v->id;
	b->addr = *addr;
	b->family = family;
	b->weight = weight;
	b->up = 1;
	b->changed_ms = now_ms();
	b->ss_own = -1;
	/* A new backend ramps (an adopted one has been serving: it does not). */
	b->ramp_ms = b->changed_ms;
	xlb_hc_cfg_init(&b->hc);
	if (id == adopted) {
		/* Same id and generation: its connection-table entries stay
		 * valid. Down when the last xlbd stopped: down until its
		 * checks pass, not sent new flows in the meantime. */
		lb->adopt[id].be_valid = 0;
		b->ramp_ms = 0;
		start_down = lb->adopt[id].be_down;
		b->up = !start_down;
	} else {
		lb->adopt[id].be_valid = 0; /* another backend's: it is gone */
		lb->gens[id]++;
		ret = xlb_dp_counter_reset(lb->dp, XLB_STATS_VIP_BASE + lb->dp->max_vips + id);
		if (!ret)
			ret = xlb_dp_backend_conns_reset(lb->dp, id);
		if (ret)
			goto fail;
	}
	b->used = 1;
	v->n_backends++;
	ret = rebuild_ring(lb, v);
	if (!ret) {
		ret = check_sync(lb, b, err, errlen);
		if (!ret && start_down)
			keep_down(lb, b, name);
		if (!ret)
			return 0;
		/* Off the ring (now, even in a batch) before it turns invalid. */
		b->used = 0;
		v->n_backends--;
		if (!rebuild_ring_now(lb, v))
			write_backend(lb, b, 0);
		return ret;
	}
	b->used = 0;
	v->n_backends--;
	rebuild_ring_now(lb, v);
fail:
	return xlb_errf(ret, err, errlen, "cannot write backend %s to the data plane: %s", name,
			strerror(-ret));
}

static struct xlb_lb_backend *find_or_err(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
					  const union xlb_addr *addr, __u8 family,
					  struct xlb_lb_vip **vp, char *err, size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, vkey);
	struct xlb_lb_backend *b;
	char name[XLB_ADDR_STRLEN], vname[XLB_ADDR_STRLEN];

	if (!v) {
		vip_not_found(vkey, err, errlen);
		return NULL;
	}
	b = xlb_lb_backend_find(lb, v, addr, family);
	if (!b) {
		xlb_addr_format(addr, family, name, sizeof(name));
		xlb_vip_key_format(vkey, vname, sizeof(vname));
		xlb_refuse_no_backend(name, vname, err, errlen);
	}
	*vp = v;
	return b;
}

int xlb_lb_backend_set_weight(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
			      const union xlb_addr *addr, __u8 family, __u32 weight, char *err,
			      size_t errlen)
{
	struct xlb_lb_vip *v;
	struct xlb_lb_backend *b = find_or_err(lb, vkey, addr, family, &v, err, errlen);
	__u32 old;
	int ret;

	if (!b)
		return -ENOENT;
	if (check_weight(weight, err, errlen))
		return -EINVAL;
	old = b->weight;
	b->weight = weight;
	ret = rebuild_ring(lb, v);
	if (ret) {
		b->weight = old;
		rebuild_ring(lb, v);
		return xlb_errf(ret, err, errlen, "cannot update the ring: %s", strerror(-ret));
	}
	return 0;
}

int xlb_lb_backend_set_slow_start(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
				  const union xlb_addr *addr, __u8 family, int seconds, char *err,
				  size_t errlen)
{
	struct xlb_lb_vip *v;
	struct xlb_lb_backend *b = find_or_err(lb, vkey, addr, family, &v, err, errlen);
	int old, ret;

	if (!b)
		return -ENOENT;
	if (seconds < -1)
		return xlb_errf(-EINVAL, err, errlen,
				"bad slow-start %d, expected -1 (the VIP's), 0 (none) or 1-%u",
				seconds, XLB_SLOW_START_MAX);
	if (seconds >= 0 && check_slow_start((__u32)seconds, err, errlen))
		return -EINVAL;
	old = b->ss_own;
	b->ss_own = seconds;
	ret = rebuild_ring(lb, v);
	if (ret) {
		b->ss_own = old;
		rebuild_ring(lb, v);
		return xlb_errf(ret, err, errlen, "cannot update the ring: %s", strerror(-ret));
	}
	return 0;
}

int xlb_lb_backend_del(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
		       const union xlb_addr *addr, __u8 family, char *err, size_t errlen)
{
	struct xlb_lb_vip *v;
	struct xlb_lb_backend *b = find_or_err(lb, vkey, addr, family, &v, err, errlen);
	int ret;

	if (!b)
		return -ENOENT;
	/* Out of the ring first, then invalid: its flows re-hash. The check
	 * stops only once that worked, so a failure leaves it as it was. */
	b->used = 0;
	ret = rebuild_ring_now(lb, v);
	if (!ret)
		ret = write_backend(lb, b, 0);
	if (ret) {
		b->used = 1;
		rebuild_ring_now(lb, v);
		return xlb_errf(ret, err, errlen, "cannot remove the backend: %s", strerror(-ret));
	}
	check_stop(lb, b);
	v->n_backends--;
	return 0;
}

int xlb_lb_backend_set_check(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
			     const union xlb_addr *addr, __u8 family, const struct xlb_hc_cfg *hc,
			     char *err, size_t errlen)
{
	struct xlb_lb_vip *v;
	struct xlb_lb_backend *b = find_or_err(lb, vkey, addr, family, &v, err, errlen);
	struct xlb_hc_cfg old;
	int ret;

	if (!b)
		return -ENOENT;
	old = b->hc;
	b->hc = *hc;
	ret = check_sync(lb, b, err, errlen);
	if (ret) {
		char ignored[XLB_ERRLEN];

		b->hc = old;
		check_sync(lb, b, ignored, sizeof(ignored));
	}
	return ret;
}

int xlb_lb_backend_stage_check(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
			       const union xlb_addr *addr, __u8 family, const struct xlb_hc_cfg *hc)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, vkey);
	struct xlb_lb_backend *b = v ? xlb_lb_backend_find(lb, v, addr, family) : NULL;

	if (!b)
		return -ENOENT;
	b->hc = *hc;
	return 0;
}

int xlb_lb_vip_set_health(struct xlb_lb *lb, const struct xlb_vip_key *key, int fail_close,
			  const struct xlb_hc_cfg *hc, char *err, size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, key);
	struct xlb_hc_cfg old, probe;
	int ret = 0, old_close;

	if (!v)
		return vip_not_found(key, err, errlen);
	old = v->hc;
	old_close = v->fail_close;
	v->hc = *hc;
	/* Every backend's check must resolve before any changes. */
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];

		char msg[XLB_ERRLEN], a[XLB_ADDR_STRLEN];

		if (!b->used || b->vip != v->id)
			continue;
		ret = xlb_lb_backend_check(lb, b, &probe, msg, sizeof(msg));
		if (ret) {
			xlb_addr_format(&b->addr, b->family, a, sizeof(a));
			xlb_errf(ret, err, errlen, "backend %s: %s", a, msg);
			goto undo;
		}
	}
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];

		if (b->used && b->vip == v->id && (ret = check_sync(lb, b, err, errlen)))
			goto undo;
	}
	if (old_close != !!fail_close) {
		v->fail_close = !!fail_close;
		ret = rebuild_ring(lb, v);
		if (ret) {
			xlb_errf(ret, err, errlen, "cannot update the ring: %s", strerror(-ret));
			goto undo;
		}
	}
	return 0;
undo:
	v->hc = old;
	v->fail_close = old_close;
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_lb_backend *b = &lb->backends[i];
		char ignored[XLB_ERRLEN];

		if (b->used && b->vip == v->id)
			check_sync(lb, b, ignored, sizeof(ignored));
	}
	rebuild_ring(lb, v);
	return ret;
}

int xlb_lb_backend_set_up(struct xlb_lb *lb, __u32 backend_id, int up)
{
	char v[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN], what[XLB_ADDR_STRLEN + 32];
	struct xlb_lb_backend *b;
	struct xlb_lb_vip *vip;
	int ret;

	if (backend_id >= lb->dp->max_backends || !lb->backends[backend_id].used)
		return -ENOENT;
	b = &lb->backends[backend_id];
	vip = &lb->vips[b->vip];
	if (b->up == !!up)
		return 0;
	b->up = !!up;
	b->changed_ms = now_ms();
	/* Back after its checks failed: it ramps again from the start. */
	b->ramp_ms = up ? b->changed_ms : 0;
	ret = rebuild_ring(lb, vip);
	xlb_vip_key_format(&vip->key, v, sizeof(v));
	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	if (ret) {
		pr_err("vip %s: backend %s is %s but the ring could not be rebuilt: %s", v, a,
		       up ? "up" : "down", strerror(-ret));
	} else if (lb->batch) {
		/* The counts are known once the commit has rebuilt the ring. */
		pr_info("vip %s: backend %s is %s", v, a, up ? "up" : "down");
		vip->report = 1;
	} else {
		snprintf(what, sizeof(what), "backend %s is %s, ", a, up ? "up" : "down");
		log_in_service(vip, what);
	}
	if (lb->on_change)
		lb->on_change(lb->on_change_ctx, vip, b);
	return ret;
}

struct xlb_lb_vip *xlb_lb_vip_match(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
				    int *all_ports, char *err, size_t errlen)
{
	struct xlb_lb_vip *v = xlb_lb_vip_find(lb, vkey);
	struct xlb_vip_key any = *vkey;

	*all_ports = 0;
	if (v)
		return v;
	any.port = 0;
	v = xlb_lb_vip_find(lb, &any);
	if (v) {
		*all_ports = 1;
		return v;
	}
	vip_not_found(vkey, err, errlen);
	return NULL;
}

void xlb_lb_flow(const struct xlb_lb_vip *v, const struct xlb_vip_key *vkey,
		 const union xlb_addr *src, __be16 sport, struct xlb_flow *flow, __u32 *hash)
{
	memset(flow, 0, sizeof(*flow));
	flow->src = *src;
	flow->dst = vkey->addr;
	flow->sport = sport;
	flow->dport = vkey->port;
	flow->proto = vkey->proto;
	flow->family = vkey->family;
	*hash = (v->flags & XLB_VIP_F_SRC_HASH) ? xlb_hash_source(flow) : xlb_hash_flow(flow);
}

int xlb_lb_lookup(struct xlb_lb *lb, const struct xlb_vip_key *vkey, const union xlb_addr *src,
		  __u8 src_family, __be16 sport, struct xlb_lb_backend **be, char *err,
		  size_t errlen)
{
	struct xlb_flow flow;
	struct xlb_lb_vip *v;
	__u32 slot, id, hash;
	int ret, all_ports;

	v = xlb_lb_vip_match(lb, vkey, &all_ports, err, errlen);
	if (!v)
		return -ENOENT;
	if (src_family != vkey->family) {
		char client[XLB_ADDR_STRLEN];

		xlb_endpoint_format(src, src_family, sport, client, sizeof(client));
		return xlb_refuse_client_family(client, vkey->family, err, errlen);
	}
	xlb_lb_flow(v, vkey, src, sport, &flow, &hash);
	slot = xlb_ring_slot(hash, lb->dp->ring_size);
	ret = xlb_dp_ring_slot(lb->dp, v->id, slot, &id);
	if (ret == -ENOENT)
		return xlb_errf(ret, err, errlen,
				"VIP has no backend in service (none added, all drained, or all "
				"down with fail-close)");
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot read the ring: %s", strerror(-ret));
	if (id >= lb->dp->max_backends || !lb->backends[id].used)
		return xlb_errf(-EIO, err, errlen,
				"the ring names backend id %u, which is not configured", id);
	*be = &lb->backends[id];
	return 0;
}

int xlb_lb_prune_adopted(struct xlb_lb *lb)
{
	int ret = 0;

	for (__u32 i = 0; i < lb->dp->max_vips; i++) {
		if (!lb->adopt[i].vip_valid)
			continue;
		lb->adopt[i].vip_valid = 0;
		if (lb->vips[i].used &&
		    !memcmp(&lb->vips[i].key, &lb->adopt[i].vip_key, sizeof(lb->vips[i].key)))
			continue;
		ret = ret ?: xlb_dp_vip_del(lb->dp, &lb->adopt[i].vip_key);
		if (!lb->vips[i].used) {
			ret = ret ?: xlb_dp_ring_clear(lb->dp, i);
			ret = ret ?: xlb_dp_ring_prev_drop(lb->dp, i);
		}
	}
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		struct xlb_backend be;

		if (!lb->adopt[i].be_valid)
			continue;
		lb->adopt[i].be_valid = 0;
		if (lb->backends[i].used)
			continue;
		be = lb->adopt[i].be;
		be.flags = 0;
		ret = ret ?: xlb_dp_backend_set(lb->dp, i, &be);
	}
	return ret;
}
