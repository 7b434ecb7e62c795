/* SPDX-License-Identifier: GPL-2.0 */
/* netns.h: names of xlbd's files (bpffs pins, locks, the control socket,
 * the rules file) that stay unique across network namespaces, which share
 * /sys/fs/bpf, /run and /var but may reuse interface names (every lab
 * namespace has an eth0). */
#ifndef XLB_NETNS_H
#define XLB_NETNS_H

#include <stddef.h>

/* ROOT/NAME in the initial network namespace, ROOT/netns-ID/NAME elsewhere
 * (ID: the namespace's cookie, never reused while the system runs).
 * Returns 0, -ENAMETOOLONG or a negative errno. */
int xlb_netns_scoped_path(const char *root, const char *name, char *buf, size_t len);

/* Where `ip netns add NAME` makes its namespaces' names. */
#define XLB_NETNS_RUN_DIR "/run/netns"

/* The name `ip netns add` gave this network namespace into buf: 0, -ENOENT
 * (no name), or -errno. */
int xlb_netns_name(char *buf, size_t len);

/* The same for files that must outlive the namespace (a rules file under
 * /var/lib survives a reboot; the cookie does not): ROOT/NAME in the initial
 * namespace, ROOT/netns/NSNAME/NAME in one that `ip netns` named NSNAME.
 * Returns 0, -ENOENT for a namespace without a name, or a negative errno. */
int xlb_netns_state_path(const char *root, const char *name, char *buf, size_t len);

#endif
