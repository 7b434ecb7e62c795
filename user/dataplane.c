// SPDX-License-Identifier: GPL-2.0
/* dataplane.c: userspace side of the XDP program's maps (see dataplane.h).
 * Rings are written aside in a fresh mmapable array and swapped into the
 * array-of-maps in one update. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "log.h"
#include "maglev.h"
#include "xlb_hash.h"
#include "xlb.skel.h"

const char *const xlb_stat_names[__XLB_STAT_MAX] = {
#define XLB_STAT_NAME(name, str, help) str,
	XLB_STATS(XLB_STAT_NAME)
#undef XLB_STAT_NAME
};

const char *const xlb_stat_help[__XLB_STAT_MAX] = {
#define XLB_STAT_HELP(name, str, help) help,
	XLB_STATS(XLB_STAT_HELP)
#undef XLB_STAT_HELP
};

static struct bpf_map *const *pinned_maps(struct xlb_bpf *skel, size_t *n)
{
	static struct bpf_map *maps[11];

	maps[0] = skel->maps.xlb_vips;
	maps[1] = skel->maps.xlb_rings;
	maps[2] = skel->maps.xlb_backends;
	maps[3] = skel->maps.xlb_conns;
	maps[4] = skel->maps.xlb_stats;
	maps[5] = skel->maps.xlb_config;
	maps[6] = skel->maps.xlb_tx_ports;
	maps[7] = skel->maps.xlb_vip_addrs;
	maps[8] = skel->maps.xlb_conns_new;
	maps[9] = skel->maps.xlb_acl;
	maps[10] = skel->maps.xlb_limits;
	*n = 11;
	return maps;
}

static int set_pin_paths(struct xlb_dp *dp, const char *dir)
{
	struct bpf_map *const *maps;
	char path[256];
	size_t n;
	int err;

	maps = pinned_maps(dp->skel, &n);
	for (size_t i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(maps[i])) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		if (access(path, F_OK) == 0)
			dp->adopted = 1;
		err = bpf_map__set_pin_path(maps[i], path);
		if (err)
			return err;
	}
	return 0;
}

int xlb_dp_open(const struct xlb_dp_opts *opts, struct xlb_dp **out)
{
	struct xlb_dp *dp;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->ring_tmpl_fd = -1;
	dp->ring_size = opts->ring_size ? opts->ring_size : XLB_RING_SIZE_DEFAULT;
	dp->max_vips = opts->max_vips ? opts->max_vips : XLB_MAX_VIPS_DEFAULT;
	dp->max_backends = opts->max_backends ? opts->max_backends : XLB_MAX_BACKENDS_DEFAULT;
	dp->max_conns = opts->max_conns ? opts->max_conns : XLB_CONNS_DEFAULT;
	dp->second_chance_s =
	    opts->second_chance_s ? opts->second_chance_s : XLB_SECOND_CHANCE_WINDOW_DEFAULT_S;
	if (!xlb_is_prime(dp->ring_size)) {
		err = -EINVAL;
		goto fail;
	}
	dp->ring_keys = calloc(dp->ring_size, sizeof(*dp->ring_keys));
	if (!dp->ring_keys) {
		err = -ENOMEM;
		goto fail;
	}
	for (__u32 i = 0; i < dp->ring_size; i++)
		dp->ring_keys[i] = i;
	dp->ring_sums = calloc(dp->max_vips, sizeof(*dp->ring_sums));
	dp->prev_until = calloc(dp->max_vips, sizeof(*dp->prev_until));
	if (!dp->ring_sums || !dp->prev_until) {
		err = -ENOMEM;
		goto fail;
	}
	dp->nr_cpus = libbpf_num_possible_cpus();
	if (dp->nr_cpus < 1) {
		err = dp->nr_cpus ? dp->nr_cpus : -EINVAL;
		goto fail;
	}
	dp->skel = xlb_bpf__open();
	if (!dp->skel) {
		err = errno ? -errno : -EINVAL;
		goto fail;
	}
	dp->skel->rodata->xlb_ring_size = dp->ring_size;
	dp->skel->rodata->xlb_max_vips = dp->max_vips;
	if (opts->icmp_rate < 0)
		dp->skel->rodata->xlb_icmp_interval_ns = 0;
	else
		dp->skel->rodata->xlb_icmp_interval_ns =
		    1000000000ULL / (opts->icmp_rate ? (__u32)opts->icmp_rate : XLB_ICMP_RATE_DEFAULT);
	dp->skel->rodata->xlb_max_backends = dp->max_backends;
	/* The ring size is the inner maps' max_entries. libbpf 1.1 cannot
	 * resize the inner template it parsed (no object behind it), so
	 * give it a template map of the right size instead. */
	dp->ring_tmpl_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_ring", sizeof(__u32),
					  sizeof(__u32), dp->ring_size, NULL);
	if (dp->ring_tmpl_fd < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = bpf_map__set_max_entries(dp->skel->maps.xlb_vips, dp->max_vips)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_vip_addrs, dp->max_vips)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_rings, dp->max_vips)) ||
	    (err = bpf_map__set_inner_map_fd(dp->skel->maps.xlb_rings, dp->ring_tmpl_fd)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_rings_prev, dp->max_vips)) ||
	    (err = bpf_map__set_inner_map_fd(dp->skel->maps.xlb_rings_prev, dp->ring_tmpl_fd)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_cursors, dp->max_vips)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_backends, dp->max_backends)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_nexthops, dp->max_backends)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_backend_conns, dp->max_backends)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_members, dp->max_vips)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_conns, dp->max_conns)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_conns_new,
					    xlb_conns_new_entries(dp->max_conns, dp->nr_cpus))) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_acl,
					    dp->max_vips * XLB_ACL_ENTRIES_PER_VIP)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_limits, dp->max_vips)) ||
	    (err = bpf_map__set_max_entries(dp->skel->maps.xlb_stats,
					    xlb_stats_entries(dp->max_vips, dp->max_backends))))
		goto fail;
	if (opts->pin_dir) {
		err = set_pin_paths(dp, opts->pin_dir);
		if (err)
			goto fail;
	}
	*out = dp;
	return 0;
