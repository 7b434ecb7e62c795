// SPDX-License-Identifier: GPL-2.0
/* local_routes.c: the local routing table through rtnetlink (see
 * local_routes.h). One dump per family; the kernel filters nothing for us
 * (strict checking is not asked for), so the table and type are checked
 * here. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "local_routes.h"

/* A dump of a busy table arrives in several datagrams of at most a page or
 * so each (the kernel's NLMSG_GOODSIZE); 32 KiB holds any of them. */
#define NL_BUF 32768

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
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));
	__u32 table;
	int have_dst = 0;
	size_t alen;

	if (len < 0)
		return -EBADMSG;
	if (rtm->rtm_type != RTN_LOCAL ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return 0;
	alen = rtm->rtm_family == AF_INET ? 4 : 16;
	if (rtm->rtm_dst_len > alen * 8)
		return -EBADMSG;
	memset(p, 0, sizeof(*p));
	table = rtm->rtm_table;
	for (struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) >= sizeof(__u32)) {
			memcpy(&table, RTA_DATA(rta), sizeof(table));
		} else if (rta->rta_type == RTA_DST) {
			if (RTA_PAYLOAD(rta) != alen)
				return -EBADMSG;
			memcpy(p->addr.bytes, RTA_DATA(rta), alen);
			have_dst = 1;
		}
	}
	/* A local route always names its destination; RTA_TABLE holds the
	 * table id when it does not fit rtm_table. */
	if (table != RT_TABLE_LOCAL || !have_dst)
		return 0;
	p->family = rtm->rtm_family == AF_INET ? XLB_AF_INET : XLB_AF_INET6;
	p->len = rtm->rtm_dst_len;
	return 1;
}

static int dump_family(int fd, unsigned char family, __u32 seq, struct xlb_prefix *out,
		       size_t max, size_t *n)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
	} req = {
	    .nh = {.nlmsg_len = sizeof(req),
		   .nlmsg_type = RTM_GETROUTE,
		   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		   .nlmsg_seq = seq},
	    .rtm = {.rtm_family = family, .rtm_table = RT_TABLE_LOCAL},
	};
	static char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		int left = (int)got;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		     nh = NLMSG_NEXT(nh, left)) {
			struct xlb_prefix p;
			int ret;

			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				return e->error ? e->error : -EPROTO;
			}
			if (nh->nlmsg_type != RTM_NEWROUTE)
				continue;
			ret = route_prefix(nh, &p);
			if (ret < 0)
				return ret;
			if (ret) {
				ret = add_prefix(out, max, n, &p);
				if (ret)
					return ret;
			}
		}
	}
}

int xlb_local_routes(struct xlb_prefix *out, size_t max)
{
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	size_t n = 0;
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = dump_family(fd, AF_INET, 1, out, max, &n);
	if (!ret)
		ret = dump_family(fd, AF_INET6, 2, out, max, &n);
	close(fd);
	return ret ? ret : (int)n;
}
