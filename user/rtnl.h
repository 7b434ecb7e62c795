/* SPDX-License-Identifier: GPL-2.0 */
/* rtnl.h: the little of rtnetlink that xlb needs: a socket, a route dump
 * handed message by message to a callback, and a request the kernel
 * acknowledges. Shared by local_routes.c (the local table, read) and
 * announce.c (the announcement table, read and written). */
#ifndef XLB_RTNL_H
#define XLB_RTNL_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/* An rtnetlink socket bound to the kernel, or -errno. */
int xlb_rtnl_open(void);

/* Dumps the routes of one family (AF_INET, AF_INET6); cb sees every
 * RTM_NEWROUTE message and returns 0 to go on or -errno to stop. table 0:
 * every table (no strict checking: the kernel filters nothing). Another
 * table: the kernel is asked to dump only it where it can (strict
 * checking); cb checks the table in both cases. */
int xlb_rtnl_dump_routes(int fd, unsigned char family, __u32 table, __u32 seq,
			 int (*cb)(struct nlmsghdr *nh, void *ctx), void *ctx);

/* Sends one request (NLM_F_ACK is added) and returns the kernel's answer:
 * 0 or -errno. */
int xlb_rtnl_request(int fd, struct nlmsghdr *nh);

/* The table a route message names: RTA_TABLE when present (ids that do not
 * fit rtm_table), else rtm_table. Also its destination when dst is not NULL
 * (alen bytes; *have_dst 1 when given). -EBADMSG when broken. */
int xlb_rtnl_route_attrs(struct nlmsghdr *nh, __u32 *table, void *dst, size_t alen, int *have_dst);

#endif
