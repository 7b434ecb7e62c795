// SPDX-License-Identifier: GPL-2.0
/* request.c: runs one request (see request.h). Reads answer from the load
 * balancer; changes go through a copy of the configuration (rules.c) so that
 * what would be refused is refused before the data plane is touched. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "request.h"
#include "addr.h"
#include "cmd.h"
#include "conns.h"
#include "conn_state.h"
#include "dataplane.h"
#include "explain.h"
#include "preview.h"
#include "health.h"
#include "lb.h"
#include "log.h"
#include "rules.h"
#include "sweep.h"

static int nomem(char *err, size_t errlen)
{
	return xlb_errf(-ENOMEM, err, errlen, "out of memory");
}

/* Hands a built value out; NULL means that building it ran out of memory. */
static int give(json_t *value, json_t **out, char *err, size_t errlen)
{
	if (!value)
		return nomem(err, errlen);
	*out = value;
	return 0;
}

static const char *backend_state(const struct xlb_lb_vip *v, const struct xlb_lb_backend *b)
{
	if (!b->weight)
		return "draining";
	if (b->up)
		return "active";
	return v->failing_open && b->in_ring ? "fail-open" : "down";
}

static json_t *counter_json(struct xlb_dp *dp,
			    int (*get)(struct xlb_dp *, __u32, struct xlb_counter *), __u32 id)
{
	struct xlb_counter sum = {0};

	/* A counter we cannot read shows as zero rather than failing list. */
	if (get(dp, id, &sum))
		memset(&sum, 0, sizeof(sum));
	return json_pack("{s:I, s:I}", "packets", (json_int_t)sum.packets, "bytes",
			 (json_int_t)sum.bytes);
}

static int json_merge(json_t *into, json_t *from)
{
	int ret;

	if (!from)
		return -ENOMEM;
	ret = json_object_update(into, from);
	json_decref(from);
	return ret ? -ENOMEM : 0;
}

/* The check a cfg resolves to, every option spelled out. */
static json_t *check_json(const struct xlb_hc_cfg *cfg)
{
	struct xlb_hc_cfg all = *cfg;
	char clause[1024];

	all.set = XLB_HC_F_KIND;
	if (cfg->kind != XLB_HC_NONE)
		all.set |= XLB_HC_F_PORT | XLB_HC_F_INTERVAL | XLB_HC_F_TIMEOUT | XLB_HC_F_RISE |
			   XLB_HC_F_FALL;
	if (cfg->kind == XLB_HC_HTTP)
		all.set |= XLB_HC_F_PATH | XLB_HC_F_STATUS | (cfg->host[0] ? XLB_HC_F_HOST : 0);
	if (cfg->kind == XLB_HC_UDP)
		all.set |=
		    (cfg->send_len ? XLB_HC_F_SEND : 0) | (cfg->expect_len ? XLB_HC_F_EXPECT : 0);
	if (xlb_hc_cfg_format(&all, clause, sizeof(clause)) < 0)
		clause[0] = 0;
	return json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:s}", "kind", xlb_hc_kind_str(cfg->kind),
			 "port", cfg->port, "interval_ms", (json_int_t)cfg->interval_ms,
			 "timeout_ms", (json_int_t)cfg->timeout_ms, "rise", (json_int_t)cfg->rise,
			 "fall", (json_int_t)cfg->fall, "clause", clause);
}

/* What the checker thinks of a backend, and since when. */
static json_t *health_json(struct xlb_lb *lb, const struct xlb_lb_backend *b)
{
	struct xlb_hc_state st = {.up = b->up, .last = XLB_HC_PENDING};
	char err[XLB_ERRLEN];
	struct xlb_hc_cfg cfg;
	__u64 now = xlb_hc_now_ms();
	json_t *o;

	/* Not resolvable or not running: nothing is checked. */
	if (xlb_lb_backend_check(lb, b, &cfg, err, sizeof(err)) || !lb->hc ||
	    xlb_hc_get(lb->hc, b->id, &st)) {
		xlb_hc_cfg_init(&cfg);
		cfg.kind = XLB_HC_NONE;
	}
	o = json_pack("{s:b, s:s, s:i, s:I, s:I, s:I, s:I, s:o}", "up", b->up, "last",
		      xlb_hc_result_str(st.last), "last_code", st.last_code, "ok_streak",
		      (json_int_t)st.ok_streak, "fail_streak", (json_int_t)st.fail_streak,
		      "transitions", (json_int_t)st.transitions, "since_change_ms",
		      (json_int_t)(now > b->changed_ms ? now - b->changed_ms : 0), "check",
		      check_json(&cfg));
	return o;
}