fail:
	xlb_dp_close(dp);
	return err;
}

static int vip_addr_sync_all(struct xlb_dp *dp);

int xlb_dp_loaded(struct xlb_dp *dp)
{
	struct xlb_config cfg;
	__u32 zero = 0;
	int err;

	dp->loaded = 1;
	if (dp->ring_tmpl_fd >= 0) {
		close(dp->ring_tmpl_fd);
		dp->ring_tmpl_fd = -1;
	}
	err = vip_addr_sync_all(dp);
	if (err)
		return err;
	/* A fresh config map is all zeros: give it working defaults. */
	err = bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.xlb_config), &zero, &cfg);
	if (err)
		return -errno;
	if (!cfg.udp_timeout_s) {
		cfg.udp_timeout_s = XLB_UDP_TIMEOUT_DEFAULT_S;
		cfg.syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S;
		cfg.tcp_timeout_s = XLB_TCP_TIMEOUT_DEFAULT_S;
		cfg.fin_timeout_s = XLB_FIN_TIMEOUT_DEFAULT_S;
		cfg.conn_budget = XLB_CONN_BUDGET_DEFAULT;
		return xlb_dp_config_set(dp, &cfg);
	}
	return 0;
}

int xlb_dp_load(struct xlb_dp *dp)
{
	int err = xlb_bpf__load(dp->skel);

	if (err)
		return err;
	return xlb_dp_loaded(dp);
}

void xlb_dp_close(struct xlb_dp *dp)
{
	if (!dp)
		return;
	xlb_bpf__destroy(dp->skel);
	xlb_dp_batch_free(&dp->tally.buf);
	if (dp->ring_tmpl_fd >= 0)
		close(dp->ring_tmpl_fd);
	free(dp->ring_keys);
	free(dp->ring_sums);
	free(dp->prev_until);
	free(dp);
}

struct bpf_object *xlb_dp_object(struct xlb_dp *dp)
{
	return dp->skel->obj;
}

int xlb_dp_prog_fd(struct xlb_dp *dp)
{
	return bpf_program__fd(dp->skel->progs.xlb_lb);
}

int xlb_dp_pinned_vips(struct xlb_dp *dp, __u32 *n)
{
	const char *path = bpf_map__pin_path(dp->skel->maps.xlb_vips);
	struct xlb_vip_key key, next;
	void *prev = NULL;
	int fd;

	*n = 0;
	if (!path || !dp->adopted)
		return 0;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* No eviction in a plain hash: this walk ends after n keys. */
	while (bpf_map_get_next_key(fd, prev, &next) == 0 && *n < dp->max_vips) {
		key = next;
		prev = &key;
		(*n)++;
	}
	close(fd);
	return 0;
}

int xlb_dp_unpin(struct xlb_dp *dp)
{
	struct bpf_map *const *maps;
	int ret = 0;
	size_t n;

	maps = pinned_maps(dp->skel, &n);
	for (size_t i = 0; i < n; i++) {
		const char *path = bpf_map__pin_path(maps[i]);

		if (path && unlink(path) && errno != ENOENT)
			ret = -errno;
	}
	return ret;
}

static int map_fd(struct bpf_map *map)
{
	return bpf_map__fd(map);
}

