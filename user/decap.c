// SPDX-License-Identifier: GPL-2.0
/* decap.c: the decapsulation program's maps from userspace (see decap.h).
 * Every map is rewritten add-first, so that an entry held before and after a
 * refresh is never missing in between. */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "decap.h"
#include "local_routes.h"

#define ADDRS_MAP "xlb_decap_addrs"
#define FROM_MAP  "xlb_decap_from"
#define LOCAL_MAP "xlb_decap_local"
#define STATS_MAP "xlb_decap_stats"

const char *const xlb_decap_stat_names[__XLB_DECAP_STAT_MAX] = {
#define XLB_DECAP_STAT_NAME(name, str, help) str,
    XLB_DECAP_STATS(XLB_DECAP_STAT_NAME)
#undef XLB_DECAP_STAT_NAME
};

const char *const xlb_decap_stat_help[__XLB_DECAP_STAT_MAX] = {
#define XLB_DECAP_STAT_HELP(name, str, help) help,
    XLB_DECAP_STATS(XLB_DECAP_STAT_HELP)
#undef XLB_DECAP_STAT_HELP
};

/* Every map of the program, by name, and where its fd goes. */
static const struct {
	const char *name;
	size_t off;
} map_slots[] = {
    {ADDRS_MAP, offsetof(struct xlb_decap_maps, addrs)},
    {FROM_MAP, offsetof(struct xlb_decap_maps, from)},
    {LOCAL_MAP, offsetof(struct xlb_decap_maps, local)},
    {STATS_MAP, offsetof(struct xlb_decap_maps, stats)},
};
#define N_MAPS (sizeof(map_slots) / sizeof(map_slots[0]))

static int *slot(struct xlb_decap_maps *m, size_t i)
{
	return (int *)((char *)m + map_slots[i].off);
}

static int fd_at(const struct xlb_decap_maps *m, size_t i)
{
	return *(const int *)((const char *)m + map_slots[i].off);
}

static void maps_init(struct xlb_decap_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++)
		*slot(m, i) = -1;
}

void xlb_decap_maps_close(struct xlb_decap_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++) {
		if (*slot(m, i) >= 0)
			close(*slot(m, i));
		*slot(m, i) = -1;
	}
}

int xlb_decap_maps_from_obj(struct bpf_object *obj, struct xlb_decap_maps *m)
{
	maps_init(m);
	for (size_t i = 0; i < N_MAPS; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(obj, map_slots[i].name);
		int fd = map ? bpf_map__fd(map) : -ENOENT;

		/* Our own fd, so that closing works the same for every source. */
		*slot(m, i) = fd < 0 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (*slot(m, i) < 0) {
			int ret = fd < 0 ? fd : -errno;

			*slot(m, i) = -1;
			xlb_decap_maps_close(m);
			return ret;
		}
	}
	return 0;
}

int xlb_decap_maps_from_prog(__u32 prog_id, struct xlb_decap_maps *m)
{
	maps_init(m);
	for (size_t i = 0; i < N_MAPS; i++) {
		int fd = xlb_attach_prog_map(prog_id, map_slots[i].name);

		if (fd < 0) {
			xlb_decap_maps_close(m);
			return fd;
		}
		*slot(m, i) = fd;
	}
	return 0;
}

int xlb_decap_maps_from_pins(const char *dir, struct xlb_decap_maps *m)
{
	char path[PATH_MAX];

	maps_init(m);
	for (size_t i = 0; i < N_MAPS; i++) {
		int fd;

		if (snprintf(path, sizeof(path), "%s/%s", dir, map_slots[i].name) >=
		    (int)sizeof(path)) {
			xlb_decap_maps_close(m);
			return -ENAMETOOLONG;
		}
		fd = bpf_obj_get(path);
		if (fd < 0) {
			fd = -errno;
			xlb_decap_maps_close(m);
			return fd;
		}
		*slot(m, i) = fd;
	}
	return 0;
}

int xlb_decap_maps_pin(const struct xlb_attach *at, const struct xlb_decap_maps *m)
{
	for (size_t i = 0; i < N_MAPS; i++) {
		int ret = xlb_attach_pin_map(at, fd_at(m, i), map_slots[i].name);

		if (ret)
			return ret;
	}
	return 0;
}

