// SPDX-License-Identifier: GPL-2.0
/* metrics_scrape.c: the families of a scrape (metrics_scrape.h), in the
 * order of the man page. Counters of every used VIP and backend are read
 * once (one per-CPU lookup each) into arrays, then printed family by
 * family, since the format wants each family's samples together. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_scrape.h"
#include "addr.h"
#include "dataplane.h"
#include "health.h"
#include "health_state.h"
#include "lb.h"

/* The labels of one backend: vip="ADDR:PORT/PROTO", backend="ADDR". */
struct be_labels {
	char vip[XLB_ADDR_STRLEN];
	char addr[XLB_ADDR_STRLEN];
};

static void vip_families(struct xlb_lb *lb, struct xlb_mbuf *out, const struct xlb_counter *c)
{
	static const struct {
		const char *name, *help;
		int bytes;
	} fam[] = {
	    {"xlb_vip_packets_total", "Packets the data plane forwarded to a backend of the VIP.",
	     0},
	    {"xlb_vip_bytes_total",
	     "Bytes (frames as received, before encapsulation) forwarded for the VIP.", 1},
	};
	char name[XLB_ADDR_STRLEN];

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		xlb_metrics_family(out, fam[f].name, "counter", fam[f].help);
		for (__u32 i = 0; i < lb->dp->max_vips; i++) {
			struct xlb_mlabel l = {"vip", name};

			if (!lb->vips[i].used)
				continue;
			xlb_vip_key_format(&lb->vips[i].key, name, sizeof(name));
			xlb_metrics_sample(out, fam[f].name, &l, 1,
					   fam[f].bytes ? c[i].bytes : c[i].packets);
		}
	}
}

static void backend_labels(struct xlb_lb *lb, const struct xlb_lb_backend *b, struct be_labels *l)
{
	xlb_vip_key_format(&lb->vips[b->vip].key, l->vip, sizeof(l->vip));
	xlb_addr_format(&b->addr, b->family, l->addr, sizeof(l->addr));
}

enum { BE_PACKETS, BE_BYTES, BE_UP, BE_WEIGHT };

static void backend_families(struct xlb_lb *lb, struct xlb_mbuf *out, const struct xlb_counter *c)
{
	static const struct {
		const char *name, *type, *help;
		int what;
	} fam[] = {
	    {"xlb_backend_packets_total", "counter",
	     "Packets the data plane forwarded to the backend.", BE_PACKETS},
	    {"xlb_backend_bytes_total", "counter",
	     "Bytes (frames as received, before encapsulation) forwarded to the backend.",
	     BE_BYTES},
	    {"xlb_backend_up", "gauge",
	     "1 when the backend takes new flows: its health checks pass (or it is not checked) "
	     "and its weight is above 0; else 0.",
	     BE_UP},
	    {"xlb_backend_weight", "gauge", "The backend's configured weight (0 = draining).",
	     BE_WEIGHT},
	};

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		xlb_metrics_family(out, fam[f].name, fam[f].type, fam[f].help);
		for (__u32 i = 0; i < lb->dp->max_backends; i++) {
			const struct xlb_lb_backend *b = &lb->backends[i];
			struct be_labels bl;
			struct xlb_mlabel l[2] = {{"vip", bl.vip}, {"backend", bl.addr}};
			__u64 v = 0;

			if (!b->used)
				continue;
			backend_labels(lb, b, &bl);
			switch (fam[f].what) {
			case BE_PACKETS:
				v = c[i].packets;
				break;
			case BE_BYTES:
				v = c[i].bytes;
				break;
			case BE_UP:
				v = b->up && b->weight > 0;
				break;
			case BE_WEIGHT:
				v = b->weight;
				break;
			}
			xlb_metrics_sample(out, fam[f].name, l, 2, v);
		}
	}
}