static int check(int err)
{
	return err ? -errno : 0;
}

/* ---- xlb_novip: bits of address hashes no VIP address has -------------- */

/* A bit is cleared before an address becomes a VIP's and set again only
 * once no VIP address is left on it, so that no moment passes a VIP's
 * traffic up. */

static __u32 novip_bit(const struct xlb_vip_addr_key *key)
{
	return xlb_novip_bit(&key->addr, key->family);
}

/* Clears the address's bit: its traffic takes the exact lookups. */
static int novip_clear(struct xlb_dp *dp, const struct xlb_vip_addr_key *key)
{
	int fd = map_fd(dp->skel->maps.xlb_novip);
	__u32 bit = novip_bit(key), word = bit / 64;
	__u64 w;

	if (bpf_map_lookup_elem(fd, &word, &w))
		return -errno;
	if (!(w & (1ULL << (bit % 64))))
		return 0;
	w &= ~(1ULL << (bit % 64));
	return check(bpf_map_update_elem(fd, &word, &w, BPF_ANY));
}

/* Rewrites the word of the address's bit from xlb_vip_addrs: set for every
 * hash in it that no address left in the map has. */
static int novip_recount(struct xlb_dp *dp, const struct xlb_vip_addr_key *gone)
{
	int fd = map_fd(dp->skel->maps.xlb_novip), afd = map_fd(dp->skel->maps.xlb_vip_addrs);
	__u32 word = novip_bit(gone) / 64, n = 0;
	struct xlb_vip_addr_key key, next;
	void *prev = NULL;
	__u64 w = ~0ULL;

	/* No eviction in a plain hash: this walk ends after its entries. */
	while (n++ < dp->max_vips && !bpf_map_get_next_key(afd, prev, &next)) {
		__u32 bit = novip_bit(&next);

		key = next;
		prev = &key;
		if (bit / 64 == word)
			w &= ~(1ULL << (bit % 64));
	}
	return check(bpf_map_update_elem(fd, &word, &w, BPF_ANY));
}

/* Writes the whole map: every bit set but those of the addresses. */
static int novip_fill(struct xlb_dp *dp, const struct xlb_vip_addr_key *addrs, size_t n)
{
	int fd = map_fd(dp->skel->maps.xlb_novip);
	__u64 *words = malloc(XLB_NOVIP_WORDS * sizeof(*words));
	int err = 0;

	if (!words)
		return -ENOMEM;
	memset(words, 0xff, XLB_NOVIP_WORDS * sizeof(*words));
	for (size_t i = 0; i < n; i++) {
		__u32 bit = novip_bit(&addrs[i]);

		words[bit / 64] &= ~(1ULL << (bit % 64));
	}
	for (__u32 i = 0; i < XLB_NOVIP_WORDS && !err; i++)
		err = check(bpf_map_update_elem(fd, &i, &words[i], BPF_ANY));
	free(words);
	return err;
}

/* ---- xlb_vip_addrs: the addresses of xlb_vips' keys, with a count ----- */

static void vip_addr_key(const struct xlb_vip_key *vip, struct xlb_vip_addr_key *key)
{
	memset(key, 0, sizeof(*key));
	key->addr = vip->addr;
	key->family = vip->family;
}

/* Adds delta (+1 or -1) to the count of VIPs on the VIP key's address; the
 * entry is created with the first and deleted with the last. */
static int vip_addr_ref(struct xlb_dp *dp, const struct xlb_vip_key *vip, int delta)
{
	int fd = map_fd(dp->skel->maps.xlb_vip_addrs);
	struct xlb_vip_addr_key key;
	struct xlb_vip_addr val = {0};

	int err;

	vip_addr_key(vip, &key);
	if (bpf_map_lookup_elem(fd, &key, &val) && errno != ENOENT)
		return -errno;
	if (delta < 0 && val.vips <= 1) {
		err = check(bpf_map_delete_elem(fd, &key));
		if (err && err != -ENOENT)
			return err;
		return novip_recount(dp, &key);
	}
	if (delta > 0 && (err = novip_clear(dp, &key)))
		return err;
	val.vips += delta;
	return check(bpf_map_update_elem(fd, &key, &val, BPF_ANY));
}

static int cmp_vip_addr(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct xlb_vip_addr_key));
}

/* Recounts xlb_vip_addrs from xlb_vips (after load: the pins may come from
 * an xlbd that died between the two writes of a change), and fills the new
 * program's xlb_novip from them. Never removes an address a VIP is on, not
 * even for a moment. */