/* Slow start of a backend: "effective_weight" (its weight, or its share
 * of it while it ramps) and "slow_start" {seconds, own, remaining_s}. */
static json_t *ramp_json(struct xlb_lb *lb, const struct xlb_lb_backend *b)
{
	__u64 milli = (__u64)b->weight * 1000, left = 0;

	xlb_lb_backend_ramp(lb, b, &milli, &left);
	return json_pack("{s:f, s:{s:I, s:b, s:f}}", "effective_weight", milli / 1000.0,
			 "slow_start", "seconds", (json_int_t)xlb_lb_backend_slow_start(lb, b),
			 "own", b->ss_own >= 0, "remaining_s", left / 1000.0);
}

/* "connections": {"active", "inactive"}. Active is the data plane's count
 * (what lc and wlc choose by, and it drops the moment a flow closes),
 * clamped at 0: the sweep's correction races flows that end during its pass
 * (sweep.h) and may leave it below for a pass. Inactive (closing flows) is
 * counted by the sweep alone, as of its last pass. */
static json_t *conns_json(struct xlb_lb *lb, const struct xlb_lb_backend *b)
{
	const struct xlb_sweep_count *sc = lb->dp->sweep ? xlb_sweep_counts(lb->dp->sweep) : NULL;
	__s64 active = 0;

	if (xlb_dp_backend_conns_get(lb->dp, b->id, &active) || active < 0)
		active = 0;
	return json_pack("{s:{s:I, s:I}}", "connections", "active", (json_int_t)active, "inactive",
			 (json_int_t)(sc ? sc[b->id].inactive : 0));
}