static int addr_key(const struct sockaddr *sa, struct xlb_decap_key *key)
{
	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		key->family = XLB_AF_INET;
		key->addr.v4 = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		key->family = XLB_AF_INET6;
		memcpy(key->addr.bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* Deletes the map's keys that are not among want[0..n) (key_size bytes
 * each), so that it holds exactly the set just written; at most max. */
static int remove_unwanted(int fd, const void *want, size_t n, size_t key_size, size_t max)
{
	unsigned char key[64], next[64], *stale;
	size_t n_stale = 0;
	int err = 0, more;

	if (key_size > sizeof(key))
		return -EINVAL;
	stale = calloc(max ? max : 1, key_size);
	if (!stale)
		return -ENOMEM;
	for (more = !bpf_map_get_next_key(fd, NULL, next); more && n_stale < max;
	     more = !bpf_map_get_next_key(fd, key, next)) {
		int keep = 0;

		memcpy(key, next, key_size);
		for (size_t i = 0; i < n && !keep; i++)
			keep = !memcmp((const unsigned char *)want + i * key_size, key, key_size);
		if (!keep)
			memcpy(stale + n_stale++ * key_size, key, key_size);
	}
	for (size_t i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(fd, stale + i * key_size) && errno != ENOENT)
			err = -errno;
	free(stale);
	return err;
}

int xlb_decap_sync_addrs(const struct xlb_decap_maps *m)
{
	struct xlb_decap_key key, *want;
	struct ifaddrs *ifa_list, *ifa;
	size_t n_want = 0;
	int err = 0, fd = m->addrs;

	want = calloc(XLB_DECAP_MAX_ADDRS, sizeof(*want));
	if (!want) {
		err = -ENOMEM;
		goto out;
	}
	if (getifaddrs(&ifa_list)) {
		err = -errno;
		goto out;
	}
	for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
		struct xlb_decap_addr val = {0};
		int dup = 0;

		if (!ifa->ifa_addr || addr_key(ifa->ifa_addr, &key))
			continue;
		for (size_t i = 0; i < n_want && !dup; i++)
			dup = !memcmp(&want[i], &key, sizeof(key));
		if (dup)
			continue;
		if (n_want == XLB_DECAP_MAX_ADDRS) {
			err = -E2BIG;
			break;
		}
		val.ifindex = if_nametoindex(ifa->ifa_name);
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY)) {
			err = -errno;
			break;
		}
		want[n_want++] = key;
	}
	freeifaddrs(ifa_list);
	if (!err)
		err = remove_unwanted(fd, want, n_want, sizeof(*want), XLB_DECAP_MAX_ADDRS);
out:
	free(want);
	return err ? err : (int)n_want;
}

static void prefix_key(const struct xlb_prefix *p, struct xlb_decap_prefix *key)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = XLB_DECAP_PREFIX_BITS + p->len;
	key->family = p->family;
	key->addr = p->addr;
}

static int key_prefix(const struct xlb_decap_prefix *key, struct xlb_prefix *p)
{
	if (key->prefixlen < XLB_DECAP_PREFIX_BITS ||
	    key->prefixlen > XLB_DECAP_PREFIX_BITS + (key->family == XLB_AF_INET6 ? 128 : 32))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->family = key->family;
	p->len = (__u8)(key->prefixlen - XLB_DECAP_PREFIX_BITS);
	p->addr = key->addr;
	return 0;
}

/* Makes an LPM map hold exactly want[0..n): adds every wanted prefix, then
 * deletes what else is there. */
static int set_prefixes(int fd, const struct xlb_prefix *want, size_t n, size_t max)
{
	struct xlb_decap_prefix *keys;
	__u8 one = 1;
	int err = 0;

	if (n > max)
		return -E2BIG;
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		prefix_key(&want[i], &keys[i]);
		if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	}
	err = remove_unwanted(fd, keys, n, sizeof(*keys), max);
out:
	free(keys);
	return err;
}

int xlb_decap_set_from(const struct xlb_decap_maps *m, const struct xlb_prefix *from, size_t n)
{
	return set_prefixes(m->from, from, n, XLB_DECAP_MAX_FROM);
}

int xlb_decap_set_local(const struct xlb_decap_maps *m, const struct xlb_prefix *local, size_t n)
{
	return set_prefixes(m->local, local, n, XLB_DECAP_MAX_LOCAL);
}

int xlb_decap_sync_local(const struct xlb_decap_maps *m)
{
	struct xlb_prefix *want = calloc(XLB_DECAP_MAX_LOCAL, sizeof(*want));
	int n, err;

	if (!want)
		return -ENOMEM;
	n = xlb_local_routes(want, XLB_DECAP_MAX_LOCAL);
	err = n < 0 ? n : xlb_decap_set_local(m, want, (size_t)n);
	free(want);
	return err ? err : n;
}

int xlb_decap_prefixes_read(int fd, struct xlb_prefix *out, size_t max)
{
	struct xlb_decap_prefix key, next;
	size_t n = 0;
	int more;

	for (more = !bpf_map_get_next_key(fd, NULL, &next); more && n < max;
	     more = !bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		if (key_prefix(&key, &out[n]))
			return -EINVAL;
		n++;
	}
	return (int)n;
}

int xlb_decap_addrs_read(const struct xlb_decap_maps *m, struct xlb_decap_key *out, size_t max)
{
	struct xlb_decap_key key, next;
	size_t n = 0;
	int more;

	for (more = !bpf_map_get_next_key(m->addrs, NULL, &next); more && n < max;
	     more = !bpf_map_get_next_key(m->addrs, &key, &next)) {
		key = next;
		out[n++] = key;
	}
	return (int)n;
}

int xlb_decap_counters(const struct xlb_decap_maps *m, struct xlb_counter out[__XLB_DECAP_STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct xlb_counter *percpu;

	if (ncpu < 1)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc((size_t)ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < __XLB_DECAP_STAT_MAX; i++) {
		out[i].packets = out[i].bytes = 0;
		if (bpf_map_lookup_elem(m->stats, &i, percpu)) {
			int ret = -errno;

			free(percpu);
			return ret;
		}
		for (int c = 0; c < ncpu; c++) {
			out[i].packets += percpu[c].packets;
			out[i].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return 0;
}
