/* SPDX-License-Identifier: GPL-2.0 */
/* host_settings.h: the kernel settings (sysctls) xlb's data plane depends on
 * for its interface: checked on start, set by xlbd unless told not to. */
#ifndef XLB_HOST_SETTINGS_H
#define XLB_HOST_SETTINGS_H

#include <stddef.h>

/* Checks every setting the data plane needs on ifname, in the caller's
 * network namespace. fix = 1: sets each wrong per-interface one, logging one
 * line per change. fix = 0: changes nothing and fails with -EPERM naming the
 * first wrong setting and the command that fixes it (every wrong one is
 * logged). Settings that are not per interface are only warned about. */
int xlb_host_settings_apply(const char *ifname, int fix, char *err, size_t errlen);

/* Reads /proc/sys/PATH (slashes: an interface name may hold dots) into
 * buf, trimmed: 0, or -errno. */
int xlb_sysctl_read(const char *path, char *buf, size_t len);

#endif
