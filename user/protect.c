// SPDX-License-Identifier: GPL-2.0
/* protect.c: a VIP's source ACLs and limit of new flows (see protect.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protect.h"
#include "log.h"

#define NSEC_PER_SEC 1000000000ULL

static int prefix_cmp(const void *pa, const void *pb)
{
	const struct xlb_prefix *a = pa, *b = pb;
	int c = memcmp(a->addr.bytes, b->addr.bytes, sizeof(a->addr.bytes));

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static const char *family_name(__u8 family)
{
	return family == XLB_AF_INET6 ? "IPv6" : "IPv4";
}

int xlb_protect_parse_list(struct xlb_protect *p, int deny, __u8 vip_family, int argc, char **argv,
			   int *consumed, char *err, size_t errlen)
{
	const char *kw = deny ? "deny" : "allow", *clear = deny ? "none" : "any";
	struct xlb_prefix list[XLB_ACL_MAX_PREFIXES];
	char buf[XLB_RULES_LIST_MAX], msg[XLB_ERRLEN];
	__u32 n = 0;

	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'%s' needs a value, expected %s PREFIX[,PREFIX...] or %s %s", kw,
				kw, kw, clear);
	*consumed = 2;
	if (!strcmp(argv[1], clear)) {
		if (deny)
			p->n_deny = 0;
		else
			p->n_allow = 0;
		return 0;
	}
	if (strlen(argv[1]) >= sizeof(buf))
		return xlb_errf(-EINVAL, err, errlen,
				"%s list too long (%zu characters), expected at most %d prefixes",
				kw, strlen(argv[1]), XLB_ACL_MAX_PREFIXES);
	strcpy(buf, argv[1]);
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct xlb_prefix pf;

		if (n == XLB_ACL_MAX_PREFIXES)
			return xlb_errf(-EINVAL, err, errlen,
					"%s list has more than %d prefixes ('%s' is one too many), "
					"expected at most %d",
					kw, XLB_ACL_MAX_PREFIXES, tok, XLB_ACL_MAX_PREFIXES);
		if (xlb_prefix_parse(tok, &pf, msg, sizeof(msg)))
			return xlb_errf(-EINVAL, err, errlen, "%s: %s (or %s %s)", kw, msg, kw,
					clear);
		/* A VIP's clients are of its family: packets to an IPv4 VIP
		 * come from IPv4 sources (xlb does no NAT64). */
		if (pf.family != vip_family)
			return xlb_errf(-EINVAL, err, errlen,
					"%s prefix '%s' is %s but the VIP is %s, expected %s "
					"prefixes",
					kw, tok, family_name(pf.family), family_name(vip_family),
					family_name(vip_family));
		for (__u32 i = 0; i < n; i++)
			if (!prefix_cmp(&list[i], &pf))
				return xlb_errf(-EINVAL, err, errlen,
						"%s prefix '%s' given twice, expected each once",
						kw, tok);
		list[n++] = pf;
	}
	if (!n || argv[1][0] == ',' || argv[1][strlen(argv[1]) - 1] == ',' || strstr(argv[1], ",,"))
		return xlb_errf(-EINVAL, err, errlen,
				"bad %s list '%s', expected PREFIX[,PREFIX...] without empty items "
				"or %s %s",
				kw, argv[1], kw, clear);
	qsort(list, n, sizeof(list[0]), prefix_cmp);
	if (deny) {
		memcpy(p->deny, list, n * sizeof(list[0]));
		p->n_deny = n;
	} else {
		memcpy(p->allow, list, n * sizeof(list[0]));
		p->n_allow = n;
	}
	return 0;
}

int xlb_protect_parse_limit(struct xlb_protect *p, int argc, char **argv, int *consumed, char *err,
			    size_t errlen)
{
	char num[16];
	const char *slash;
	__u32 rate, burst;

	if (argc < 2)
		return xlb_errf(-EINVAL, err, errlen,
				"'limit' needs a value, expected limit N/s [burst B] or limit off");
	if (!strcmp(argv[1], "off")) {
		p->rate = p->burst = 0;
		*consumed = 2;
		return 0;
	}
	slash = strchr(argv[1], '/');
	if (!slash || strcmp(slash, "/s") || (size_t)(slash - argv[1]) >= sizeof(num))
		return xlb_errf(-EINVAL, err, errlen,
				"bad limit '%s', expected N/s (new flows per second and client, "
				"N 1-%u) or off",
				argv[1], XLB_LIMIT_RATE_MAX);
	memcpy(num, argv[1], slash - argv[1]);
	num[slash - argv[1]] = 0;
	if (xlb_uint_parse(num, 1, XLB_LIMIT_RATE_MAX, &rate))
		return xlb_errf(-EINVAL, err, errlen,
				"bad limit rate '%s', expected 1-%u new flows per second (N/s)",
				argv[1], XLB_LIMIT_RATE_MAX);
	*consumed = 2;
	burst = rate < XLB_LIMIT_BURST_MAX ? rate : XLB_LIMIT_BURST_MAX;
	if (argc >= 3 && !strcmp(argv[2], "burst")) {
		if (argc < 4)
			return xlb_errf(-EINVAL, err, errlen,
					"'burst' needs a value, expected burst 1-%u",
					XLB_LIMIT_BURST_MAX);
		if (xlb_uint_parse(argv[3], 1, XLB_LIMIT_BURST_MAX, &burst))
			return xlb_errf(-EINVAL, err, errlen,
					"bad burst '%s', expected 1-%u (new flows a client may "
					"open at once)",
					argv[3], XLB_LIMIT_BURST_MAX);
		*consumed = 4;
	}
	p->rate = rate;
	p->burst = burst;
	return 0;
}

