/* SPDX-License-Identifier: GPL-2.0 */
/* conns.h: the tracked flows as the operator sees them: conns lists the
 * entries of both connection tables (client, VIP, backend, state, age,
 * idle) within a bounded walk, conns flush deletes a VIP's entries (its
 * flows re-hash) and takes them out of their backends' counts. */
#ifndef XLB_CONNS_H
#define XLB_CONNS_H

#include <stddef.h>
#include <jansson.h>

struct xlb_lb;
struct xlb_cmd;

/* The time a listing may walk the tables within one request: a million
 * entries take longer, and then the listing says it stopped. */
#define XLB_CONNS_LIST_BUDGET_US 100000

/* conns [VIP] [backend ADDR] [limit N]: {"conns": [...], "matched",
 * "shown", "limit", "more", "complete", "scanned", "scan_ms"}. */
int xlb_conns_list(struct xlb_lb *lb, const struct xlb_cmd *c, json_t **out, char *err,
		   size_t errlen);
/* conns flush VIP: {"vip", "flushed", "established", "new"}. */
int xlb_conns_flush(struct xlb_lb *lb, const struct xlb_cmd *c, json_t **out, char *err,
		    size_t errlen);

#endif
