/* SPDX-License-Identifier: GPL-2.0 */
/* metrics_scrape.h: what a Prometheus scrape of xlbd shows, built from the
 * load balancer's memory and bounded map reads: per-VIP and per-backend
 * traffic, backend state, the data plane's counters by reason, the
 * connection table's last count and the health checker's results. */
#ifndef XLB_METRICS_SCRAPE_H
#define XLB_METRICS_SCRAPE_H

#include "metrics.h"

struct xlb_lb;

/* Appends the whole exposition to out. Never walks the connection table:
 * the entries come from the last count (xlb_dp_conn_tally()), which this
 * call may start. Returns 0 or -ENOMEM. */
int xlb_metrics_scrape(struct xlb_lb *lb, struct xlb_mbuf *out);

#endif
