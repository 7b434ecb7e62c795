// SPDX-License-Identifier: GPL-2.0
/* metrics.c: the Prometheus text exposition format, version 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats): in HELP text a
 * backslash and a line feed are escaped, in a label value also the double
 * quote; nothing else is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

void xlb_mbuf_init(struct xlb_mbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void xlb_mbuf_free(struct xlb_mbuf *b)
{
	free(b->data);
	xlb_mbuf_init(b);
}

char *xlb_mbuf_take(struct xlb_mbuf *b, size_t *len)
{
	char *text = b->data;

	if (b->failed) {
		xlb_mbuf_free(b);
		return NULL;
	}
	if (!text && !(text = calloc(1, 1)))
		return NULL;
	*len = b->len;
	xlb_mbuf_init(b);
	return text;
}

/* Room for n more bytes and the NUL. */
static int reserve(struct xlb_mbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->failed)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

static void put(struct xlb_mbuf *b, const char *s, size_t n)
{
	if (reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = 0;
}

static void puts_(struct xlb_mbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* quote: also escape '"' (label values; HELP text leaves it alone). */
static void put_escaped(struct xlb_mbuf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else if (*s == '"' && quote)
			put(b, "\\\"", 2);
		else
			put(b, s, 1);
	}
}

void xlb_metrics_family(struct xlb_mbuf *b, const char *name, const char *type, const char *help)
{
	puts_(b, "# HELP ");
	puts_(b, name);
	puts_(b, " ");
	put_escaped(b, help, 0);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	puts_(b, " ");
	puts_(b, type);
	puts_(b, "\n");
}

void xlb_metrics_sample(struct xlb_mbuf *b, const char *name, const struct xlb_mlabel *labels,
			size_t n_labels, __u64 value)
{
	char num[24];

	puts_(b, name);
	for (size_t i = 0; i < n_labels; i++) {
		puts_(b, i ? "," : "{");
		puts_(b, labels[i].name);
		puts_(b, "=\"");
		put_escaped(b, labels[i].value, 1);
		puts_(b, "\"");
	}
	if (n_labels)
		puts_(b, "}");
	snprintf(num, sizeof(num), " %llu\n", (unsigned long long)value);
	puts_(b, num);
}