static int datapath_family(struct xlb_lb *lb, struct xlb_mbuf *out)
{
	xlb_metrics_family(
	    out, "xlb_datapath_packets_total", "counter",
	    "Packets by reason: the data plane's verdicts (one per frame) and "
	    "events on the way (conn_*, nexthop_miss, frag_*); see xlbctl(8) stats.");
	for (int i = 0; i < __XLB_STAT_MAX; i++) {
		struct xlb_mlabel l = {"reason", xlb_stat_names[i]};
		struct xlb_counter c;
		int ret = xlb_dp_counter(lb->dp, i, &c);

		if (ret)
			return ret;
		xlb_metrics_sample(out, "xlb_datapath_packets_total", &l, 1, c.packets);
	}
	return 0;
}

static int conntrack_families(struct xlb_lb *lb, struct xlb_mbuf *out)
{
	struct xlb_conn_tally ct;
	/* One slice at most here; the daemon's loop runs the rest. */
	int ret = xlb_dp_conn_tally(lb->dp, XLB_DP_TALLY_SLICE_US, &ct);

	if (ret)
		return ret;
	xlb_metrics_family(out, "xlb_conntrack_entries", "gauge",
			   "Connection-table entries at the last completed count (counted in "
			   "slices in the background; absent until the first count completes).");
	if (ct.have)
		xlb_metrics_sample(out, "xlb_conntrack_entries", NULL, 0, ct.entries);
	xlb_metrics_family(out, "xlb_conntrack_count_age_seconds", "gauge",
			   "Seconds since the count in xlb_conntrack_entries completed.");
	if (ct.have)
		xlb_metrics_sample(out, "xlb_conntrack_count_age_seconds", NULL, 0,
				   (__u64)ct.age_ms / 1000);
	xlb_metrics_family(out, "xlb_conntrack_max", "gauge",
			   "Connection-table capacity (xlbd --conns).");
	xlb_metrics_sample(out, "xlb_conntrack_max", NULL, 0, lb->dp->max_conns);
	return 0;
}

static void health_family(struct xlb_lb *lb, struct xlb_mbuf *out)
{
	struct xlb_hc_counters hc = {0};

	if (lb->hc)
		xlb_hc_counters_get(lb->hc, &hc);
	xlb_metrics_family(out, "xlb_health_checks_total", "counter",
			   "Health checks finished, by result.");
	for (int r = XLB_HC_OK; r < __XLB_HC_RESULT_MAX; r++) {
		struct xlb_mlabel l = {"result", xlb_hc_result_str(r)};

		xlb_metrics_sample(out, "xlb_health_checks_total", &l, 1, hc.results[r]);
	}
}

/* Every used VIP's and backend's counters, read once. A counter that
 * cannot be read shows as zero, as in `xlbctl list`. */
static int read_counters(struct xlb_lb *lb, struct xlb_counter **vc, struct xlb_counter **bc)
{
	*vc = calloc(lb->dp->max_vips, sizeof(**vc));
	*bc = calloc(lb->dp->max_backends, sizeof(**bc));
	if (!*vc || !*bc)
		return -ENOMEM;
	for (__u32 i = 0; i < lb->dp->max_vips; i++)
		if (lb->vips[i].used && xlb_dp_counter_vip(lb->dp, i, &(*vc)[i]))
			memset(&(*vc)[i], 0, sizeof((*vc)[i]));
	for (__u32 i = 0; i < lb->dp->max_backends; i++)
		if (lb->backends[i].used && xlb_dp_counter_backend(lb->dp, i, &(*bc)[i]))
			memset(&(*bc)[i], 0, sizeof((*bc)[i]));
	return 0;
}

int xlb_metrics_scrape(struct xlb_lb *lb, struct xlb_mbuf *out)
{
	struct xlb_counter *vc = NULL, *bc = NULL;
	int ret = read_counters(lb, &vc, &bc);

	if (!ret) {
		vip_families(lb, out, vc);
		backend_families(lb, out, bc);
		ret = datapath_family(lb, out);
	}
	if (!ret)
		ret = conntrack_families(lb, out);
	if (!ret)
		health_family(lb, out);
	free(vc);
	free(bc);
	if (!ret && out->failed)
		ret = -ENOMEM;
	return ret;
}
