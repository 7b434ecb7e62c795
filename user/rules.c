// SPDX-License-Identifier: GPL-2.0
/* rules.c: the configuration as a value (see rules.h). Commands are first
 * applied to a copy, so that a change or a whole rules file is known to be
 * valid before the load balancer sees any of it; then only the difference is
 * applied, so that unchanged VIPs and backends keep their flows. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "rules.h"
#include "addr.h"
#include "lb.h"
#include "log.h"
#include "refusal.h"

#define XLB_RULES_WORDS_MAX 64

void xlb_rules_init(struct xlb_rules *r, __u32 max_vips, __u32 max_backends)
{
	memset(r, 0, sizeof(*r));
	r->max_vips = max_vips;
	r->max_backends = max_backends;
}

void xlb_rules_free(struct xlb_rules *r)
{
	free(r->vips);
	free(r->backends);
	r->vips = NULL;
	r->backends = NULL;
	r->n_vips = r->cap_vips = r->n_backends = r->cap_backends = 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

int xlb_rules_copy(struct xlb_rules *dst, const struct xlb_rules *src)
{
	xlb_rules_init(dst, src->max_vips, src->max_backends);
	if (grow((void **)&dst->vips, &dst->cap_vips, src->n_vips, sizeof(*dst->vips)) ||
	    grow((void **)&dst->backends, &dst->cap_backends, src->n_backends,
		 sizeof(*dst->backends))) {
		xlb_rules_free(dst);
		return -ENOMEM;
	}
	if (src->n_vips)
		memcpy(dst->vips, src->vips, src->n_vips * sizeof(*src->vips));
	if (src->n_backends)
		memcpy(dst->backends, src->backends, src->n_backends * sizeof(*src->backends));
	dst->n_vips = src->n_vips;
	dst->n_backends = src->n_backends;
	dst->outer = src->outer;
	dst->have_outer = src->have_outer;
	return 0;
}

void xlb_rules_set_outer(struct xlb_rules *r, const struct xlb_config *outer)
{
	memset(&r->outer, 0, sizeof(r->outer));
	r->have_outer = !!outer;
	if (outer)
		r->outer = *outer;
}

/* Canonical order: family, address, port (numerically), protocol. */
static int vip_key_cmp(const struct xlb_vip_key *a, const struct xlb_vip_key *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
	if (c)
		return c;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	return 0;
}

static int vip_cmp(const void *a, const void *b)
{
	return vip_key_cmp(&((const struct xlb_rules_vip *)a)->key,
			   &((const struct xlb_rules_vip *)b)->key);
}

static int backend_cmp(const void *pa, const void *pb)
{
	const struct xlb_rules_backend *a = pa, *b = pb;
	int c = vip_key_cmp(&a->vip, &b->vip);

	if (c)
		return c;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));
}

static void rules_sort(struct xlb_rules *r)
{
	if (r->n_vips)
		qsort(r->vips, r->n_vips, sizeof(*r->vips), vip_cmp);
	if (r->n_backends)
		qsort(r->backends, r->n_backends, sizeof(*r->backends), backend_cmp);
}

int xlb_rules_from_lb(struct xlb_rules *r, struct xlb_lb *lb)
{
	struct xlb_dp *dp = lb->dp;

	xlb_rules_init(r, dp->max_vips, dp->max_backends);
	xlb_rules_set_outer(r, xlb_lb_outer(lb));
	for (__u32 i = 0; i < dp->max_vips; i++) {
		if (!lb->vips[i].used)
			continue;
		if (grow((void **)&r->vips, &r->cap_vips, r->n_vips + 1, sizeof(*r->vips)))
			goto nomem;
		r->vips[r->n_vips].key = lb->vips[i].key;
		r->vips[r->n_vips].flags = lb->vips[i].flags;
		r->vips[r->n_vips].fail_close = lb->vips[i].fail_close;
		r->vips[r->n_vips].hc = lb->vips[i].hc;
		r->vips[r->n_vips].prot = lb->vips[i].prot;
		r->vips[r->n_vips].slow_start = lb->vips[i].slow_start;
		r->n_vips++;
	}
	for (__u32 i = 0; i < dp->max_backends; i++) {
		const struct xlb_lb_backend *b = &lb->backends[i];
		struct xlb_rules_backend *rb;

		if (!b->used || b->vip >= dp->max_vips || !lb->vips[b->vip].used)
			continue;
		if (grow((void **)&r->backends, &r->cap_backends, r->n_backends + 1,
			 sizeof(*r->backends)))
			goto nomem;
		rb = &r->backends[r->n_backends++];
		memset(rb, 0, sizeof(*rb));
		rb->vip = lb->vips[b->vip].key;
		rb->addr = b->addr;
		rb->family = b->family;
		rb->weight = b->weight;
		rb->slow_start = b->ss_own;
		rb->hc = b->hc;
	}
	rules_sort(r);
	return 0;
nomem:
	xlb_rules_free(r);
	return -ENOMEM;
}

