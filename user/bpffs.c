// SPDX-License-Identifier: GPL-2.0
/* bpffs.c: where the pins live, and whether they outlive us (see bpffs.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "bpffs.h"
#include "log.h"

/* The device of the bpffs at path: 1, 0 when path is something else, -1
 * when it cannot be seen. */
static int bpffs_dev(const char *path, dev_t *dev)
{
	struct statfs sfs;
	struct stat st;

	if (statfs(path, &sfs) || stat(path, &st))
		return -1;
	*dev = st.st_dev;
	return sfs.f_type == BPF_FS_MAGIC;
}

static int same_ns(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/* The parent of pid from /proc/PID/stat ("pid (comm) state ppid ..."; comm
 * may hold spaces and parentheses), or 0. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* The process whose mounts ours are measured against: PID 1 when its
 * namespace can be read (0 when it is ours: the host's or the container's
 * own, whose mounts stay); else, as in sandboxes that hide PID 1, the
 * nearest ancestor in another mount namespace (the shell that ran `ip netns
 * exec`); 0 when none can be seen. */
static pid_t reference_pid(const struct stat *self_ns)
{
	struct stat ns;
	char path[64];
	pid_t pid;

	if (!stat("/proc/1/ns/mnt", &ns))
		return same_ns(&ns, self_ns) ? 0 : 1;
	pid = getppid();
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
		if (stat(path, &ns))
			return 0;
		if (!same_ns(&ns, self_ns))
			return pid;
		pid = parent_of(pid);
	}
	return 0;
}

int xlb_bpffs_private(const char *dir)
{
	char ref_path[PATH_MAX];
	struct stat self_ns;
	dev_t ours, theirs;
	int theirs_ok;
	pid_t ref;

	if (stat("/proc/self/ns/mnt", &self_ns))
		return 0;
	ref = reference_pid(&self_ns);
	if (!ref)
		return 0;
	/* Another mount namespace (systemd's sandboxing, unshare -m) that still
	 * shows the reference's bpffs at dir shares its pins: the same
	 * superblock, hence the same device. /proc/PID/root walks its mounts. */
	if (snprintf(ref_path, sizeof(ref_path), "/proc/%d/root%s", (int)ref, dir) >=
	    (int)sizeof(ref_path))
		return 0;
	theirs_ok = bpffs_dev(ref_path, &theirs);
	if (theirs_ok < 0)
		return 0;
	/* No bpffs here (this process would mount one of its own), or not
	 * PID 1's. */
	return bpffs_dev(dir, &ours) != 1 || !theirs_ok || ours != theirs;
}

int xlb_bpffs_ensure(const char *dir, char *err, size_t errlen)
{
	struct statfs st;

	if (statfs(dir, &st))
		return xlb_errf(-errno, err, errlen, "cannot check %s: %s, expected a mounted sysfs",
				dir, strerror(errno));
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	/* Pins need a bpffs; most systems mount it at boot, minimal ones not. */
	if (mount("bpf", dir, "bpf", 0, "mode=0700"))
		return xlb_errf(-errno, err, errlen, "no bpffs on %s and mounting one failed: %s",
				dir, strerror(errno));
	pr_info("mounted a bpffs on %s", dir);
	return 0;
}
