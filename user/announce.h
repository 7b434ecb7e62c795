/* SPDX-License-Identifier: GPL-2.0 */
/* announce.h: route health injection. xlbd keeps one blackhole route per
 * announceable VIP address (/32, /128) in a routing table of its own (xlbd
 * --announce-table N), protocol XLB_RTPROT; a BGP daemon (BIRD's kernel
 * protocol, docs/bird/lb.conf) imports that table and announces it. No
 * policy rule points at the table, so its routes never change this host's
 * forwarding. The table is the state: a killed or restarted xlbd leaves it
 * as it is (the data plane keeps forwarding), and a new one reconciles it
 * with its configuration. Only `detach` withdraws everything. */
#ifndef XLB_ANNOUNCE_H
#define XLB_ANNOUNCE_H

#include <stddef.h>
#include "announce_plan.h"

struct xlb_lb;

/* The routing protocol number xlb's routes carry (rtnetlink rtm_protocol;
 * `ip route show proto 250`): only routes of it are xlb's to remove. */
#define XLB_RTPROT 250

struct xlb_announce {
	__u32 table;			/* routing table id */
	int fd;				/* rtnetlink socket */
	__u32 seq;			/* the last request's sequence number */
	size_t max;			/* entries of each array: the VIP slots */
	struct xlb_announce_vip *vips;	/* scratch: the VIPs */
	struct xlb_announce_addr *want; /* scratch: addresses wanted */
	struct xlb_announce_addr *have; /* the table's xlb routes after the last sync */
	size_t n_have;
	struct xlb_announce_addr *add, *del; /* scratch: the plan */
};

/* 0 when table can hold the announcements: 1-4294967295 except the
 * kernel's own tables (253 default, 254 main, 255 local). Else -EINVAL. */
int xlb_announce_table_valid(unsigned long table);

/* Opens the announcement of up to max addresses in table. 0 or -errno. */
int xlb_announce_open(__u32 table, size_t max, struct xlb_announce **out);
void xlb_announce_close(struct xlb_announce *a);

/* Makes the table hold exactly the addresses of lb that are announceable
 * (announce_plan.h) and sets each VIP's announced flag from what the table
 * holds afterwards. Returns 0, or the first -errno (with the address in
 * err) after trying every change. */
int xlb_announce_sync(struct xlb_announce *a, struct xlb_lb *lb, char *err, size_t errlen);

/* Removes every xlb route of the table (detach): the routers stop sending
 * before the data plane goes. 0 or the first -errno. */
int xlb_announce_withdraw_all(struct xlb_announce *a, struct xlb_lb *lb, char *err, size_t errlen);

#endif