static struct xlb_rules_vip *find_vip(const struct xlb_rules *r, const struct xlb_vip_key *key)
{
	for (size_t i = 0; i < r->n_vips; i++)
		if (!vip_key_cmp(&r->vips[i].key, key))
			return &r->vips[i];
	return NULL;
}

static struct xlb_rules_backend *find_backend(const struct xlb_rules *r,
					      const struct xlb_vip_key *vip,
					      const union xlb_addr *addr, __u8 family)
{
	for (size_t i = 0; i < r->n_backends; i++) {
		struct xlb_rules_backend *b = &r->backends[i];

		if (b->family == family && !memcmp(&b->addr, addr, sizeof(*addr)) &&
		    !vip_key_cmp(&b->vip, vip))
			return b;
	}
	return NULL;
}

/* 1 when two check clauses say the same (only given options count). */
static int hc_same(const struct xlb_hc_cfg *a, const struct xlb_hc_cfg *b)
{
	char ta[1024], tb[1024];

	if (a->set != b->set)
		return 0;
	if (xlb_hc_cfg_format(a, ta, sizeof(ta)) < 0 || xlb_hc_cfg_format(b, tb, sizeof(tb)) < 0)
		return 0;
	return !strcmp(ta, tb);
}

/* The effective check of the VIP and of each of its backends must be
 * runnable: a check needs a port, which an all-ports VIP does not give. */
static int check_vip_checks(const struct xlb_rules *r, const struct xlb_rules_vip *rv,
			    const struct xlb_rules_backend *extra, char *err, size_t errlen)
{
	char msg[XLB_ERRLEN], v[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN];
	struct xlb_hc_cfg out;
	__u16 port = ntohs(rv->key.port);

	xlb_vip_key_format(&rv->key, v, sizeof(v));
	if (xlb_hc_cfg_resolve(&out, &rv->hc, NULL, rv->key.proto, port, msg, sizeof(msg)))
		return xlb_errf(-EINVAL, err, errlen, "VIP %s: %s", v, msg);
	for (size_t i = 0; i <= r->n_backends; i++) {
		const struct xlb_rules_backend *b = i < r->n_backends ? &r->backends[i] : extra;

		if (!b || vip_key_cmp(&b->vip, &rv->key))
			continue;
		if (xlb_hc_cfg_resolve(&out, &rv->hc, &b->hc, rv->key.proto, port, msg,
				       sizeof(msg))) {
			xlb_addr_format(&b->addr, b->family, a, sizeof(a));
			return xlb_errf(-EINVAL, err, errlen, "backend %s of VIP %s: %s", a, v,
					msg);
		}
	}
	return 0;
}

/* Takes the parts of the VIP's protection the command gave. */
static void protect_take(struct xlb_protect *p, const struct xlb_cmd *c)
{
	if (c->given & XLB_CMD_G_ALLOW) {
		memcpy(p->allow, c->prot.allow, sizeof(p->allow));
		p->n_allow = c->prot.n_allow;
	}
	if (c->given & XLB_CMD_G_DENY) {
		memcpy(p->deny, c->prot.deny, sizeof(p->deny));
		p->n_deny = c->prot.n_deny;
	}
	if (c->given & XLB_CMD_G_LIMIT) {
		p->rate = c->prot.rate;
		p->burst = c->prot.burst;
	}
}

/* The lists must not contradict each other, and a limit of new flows
 * needs the connection table that tells new flows from established ones. */
