// SPDX-License-Identifier: GPL-2.0
/* test_rates.c: xlbctl top's rates (rates.c) from two snapshots of list
 * and stats: per second over the interval, matched by name, sorted by
 * traffic, new and recycled counters from zero. */
#include <string.h>
#include <jansson.h>

#include "rates.h"
#include "xlb_test.h"

static json_t *list(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	CU_ASSERT_FATAL(j != NULL);
	return j;
}

static double num(json_t *o, const char *key)
{
	return json_real_value(json_object_get(o, key));
}

static void test_rates(void)
{
	json_t *l0 =
	    list("{\"vips\": [{\"vip\": \"A\", \"packets\": 100, \"bytes\": 1000, \"backends\": ["
		 "{\"address\": \"a1\", \"packets\": 60, \"bytes\": 600},"
		 "{\"address\": \"a2\", \"packets\": 40, \"bytes\": 400}]},"
		 "{\"vip\": \"B\", \"packets\": 10, \"bytes\": 100, \"backends\": []}]}");
	json_t *l1 = list(
	    "{\"vips\": [{\"vip\": \"B\", \"packets\": 5010, \"bytes\": 500100, \"backends\": ["
	    "{\"address\": \"b1\", \"packets\": 5000, \"bytes\": 500000}]},"
	    "{\"vip\": \"A\", \"packets\": 300, \"bytes\": 3000, \"backends\": ["
	    "{\"address\": \"a1\", \"packets\": 80, \"bytes\": 800},"
	    "{\"address\": \"a2\", \"packets\": 220, \"bytes\": 2200},"
	    "{\"address\": \"a3\", \"packets\": 0, \"bytes\": 0}]}]}");
	json_t *s0 = list("{\"counters\": {\"conn_miss\": {\"packets\": 7, \"bytes\": 0}}}");
	json_t *s1 = list("{\"counters\": {\"conn_miss\": {\"packets\": 27, \"bytes\": 0}}}");
	json_t *r = xlb_rates_compute(l0, s0, l1, s1, 2000), *v, *b;

	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT(num(r, "new_flows_per_s") == 10.0);
	/* B first: most bits/s. */
	v = json_array_get(json_object_get(r, "vips"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "vip")), "B");
	CU_ASSERT(num(v, "packets_per_s") == 2500.0);
	CU_ASSERT(num(v, "bits_per_s") == 2000000.0); /* 250000 bytes/s */
	/* b1 was not there before: from zero. */
	b = json_array_get(json_object_get(v, "backends"), 0);
	CU_ASSERT(num(b, "packets_per_s") == 2500.0);
	v = json_array_get(json_object_get(r, "vips"), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "vip")), "A");
	CU_ASSERT(num(v, "packets_per_s") == 100.0);
	/* a2 (90/s) before a1 (10/s), a3 idle last. */
	b = json_object_get(v, "backends");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(b, 0), "backend")),
			       "a2");
	CU_ASSERT(num(json_array_get(b, 0), "packets_per_s") == 90.0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(b, 1), "backend")),
			       "a1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(b, 2), "backend")),
			       "a3");
	CU_ASSERT(num(r, "packets_per_s") == 2600.0);
	json_decref(r);
	/* A counter that went down (a recycled id) is no negative rate. */
	r = xlb_rates_compute(l1, s1, l0, s0, 1000);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT(num(r, "packets_per_s") == 0.0);
	CU_ASSERT(num(r, "new_flows_per_s") == 0.0);
	json_decref(r);
	json_decref(l0);
	json_decref(l1);
	json_decref(s0);
	json_decref(s1);
}

XLB_SUITE(rates, NULL, NULL, {"rates between two snapshots", test_rates})
