/* SPDX-License-Identifier: GPL-2.0 */
/* bpffs.h: the BPF filesystem xlb's pins live on. A pin lasts as long as its
 * bpffs: one mounted in a mount namespace of its own (as `ip netns exec`
 * makes, with a fresh /sys and no bpffs on it) dies with the last process in
 * that namespace, and the maps pinned there with it. */
#ifndef XLB_BPFFS_H
#define XLB_BPFFS_H

#include <stddef.h>

/* 1 when pins under dir would die with this mount namespace: it is not PID
 * 1's (or, where PID 1 is hidden, that of the nearest ancestor in another
 * one), and dir does not show the bpffs that process sees at the same path
 * (none mounted here yet counts as not shared, since this process would
 * mount one). 0 when they last, or when the other side cannot be seen (then
 * nothing can be told and nothing is refused). Changes nothing. */
int xlb_bpffs_private(const char *dir);

/* Mounts a bpffs on dir unless one is there. 0 or -errno with a message. */
int xlb_bpffs_ensure(const char *dir, char *err, size_t errlen);

#endif
