// SPDX-License-Identifier: GPL-2.0
/* files.c: directories and pid lock files (see files.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "files.h"

int xlb_dir_make(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

int xlb_lock_take(const char *path, int *out, char *holder, size_t holder_len)
{
	struct stat a, b;
	char pid[32];
	int fd = -1, ret, n;

	if (holder_len)
		holder[0] = 0;
	for (int tries = 0; tries < 10; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			ret = errno;
			n = read(fd, pid, sizeof(pid) - 1);
			pid[n > 0 ? n : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			close(fd);
			if (ret != EWOULDBLOCK)
				return -ret;
			if (holder_len)
				snprintf(holder, holder_len, "%s", pid);
			return -EBUSY;
		}
		/* A releasing owner unlinks the file: a lock on the old inode
		 * would lock nothing, so check we hold the one at the path. */
		if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		return -EAGAIN;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, n, 0) != n) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

void xlb_lock_release(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}
