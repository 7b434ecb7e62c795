/* SPDX-License-Identifier: GPL-2.0 */
/* netns.h: names of per-interface files (bpffs pins, locks) that stay unique
 * across network namespaces, which share /sys/fs/bpf and /run but may reuse
 * interface names (every lab namespace has an eth0). */
#ifndef XLB_NETNS_H
#define XLB_NETNS_H

#include <stddef.h>

/* ROOT/NAME in the initial network namespace, ROOT/netns-ID/NAME elsewhere
 * (ID: the namespace's cookie, never reused while the system runs).
 * Returns 0, -ENAMETOOLONG or a negative errno. */
int xlb_netns_scoped_path(const char *root, const char *name, char *buf, size_t len);

#endif