static json_t *backend_json(struct xlb_lb *lb, const struct xlb_lb_vip *v,
			    const struct xlb_lb_backend *b)
{
	char a[XLB_ADDR_STRLEN];
	json_t *o;

	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	o = json_pack("{s:s, s:i, s:I, s:s, s:b, s:I, s:o}", "address", a, "family", b->family,
		      "weight", (json_int_t)b->weight, "state", backend_state(v, b), "in_ring",
		      b->in_ring, "id", (json_int_t)b->id, "health", health_json(lb, b));
	if (o && json_merge(o, ramp_json(lb, b))) {
		json_decref(o);
		return NULL;
	}
	if (o && json_merge(o, counter_json(lb->dp, xlb_dp_counter_backend, b->id))) {
		json_decref(o);
		return NULL;
	}
	if (o && json_merge(o, conns_json(lb, b))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *prefixes_json(const struct xlb_prefix *list, __u32 n)
{
	char a[XLB_ADDR_STRLEN];
	json_t *arr = json_array();

	for (__u32 i = 0; arr && i < n; i++) {
		xlb_prefix_format(&list[i], a, sizeof(a));
		if (json_array_append_new(arr, json_string(a))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_int_t drops(struct xlb_dp *dp, int (*get)(struct xlb_dp *, __u32, struct xlb_counter *),
			__u32 id)
{
	struct xlb_counter sum = {0};

	return get(dp, id, &sum) ? 0 : (json_int_t)sum.packets;
}

/* A VIP's ACL and limit with what they dropped: "limit" null when none. */
static json_t *protect_json(struct xlb_lb *lb, const struct xlb_lb_vip *v)
{
	const struct xlb_protect *p = &v->prot;
	json_t *lim = p->rate ? json_pack("{s:I, s:I}", "rate", (json_int_t)p->rate, "burst",
					  (json_int_t)p->burst)
			      : json_null();

	return json_pack("{s:o, s:o, s:o, s:I, s:I}", "allow", prefixes_json(p->allow, p->n_allow),
			 "deny", prefixes_json(p->deny, p->n_deny), "limit", lim, "acl_drops",
			 drops(lb->dp, xlb_dp_counter_vip_acl, v->id), "limit_drops",
			 drops(lb->dp, xlb_dp_counter_vip_limit, v->id));
}

/* Whether the routers are told about the VIP's address: "off" without
 * --announce-table, else "announced" or "withdrawn" as the table holds it
 * (an address shared by several VIPs is announced while any is usable). */
static json_t *announce_json(const struct xlb_lb *lb, const struct xlb_lb_vip *v)
{
	const char *state = !lb->announce_table ? "off" : v->announced ? "announced" : "withdrawn";

	return json_pack("{s:s, s:b, s:I}", "announce", state, "announced",
			 lb->announce_table && v->announced, "announce_table",
			 (json_int_t)lb->announce_table);
}

static json_t *vip_json(struct xlb_lb *lb, const struct xlb_lb_vip *v)
{
	char name[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN];
	json_t *o;
	struct xlb_hc_cfg cfg;
	char err[XLB_ERRLEN];

	if (xlb_hc_cfg_resolve(&cfg, &v->hc, NULL, v->key.proto, ntohs(v->key.port), err,
			       sizeof(err))) {
		xlb_hc_cfg_init(&cfg);
		cfg.kind = XLB_HC_NONE;
	}
	xlb_vip_key_format(&v->key, name, sizeof(name));
	xlb_addr_format(&v->key.addr, v->key.family, a, sizeof(a));
	o = json_pack(
	    "{s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:b, s:o, s:I, s:I}", "vip", name, "address",
	    a, "port", ntohs(v->key.port), "proto", xlb_proto_name(v->key.proto), "family",
	    v->key.family, "sched", xlb_sched_name(v->flags), "conntrack",
	    v->flags & XLB_VIP_F_NO_CONNTRACK ? "off" : "on", "fail_open",
	    v->fail_close ? "off" : "on", "failing_open", v->failing_open, "check",
	    check_json(&cfg), "id", (json_int_t)v->id, "slow_start", (json_int_t)v->slow_start);
	if (o && (json_merge(o, counter_json(lb->dp, xlb_dp_counter_vip, v->id)) ||
		  json_merge(o, protect_json(lb, v)))) {
		json_decref(o);
		return NULL;
	}
	if (o && json_merge(o, announce_json(lb, v))) {
		json_decref(o);
		return NULL;
	}
	/* How much longer the ring before the last change hints moved flows
	 * (the second chance); 0: no hints. */
	if (o && json_object_set_new(o, "second_chance_ms",
				     json_integer(xlb_dp_ring_prev_left_ms(lb->dp, v->id,
									   (long long)xlb_hc_now_ms())))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* list and save show the same order: the canonical one of the rules. */
static json_t *do_list(struct xlb_lb *lb)
{
	struct xlb_rules r;
	json_t *vips, *out;

	if (xlb_rules_from_lb(&r, lb))
		return NULL;
	vips = json_array();
	for (size_t i = 0; vips && i < r.n_vips; i++) {
		const struct xlb_lb_vip *v = xlb_lb_vip_find(lb, &r.vips[i].key);
		json_t *vo, *bes;

		if (!v)
			continue;
		vo = vip_json(lb, v);
		bes = json_array();
		if (!vo || !bes || json_object_set_new(vo, "backends", bes) ||
		    json_array_append_new(vips, vo)) {
			json_decref(vo);
			json_decref(vips);
			vips = NULL;
			break;
		}
		for (size_t j = 0; j < r.n_backends; j++) {
			const struct xlb_lb_backend *b;

			if (memcmp(&r.backends[j].vip, &v->key, sizeof(v->key)))
				continue;

			b = xlb_lb_backend_find(lb, v, &r.backends[j].addr, r.backends[j].family);
			if (b && json_array_append_new(bes, backend_json(lb, v, b))) {
				json_decref(vips);
				vips = NULL;
				break;
			}
		}
	}
	xlb_rules_free(&r);
	if (!vips)
		return NULL;
	out = json_pack("{s:o}", "vips", vips);
	return out;
}

/* The checker's counters and how many backends it holds up and down. */
static json_t *health_stats_json(struct xlb_lb *lb)
{
	struct xlb_hc_counters hc = {0};
	json_t *results = json_object();
	__u64 up = 0, down = 0;

	if (lb->hc)
		xlb_hc_counters_get(lb->hc, &hc);
	for (__u32 i = 0; i < lb->dp->max_backends; i++) {
		if (!lb->backends[i].used)
			continue;
		up += !!lb->backends[i].up;
		down += !lb->backends[i].up;
	}
	for (int r = XLB_HC_OK; results && r < __XLB_HC_RESULT_MAX; r++)
		if (json_object_set_new(results, xlb_hc_result_str(r),
					json_integer((json_int_t)hc.results[r]))) {
			json_decref(results);
			results = NULL;
		}
	if (!results)
		return NULL;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "checked",
			 (json_int_t)hc.backends, "backends_up", (json_int_t)up, "backends_down",
			 (json_int_t)down, "running", (json_int_t)hc.running, "started",
			 (json_int_t)hc.started, "skipped", (json_int_t)hc.skipped, "transitions",
			 (json_int_t)hc.transitions, "results", results);
}

/* New flows: recorded, confirmed, skipped over the budget; the budget and
 * the new-flow table's size. */
static int conntrack_budget_json(struct xlb_lb *lb, json_t *ct, const struct xlb_counter *c)
{
	struct xlb_config cfg;

	if (xlb_dp_config_get(lb->dp, &cfg))
		return -1;
	return json_merge(
	    ct, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "inserts",
			  (json_int_t)c[XLB_STAT_CONN_INSERT].packets, "promoted",
			  (json_int_t)c[XLB_STAT_CONN_PROMOTE].packets, "skipped",
			  (json_int_t)c[XLB_STAT_CONN_SKIP].packets, "budget",
			  (json_int_t)cfg.conn_budget, "syn_timeout_s", (json_int_t)cfg.syn_timeout_s,
			  "tcp_timeout_s", (json_int_t)cfg.tcp_timeout_s, "fin_timeout_s",
			  (json_int_t)cfg.fin_timeout_s, "new_max",
			  (json_int_t)xlb_conns_new_entries(lb->dp->max_conns,
							    (__u32)lb->dp->nr_cpus)));
}

/* The drops of every VIP with an ACL or a limit, in VIP id order. */
static json_t *protection_stats_json(struct xlb_lb *lb)
{
	char name[XLB_ADDR_STRLEN];
	json_t *arr = json_array();

	for (__u32 i = 0; arr && i < lb->dp->max_vips; i++) {
		const struct xlb_lb_vip *v = &lb->vips[i];
		json_t *o;

		if (!v->used || !xlb_protect_flags(&v->prot))
			continue;
		xlb_vip_key_format(&v->key, name, sizeof(name));
		o = json_pack("{s:s, s:b, s:b, s:I, s:I}", "vip", name, "acl",
			      !!(xlb_protect_flags(&v->prot) & XLB_VIP_F_ACL), "limit",
			      !!v->prot.rate, "acl_drops",
			      drops(lb->dp, xlb_dp_counter_vip_acl, v->id), "limit_drops",
			      drops(lb->dp, xlb_dp_counter_vip_limit, v->id));
		if (json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The last pass of xlbd's sweep (sweep.h); null before one completed or
 * without a sweep. */
static json_t *sweep_json(struct xlb_lb *lb)
{
	const struct xlb_sweep_report *r = lb->dp->sweep ? xlb_sweep_last(lb->dp->sweep) : NULL;
	struct timespec ts;
	long long now;

	if (!r || !r->have)
		return json_null();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "scanned", (json_int_t)r->scanned,
	    "expired", (json_int_t)r->expired, "corrected", (json_int_t)r->corrected, "drift",
	    (json_int_t)r->drift, "duration_ms", (json_int_t)(r->duration_us / 1000), "cpu_ms",
	    (json_int_t)(r->cpu_us / 1000), "slices", (json_int_t)r->slices, "max_slice_us",
	    (json_int_t)r->max_slice_us, "age_ms", (json_int_t)((now - r->done_us) / 1000),
	    "running", xlb_sweep_pending(lb->dp->sweep));
}

static int do_stats(struct xlb_lb *lb, json_t **result, char *err, size_t errlen)
{
	struct xlb_counter c[__XLB_STAT_MAX];
	struct xlb_conn_tally ct;
	json_t *counters, *out;
	__u32 nv = 0, nb = 0;
	int ret;

	counters = json_object();
	if (!counters)
		return nomem(err, errlen);
	for (int i = 0; i < __XLB_STAT_MAX; i++) {
		ret = xlb_dp_counter(lb->dp, i, &c[i]);

		if (ret) {
			json_decref(counters);
			return xlb_errf(ret, err, errlen, "cannot read counter %s: %s",
					xlb_stat_names[i], strerror(-ret));
		}
		if (json_object_set_new(counters, xlb_stat_names[i],
					json_pack("{s:I, s:I}", "packets", (json_int_t)c[i].packets,
						  "bytes", (json_int_t)c[i].bytes))) {
			json_decref(counters);
			return nomem(err, errlen);
		}
	}
	/* Never the whole table inside the request: see xlb_dp_conn_tally(). */
	ret = xlb_dp_conn_tally(lb->dp, XLB_DP_TALLY_SLICE_US, &ct);
	if (ret) {
		json_decref(counters);
		return xlb_errf(ret, err, errlen, "cannot count the connection table: %s",
				strerror(-ret));
	}
	for (__u32 i = 0; i < lb->dp->max_vips; i++)
		nv += !!lb->vips[i].used;
	for (__u32 i = 0; i < lb->dp->max_backends; i++)
		nb += !!lb->backends[i].used;
	out = json_pack(
	    "{s:o, s:{s:o, s:b, s:o, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}", "counters",
	    counters, "conntrack", "entries",
	    ct.have ? json_integer((json_int_t)ct.entries) : json_null(), "entries_estimate",
	    !(ct.fresh && ct.exact), "entries_age_ms",
	    ct.have ? json_integer((json_int_t)ct.age_ms) : json_null(), "max",
	    (json_int_t)lb->dp->max_conns, "hits", (json_int_t)c[XLB_STAT_CONN_HIT].packets,
	    "misses", (json_int_t)c[XLB_STAT_CONN_MISS].packets, "stale",
	    (json_int_t)c[XLB_STAT_CONN_STALE].packets, "limits", "vips", (json_int_t)nv,
	    "max_vips", (json_int_t)lb->dp->max_vips, "backends", (json_int_t)nb, "max_backends",
	    (json_int_t)lb->dp->max_backends, "ring_size", (json_int_t)lb->dp->ring_size);
	if (out && conntrack_budget_json(lb, json_object_get(out, "conntrack"), c)) {
		json_decref(out);
		return xlb_errf(-EIO, err, errlen, "cannot read the data plane's config");
	}
	if (out && json_object_set_new(out, "sweep", sweep_json(lb))) {
		json_decref(out);
		out = NULL;
	}
	if (out && json_object_set_new(out, "health", health_stats_json(lb))) {
		json_decref(out);
		out = NULL;
	}
	if (out && json_object_set_new(out, "protection", protection_stats_json(lb))) {
		json_decref(out);
		out = NULL;
	}
	return give(out, result, err, errlen);
}

static int do_lookup(struct xlb_lb *lb, const struct xlb_cmd *c, json_t **result, char *err,
		     size_t errlen)
{
	char v[XLB_ADDR_STRLEN], src[XLB_ADDR_STRLEN];
	char a[XLB_ADDR_STRLEN], vip[XLB_ADDR_STRLEN];
	struct xlb_lb_backend *b;
	const struct xlb_lb_vip *lv;
	int ret;

	ret = xlb_lb_lookup(lb, &c->vip, &c->addr, c->family, c->port, &b, err, errlen);
	if (ret)
		return ret;
	lv = &lb->vips[b->vip];
	xlb_vip_key_format(&lv->key, vip, sizeof(vip));
	xlb_vip_key_format(&c->vip, v, sizeof(v));
	xlb_endpoint_format(&c->addr, c->family, c->port, src, sizeof(src));
	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	return give(json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:I}", "vip", vip, "flow_vip", v,
			      "client", src, "backend", a, "weight", (json_int_t)b->weight, "state",
			      backend_state(lv, b), "backend_id", (json_int_t)b->id),
		    result, err, errlen);
}

/* A backend as explain shows it: address, id, weight, state, health. */
static json_t *explain_backend_json(struct xlb_lb *lb, const struct xlb_lb_vip *v,
				    const struct xlb_lb_backend *b)
{
	char a[XLB_ADDR_STRLEN];

	if (!b)
		return json_null();
	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	return json_pack("{s:s, s:I, s:I, s:s, s:b, s:o}", "backend", a, "backend_id",
			 (json_int_t)b->id, "weight", (json_int_t)b->weight, "state",
			 backend_state(v, b), "in_ring", b->in_ring, "health", health_json(lb, b));
}

static json_t *explain_conn_json(struct xlb_lb *lb, const struct xlb_explain *x)
{
	json_t *o;

	if (!x->have_conn)
		return json_null();
	o = json_pack(
	    "{s:I, s:I, s:I, s:s, s:b, s:s*, s:o}", "backend_id", (json_int_t)x->conn.backend_id,
	    "backend_gen", (json_int_t)x->conn.backend_gen, "age_ms", (json_int_t)x->conn_age_ms,
	    "state", xlb_conn_state_name(x->conn.state), "usable", !x->conn_stale, "stale_reason",
	    x->conn_stale, "backend", explain_backend_json(lb, x->vip, x->conn_be));
	return o;
}

static int do_explain(struct xlb_lb *lb, const struct xlb_cmd *c, json_t **result, char *err,
		      size_t errlen)
{
	static const char *const uses[] = {"none", "conntrack", "ring"};
	char v[XLB_ADDR_STRLEN], src[XLB_ADDR_STRLEN], vip[XLB_ADDR_STRLEN],
	    a[XLB_ADDR_STRLEN] = "";
	struct xlb_explain x;
	json_t *ring;
	int ret;

	ret = xlb_explain_flow(lb, &c->vip, &c->addr, c->family, c->port, &x, err, errlen);
	if (ret)
		return ret;
	xlb_vip_key_format(&x.vip->key, vip, sizeof(vip));
	xlb_vip_key_format(&c->vip, v, sizeof(v));
	xlb_endpoint_format(&c->addr, c->family, c->port, src, sizeof(src));
	if (x.use_be)
		xlb_addr_format(&x.use_be->addr, x.use_be->family, a, sizeof(a));
	ring = x.have_ring ? explain_backend_json(lb, x.vip, x.ring_be) : json_null();
	if (ring && x.have_ring && !x.ring_be)
		ring = json_pack("{s:I, s:n}", "backend_id", (json_int_t)x.ring_id, "backend");
	return give(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:s, s:s*}",
			      "vip", vip, "flow_vip", v, "client", src, "match",
			      x.all_ports ? "all-ports" : "exact", "sched",
			      xlb_sched_name(x.vip->flags), "conntrack",
			      x.vip->flags & XLB_VIP_F_NO_CONNTRACK ? "off" : "on", "hash",
			      (json_int_t)x.hash, "slot", (json_int_t)x.slot, "ring_size",
			      (json_int_t)lb->dp->ring_size, "ring", ring, "conn",
			      explain_conn_json(lb, &x), "uses", uses[x.use], "backend",
			      x.use_be ? a : NULL),
		    result, err, errlen);
}

static int do_save(struct xlb_lb *lb, json_t **result, char *err, size_t errlen)
{
	struct xlb_rules r;
	json_t *lines;
	char *text, *line, *save = NULL;

	if (xlb_rules_from_lb(&r, lb))
		return nomem(err, errlen);
	text = xlb_rules_format(&r);
	xlb_rules_free(&r);
	if (!text)
		return nomem(err, errlen);
	lines = json_array();
	for (line = strtok_r(text, "\n", &save); lines && line; line = strtok_r(NULL, "\n", &save))
		if (json_array_append_new(lines, json_string(line))) {
			json_decref(lines);
			lines = NULL;
		}
	free(text);
	if (!lines)
		return nomem(err, errlen);
	return give(json_pack("{s:o}", "rules", lines), result, err, errlen);
}

static const char *const change_names[] = {"unchanged", "added", "removed", "changed"};

/* The effect of making lb equal to target, touching nothing: the VIPs whose
 * traffic it changes. */
static int do_preview(struct xlb_lb *lb, const struct xlb_rules *target, json_t **result, char *err,
		      size_t errlen)
{
	struct xlb_preview p;
	json_t *vips, *out = NULL;
	int ret = xlb_preview_rules(lb, target, &p, err, errlen);

	if (ret) {
		xlb_preview_free(&p);
		return ret;
	}
	vips = json_array();
	for (size_t i = 0; vips && i < p.n_vips; i++) {
		const struct xlb_preview_vip *v = &p.vips[i];
		char name[XLB_ADDR_STRLEN];

		if (v->change == XLB_PREVIEW_UNCHANGED)
			continue;
		xlb_vip_key_format(&v->key, name, sizeof(name));
		if (json_array_append_new(
			vips, json_pack("{s:s, s:s, s:s, s:I, s:f, s:I, s:I, s:b, s:I}", "vip",
					name, "change", change_names[v->change], "conntrack",
					v->tracked ? "on" : "off", "slots_changed",
					(json_int_t)v->slots_changed, "share",
					(double)v->slots_changed / p.ring_size, "in_ring_before",
					(json_int_t)v->in_ring_before, "in_ring_after",
					(json_int_t)v->in_ring_after, "rehash", v->rehash,
					"connections_break", (json_int_t)v->conns_break))) {
			json_decref(vips);
			vips = NULL;
		}
	}
	if (vips)
		out = json_pack("{s:b, s:I, s:o, s:I, s:b, s:I, s:I}", "dry_run", 1, "ring_size",
				(json_int_t)p.ring_size, "vips", vips, "connections_break",
				(json_int_t)p.conns_break, "connections_complete", p.conns_complete,
				"connections_scanned", (json_int_t)p.conns_scanned, "scan_ms",
				(json_int_t)(p.scan_us / 1000));
	xlb_preview_free(&p);
	return give(out, result, err, errlen);
}

/* Every change goes through a copy of the configuration first: what it would
 * refuse is refused before the load balancer is touched. */
static int do_change(struct xlb_req_env *env, struct xlb_rules *target, char *err, size_t errlen)
{
	int ret = xlb_rules_apply(env->lb, target, err, errlen);

	if (!ret)
		env->changed = 1;
	return ret;
}

static int do_mutation(struct xlb_req_env *env, const struct xlb_cmd *c, int dry, json_t **result,
		       char *err, size_t errlen)
{
	struct xlb_rules r;
	int ret;

	if (xlb_rules_from_lb(&r, env->lb))
		return nomem(err, errlen);
	ret = xlb_rules_step(&r, c, err, errlen);
	if (!ret && dry) {
		ret = do_preview(env->lb, &r, result, err, errlen);
		xlb_rules_free(&r);
		return ret;
	}
	if (!ret)
		ret = do_change(env, &r, err, errlen);
	xlb_rules_free(&r);
	if (ret)
		return ret;
	return give(json_object(), result, err, errlen);
}

static int do_restore(struct xlb_req_env *env, const struct xlb_cmd *c, int dry, json_t **result,
		      int *usage, char *err, size_t errlen)
{
	const char *path = c->file ? c->file : env->rules_path;
	struct xlb_rules r;
	int file_usage, ret;

	if (!path) {
		*usage = 1;
		return xlb_errf(-EINVAL, err, errlen,
				"restore needs a FILE: this xlbd has no rules file (-r)");
	}
	xlb_rules_init(&r, env->lb->dp->max_vips, env->lb->dp->max_backends);
	xlb_rules_set_outer(&r, xlb_lb_outer(env->lb));
	/* A syntax error in the file is not one of the request, which was fine:
	 * file_usage stays out of *usage. */
	ret = xlb_rules_read(&r, path, &file_usage, err, errlen);
	if (!ret && dry) {
		ret = do_preview(env->lb, &r, result, err, errlen);
		xlb_rules_free(&r);
		return ret;
	}
	if (!ret)
		ret = do_change(env, &r, err, errlen);
	if (!ret)
		ret = give(json_pack("{s:s, s:I, s:I}", "file", path, "vips", (json_int_t)r.n_vips,
				     "backends", (json_int_t)r.n_backends),
			   result, err, errlen);
	xlb_rules_free(&r);
	return ret;
}

int xlb_req_exec(struct xlb_req_env *env, int argc, char **argv, json_t **result, int *usage,
		 char *err, size_t errlen)
{
	int dry = argc > 0 && !strcmp(argv[0], XLB_REQ_DRY_RUN);
	struct xlb_cmd c;
	int ret;

	*result = NULL;
	*usage = 0;
	if (dry) {
		argc--;
		argv++;
	}
	ret = xlb_cmd_parse(argc, argv, &c, err, errlen);
	if (ret) {
		*usage = 1;
		return ret;
	}
	if (dry && c.op != XLB_CMD_HELP && !xlb_cmd_mutates(c.op) && c.op != XLB_CMD_RESTORE) {
		*usage = 1;
		return xlb_errf(-EINVAL, err, errlen,
				"--dry-run previews a change, expected vip add|set|del, backend "
				"add|set|del or restore after it, not '%s'",
				argv[0]);
	}
	switch (c.op) {
	case XLB_CMD_HELP:
		return give(json_pack("{s:s}", "help", xlb_cmd_usage(c.topic)), result, err,
			    errlen);
	case XLB_CMD_VIP_ADD:
	case XLB_CMD_VIP_SET:
	case XLB_CMD_VIP_DEL:
	case XLB_CMD_BACKEND_ADD:
	case XLB_CMD_BACKEND_SET:
	case XLB_CMD_BACKEND_DEL:
		return do_mutation(env, &c, dry, result, err, errlen);
	case XLB_CMD_LIST:
		return give(do_list(env->lb), result, err, errlen);
	case XLB_CMD_STATS:
		return do_stats(env->lb, result, err, errlen);
	case XLB_CMD_LOOKUP:
		return do_lookup(env->lb, &c, result, err, errlen);
	case XLB_CMD_EXPLAIN:
		return do_explain(env->lb, &c, result, err, errlen);
	case XLB_CMD_TOP:
		return xlb_errf(-EOPNOTSUPP, err, errlen,
				"top runs in xlbctl (it asks for list and stats every second)");
	case XLB_CMD_SAVE:
		return do_save(env->lb, result, err, errlen);
	case XLB_CMD_RESTORE:
		return do_restore(env, &c, dry, result, usage, err, errlen);
	case XLB_CMD_CONNS:
		return xlb_conns_list(env->lb, &c, result, err, errlen);
	case XLB_CMD_CONNS_FLUSH:
		return xlb_conns_flush(env->lb, &c, result, err, errlen);
	case XLB_CMD_DETACH:
		if (!env->detach)
			return xlb_errf(-EOPNOTSUPP, err, errlen, "detach is not available here");
		ret = env->detach(env->ctx, err, errlen);
		if (ret)
			return ret;
		return give(json_object(), result, err, errlen);
	}
	return xlb_errf(-EINVAL, err, errlen, "unhandled command");
}
