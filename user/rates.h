/* SPDX-License-Identifier: GPL-2.0 */
/* rates.h: xlbctl top's arithmetic: per-second rates between two snapshots
 * of `list` and `stats` (their JSON results), sorted by traffic. */
#ifndef XLB_RATES_H
#define XLB_RATES_H

#include <jansson.h>

/* {"interval_ms", "new_flows_per_s", "packets_per_s", "bits_per_s",
 *  "vips": [{"vip", "packets_per_s", "bits_per_s",
 *            "backends": [{"backend", "packets_per_s", "bits_per_s"}]}]}
 * with VIPs, and each VIP's backends, by bits/s then packets/s, highest
 * first. A VIP or backend missing from prev (new) counts from zero; a
 * counter that went down (a recycled id) counts as zero. new_flows_per_s is
 * the data plane's conn_miss rate, all VIPs together. NULL: out of memory. */
json_t *xlb_rates_compute(json_t *prev_list, json_t *prev_stats, json_t *cur_list,
			  json_t *cur_stats, long long interval_ms);

#endif
