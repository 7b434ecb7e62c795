// SPDX-License-Identifier: GPL-2.0
/* test_metrics.c: the Prometheus text format (metrics.c: HELP and TYPE
 * lines, escaping of label values and HELP text) and a scrape of a load
 * balancer of 512 VIPs x 8 backends (metrics_scrape.c): one sample per VIP
 * and backend in each family, and what it costs (printed, not asserted).
 * The scrape part loads the xlb program (root) but attaches nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "addr.h"
#include "dataplane.h"
#include "lb.h"
#include "metrics.h"
#include "metrics_scrape.h"
#include "xlb_test.h"

#define VIPS	512
#define PER_VIP 8

static char *take(struct xlb_mbuf *b)
{
	size_t len = 0;
	char *text = xlb_mbuf_take(b, &len);

	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT(strlen(text) == len);
	return text;
}

static void test_family_lines(void)
{
	struct xlb_mbuf b;
	char *t;

	xlb_mbuf_init(&b);
	xlb_metrics_family(&b, "xlb_x_total", "counter", "Packets \"seen\".");
	t = take(&b);
	CU_ASSERT_STRING_EQUAL(t, "# HELP xlb_x_total Packets \"seen\".\n"
				  "# TYPE xlb_x_total counter\n");
	free(t);
}

static void test_help_escaping(void)
{
	struct xlb_mbuf b;
	char *t;

	/* Backslash and line feed are escaped in HELP, the quote is not. */
	xlb_mbuf_init(&b);
	xlb_metrics_family(&b, "g", "gauge", "a\\b\nc\"d");
	t = take(&b);
	CU_ASSERT_STRING_EQUAL(t, "# HELP g a\\\\b\\nc\"d\n# TYPE g gauge\n");
	free(t);
}

static void test_samples(void)
{
	struct xlb_mlabel two[] = {{"vip", "[2001:db8::1]:80/tcp"}, {"backend", "2001:db8::11"}};
	struct xlb_mlabel odd[] = {{"reason", "a\"b\\c\nd"}};
	struct xlb_mbuf b;
	char *t;

	xlb_mbuf_init(&b);
	xlb_metrics_sample(&b, "xlb_conntrack_max", NULL, 0, 1048576);
	xlb_metrics_sample(&b, "xlb_backend_up", two, 2, 1);
	xlb_metrics_sample(&b, "m", odd, 1, 18446744073709551615ULL);
	t = take(&b);
	CU_ASSERT_STRING_EQUAL(
	    t, "xlb_conntrack_max 1048576\n"
	       "xlb_backend_up{vip=\"[2001:db8::1]:80/tcp\",backend=\"2001:db8::11\"} 1\n"
	       "m{reason=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\n");
	free(t);
}

static void test_growth(void)
{
	struct xlb_mlabel l = {"vip", "198.18.100.1:80/tcp"};
	struct xlb_mbuf b;
	size_t len;
	char *t;

	/* Far past the first allocation: nothing lost at the boundaries. */
	xlb_mbuf_init(&b);
	for (int i = 0; i < 10000; i++)
		xlb_metrics_sample(&b, "xlb_vip_packets_total", &l, 1, i);
	t = xlb_mbuf_take(&b, &len);
	CU_ASSERT_FATAL(t != NULL);
	CU_ASSERT(strstr(t, "xlb_vip_packets_total{vip=\"198.18.100.1:80/tcp\"} 9999\n") != NULL);
	CU_ASSERT(len == strlen(t));
	free(t);
	/* Nothing written: an empty text, not NULL. */
	xlb_mbuf_init(&b);
	t = xlb_mbuf_take(&b, &len);
	CU_ASSERT(t && !*t && len == 0);
	free(t);
}

/* Lines of text that start with prefix. */
static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0, pl = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += !strncmp(p, prefix, pl);
	return n;
}

