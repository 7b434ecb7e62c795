// SPDX-License-Identifier: GPL-2.0
/* netns.c: per-network-namespace file names (see netns.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/types.h>

#include "netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
/* include/linux/proc_ns.h: the inode number of init_net's nsfs file. */
#define PROC_NET_INIT_INO 0xEFFFFFF9U

/* 1 if this process runs in the host's network namespace (the kernel gives
 * init_net a fixed inode number) or in PID 1's (inside a container). PID 1's
 * may be unreadable, as in some sandboxes. */
static int in_initial_netns(void)
{
	struct stat self, init;

	if (stat("/proc/self/ns/net", &self))
		return 1;
	if (self.st_ino == PROC_NET_INIT_INO)
		return 1;
	return !stat("/proc/1/ns/net", &init) && self.st_ino == init.st_ino &&
	       self.st_dev == init.st_dev;
}

/* Its cookie (Linux 5.14), else its inode number. */
static int netns_id(char *buf, size_t len)
{
	__u64 cookie = 0;
	socklen_t clen = sizeof(cookie);
	struct stat st;
	int fd, err;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		err = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &clen);
		close(fd);
		if (!err) {
			snprintf(buf, len, "netns-%llu", (unsigned long long)cookie);
			return 0;
		}
	}
	if (stat("/proc/self/ns/net", &st))
		return -errno;
	snprintf(buf, len, "netns-ino%llu", (unsigned long long)st.st_ino);
	return 0;
}

int xlb_netns_scoped_path(const char *root, const char *name, char *buf, size_t len)
{
	char ns[64];
	int err, n;

	if (in_initial_netns()) {
		n = snprintf(buf, len, "%s/%s", root, name);
	} else {
		err = netns_id(ns, sizeof(ns));
		if (err)
			return err;
		n = snprintf(buf, len, "%s/%s/%s", root, ns, name);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A bind mount of the namespace's nsfs file under /run/netns, which stat()
 * shows as the same device and inode. */
int xlb_netns_name(char *buf, size_t len)
{
	struct stat self, st;
	char path[300];
	struct dirent *de;
	int ret = -ENOENT;
	DIR *d;

	if (stat("/proc/self/ns/net", &self))
		return -errno;
	d = opendir(XLB_NETNS_RUN_DIR);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || snprintf(path, sizeof(path), "%s/%s", XLB_NETNS_RUN_DIR,
						     de->d_name) >= (int)sizeof(path))
			continue;
		if (stat(path, &st) || st.st_dev != self.st_dev || st.st_ino != self.st_ino)
			continue;
		if (strlen(de->d_name) >= len) {
			ret = -ENAMETOOLONG;
			continue;
		}
		strcpy(buf, de->d_name);
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

int xlb_netns_state_path(const char *root, const char *name, char *buf, size_t len)
{
	char ns[256];
	int err, n;

	if (in_initial_netns()) {
		n = snprintf(buf, len, "%s/%s", root, name);
	} else {
		err = xlb_netns_name(ns, sizeof(ns));
		if (err)
			return err;
		n = snprintf(buf, len, "%s/netns/%s/%s", root, ns, name);
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
