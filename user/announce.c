// SPDX-License-Identifier: GPL-2.0
/* announce.c: the announcement table through rtnetlink (see announce.h).
 * Each sync reads the table back, so that a route someone removed by hand,
 * or one a previous xlbd left, is reconciled too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "announce.h"
#include "addr.h"
#include "lb.h"
#include "log.h"
#include "rtnl.h"

int xlb_announce_table_valid(unsigned long table)
{
	if (table < 1 || table > 0xffffffffUL || table == RT_TABLE_DEFAULT ||
	    table == RT_TABLE_MAIN || table == RT_TABLE_LOCAL)
		return -EINVAL;
	return 0;
}

int xlb_announce_open(__u32 table, size_t max, struct xlb_announce **out)
{
	struct xlb_announce *a;
	int fd;

	if (xlb_announce_table_valid(table) || !max)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->table = table;
	a->max = max;
	a->vips = calloc(max, sizeof(*a->vips));
	a->want = calloc(max, sizeof(*a->want));
	a->have = calloc(max, sizeof(*a->have));
	a->add = calloc(max, sizeof(*a->add));
	a->del = calloc(max, sizeof(*a->del));
	fd = xlb_rtnl_open();
	a->fd = fd;
	if (!a->vips || !a->want || !a->have || !a->add || !a->del || fd < 0) {
		xlb_announce_close(a);
		return fd < 0 ? fd : -ENOMEM;
	}
	*out = a;
	return 0;
}

void xlb_announce_close(struct xlb_announce *a)
{
	if (!a)
		return;
	if (a->fd >= 0)
		close(a->fd);
	free(a->vips);
	free(a->want);
	free(a->have);
	free(a->add);
	free(a->del);
	free(a);
}

/* A route of ours: our table and protocol, a whole address. */
static int collect_route(struct nlmsghdr *nh, void *ctx)
{
	struct xlb_announce *a = ctx;
	struct rtmsg *rtm = NLMSG_DATA(nh);
	struct xlb_announce_addr addr = {0};
	size_t alen;
	__u32 table;
	int have_dst, ret;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return -EBADMSG;
	if (rtm->rtm_protocol != XLB_RTPROT ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return 0;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	if (rtm->rtm_dst_len != alen * 8)
		return 0;
	ret = xlb_rtnl_route_attrs(nh, &table, addr.addr.bytes, alen, &have_dst);
	if (ret)
		return ret;
	if (table != a->table || !have_dst)
		return 0;
	addr.family = rtm->rtm_family == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	if (xlb_announce_addr_in(a->have, a->n_have, &addr))
		return 0;
	if (a->n_have == a->max)
		return -E2BIG;
	a->have[a->n_have++] = addr;
	return 0;
}

static int read_table(struct xlb_announce *a)
{
	int ret;

	a->n_have = 0;
	ret = xlb_rtnl_dump_routes(a->fd, AF_INET, a->table, ++a->seq, collect_route, a);
	if (!ret)
		ret = xlb_rtnl_dump_routes(a->fd, AF_INET6, a->table, ++a->seq, collect_route, a);
	return ret;
}

/* Adds or removes the blackhole route of one address. */
static int change_route(struct xlb_announce *a, const struct xlb_announce_addr *addr, int add)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
		char attrs[64];
	} req;
	size_t alen = addr->family == XLB_AF_INET ? 4 : 16;
	struct rtattr *rta;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rtm));
	req.nh.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	req.nh.nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
	req.nh.nlmsg_seq = ++a->seq;
	req.rtm.rtm_family = addr->family == XLB_AF_INET ? AF_INET : AF_INET6;
	req.rtm.rtm_dst_len = (unsigned char)(alen * 8);
	req.rtm.rtm_table = a->table < 256 ? (unsigned char)a->table : RT_TABLE_UNSPEC;
	req.rtm.rtm_protocol = XLB_RTPROT;
	req.rtm.rtm_scope = RT_SCOPE_UNIVERSE;
	/* Blackhole: were a rule ever to point at the table, it would drop,
	 * not deliver locally or loop. */
	req.rtm.rtm_type = RTN_BLACKHOLE;

	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), addr->addr.bytes, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);

	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_TABLE;
	rta->rta_len = RTA_LENGTH(sizeof(__u32));
	memcpy(RTA_DATA(rta), &a->table, sizeof(__u32));
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return xlb_rtnl_request(a->fd, &req.nh);
}