static int check_vip_protect(const struct xlb_rules_vip *rv, char *err, size_t errlen)
{
	char v[XLB_ADDR_STRLEN];

	xlb_vip_key_format(&rv->key, v, sizeof(v));
	if (xlb_protect_check(&rv->prot, v, err, errlen))
		return -EINVAL;
	if ((rv->flags & XLB_VIP_F_LEAST) && (rv->flags & XLB_VIP_F_NO_CONNTRACK))
		return xlb_errf(-EINVAL, err, errlen,
				"VIP %s: sched %s needs conntrack on (it counts each backend's "
				"open connections from the connection table, whose entry also "
				"keeps a flow's later packets on the backend it chose), expected "
				"conntrack on or sched maglev|sh",
				v, xlb_sched_name(rv->flags));
	if ((rv->flags & XLB_VIP_F_IN_TURN) && (rv->flags & XLB_VIP_F_NO_CONNTRACK))
		return xlb_errf(-EINVAL, err, errlen,
				"VIP %s: sched %s needs conntrack on (a flow's backend is chosen "
				"in turn, not by hash: only its entry in the connection table "
				"keeps its later packets on it), expected conntrack on or sched "
				"maglev|sh",
				v, xlb_sched_name(rv->flags));
	if (rv->prot.rate && (rv->flags & XLB_VIP_F_NO_CONNTRACK))
		return xlb_errf(-EINVAL, err, errlen,
				"VIP %s: limit needs conntrack on (without the connection table "
				"every packet would count as a new flow), expected conntrack on "
				"or limit off",
				v);
	return 0;
}

static size_t vip_backend_count(const struct xlb_rules *r, const struct xlb_vip_key *key)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n_backends; i++)
		n += !vip_key_cmp(&r->backends[i].vip, key);
	return n;
}

/* lc and wlc scan every backend of the VIP for each new flow: at most
 * XLB_LC_MAX_BACKENDS of them (n: the VIP's backends, with one to add). */
static int check_vip_least(const struct xlb_rules_vip *rv, size_t n, char *err, size_t errlen)
{
	char v[XLB_ADDR_STRLEN];

	if (!(rv->flags & XLB_VIP_F_LEAST) || n <= XLB_LC_MAX_BACKENDS)
		return 0;
	xlb_vip_key_format(&rv->key, v, sizeof(v));
	return xlb_errf(-EINVAL, err, errlen,
			"VIP %s: sched %s takes at most %d backends (the data plane looks at "
			"every one for each new flow), it would have %zu; expected at most %d "
			"backends or sched maglev|sh|rr|wrr",
			v, xlb_sched_name(rv->flags), XLB_LC_MAX_BACKENDS, n, XLB_LC_MAX_BACKENDS);
}

