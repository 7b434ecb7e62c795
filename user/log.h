/* SPDX-License-Identifier: GPL-2.0 */
/* log.h: the one logging path of xlb's programs: leveled lines on stderr,
 * each saying what it is about (VIP, backend, interface). */
#ifndef XLB_LOG_H
#define XLB_LOG_H

#include <stddef.h>

enum xlb_log_level {
	XLB_LOG_ERROR,
	XLB_LOG_WARN,
	XLB_LOG_INFO,
	XLB_LOG_DEBUG,
};

void xlb_log_set_level(enum xlb_log_level level);
void xlb_log(enum xlb_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_err(...) xlb_log(XLB_LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) xlb_log(XLB_LOG_WARN, __VA_ARGS__)
#define pr_info(...) xlb_log(XLB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) xlb_log(XLB_LOG_DEBUG, __VA_ARGS__)

/* Room for one user-facing error message, for every err buffer. */
#define XLB_ERRLEN 512

/* Formats a user-facing error ("what was wrong, what is valid") into err
 * and returns ret, so that failing paths read: return xlb_errf(-EINVAL, ...).
 * The one way errors are filled; callers that add context wrap the message
 * they got ("VIP %s: %s"). Only the printing edge (xlbctl, xlbd's main,
 * xlb-decap) puts "Error: " in front. */
int xlb_errf(int ret, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Routes libbpf's own messages through xlb_log (warnings and above). */
void xlb_log_libbpf(void);

#endif
