// SPDX-License-Identifier: GPL-2.0
/* rtnl.c: rtnetlink socket, route dumps and acknowledged requests (see
 * rtnl.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "rtnl.h"

/* A dump of a busy table arrives in several datagrams of at most a page or
 * so each (the kernel's NLMSG_GOODSIZE); 32 KiB holds any of them. */
#define NL_BUF 32768

int xlb_rtnl_open(void)
{
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Reads answers to seq until NLMSG_DONE (dump) or the acknowledgement
 * (request); cb, when given, sees the RTM_NEWROUTE messages. */
static int read_answers(int fd, __u32 seq, int (*cb)(struct nlmsghdr *, void *), void *ctx)
{
	static char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));

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
			int ret;

			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				/* error 0 is the acknowledgement of a request. */
				return e->error;
			}
			if (nh->nlmsg_type != RTM_NEWROUTE || !cb)
				continue;
			ret = cb(nh, ctx);
			if (ret)
				return ret;
		}
	}
}

int xlb_rtnl_dump_routes(int fd, unsigned char family, __u32 table, __u32 seq,
			 int (*cb)(struct nlmsghdr *nh, void *ctx), void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rtm;
		struct rtattr rta;
		__u32 table;
	} req = {
	    .nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
		   .nlmsg_type = RTM_GETROUTE,
		   .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		   .nlmsg_seq = seq},
	    .rtm = {.rtm_family = family},
	    .rta = {.rta_len = RTA_LENGTH(sizeof(__u32)), .rta_type = RTA_TABLE},
	    .table = table,
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int one = 1;

	/* A host with a full BGP table in main: ask the kernel for the one
	 * table only (strict checking, Linux 4.20+; older kernels dump all,
	 * and callers check the table anyway). */
	if (table && !setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)))
		req.nh.nlmsg_len = sizeof(req);
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return read_answers(fd, seq, cb, ctx);
}

int xlb_rtnl_request(int fd, struct nlmsghdr *nh)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	return read_answers(fd, nh->nlmsg_seq, NULL, NULL);
}

int xlb_rtnl_route_attrs(struct nlmsghdr *nh, __u32 *table, void *dst, size_t alen, int *have_dst)
{
	struct rtmsg *rtm = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rtm));

	if (len < 0)
		return -EBADMSG;
	*table = rtm->rtm_table;
	if (have_dst)
		*have_dst = 0;
	for (struct rtattr *rta = RTM_RTA(rtm); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) >= sizeof(__u32)) {
			memcpy(table, RTA_DATA(rta), sizeof(*table));
		} else if (rta->rta_type == RTA_DST && dst) {
			if (RTA_PAYLOAD(rta) != alen)
				return -EBADMSG;
			memcpy(dst, RTA_DATA(rta), alen);
			*have_dst = 1;
		}
	}
	return 0;
}