static int vip_addr_sync_all(struct xlb_dp *dp)
{
	int vfd = map_fd(dp->skel->maps.xlb_vips), afd = map_fd(dp->skel->maps.xlb_vip_addrs);
	struct xlb_vip_addr_key *want, *stale, akey, anext;
	struct xlb_vip_key vkey, vnext;
	size_t n = 0, n_stale = 0;
	void *prev = NULL;
	int err = 0;

	want = calloc(dp->max_vips, sizeof(*want));
	stale = calloc(dp->max_vips, sizeof(*stale));
	if (!want || !stale) {
		err = -ENOMEM;
		goto out;
	}
	while (n < dp->max_vips && !bpf_map_get_next_key(vfd, prev, &vnext)) {
		vkey = vnext;
		prev = &vkey;
		vip_addr_key(&vkey, &want[n++]);
	}
	qsort(want, n, sizeof(*want), cmp_vip_addr);
	prev = NULL;
	while (n_stale < dp->max_vips && !bpf_map_get_next_key(afd, prev, &anext)) {
		akey = anext;
		prev = &akey;
		if (!bsearch(&akey, want, n, sizeof(*want), cmp_vip_addr))
			stale[n_stale++] = akey;
	}
	for (size_t i = 0; i < n && !err;) {
		struct xlb_vip_addr val = {0};
		size_t j = i;

		while (j < n && !cmp_vip_addr(&want[i], &want[j]))
			j++;
		val.vips = (__u32)(j - i);
		err = check(bpf_map_update_elem(afd, &want[i], &val, BPF_ANY));
		i = j;
	}
	if (!err)
		err = novip_fill(dp, want, n);
	for (size_t i = 0; i < n_stale && !err; i++) {
		err = check(bpf_map_delete_elem(afd, &stale[i]));
		if (err == -ENOENT)
			err = 0;
	}
out:
	free(want);
	free(stale);
	return err;
}

int xlb_dp_vip_set(struct xlb_dp *dp, const struct xlb_vip_key *key, const struct xlb_vip *vip)
{
	int fd = map_fd(dp->skel->maps.xlb_vips), err;
	struct xlb_vip old;

	if (!bpf_map_lookup_elem(fd, key, &old))
		return check(bpf_map_update_elem(fd, key, vip, BPF_EXIST));
	/* A new VIP: its address first, so that no moment passes it up. */
	err = vip_addr_ref(dp, key, 1);
	if (err)
		return err;
	err = check(bpf_map_update_elem(fd, key, vip, BPF_NOEXIST));
	if (err)
		vip_addr_ref(dp, key, -1);
	return err;
}

int xlb_dp_vip_del(struct xlb_dp *dp, const struct xlb_vip_key *key)
{
	int err = check(bpf_map_delete_elem(map_fd(dp->skel->maps.xlb_vips), key));

	if (err)
		return err == -ENOENT ? 0 : err;
	return vip_addr_ref(dp, key, -1);
}

int xlb_dp_vip_foreach(struct xlb_dp *dp,
		       int (*cb)(const struct xlb_vip_key *, const struct xlb_vip *, void *),
		       void *ctx)
{
	int fd = map_fd(dp->skel->maps.xlb_vips);
	struct xlb_vip_key key, next;
	struct xlb_vip vip;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &vip))
			continue;
		if (cb(&key, &vip, ctx))
			break;
	}
	return 0;
}

int xlb_dp_backend_set(struct xlb_dp *dp, __u32 id, const struct xlb_backend *be)
{
	if (id >= dp->max_backends)
		return -ERANGE;
	return check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_backends), &id, be, BPF_ANY));
}

int xlb_dp_backend_get(struct xlb_dp *dp, __u32 id, struct xlb_backend *be)
{
	if (id >= dp->max_backends)
		return -ERANGE;
	return check(bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_backends), &id, be));
}

/* FNV-1a over the ring's backend ids: tells a rebuild that changed nothing
 * (a health flap elsewhere, an adoption) from a change, so that the first
 * does not push the ring the second chance needs out of xlb_rings_prev.
 * Never 0, which stands for "no ring". */
static __u64 ring_sum(const __u32 *ring, __u32 n)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (__u32 i = 0; i < n; i++) {
		h ^= ring[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Moves the VIP's current ring, if any, to xlb_rings_prev: the map itself,
 * which the next update of xlb_rings no longer holds. */
static int ring_keep_prev(struct xlb_dp *dp, __u32 vip_id)
{
	__u32 inner_id;
	int fd, err;

	if (dp->second_chance_s < 0)
		return 0;
	if (bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_rings), &vip_id, &inner_id))
		return errno == ENOENT ? 0 : -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	err = check(
	    bpf_map_update_elem(map_fd(dp->skel->maps.xlb_rings_prev), &vip_id, &fd, BPF_ANY));
	close(fd);
	if (!err) {
		/* In ms, not whole seconds: a ring kept at x.9 s for a 1 s
		 * window lasted 0.1 s when its end was rounded down. */
		dp->prev_until[vip_id] = mono_ms() + dp->second_chance_s * 1000LL;
		pr_debug("VIP id %u: previous ring kept for %d s", vip_id, dp->second_chance_s);
	}
	return err;
}