static void log_change(const struct xlb_announce *a, const struct xlb_announce_addr *addr, int add)
{
	char s[XLB_ADDR_STRLEN];

	xlb_addr_format(&addr->addr, addr->family, s, sizeof(s));
	pr_info("announce %s: %s (table %u)", s, add ? "announced" : "withdrawn", a->table);
}

/* Each VIP's flag from what the table now holds. */
static void mark_vips(struct xlb_announce *a, struct xlb_lb *lb)
{
	for (__u32 i = 0; i < lb->dp->max_vips; i++) {
		struct xlb_lb_vip *v = &lb->vips[i];
		struct xlb_announce_addr addr = {.family = v->key.family};

		if (!v->used)
			continue;
		memcpy(addr.addr.bytes, v->key.addr.bytes, sizeof(addr.addr));
		v->announced = xlb_announce_addr_in(a->have, a->n_have, &addr);
	}
}

/* Runs the plan; what failed stays as it was in a->have. */
static int apply(struct xlb_announce *a, size_t nadd, size_t ndel, char *err, size_t errlen)
{
	int first = 0;

	for (int pass = 0; pass < 2; pass++) {
		struct xlb_announce_addr *list = pass ? a->add : a->del;
		size_t n = pass ? nadd : ndel;

		for (size_t i = 0; i < n; i++) {
			int ret = change_route(a, &list[i], pass);

			/* Gone already, or there already: the goal is met. */
			if (ret == -ESRCH || ret == -ENOENT || (pass && ret == -EEXIST))
				ret = 0;
			if (ret) {
				char s[XLB_ADDR_STRLEN];

				xlb_addr_format(&list[i].addr, list[i].family, s, sizeof(s));
				if (!first)
					xlb_errf(ret, err, errlen,
						 "cannot %s route %s in table %u: %s",
						 pass ? "add the" : "remove the", s, a->table,
						 strerror(-ret));
				first = first ? first : ret;
				continue;
			}
			log_change(a, &list[i], pass);
		}
	}
	return first;
}

int xlb_announce_sync(struct xlb_announce *a, struct xlb_lb *lb, char *err, size_t errlen)
{
	size_t nv = 0, nadd, ndel;
	int nw, ret;

	for (__u32 i = 0; i < lb->dp->max_vips && nv < a->max; i++) {
		const struct xlb_lb_vip *v = &lb->vips[i];

		if (!v->used)
			continue;
		a->vips[nv].addr = v->key.addr;
		a->vips[nv].family = v->key.family;
		a->vips[nv].n_in_ring = v->n_in_ring;
		nv++;
	}
	nw = xlb_announce_wanted(a->vips, nv, a->want, a->max);
	if (nw < 0)
		return xlb_errf(nw, err, errlen, "more VIP addresses than VIP slots");
	ret = read_table(a);
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot read routing table %u: %s", a->table,
				strerror(-ret));
	xlb_announce_plan(a->want, (size_t)nw, a->have, a->n_have, a->add, &nadd, a->del, &ndel);
	ret = apply(a, nadd, ndel, err, errlen);
	/* Read back: the flags show what the routers can see. */
	if ((nadd || ndel) && read_table(a) && !ret)
		ret = xlb_errf(-EIO, err, errlen, "cannot read routing table %u back", a->table);
	mark_vips(a, lb);
	return ret;
}

int xlb_announce_withdraw_all(struct xlb_announce *a, struct xlb_lb *lb, char *err, size_t errlen)
{
	int ret = 0;

	/* A table with more of our routes than a->max (an xlbd with more VIP
	 * slots left them) goes a batch at a time; bounded all the same. */
	for (int round = 0; round < 4096; round++) {
		ret = read_table(a);
		if (ret && ret != -E2BIG)
			return xlb_errf(ret, err, errlen, "cannot read routing table %u: %s",
					a->table, strerror(-ret));
		if (!a->n_have)
			break;
		memcpy(a->del, a->have, a->n_have * sizeof(*a->have));
		ret = apply(a, 0, a->n_have, err, errlen);
		if (ret)
			break;
	}
	if (!read_table(a) && lb)
		mark_vips(a, lb);
	return ret;
}
