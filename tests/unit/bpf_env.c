// SPDX-License-Identifier: GPL-2.0
/* bpf_env.c: enter and leave the BPF tests' private network namespace. The
 * namespace lives only as long as this process references it, so a crashed
 * test leaves nothing behind. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>

#include "bpf_env.h"

static int orig_netns = -1;

int bpf_env_enter(const char *const *setup_cmds)
{
	orig_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig_netns < 0) {
		perror("bpf_env: open /proc/self/ns/net");
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("bpf_env: unshare(CLONE_NEWNET) (the BPF tests need root)");
		close(orig_netns);
		orig_netns = -1;
		return -1;
	}
	for (; setup_cmds && *setup_cmds; setup_cmds++) {
		if (system(*setup_cmds)) {
			fprintf(stderr, "bpf_env: setup failed: %s\n", *setup_cmds);
			bpf_env_leave();
			return -1;
		}
	}
	return 0;
}

void bpf_env_leave(void)
{
	if (orig_netns < 0)
		return;
	if (setns(orig_netns, CLONE_NEWNET))
		perror("bpf_env: setns back");
	close(orig_netns);
	orig_netns = -1;
}

unsigned int bpf_env_ifindex(const char *name)
{
	return if_nametoindex(name);
}
