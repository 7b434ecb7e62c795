/* SPDX-License-Identifier: GPL-2.0 */
/* bpf_env.h: a private network namespace for the BPF tests, so that the
 * program's bpf_fib_lookup sees routes and neighbours the test made, and the
 * host's own network is never touched. */
#ifndef XLB_TEST_BPF_ENV_H
#define XLB_TEST_BPF_ENV_H

/* Moves this process into a fresh network namespace and runs the given
 * shell commands there (ip ...). Returns 0 or -1. */
int bpf_env_enter(const char *const *setup_cmds);
/* Returns to the original namespace; the private one dies with its last user. */
void bpf_env_leave(void);
/* ifindex of an interface in the private namespace, 0 if none. */
unsigned int bpf_env_ifindex(const char *name);

#endif