int xlb_rules_step(struct xlb_rules *r, const struct xlb_cmd *c, char *err, size_t errlen)
{
	char v[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN];
	struct xlb_rules_backend *b;
	struct xlb_rules_vip *rv;
	__u32 mask = 0;

	xlb_vip_key_format(&c->vip, v, sizeof(v));
	xlb_addr_format(&c->addr, c->family, a, sizeof(a));
	if (c->given & XLB_CMD_G_SCHED)
		mask |= XLB_VIP_F_SCHED;
	if (c->given & XLB_CMD_G_CONNTRACK)
		mask |= XLB_VIP_F_NO_CONNTRACK;

	switch (c->op) {
	case XLB_CMD_VIP_ADD:
		if (xlb_check_vip_addr(&c->vip, err, errlen))
			return -EINVAL;
		if (find_vip(r, &c->vip))
			return xlb_refuse_vip_exists(v, err, errlen);
		if (r->n_vips >= r->max_vips)
			return xlb_refuse_vips_full(v, r->max_vips, err, errlen);
		if (grow((void **)&r->vips, &r->cap_vips, r->n_vips + 1, sizeof(*r->vips)))
			return xlb_errf(-ENOMEM, err, errlen, "out of memory");
		rv = &r->vips[r->n_vips];
		memset(rv, 0, sizeof(*rv));
		rv->key = c->vip;
		rv->flags = c->vip_flags & mask;
		rv->fail_close = (c->given & XLB_CMD_G_FAIL_OPEN) ? c->fail_close : 0;
		xlb_hc_cfg_init(&rv->hc);
		if (c->given & XLB_CMD_G_CHECK)
			rv->hc = c->hc;
		if (c->given & XLB_CMD_G_SLOW_START)
			rv->slow_start = c->slow_start;
		protect_take(&rv->prot, c);
		if (check_vip_checks(r, rv, NULL, err, errlen) ||
		    check_vip_protect(rv, err, errlen))
			return -EINVAL;
		r->n_vips++;
		return 0;
	case XLB_CMD_VIP_SET: {
		struct xlb_rules_vip old;

		rv = find_vip(r, &c->vip);
		if (!rv)
			return xlb_refuse_no_vip(v, err, errlen);
		old = *rv;
		rv->flags = (rv->flags & ~mask) | (c->vip_flags & mask);
		if (c->given & XLB_CMD_G_FAIL_OPEN)
			rv->fail_close = c->fail_close;
		if (c->given & XLB_CMD_G_CHECK)
			rv->hc = c->hc;
		if (c->given & XLB_CMD_G_SLOW_START)
			rv->slow_start = c->slow_start;
		protect_take(&rv->prot, c);
		if (check_vip_checks(r, rv, NULL, err, errlen) ||
		    check_vip_protect(rv, err, errlen) ||
		    check_vip_least(rv, vip_backend_count(r, &rv->key), err, errlen)) {
			*rv = old;
			return -EINVAL;
		}
		return 0;
	}
	case XLB_CMD_VIP_DEL: {
		size_t k = 0;

		rv = find_vip(r, &c->vip);
		if (!rv)
			return xlb_refuse_no_vip(v, err, errlen);
		*rv = r->vips[--r->n_vips];
		/* Its backends go with it, as in the load balancer. */
		for (size_t i = 0; i < r->n_backends; i++)
			if (vip_key_cmp(&r->backends[i].vip, &c->vip))
				r->backends[k++] = r->backends[i];
		r->n_backends = k;
		return 0;
	}
	case XLB_CMD_BACKEND_ADD: {
		struct xlb_rules_backend nb;

		rv = find_vip(r, &c->vip);
		if (!rv)
			return xlb_refuse_no_vip(v, err, errlen);
		if (!xlb_backend_family_fits(c->vip.family, c->family))
			return xlb_refuse_backend_family(a, v, err, errlen);
		if (xlb_check_backend_addr(&c->addr, c->family, r->have_outer ? &r->outer : NULL,
					   err, errlen))
			return -EINVAL;
		if (find_backend(r, &c->vip, &c->addr, c->family))
			return xlb_refuse_backend_exists(a, v, err, errlen);
		if (r->n_backends >= r->max_backends)
			return xlb_refuse_backends_full(a, r->max_backends, err, errlen);
		if (check_vip_least(rv, vip_backend_count(r, &c->vip) + 1, err, errlen))
			return -EINVAL;
		memset(&nb, 0, sizeof(nb));
		nb.vip = c->vip;
		nb.addr = c->addr;
		nb.family = c->family;
		nb.weight = (c->given & XLB_CMD_G_WEIGHT) ? c->weight : XLB_CMD_WEIGHT_DEFAULT;
		nb.slow_start = (c->given & XLB_CMD_G_SLOW_START) ? (int)c->slow_start : -1;
		xlb_hc_cfg_init(&nb.hc);
		if (c->given & XLB_CMD_G_CHECK)
			nb.hc = c->hc;
		if (check_vip_checks(r, rv, &nb, err, errlen))
			return -EINVAL;
		if (grow((void **)&r->backends, &r->cap_backends, r->n_backends + 1,
			 sizeof(*r->backends)))
			return xlb_errf(-ENOMEM, err, errlen, "out of memory");
		r->backends[r->n_backends++] = nb;
		return 0;
	}
	case XLB_CMD_BACKEND_SET:
	case XLB_CMD_BACKEND_DEL: {
		struct xlb_rules_backend old;

		rv = find_vip(r, &c->vip);
		if (!rv)
			return xlb_refuse_no_vip(v, err, errlen);
		b = find_backend(r, &c->vip, &c->addr, c->family);
		if (!b)
			return xlb_refuse_no_backend(a, v, err, errlen);
		if (c->op == XLB_CMD_BACKEND_DEL) {
			*b = r->backends[--r->n_backends];
			return 0;
		}
		old = *b;
		if (c->given & XLB_CMD_G_WEIGHT)
			b->weight = c->weight;
		if (c->given & XLB_CMD_G_SLOW_START)
			b->slow_start = (int)c->slow_start;
		if (c->given & XLB_CMD_G_CHECK)
			b->hc = c->hc;
		if (check_vip_checks(r, rv, NULL, err, errlen)) {
			*b = old;
			return -EINVAL;
		}
		return 0;
	}
	default:
		return xlb_errf(-EINVAL, err, errlen,
				"only vip and backend commands change the configuration");
	}
}

