// SPDX-License-Identifier: GPL-2.0
/* fib_watch.c: the data plane counts each cause of a failed route lookup
 * (bpf/xlb.bpf.c fib_failure_verdict); this turns a rising count into one
 * log line that says what to fix, since a drop counter nobody reads is how
 * "xlb attaches and forwards nothing" went unexplained. */
#include <errno.h>
#include <stdio.h>

#include "fib_watch.h"
#include "log.h"
#include "xlb.h"

struct cause {
	__u32 stat;
	const char *what;
	const char *fix; /* per_iface: a format whose two %s are the interface */
	int per_iface;
};

static const struct cause causes[] = {
	{XLB_STAT_FIB_FWD_DISABLED, "forwarding is off on the receiving interface",
	 "sysctl -w net.ipv4.conf.%s.forwarding=1 net.ipv6.conf.%s.forwarding=1 (xlbd sets them "
	 "on start unless --no-sysctl)",
	 1},
	{XLB_STAT_FIB_NO_ROUTE, "no route to a backend (or the backend is a local address)",
	 "add a route to the backend's address on the load balancer (`ip route get BACKEND` "
	 "shows the lookup; `xlbctl list` the backends)",
	 0},
	{XLB_STAT_FIB_UNREACHABLE, "a blackhole, unreachable or prohibit route covers a backend",
	 "remove or narrow that route (`ip route get BACKEND` names it)", 0},
	{XLB_STAT_FIB_FAIL, "the backend's route cannot be used by XDP (a tunnel route, no source "
	 "address)",
	 "route the backend through a plain interface with an address", 0},
	{XLB_STAT_TOO_BIG, "packets larger than the egress MTU once encapsulated",
	 "raise the MTU between the load balancer and the backends, or lower the clients' MSS",
	 0},
};

_Static_assert(sizeof(causes) / sizeof(causes[0]) == XLB_FIB_CAUSES, "one slot per cause");

int xlb_fib_watch_init(struct xlb_fib_watch *w, struct xlb_dp *dp, const char *ifname)
{
	struct xlb_counter c;
	int ret;

	w->ifname = ifname;
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		ret = xlb_dp_counter(dp, causes[i].stat, &c);
		if (ret)
			return ret;
		w->seen[i] = (struct xlb_fib_cause_seen){.last = c.packets};
	}
	return 0;
}

int xlb_fib_watch_tick(struct xlb_fib_watch *w, struct xlb_dp *dp, time_t now)
{
	struct xlb_counter c;
	int warned = 0, ret;

	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		struct xlb_fib_cause_seen *s = &w->seen[i];
		char fix[256];

		ret = xlb_dp_counter(dp, causes[i].stat, &c);
		if (ret)
			return ret;
		/* A counter reset by `xlbctl stats reset` starts over. */
		s->unwarned += c.packets >= s->last ? c.packets - s->last : c.packets;
		s->last = c.packets;
		if (!s->unwarned ||
		    (s->warned && now - s->warned < XLB_FIB_WARN_INTERVAL_S))
			continue;
		if (causes[i].per_iface) {
			char name[32];
			size_t j;

			/* sysctl(8) writes a dot inside a name (eth0.100) as '/'. */
			for (j = 0; w->ifname[j] && j + 1 < sizeof(name); j++)
				name[j] = w->ifname[j] == '.' ? '/' : w->ifname[j];
			name[j] = '\0';
			snprintf(fix, sizeof(fix), causes[i].fix, name, name);
		}
		else
			snprintf(fix, sizeof(fix), "%s", causes[i].fix);
		pr_warn("interface %s: %llu packets dropped%s: %s. Fix: %s (`xlbctl stats` counts "
			"each cause; this warning repeats at most every %d s)",
			w->ifname, (unsigned long long)s->unwarned,
			s->warned ? " since the last warning" : "", causes[i].what, fix,
			XLB_FIB_WARN_INTERVAL_S);
		s->unwarned = 0;
		s->warned = now;
		warned++;
	}
	return warned;
}