int xlb_dp_ring_prev_drop(struct xlb_dp *dp, __u32 vip_id)
{
	int err;

	if (vip_id >= dp->max_vips)
		return -ERANGE;
	err = check(bpf_map_delete_elem(map_fd(dp->skel->maps.xlb_rings_prev), &vip_id));
	if (err && err != -ENOENT)
		return err;
	if (!err)
		pr_debug("VIP id %u: previous ring dropped", vip_id);
	dp->prev_until[vip_id] = 0;
	return 0;
}

int xlb_dp_ring_prev_expire(struct xlb_dp *dp, long long now_ms)
{
	int ret = 0, err;

	for (__u32 i = 0; i < dp->max_vips; i++) {
		if (!dp->prev_until[i] || dp->prev_until[i] > now_ms)
			continue;
		err = xlb_dp_ring_prev_drop(dp, i);
		ret = ret ?: err;
	}
	return ret;
}

long long xlb_dp_ring_prev_left_ms(const struct xlb_dp *dp, __u32 vip_id, long long now_ms)
{
	if (vip_id >= dp->max_vips || !dp->prev_until[vip_id])
		return 0;
	/* Due but not yet dropped (the next tick does): still there. */
	return dp->prev_until[vip_id] > now_ms ? dp->prev_until[vip_id] - now_ms : 1;
}

int xlb_dp_ring_set(struct xlb_dp *dp, __u32 vip_id, const __u32 *ring)
{
	LIBBPF_OPTS(bpf_map_batch_opts, batch);
	__u32 count = dp->ring_size;
	__u64 sum;
	int fd, err;

	if (vip_id >= dp->max_vips)
		return -ERANGE;
	sum = ring_sum(ring, dp->ring_size);
	/* A ring unknown to this process (adopted) counts as a change. */
	if (sum != dp->ring_sums[vip_id]) {
		err = ring_keep_prev(dp, vip_id);
		if (err)
			return err;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_ring", sizeof(__u32), sizeof(__u32),
			    dp->ring_size, NULL);
	if (fd < 0)
		return -errno;
	/* One syscall for the whole ring. (An mmapable array is no simple
	 * memcpy: the kernel lays array values out with an 8-byte stride.) */
	err = check(bpf_map_update_batch(fd, dp->ring_keys, ring, &count, &batch));
	if (!err && count != dp->ring_size)
		err = -EIO;
	if (!err)
		err = check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_rings), &vip_id, &fd,
						BPF_ANY));
	close(fd);
	if (!err)
		dp->ring_sums[vip_id] = sum;
	return err;
}

int xlb_dp_ring_clear(struct xlb_dp *dp, __u32 vip_id)
{
	int err;

	if (vip_id >= dp->max_vips)
		return -ERANGE;
	err = ring_keep_prev(dp, vip_id);
	if (err)
		return err;
	err = check(bpf_map_delete_elem(map_fd(dp->skel->maps.xlb_rings), &vip_id));
	if (!err || err == -ENOENT)
		dp->ring_sums[vip_id] = 0;
	return err == -ENOENT ? 0 : err;
}

int xlb_dp_members_set(struct xlb_dp *dp, __u32 vip_id, const struct xlb_members *m)
{
	if (vip_id >= dp->max_vips)
		return -ERANGE;
	if (m->count > XLB_LC_MAX_BACKENDS)
		return -E2BIG;
	return check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_members), &vip_id, m, BPF_ANY));
}

int xlb_dp_backend_conns_reset(struct xlb_dp *dp, __u32 backend_id)
{
	struct xlb_backend_conns zero = {0};

	if (backend_id >= dp->max_backends)
		return -ERANGE;
	return check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_backend_conns), &backend_id,
					 &zero, BPF_ANY));
}

int xlb_dp_ring_slot(struct xlb_dp *dp, __u32 vip_id, __u32 slot, __u32 *backend_id)
{
	__u32 inner_id;
	int fd, err;

	if (slot >= dp->ring_size)
		return -ERANGE;
	if (bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_rings), &vip_id, &inner_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(inner_id);
	if (fd < 0)
		return -errno;
	err = check(bpf_map_lookup_elem(fd, &slot, backend_id));
	close(fd);
	return err;
}

