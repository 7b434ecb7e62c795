/* SPDX-License-Identifier: GPL-2.0 */
/* files.h: the files xlbd keeps besides its pins: directories created with a
 * given mode, and lock files that hold their owner's pid so that the one who
 * is refused can be told whom to stop. */
#ifndef XLB_FILES_H
#define XLB_FILES_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p: creates every missing directory of path with mode (as the
 * umask leaves it). Returns 0 or a negative errno. */
int xlb_dir_make(const char *path, mode_t mode);

/* Takes an exclusive flock() on path (created 0644 if need be), writes our
 * pid into it and returns its fd in *fd. -EBUSY when another process holds
 * it: holder then gets its pid as text ("" if unknown). Other errors are
 * negative errnos. */
int xlb_lock_take(const char *path, int *fd, char *holder, size_t holder_len);

/* Removes the lock file and closes it (fd < 0: nothing to do). Safe while
 * we hold it: xlb_lock_take() checks that the file it locked is still the
 * one at the path. */
void xlb_lock_release(const char *path, int fd);

#endif
