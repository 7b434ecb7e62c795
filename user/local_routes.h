/* SPDX-License-Identifier: GPL-2.0 */
/* local_routes.h: the prefixes this host delivers to itself, read from the
 * kernel's local routing table (table 255, routes of type local) through
 * rtnetlink. They hold every address of every interface and the ranges routed
 * to lo with `ip route add local`, which getifaddrs(3) does not list. */
#ifndef XLB_LOCAL_ROUTES_H
#define XLB_LOCAL_ROUTES_H

#include <stddef.h>
#include "addr.h"

/* Fills out with up to max local prefixes of this network namespace, IPv4
 * then IPv6, without repeats. Returns how many, -E2BIG when there are more
 * than max, or another -errno. */
int xlb_local_routes(struct xlb_prefix *out, size_t max);

#endif
