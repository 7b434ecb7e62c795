// SPDX-License-Identifier: GPL-2.0
/* log.c: leveled logging to stderr with a timestamp, shared by xlbd and the
 * tools so that every message looks the same. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum xlb_log_level max_level = XLB_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void xlb_log_set_level(enum xlb_log_level level)
{
	max_level = level;
}

static void vlog(enum xlb_log_level level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (level > max_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %-5s ", when, ts.tv_nsec / 1000000, level_names[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

int xlb_errf(int ret, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG && max_level < XLB_LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = 0;
	while (line[n])
		n++;
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	xlb_log(level == LIBBPF_WARN ? XLB_LOG_WARN : XLB_LOG_DEBUG, "libbpf: %s", line);
	return 0;
}

void xlb_log_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