int xlb_protect_check(const struct xlb_protect *p, const char *vip, char *err, size_t errlen)
{
	char a[XLB_ADDR_STRLEN];

	for (__u32 i = 0; i < p->n_allow; i++)
		for (__u32 j = 0; j < p->n_deny; j++)
			if (!prefix_cmp(&p->allow[i], &p->deny[j])) {
				xlb_prefix_format(&p->allow[i], a, sizeof(a));
				return xlb_errf(-EINVAL, err, errlen,
						"VIP %s: prefix %s is in both allow and deny, "
						"expected it in one list",
						vip, a);
			}
	return 0;
}

int xlb_protect_same(const struct xlb_protect *a, const struct xlb_protect *b)
{
	return a->n_allow == b->n_allow && a->n_deny == b->n_deny && a->rate == b->rate &&
	       a->burst == b->burst &&
	       !memcmp(a->allow, b->allow, a->n_allow * sizeof(a->allow[0])) &&
	       !memcmp(a->deny, b->deny, a->n_deny * sizeof(a->deny[0]));
}

__u32 xlb_protect_flags(const struct xlb_protect *p)
{
	return (p->n_allow || p->n_deny ? XLB_VIP_F_ACL : 0) | (p->rate ? XLB_VIP_F_LIMIT : 0);
}

void xlb_protect_format_list(const struct xlb_prefix *list, __u32 n, char *buf, size_t len)
{
	char a[XLB_ADDR_STRLEN];
	size_t off = 0;

	buf[0] = 0;
	for (__u32 i = 0; i < n && off < len; i++) {
		xlb_prefix_format(&list[i], a, sizeof(a));
		off += snprintf(buf + off, len - off, "%s%s", i ? "," : "", a);
	}
}

int xlb_protect_format(const struct xlb_protect *p, char *buf, size_t len)
{
	char l[XLB_RULES_LIST_MAX];
	size_t off = 0;

	buf[0] = 0;
	if (p->n_allow) {
		xlb_protect_format_list(p->allow, p->n_allow, l, sizeof(l));
		off += snprintf(buf + off, len - off, " allow %s", l);
	}
	if (p->n_deny && off < len) {
		xlb_protect_format_list(p->deny, p->n_deny, l, sizeof(l));
		off += snprintf(buf + off, len - off, " deny %s", l);
	}
	if (p->rate && off < len)
		off += snprintf(buf + off, len - off, " limit %u/s burst %u", p->rate, p->burst);
	return off < len ? (int)off : -ENOSPC;
}

static void acl_entry(struct xlb_acl_key *key, struct xlb_acl *val, __u32 vip_id,
		      const struct xlb_prefix *pf, __u32 action)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = XLB_ACL_KEY_HEAD_BITS + pf->len;
	key->vip_id = vip_id;
	key->family = pf->family;
	key->addr = pf->addr;
	val->action = action;
}

size_t xlb_protect_acl_entries(const struct xlb_protect *p, __u32 vip_id, __u8 family,
			       struct xlb_acl_key *keys, struct xlb_acl *vals)
{
	struct xlb_prefix all = {.family = family, .len = 0};
	int any_allowed = 0;
	size_t n = 0;

	for (__u32 i = 0; i < p->n_allow; i++) {
		acl_entry(&keys[n], &vals[n], vip_id, &p->allow[i], XLB_ACL_ALLOW);
		any_allowed |= p->allow[i].len == 0;
		n++;
	}
	for (__u32 i = 0; i < p->n_deny; i++, n++)
		acl_entry(&keys[n], &vals[n], vip_id, &p->deny[i], XLB_ACL_DENY);
	/* With an allow list, what it does not name is denied. (A /0 in the
	 * deny list says the same and takes this key already.) */
	if (p->n_allow && !any_allowed) {
		int have = 0;

		for (__u32 i = 0; i < p->n_deny; i++)
			have |= p->deny[i].len == 0;
		if (!have) {
			acl_entry(&keys[n], &vals[n], vip_id, &all, XLB_ACL_DENY);
			n++;
		}
	}
	return n;
}

void xlb_protect_limit(const struct xlb_protect *p, struct xlb_limit *out)
{
	memset(out, 0, sizeof(*out));
	if (!p->rate)
		return;
	out->cost_ns = NSEC_PER_SEC / p->rate;
	out->burst_ns = out->cost_ns * p->burst;
}