int xlb_rules_split(char *line, char **words, int max_words)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *out;

		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max_words)
			return -E2BIG;
		/* Unquote in place: the word never grows, so out trails p. */
		words[n++] = out = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			if (*p != '"') {
				*out++ = *p++;
				continue;
			}
			for (p++; *p != '"'; p++) {
				if (!*p)
					return -EINVAL;
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*out++ = *p;
			}
			p++;
		}
		if (*p)
			p++;
		*out = 0;
	}
}

int xlb_rules_read(struct xlb_rules *r, const char *path, int *usage, char *err, size_t errlen)
{
	char *words[XLB_RULES_WORDS_MAX], msg[XLB_ERRLEN];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, ret = 0;
	FILE *f;

	*usage = 0;
	f = fopen(path, "re");
	if (!f)
		return xlb_errf(-errno, err, errlen, "cannot open rules file %s: %s", path,
				strerror(errno));
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct xlb_cmd c;
		int n;

		lineno++;
		if (len > XLB_RULES_LINE_MAX) {
			ret = xlb_errf(-EINVAL, err, errlen, "%s:%d: line longer than %d bytes",
				       path, lineno, XLB_RULES_LINE_MAX);
			*usage = 1;
			break;
		}
		if (strlen(line) != (size_t)len) {
			ret = xlb_errf(-EINVAL, err, errlen,
				       "%s:%d: NUL byte in line, expected a text file of commands",
				       path, lineno);
			*usage = 1;
			break;
		}
		n = xlb_rules_split(line, words, XLB_RULES_WORDS_MAX);
		if (n < 0) {
			ret = xlb_errf(-EINVAL, err, errlen, "%s:%d: %s", path, lineno,
				       n == -E2BIG ? "too many words, expected one command per line"
						   : "unterminated \", expected a closing quote");
			*usage = 1;
			break;
		}
		if (!n)
			continue;
		if (xlb_cmd_parse(n, words, &c, msg, sizeof(msg))) {
			ret = xlb_errf(-EINVAL, err, errlen, "%s:%d: %s", path, lineno, msg);
			*usage = 1;
			break;
		}
		if (!xlb_cmd_mutates(c.op)) {
			ret = xlb_errf(-EINVAL, err, errlen,
				       "%s:%d: '%s' cannot appear in a rules file, expected vip or "
				       "backend add/set/del commands",
				       path, lineno, words[0]);
			*usage = 1;
			break;
		}
		ret = xlb_rules_step(r, &c, msg, sizeof(msg));
		if (ret) {
			xlb_errf(ret, err, errlen, "%s:%d: %s", path, lineno, msg);
			break;
		}
	}
	if (!ret && ferror(f))
		ret = xlb_errf(-EIO, err, errlen, "cannot read rules file %s: %s", path,
			       strerror(errno));
	free(line);
	fclose(f);
	if (!ret)
		rules_sort(r);
	return ret;
}

static void log_vip(const char *what, const struct xlb_rules_vip *rv)
{
	char v[XLB_ADDR_STRLEN], chk[1024], prot[2 * XLB_RULES_LIST_MAX + 64];

	xlb_vip_key_format(&rv->key, v, sizeof(v));
	if (xlb_hc_cfg_format(&rv->hc, chk, sizeof(chk)) < 0)
		chk[0] = 0;
	if (xlb_protect_format(&rv->prot, prot, sizeof(prot)) < 0)
		prot[0] = 0;
	pr_info("vip %s: %s (sched %s, conntrack %s, fail-open %s%s%s%s)", v, what,
		xlb_sched_name(rv->flags),
		rv->flags & XLB_VIP_F_NO_CONNTRACK ? "off" : "on", rv->fail_close ? "off" : "on",
		prot, chk[0] ? ", " : "", chk);
}

