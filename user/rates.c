// SPDX-License-Identifier: GPL-2.0
/* rates.c: rates between two snapshots (rates.h). Objects are matched by
 * name (VIP text, backend address), not id: ids are reused. */
#include <stdlib.h>
#include <string.h>

#include "rates.h"

static json_int_t geti(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static double per_s(json_int_t now, json_int_t before, long long ms)
{
	return now > before && ms > 0 ? (double)(now - before) * 1000.0 / ms : 0.0;
}

static json_t *find_by(json_t *array, const char *key, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(array, i, o)
	{
		const char *s = json_string_value(json_object_get(o, key));

		if (s && !strcmp(s, name))
			return o;
	}
	return NULL;
}

/* {"NAME": name, "packets_per_s", "bits_per_s"} of one VIP or backend. */
static json_t *rate_of(const char *key, const char *name, json_t *cur, json_t *prev, long long ms)
{
	json_int_t pp = prev ? geti(prev, "packets") : 0, pb = prev ? geti(prev, "bytes") : 0;

	return json_pack("{s:s, s:f, s:f}", key, name, "packets_per_s",
			 per_s(geti(cur, "packets"), pp, ms), "bits_per_s",
			 8 * per_s(geti(cur, "bytes"), pb, ms));
}

static int by_traffic(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double bx = json_real_value(json_object_get(x, "bits_per_s"));
	double by = json_real_value(json_object_get(y, "bits_per_s"));
	double px = json_real_value(json_object_get(x, "packets_per_s"));
	double py = json_real_value(json_object_get(y, "packets_per_s"));

	if (bx != by)
		return bx < by ? 1 : -1;
	if (px != py)
		return px < py ? 1 : -1;
	return 0;
}

/* A new array of the same items, highest traffic first. */
static json_t *sorted(json_t *array)
{
	size_t n = json_array_size(array);
	json_t **items = calloc(n ? n : 1, sizeof(*items)), *out = json_array();

	if (!items || !out) {
		free(items);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(array, i);
	qsort(items, n, sizeof(*items), by_traffic);
	for (size_t i = 0; i < n; i++)
		if (json_array_append(out, items[i])) {
			json_decref(out);
			out = NULL;
			break;
		}
	free(items);
	return out;
}

static json_t *conn_misses(json_t *stats)
{
	return json_object_get(json_object_get(json_object_get(stats, "counters"), "conn_miss"),
			       "packets");
}

json_t *xlb_rates_compute(json_t *prev_list, json_t *prev_stats, json_t *cur_list,
			  json_t *cur_stats, long long interval_ms)
{
	json_t *vips = json_array(), *v, *out = NULL, *s;
	double pps = 0, bps = 0;
	size_t i, j;

	json_array_foreach(json_object_get(cur_list, "vips"), i, v)
	{
		const char *name = json_string_value(json_object_get(v, "vip"));
		json_t *pv, *bes = json_array(), *b, *vo;

		if (!name || !vips || !bes) {
			json_decref(bes);
			goto fail;
		}
		pv = find_by(json_object_get(prev_list, "vips"), "vip", name);
		json_array_foreach(json_object_get(v, "backends"), j, b)
		{
			const char *addr = json_string_value(json_object_get(b, "address"));
			json_t *pb = pv && addr
					 ? find_by(json_object_get(pv, "backends"), "address", addr)
					 : NULL;

			if (!addr || json_array_append_new(
					 bes, rate_of("backend", addr, b, pb, interval_ms))) {
				json_decref(bes);
				goto fail;
			}
		}
		vo = rate_of("vip", name, v, pv, interval_ms);
		s = sorted(bes);
		json_decref(bes);
		if (!vo || !s || json_object_set_new(vo, "backends", s) ||
		    json_array_append_new(vips, vo)) {
			json_decref(vo);
			goto fail;
		}
		pps += json_real_value(json_object_get(vo, "packets_per_s"));
		bps += json_real_value(json_object_get(vo, "bits_per_s"));
	}
	s = sorted(vips);
	if (!s)
		goto fail;
	out = json_pack("{s:I, s:f, s:f, s:f, s:o}", "interval_ms", (json_int_t)interval_ms,
			"new_flows_per_s",
			per_s(json_integer_value(conn_misses(cur_stats)),
			      json_integer_value(conn_misses(prev_stats)), interval_ms),
			"packets_per_s", pps, "bits_per_s", bps, "vips", s);
fail:
	json_decref(vips);
	return out;
}