int xlb_dp_config_set(struct xlb_dp *dp, const struct xlb_config *in)
{
	struct xlb_config cfg = *in;
	__u32 zero = 0;

	/* 0 would expire every flow at its next packet: no caller means that
	 * (xlbd validates its options), so 0 is the default. The data plane
	 * counts on every timeout being 1 s at least (conn_steady()). */
	if (!cfg.udp_timeout_s)
		cfg.udp_timeout_s = XLB_UDP_TIMEOUT_DEFAULT_S;
	if (!cfg.syn_timeout_s)
		cfg.syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S;
	if (!cfg.tcp_timeout_s)
		cfg.tcp_timeout_s = XLB_TCP_TIMEOUT_DEFAULT_S;
	if (!cfg.fin_timeout_s)
		cfg.fin_timeout_s = XLB_FIN_TIMEOUT_DEFAULT_S;
	return check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_config), &zero, &cfg, BPF_ANY));
}

int xlb_dp_conn_get(struct xlb_dp *dp, const struct xlb_flow *flow, struct xlb_conn *conn)
{
	return check(bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_conns), flow, conn));
}

int xlb_dp_config_get(struct xlb_dp *dp, struct xlb_config *cfg)
{
	__u32 zero = 0;

	return check(bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_config), &zero, cfg));
}

int xlb_dp_tx_port_add(struct xlb_dp *dp, __u32 ifindex)
{
	return check(
		bpf_map_update_elem(map_fd(dp->skel->maps.xlb_tx_ports), &ifindex, &ifindex, BPF_ANY));
}

int xlb_dp_counter(struct xlb_dp *dp, __u32 index, struct xlb_counter *sum)
{
	struct xlb_counter *percpu;
	int err = 0;

	percpu = calloc(dp->nr_cpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_stats), &index, percpu)) {
		err = -errno;
	} else {
		for (int i = 0; i < dp->nr_cpus; i++) {
			sum->packets += percpu[i].packets;
			sum->bytes += percpu[i].bytes;
		}
	}
	free(percpu);
	return err;
}

int xlb_dp_counter_vip(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum)
{
	return xlb_dp_counter(dp, XLB_STATS_VIP_BASE + vip_id, sum);
}

int xlb_dp_counter_backend(struct xlb_dp *dp, __u32 backend_id, struct xlb_counter *sum)
{
	return xlb_dp_counter(dp, XLB_STATS_VIP_BASE + dp->max_vips + backend_id, sum);
}

int xlb_dp_counter_vip_acl(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum)
{
	return xlb_dp_counter(dp, xlb_stats_vip_acl(dp->max_vips, dp->max_backends, vip_id), sum);
}

int xlb_dp_counter_vip_limit(struct xlb_dp *dp, __u32 vip_id, struct xlb_counter *sum)
{
	return xlb_dp_counter(dp, xlb_stats_vip_limit(dp->max_vips, dp->max_backends, vip_id), sum);
}

static int acl_key_in(const struct xlb_acl_key *key, const struct xlb_acl_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(key, &keys[i], sizeof(*key)))
			return 1;
	return 0;
}

int xlb_dp_acl_replace(struct xlb_dp *dp, __u32 vip_id, const struct xlb_acl_key *keys,
		       const struct xlb_acl *vals, size_t n)
{
	int fd = map_fd(dp->skel->maps.xlb_acl), err = 0;
	struct xlb_acl_key key, next, *gone = NULL;
	size_t n_gone = 0, cap = 0;
	void *prev = NULL;

	for (size_t i = 0; i < n; i++) {
		err = check(bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY));
		if (err)
			return err;
	}
	/* The trie's order changes under deletion: collect, then delete.
	 * Whatever else of this VIP is there goes (an earlier ACL, or one
	 * an earlier xlbd left in the pin for the same id). */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (key.vip_id != vip_id || acl_key_in(&key, keys, n))
			continue;
		if (n_gone == cap) {
			struct xlb_acl_key *g = realloc(gone, (cap ? cap * 2 : 16) * sizeof(*g));

			if (!g) {
				free(gone);
				return -ENOMEM;
			}
			gone = g;
			cap = cap ? cap * 2 : 16;
		}
		gone[n_gone++] = key;
	}
	for (size_t i = 0; i < n_gone && !err; i++) {
		err = check(bpf_map_delete_elem(fd, &gone[i]));
		if (err == -ENOENT)
			err = 0;
	}
	free(gone);
	return err;
}

int xlb_dp_limit_set(struct xlb_dp *dp, __u32 vip_id, const struct xlb_limit *lim)
{
	if (vip_id >= dp->max_vips)
		return -ERANGE;
	return check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_limits), &vip_id, lim, BPF_ANY));
}