static void test_scrape_512x8(void)
{
	struct xlb_dp_opts opts = {
	    .ring_size = 251, .max_vips = VIPS, .max_backends = VIPS * PER_VIP, .max_conns = 4096};
	char err[XLB_ERRLEN], v[64];
	struct timespec t0, t1;
	struct xlb_dp *dp = NULL;
	struct xlb_lb *lb = NULL;
	struct xlb_mbuf b;
	size_t len;
	char *t;

	CU_ASSERT_FATAL(xlb_dp_open(&opts, &dp) == 0);
	CU_ASSERT_FATAL(xlb_dp_load(dp) == 0);
	CU_ASSERT_FATAL(xlb_lb_new(dp, &lb) == 0);
	xlb_lb_batch_begin(lb);
	for (int i = 0; i < VIPS; i++) {
		struct xlb_vip_key key;

		snprintf(v, sizeof(v), "198.18.%d.%d:80/tcp", 100 + i / 250, 1 + i % 250);
		CU_ASSERT_FATAL(xlb_vip_key_parse(v, &key, err, sizeof(err)) == 0);
		CU_ASSERT_FATAL(xlb_lb_vip_add(lb, &key, 0, err, sizeof(err)) == 0);
		for (int j = 0; j < PER_VIP; j++) {
			union xlb_addr a = {.v4 = htonl(0xc6130000U + i * PER_VIP + j + 1)};

			CU_ASSERT_FATAL(xlb_lb_backend_add(lb, &key, &a, XLB_AF_INET, 1 + j, err,
							   sizeof(err)) == 0);
		}
	}
	CU_ASSERT_FATAL(xlb_lb_batch_commit(lb) == 0);

	xlb_mbuf_init(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_FATAL(xlb_metrics_scrape(lb, &b) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t = xlb_mbuf_take(&b, &len);
	CU_ASSERT_FATAL(t != NULL);
	printf("\n    scrape of %d VIPs x %d backends: %zu bytes in %.1f ms ", VIPS, PER_VIP, len,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	CU_ASSERT(count_lines(t, "xlb_vip_packets_total{") == VIPS);
	CU_ASSERT(count_lines(t, "xlb_vip_bytes_total{") == VIPS);
	CU_ASSERT(count_lines(t, "xlb_backend_packets_total{") == VIPS * PER_VIP);
	CU_ASSERT(count_lines(t, "xlb_backend_bytes_total{") == VIPS * PER_VIP);
	CU_ASSERT(count_lines(t, "xlb_backend_up{") == VIPS * PER_VIP);
	CU_ASSERT(count_lines(t, "xlb_backend_weight{") == VIPS * PER_VIP);
	CU_ASSERT(count_lines(t, "xlb_datapath_packets_total{") == __XLB_STAT_MAX);
	CU_ASSERT(count_lines(t, "xlb_datapath_packets_total{reason=\"conn_hit\"} ") == 1);
	CU_ASSERT(count_lines(t, "xlb_conntrack_max 4096") == 1);
	CU_ASSERT(
	    strstr(t,
		   "xlb_backend_weight{vip=\"198.18.100.1:80/tcp\",backend=\"198.19.0.8\"} 8\n") !=
	    NULL);
	CU_ASSERT(
	    strstr(t,
		   "xlb_backend_up{vip=\"198.18.102.12:80/tcp\",backend=\"198.19.15.255\"} 1\n") !=
	    NULL);
	/* Every family has its HELP and its TYPE. */
	CU_ASSERT(count_lines(t, "# HELP ") == count_lines(t, "# TYPE "));
	CU_ASSERT(count_lines(t, "# TYPE ") == 11);
	free(t);
	xlb_lb_free(lb);
	xlb_dp_close(dp);
}

XLB_SUITE(metrics, NULL, NULL, {"HELP and TYPE lines", test_family_lines},
	  {"HELP escapes backslash and line feed", test_help_escaping},
	  {"samples, label escaping", test_samples}, {"buffer growth", test_growth},
	  {"scrape of 512 VIPs x 8 backends", test_scrape_512x8})
