// SPDX-License-Identifier: GPL-2.0
/* local_routes.c: the local routing table through rtnetlink (see
 * local_routes.h). One dump per family; the kernel filters nothing for us
 * (strict checking is not asked for), so the table and type are checked
 * here. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "local_routes.h"
#include "rtnl.h"

/* Adds a route's prefix unless it is there already. */
static int add_prefix(struct xlb_prefix *out, size_t max, size_t *n, const struct xlb_prefix *p)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i].family == p->family && out[i].len == p->len &&
		    !memcmp(&out[i].addr, &p->addr, sizeof(p->addr)))
			return 0;
	if (*n == max)
		return -E2BIG;
	out[(*n)++] = *p;
	return 0;
}

/* One route message: its prefix if it is a local route of table local;
 * 1 if taken, 0 if not one, -errno if the message is broken. */
static int route_prefix(struct nlmsghdr *nh, struct xlb_prefix *p)
{
	struct rtmsg *rtm = NLMSG_DATA(nh);
	__u32 table;
	int have_dst, ret;
	size_t alen;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*rtm)))
		return -EBADMSG;
	if (rtm->rtm_type != RTN_LOCAL ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return 0;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	if (rtm->rtm_dst_len > alen * 8)
		return -EBADMSG;
	memset(p, 0, sizeof(*p));
	ret = xlb_rtnl_route_attrs(nh, &table, p->addr.bytes, alen, &have_dst);
	if (ret)
		return ret;
	/* A local route always names its destination. */
	if (table != RT_TABLE_LOCAL || !have_dst)
		return 0;
	p->family = rtm->rtm_family == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	p->len = rtm->rtm_dst_len;
	return 1;
}

struct collect {
	struct xlb_prefix *out;
	size_t max, n;
};

static int collect_route(struct nlmsghdr *nh, void *ctx)
{
	struct collect *c = ctx;
	struct xlb_prefix p;
	int ret = route_prefix(nh, &p);

	if (ret <= 0)
		return ret;
	return add_prefix(c->out, c->max, &c->n, &p);
}

int xlb_local_routes(struct xlb_prefix *out, size_t max)
{
	struct collect c = {.out = out, .max = max};
	int fd, ret;

	fd = xlb_rtnl_open();
	if (fd < 0)
		return fd;
	ret = xlb_rtnl_dump_routes(fd, AF_INET, 0, 1, collect_route, &c);
	if (!ret)
		ret = xlb_rtnl_dump_routes(fd, AF_INET6, 0, 2, collect_route, &c);
	close(fd);
	return ret ? ret : (int)c.n;
}