int xlb_dp_counter_reset(struct xlb_dp *dp, __u32 index)
{
	struct xlb_counter *zeros = calloc(dp->nr_cpus, sizeof(*zeros));
	int err;

	if (!zeros)
		return -ENOMEM;
	err = check(bpf_map_update_elem(map_fd(dp->skel->maps.xlb_stats), &index, zeros, BPF_ANY));
	free(zeros);
	return err;
}

/* Connection-table counting. BPF_MAP_GET_NEXT_KEY restarts from the first
 * key whenever the entry under its cursor is evicted, so on a busy full table
 * it walks (and counts) much of the table again and again. A batch lookup's
 * cursor is a bucket index, which no eviction moves: each bucket is read
 * once, BATCH_ENTRIES at a time (a call of some 0.1 ms, so that a slice
 * ends close to its budget); a million entries take some 0.4 s of CPU. */
#define BATCH_ENTRIES 256
#define BATCH_MAX     (1U << 16) /* a bucket longer than this is not a hash table */

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Flows inserted into xlb_conns by the data plane so far: only a promotion
 * from the new-flow table inserts there, so an unchanged sum means the
 * table did not grow meanwhile. */
static int conn_misses(struct xlb_dp *dp, __u64 *misses)
{
	struct xlb_counter c;
	int err = xlb_dp_counter(dp, XLB_STAT_CONN_PROMOTE, &c);

	*misses = c.packets;
	return err;
}

static int batch_grow(struct xlb_dp_batch *b, __u32 entries)
{
	void *keys, *vals;

	if (b->cap >= entries)
		return 0;
	keys = realloc(b->keys, (size_t)entries * sizeof(*b->keys));
	if (!keys)
		return -ENOMEM;
	b->keys = keys;
	vals = realloc(b->vals, (size_t)entries * sizeof(*b->vals));
	if (!vals)
		return -ENOMEM;
	b->vals = vals;
	b->cap = entries;
	return 0;
}

void xlb_dp_batch_free(struct xlb_dp_batch *b)
{
	free(b->keys);
	free(b->vals);
	b->keys = NULL;
	b->vals = NULL;
	b->cap = 0;
}

int xlb_dp_batch_read(int fd, struct xlb_dp_batch *b, const __u32 *cursor, __u32 *next,
		      __u32 *count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err;

	for (;;) {
		err = batch_grow(b, b->cap ? b->cap : BATCH_ENTRIES);
		if (err)
			return err;
		*count = b->cap;
		err = bpf_map_lookup_batch(fd, (void *)cursor, next, b->keys, b->vals, count, &opts)
			  ? -errno
			  : 0;
		/* One bucket holds more entries than the buffer: grow it. */
		if (err == -ENOSPC && b->cap < BATCH_MAX) {
			err = batch_grow(b, b->cap * 2);
			if (err)
				return err;
			continue;
		}
		break;
	}
	if (err == -ENOENT)
		return 1;
	return err;
}

/* One batch of the walk. Returns 1 at the end of the table, 0 when more
 * remains, or a negative errno. */
static int tally_batch(struct xlb_dp *dp, struct xlb_dp_tally *t)
{
	__u32 count, next;
	int ret = xlb_dp_batch_read(map_fd(dp->skel->maps.xlb_conns), &t->buf,
				    t->started ? &t->cursor : NULL, &next, &count);

	if (ret < 0)
		return ret;
	t->partial += count;
	t->cursor = next;
	t->started = 1;
	return ret;
}

static void tally_finish(struct xlb_dp *dp, struct xlb_dp_tally *t)
{
	__u64 misses;

	t->running = 0;
	t->have = 1;
	t->entries = t->partial;
	t->done_us = mono_us();
	t->duration_us = t->done_us - t->start_us;
	t->exact = !conn_misses(dp, &misses) && misses == t->misses;
	/* Under churn the walk may count an entry before its eviction and
	 * its replacement after: more than the table ever held at once. */
	if (t->entries > dp->max_conns) {
		t->entries = dp->max_conns;
		t->exact = 0;
	}
}

static int tally_start(struct xlb_dp *dp, struct xlb_dp_tally *t)
{
	int err = conn_misses(dp, &t->misses);

	if (err)
		return err;
	t->running = 1;
	t->started = 0;
	t->partial = 0;
	t->steps = 0;
	t->start_us = mono_us();
	return 0;
}

int xlb_dp_conn_tally_step(struct xlb_dp *dp, unsigned int budget_us)
{
	struct xlb_dp_tally *t = &dp->tally;
	long long end = mono_us() + budget_us;
	int ret;

	if (!t->running)
		return 0;
	t->steps++;
	do {
		ret = tally_batch(dp, t);
		if (ret < 0) {
			t->running = 0;
			return ret;
		}
		if (ret) {
			tally_finish(dp, t);
			return 0;
		}
	} while (mono_us() < end);
	return 1;
}