static void log_backend(const char *what, const struct xlb_rules_backend *b)
{
	char v[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN], chk[1024];

	xlb_vip_key_format(&b->vip, v, sizeof(v));
	xlb_addr_format(&b->addr, b->family, a, sizeof(a));
	if (xlb_hc_cfg_format(&b->hc, chk, sizeof(chk)) < 0)
		chk[0] = 0;
	pr_info("backend %s of vip %s: %s (weight %u%s%s)", a, v, what, b->weight,
		chk[0] ? ", " : "", chk);
}

/* Walks two sorted configurations and changes lb from one to the other.
 * Removals first, so that the ids they free are there for the additions. */
static int apply_diff(struct xlb_lb *lb, const struct xlb_rules *from, const struct xlb_rules *to,
		      char *err, size_t errlen)
{
	size_t i, j;
	int ret, ret2;

	for (i = 0, j = 0; i < from->n_backends; i++) {
		const struct xlb_rules_backend *b = &from->backends[i];

		while (j < to->n_backends && backend_cmp(&to->backends[j], b) < 0)
			j++;
		if (j < to->n_backends && !backend_cmp(&to->backends[j], b))
			continue;
		/* Those of a VIP that goes away leave with it. */
		if (!find_vip(to, &b->vip))
			continue;
		ret = xlb_lb_backend_del(lb, &b->vip, &b->addr, b->family, err, errlen);
		if (ret)
			return ret;
		log_backend("removed", b);
	}
	for (i = 0, j = 0; i < from->n_vips; i++) {
		const struct xlb_rules_vip *v = &from->vips[i];

		while (j < to->n_vips && vip_cmp(&to->vips[j], v) < 0)
			j++;
		if (j < to->n_vips && !vip_cmp(&to->vips[j], v))
			continue;
		ret = xlb_lb_vip_del(lb, &v->key, err, errlen);
		if (ret)
			return ret;
		log_vip("removed", v);
	}
	/* Additions and changes rebuild each VIP's ring once, at the end. */
	xlb_lb_batch_begin(lb);
	for (i = 0, j = 0; i < to->n_vips; i++) {
		const struct xlb_rules_vip *v = &to->vips[i];

		while (j < from->n_vips && vip_cmp(&from->vips[j], v) < 0)
			j++;
		if (j < from->n_vips && !vip_cmp(&from->vips[j], v)) {
			const struct xlb_rules_vip *f = &from->vips[j];
			int health = f->fail_close != v->fail_close || !hc_same(&f->hc, &v->hc);
			int prot = !xlb_protect_same(&f->prot, &v->prot);
			int ss = f->slow_start != v->slow_start;

			if (f->flags == v->flags && !health && !prot && !ss)
				continue;
			ret = 0;
			if (ss)
				ret = xlb_lb_vip_set_slow_start(lb, &v->key, v->slow_start, err,
								errlen);
			/* Protection first: a limit is lifted before conntrack goes off. */
			if (!ret && prot)
				ret = xlb_lb_vip_set_protect(lb, &v->key, &v->prot, err, errlen);
			if (!ret && f->flags != v->flags)
				ret = xlb_lb_vip_set_flags(lb, &v->key, v->flags, err, errlen);
			if (!ret && health) {
				/* Its backends' own options change with it, so
				 * that the new pair is what gets checked. */
				for (size_t k = 0; k < to->n_backends; k++)
					if (!vip_key_cmp(&to->backends[k].vip, &v->key))
						xlb_lb_backend_stage_check(
						    lb, &v->key, &to->backends[k].addr,
						    to->backends[k].family, &to->backends[k].hc);
				ret = xlb_lb_vip_set_health(lb, &v->key, v->fail_close, &v->hc, err,
							    errlen);
			}
			if (ret)
				goto out;
			log_vip("changed", v);
			continue;
		}
		ret = xlb_lb_vip_add(lb, &v->key, v->flags, err, errlen);
		if (!ret)
			ret = xlb_lb_vip_set_protect(lb, &v->key, &v->prot, err, errlen);
		if (!ret && v->slow_start)
			ret = xlb_lb_vip_set_slow_start(lb, &v->key, v->slow_start, err, errlen);
		if (!ret)
			ret =
			    xlb_lb_vip_set_health(lb, &v->key, v->fail_close, &v->hc, err, errlen);
		if (ret)
			goto out;
		log_vip("added", v);
	}
	for (i = 0, j = 0; i < to->n_backends; i++) {
		const struct xlb_rules_backend *b = &to->backends[i];

		while (j < from->n_backends && backend_cmp(&from->backends[j], b) < 0)
			j++;
		/* A backend whose VIP was re-created is new as well. */
		if (j < from->n_backends && !backend_cmp(&from->backends[j], b) &&
		    find_vip(from, &b->vip)) {
			const struct xlb_rules_backend *f = &from->backends[j];
			int check = !hc_same(&f->hc, &b->hc);
			int ss = f->slow_start != b->slow_start;

			if (f->weight == b->weight && !check && !ss)
				continue;
			ret = 0;
			if (ss)
				ret = xlb_lb_backend_set_slow_start(
				    lb, &b->vip, &b->addr, b->family, b->slow_start, err, errlen);
			if (!ret && f->weight != b->weight)
				ret = xlb_lb_backend_set_weight(lb, &b->vip, &b->addr, b->family,
								b->weight, err, errlen);
			if (!ret && check)
				ret = xlb_lb_backend_set_check(lb, &b->vip, &b->addr, b->family,
							       &b->hc, err, errlen);
			if (ret)
				goto out;
			log_backend("changed", b);
			continue;
		}
		ret = xlb_lb_backend_add(lb, &b->vip, &b->addr, b->family, b->weight, err, errlen);
		if (!ret && b->slow_start >= 0)
			ret = xlb_lb_backend_set_slow_start(lb, &b->vip, &b->addr, b->family,
							    b->slow_start, err, errlen);
		if (!ret && b->hc.set)
			ret = xlb_lb_backend_set_check(lb, &b->vip, &b->addr, b->family, &b->hc,
						       err, errlen);
		if (ret)
			goto out;
		log_backend("added", b);
	}
out:
	/* Even after a failure: the rollback starts from what lb really holds. */
	ret2 = xlb_lb_batch_commit(lb);
	if (!ret && ret2)
		ret = xlb_errf(ret2, err, errlen, "cannot rebuild the rings: %s", strerror(-ret2));
	return ret;
}

