/* SPDX-License-Identifier: GPL-2.0 */
/* metrics.h: the Prometheus text exposition format (version 0.0.4) written
 * into a growing buffer: HELP and TYPE lines of a family, then its samples
 * with escaped label values. Knows nothing of what is measured
 * (metrics_scrape.h) or of HTTP (metrics_http.h). */
#ifndef XLB_METRICS_H
#define XLB_METRICS_H

#include <stddef.h>
#include <linux/types.h>

#define XLB_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A text being built. A failed allocation sets failed and makes every later
 * write a no-op, so a caller checks once at the end. */
struct xlb_mbuf {
	char *data; /* NUL-terminated, owned */
	size_t len; /* bytes before the NUL */
	size_t cap; /* bytes allocated */
	int failed; /* an allocation failed: data is incomplete */
};

/* One label of a sample: name is a Prometheus label name (not checked),
 * value any text (escaped on output). */
struct xlb_mlabel {
	const char *name;
	const char *value;
};

void xlb_mbuf_init(struct xlb_mbuf *b);
void xlb_mbuf_free(struct xlb_mbuf *b);
/* Hands the text out (the caller frees it) and empties b; NULL if a write
 * failed. */
char *xlb_mbuf_take(struct xlb_mbuf *b, size_t *len);

/* "# HELP name help" (help escaped) and "# TYPE name type"; type is
 * "counter" or "gauge". */
void xlb_metrics_family(struct xlb_mbuf *b, const char *name, const char *type, const char *help);
/* "name{l1="v1",...} value"; no braces without labels. */
void xlb_metrics_sample(struct xlb_mbuf *b, const char *name, const struct xlb_mlabel *labels,
			size_t n_labels, __u64 value);

#endif