int xlb_dp_conn_tally_pending(const struct xlb_dp *dp)
{
	return dp->tally.running;
}

int xlb_dp_conn_tally(struct xlb_dp *dp, unsigned int budget_us, struct xlb_conn_tally *out)
{
	struct xlb_dp_tally *t = &dp->tally;
	long long now = mono_us();
	int err = 0;

	/* A new count once the last one has rested as long as it ran: a
	 * client polling stats in a loop costs xlbd at most half its time. */
	if (!t->running && (!t->have || now - t->done_us >= t->duration_us)) {
		err = tally_start(dp, t);
		if (!err)
			err = xlb_dp_conn_tally_step(dp, budget_us);
		if (err > 0)
			err = 0; /* the loop runs the rest */
	}
	memset(out, 0, sizeof(*out));
	out->counting = t->running;
	if (!t->have)
		return err;
	out->have = 1;
	out->entries = t->entries;
	out->exact = t->exact;
	out->fresh = t->done_us >= now;
	out->age_ms = (mono_us() - t->done_us) / 1000;
	return err;
}

int xlb_dp_conn_count(struct xlb_dp *dp, __u64 *count)
{
	struct xlb_dp_tally *t = &dp->tally;
	int err;

	if (t->running)
		return -EBUSY;
	err = tally_start(dp, t);
	if (err)
		return err;
	/* A step returns 1 while entries remain (a full table on a loaded
	 * machine takes more than one budget): go on until 0 or an error. */
	do
		err = xlb_dp_conn_tally_step(dp, 1000000);
	while (err == 1);
	*count = t->entries;
	return err;
}

int xlb_dp_conn_table_fd(struct xlb_dp *dp, enum xlb_dp_conn_table table)
{
	return map_fd(table == XLB_DP_CONNS_NEW ? dp->skel->maps.xlb_conns_new
						: dp->skel->maps.xlb_conns);
}

int xlb_dp_conn_del(struct xlb_dp *dp, enum xlb_dp_conn_table table, const struct xlb_flow *flow)
{
	int err = check(bpf_map_delete_elem(xlb_dp_conn_table_fd(dp, table), flow));

	return err == -ENOENT ? 0 : err;
}

int xlb_dp_backend_conns_get(struct xlb_dp *dp, __u32 id, __s64 *active)
{
	struct xlb_backend_conns v;
	int err;

	if (id >= dp->max_backends)
		return -ERANGE;
	err = check(bpf_map_lookup_elem(map_fd(dp->skel->maps.xlb_backend_conns), &id, &v));
	*active = err ? 0 : v.active;
	return err;
}

int xlb_dp_backend_conns_add(struct xlb_dp *dp, __u32 id, __s64 delta)
{
	int fd = map_fd(dp->skel->maps.xlb_backend_conns);
	struct xlb_backend_conns v;

	if (id >= dp->max_backends)
		return -ERANGE;
	if (bpf_map_lookup_elem(fd, &id, &v))
		return -errno;
	v.active += delta;
	return check(bpf_map_update_elem(fd, &id, &v, BPF_EXIST));
}

int xlb_dp_conn_walk(struct xlb_dp *dp, unsigned int budget_us,
		     int (*cb)(const struct xlb_flow *, const struct xlb_conn *, void *), void *ctx,
		     __u64 *scanned, int *complete)
{
	return xlb_dp_conn_walk_table(dp, XLB_DP_CONNS, budget_us, cb, ctx, scanned, complete);
}

int xlb_dp_conn_walk_table(struct xlb_dp *dp, enum xlb_dp_conn_table table, unsigned int budget_us,
			   int (*cb)(const struct xlb_flow *, const struct xlb_conn *, void *),
			   void *ctx, __u64 *scanned, int *complete)
{
	int fd = xlb_dp_conn_table_fd(dp, table), started = 0, ret = 0;
	long long end = mono_us() + budget_us;
	struct xlb_dp_batch b = {0};
	__u32 cursor = 0, next, count;

	*scanned = 0;
	*complete = 0;
	for (;;) {
		ret = xlb_dp_batch_read(fd, &b, started ? &cursor : NULL, &next, &count);
		if (ret < 0)
			break;
		for (__u32 i = 0; i < count; i++)
			if (cb(&b.keys[i], &b.vals[i], ctx)) {
				ret = 0;
				goto out;
			}
		*scanned += count;
		if (ret == 1) {
			ret = 0;
			*complete = 1;
			break;
		}
		cursor = next;
		started = 1;
		if (mono_us() >= end)
			break;
	}
out:
	xlb_dp_batch_free(&b);
	return ret;
}