int xlb_rules_apply(struct xlb_lb *lb, const struct xlb_rules *target, char *err, size_t errlen)
{
	struct xlb_rules before, to, now;
	char msg[XLB_ERRLEN], msg2[XLB_ERRLEN];
	int ret, ret2;

	ret = xlb_rules_from_lb(&before, lb);
	if (ret)
		return xlb_errf(ret, err, errlen, "out of memory");
	ret = xlb_rules_copy(&to, target);
	if (ret) {
		xlb_rules_free(&before);
		return xlb_errf(ret, err, errlen, "out of memory");
	}
	rules_sort(&to);
	msg[0] = 0;
	ret = apply_diff(lb, &before, &to, msg, sizeof(msg));
	if (ret) {
		pr_err("applying the configuration failed: %s; rolling back", msg);
		/* Back to where we were: the same walk in the other direction. */
		msg2[0] = 0;
		ret2 = xlb_rules_from_lb(&now, lb);
		if (!ret2) {
			ret2 = apply_diff(lb, &now, &before, msg2, sizeof(msg2));
			xlb_rules_free(&now);
		} else {
			xlb_errf(ret2, msg2, sizeof(msg2), "out of memory");
		}
		if (ret2)
			xlb_errf(ret, err, errlen, "%s; rolling back failed too: %s", msg, msg2);
		else
			xlb_errf(ret, err, errlen, "%s; nothing was changed", msg);
	}
	xlb_rules_free(&before);
	xlb_rules_free(&to);
	return ret;
}

