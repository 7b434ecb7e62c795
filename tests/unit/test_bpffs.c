// SPDX-License-Identifier: GPL-2.0
/* test_bpffs.c: whether pins outlive the process (user/bpffs.c), in child
 * processes that take a mount namespace of their own, as `ip netns exec`
 * and systemd's sandboxing do. Mounts happen only inside those private
 * namespaces, which die with the child. Needs root. */
#define _GNU_SOURCE /* unshare */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <CUnit/CUnit.h>

#include "bpffs.h"
#include "xlb_test.h"

#define BPFFS "/sys/fs/bpf"

static int have_bpffs(void)
{
	struct statfs st;

	return !statfs(BPFFS, &st) && st.f_type == BPF_FS_MAGIC;
}

/* Runs what in a child with a mount namespace of its own (mounts kept from
 * propagating back); returns its answer (0, 1), or -1 if it could not. */
static int in_private_mntns(int (*what)(void))
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (!pid) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(100);
		_exit(what());
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status) == 100 ? -1 : WEXITSTATUS(status);
}

/* The host's bpffs, seen from another mount namespace (systemd's
 * sandboxing, unshare -m): the pins are shared. */
static int inherited(void)
{
	return xlb_bpffs_private(BPFFS);
}

/* A bpffs of this namespace's own at the same place (what xlbd would mount
 * under `ip netns exec`): private. */
static int own_bpffs(void)
{
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
		return 100;
	return xlb_bpffs_private(BPFFS);
}

/* Nothing mounted where the pins go (a fresh /sys): xlbd would mount its
 * own, so private too. A tmpfs stands in for the empty sysfs directory. */
static int no_bpffs(void)
{
	if (mount("tmpfs", BPFFS, "tmpfs", 0, "size=4k"))
		return 100;
	return xlb_bpffs_private(BPFFS);
}

static void test_private(void)
{
	if (geteuid()) {
		fprintf(stderr, "\ntest_bpffs: needs root (mount namespaces), skipped\n");
		return;
	}
	/* Our own namespace is the one xlbd normally runs in. */
	CU_ASSERT_EQUAL(xlb_bpffs_private(BPFFS), 0);
	if (have_bpffs())
		CU_ASSERT_EQUAL(in_private_mntns(inherited), 0);
	CU_ASSERT_EQUAL(in_private_mntns(own_bpffs), 1);
	CU_ASSERT_EQUAL(in_private_mntns(no_bpffs), 1);
	/* None of it reached this namespace. */
	CU_ASSERT_EQUAL(xlb_bpffs_private(BPFFS), 0);
}

XLB_SUITE(bpffs, NULL, NULL,
	  {"a bpffs private to a mount namespace is told from a shared one", test_private});