/* Appends to a growing string; returns -ENOMEM once and keeps failing. */
struct strbuf {
	char *s;
	size_t len, cap;
	int err;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow((void **)&sb->s, &sb->cap, sb->len + n + 1, 1)) {
		sb->err = -ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	sb->len += n;
}

char *xlb_rules_format(const struct xlb_rules *r)
{
	struct strbuf sb = {0};
	struct xlb_rules s;
	char v[XLB_ADDR_STRLEN], a[XLB_ADDR_STRLEN], chk[1024], prot[2 * XLB_RULES_LIST_MAX + 64];

	if (xlb_rules_copy(&s, r))
		return NULL;
	rules_sort(&s);
	sb_printf(&sb, "%s", "");
	/* Each VIP followed by its backends: backends are sorted by VIP too. */
	for (size_t i = 0, j = 0; i < s.n_vips; i++) {
		const struct xlb_rules_vip *rv = &s.vips[i];

		xlb_vip_key_format(&rv->key, v, sizeof(v));
		if (xlb_hc_cfg_format(&rv->hc, chk, sizeof(chk)) < 0)
			sb.err = -ENOSPC;
		if (xlb_protect_format(&rv->prot, prot, sizeof(prot)) < 0)
			sb.err = -ENOSPC;
		sb_printf(&sb, "vip add %s sched %s conntrack %s fail-open %s%s", v,
			  xlb_sched_name(rv->flags),
			  rv->flags & XLB_VIP_F_NO_CONNTRACK ? "off" : "on",
			  rv->fail_close ? "off" : "on", prot);
		/* Only when set, so that rules without it read as before. */
		if (rv->slow_start)
			sb_printf(&sb, " slow-start %u", rv->slow_start);
		sb_printf(&sb, "%s%s\n", chk[0] ? " " : "", chk);
		while (j < s.n_backends && vip_key_cmp(&s.backends[j].vip, &rv->key) < 0)
			j++;
		for (; j < s.n_backends && !vip_key_cmp(&s.backends[j].vip, &rv->key); j++) {
			const struct xlb_rules_backend *b = &s.backends[j];

			xlb_addr_format(&b->addr, b->family, a, sizeof(a));
			if (xlb_hc_cfg_format(&b->hc, chk, sizeof(chk)) < 0)
				sb.err = -ENOSPC;
			sb_printf(&sb, "backend add %s %s weight %u", v, a, b->weight);
			if (b->slow_start >= 0)
				sb_printf(&sb, " slow-start %d", b->slow_start);
			sb_printf(&sb, "%s%s\n", chk[0] ? " " : "", chk);
		}
	}
	xlb_rules_free(&s);
	if (sb.err) {
		free(sb.s);
		return NULL;
	}
	return sb.s;
}

int xlb_rules_write_file(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int fd, dfd, ret = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp) ||
	    snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return xlb_errf(-ENAMETOOLONG, err, errlen, "rules file name %s is too long", path);
	/* Same directory as the target: rename() is atomic only within a file
	 * system, and readers see either the old file or the new one. */
	fd = mkstemp(tmp);
	if (fd < 0)
		return xlb_errf(-errno, err, errlen, "cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0644)) {
		ret = -errno;
		goto fail_tmp;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto fail_tmp;
		}
		off += n;
	}
	/* Data on disk before the name points at it, or a crash could leave an
	 * empty rules file and a restart would forget the configuration. */
	if (fsync(fd)) {
		ret = -errno;
		goto fail_tmp;
	}
	if (close(fd)) {
		fd = -1;
		ret = -errno;
		goto fail_tmp;
	}
	fd = -1;
	if (rename(tmp, path)) {
		ret = -errno;
		goto fail_tmp;
	}
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return xlb_errf(-errno, err, errlen, "cannot open directory of %s: %s", path,
				strerror(errno));
	/* The rename itself is only durable once the directory is synced. */
	if (fsync(dfd))
		ret = xlb_errf(-errno, err, errlen, "cannot sync directory of %s: %s", path,
			       strerror(errno));
	close(dfd);
	return ret;
fail_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return xlb_errf(ret, err, errlen, "cannot write rules file %s: %s", path, strerror(-ret));
}
