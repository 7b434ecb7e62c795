// SPDX-License-Identifier: GPL-2.0
/* sweep.c: expiry and recount of the connection tables (sweep.h). The walk
 * reads each table by batch lookup: its cursor is a hash bucket, which
 * neither an eviction nor the sweep's own deletions move, so each bucket is
 * read once per pass. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sweep.h"
#include "conn_state.h"
#include "dataplane.h"
#include "xlb.skel.h"

struct xlb_sweep {
	struct xlb_dp *dp;
	__u32 n;		      /* backend ids */
	int running;		      /* a pass is under way */
	enum xlb_dp_conn_table table; /* the table it walks now */
	int started;		      /* its first batch of that table is done */
	__u32 cursor;		      /* the next bucket */
	struct xlb_config cfg;	      /* timeouts, read at the start */
	__u32 *gens;		      /* backends' generations at the start */
	__s64 *at_start;	      /* xlb_backend_conns at the start */
	struct xlb_sweep_count *cur;  /* the pass's counts */
	struct xlb_sweep_count *last; /* the last complete pass's */
	struct xlb_sweep_report run;  /* the pass under way */
	struct xlb_sweep_report rep;  /* the last complete one */
	long long start_us;
	struct xlb_dp_batch buf;
};

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

enum xlb_sweep_verdict xlb_sweep_classify(const struct xlb_flow *f, const struct xlb_conn *c,
					  const struct xlb_config *cfg, __u64 now_ns,
					  const __u32 *gens, __u32 n,
					  struct xlb_sweep_count *counts)
{
	if (xlb_conn_expired(f, c, cfg, now_ns))
		return XLB_SWEEP_DELETE;
	if (c->backend_id >= n || gens[c->backend_id] != c->backend_gen)
		return XLB_SWEEP_KEEP;
	if (xlb_conn_is_active(c))
		counts[c->backend_id].active++;
	else
		counts[c->backend_id].inactive++;
	return XLB_SWEEP_KEEP;
}

int xlb_sweep_new(struct xlb_dp *dp, struct xlb_sweep **out)
{
	struct xlb_sweep *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->dp = dp;
	s->n = dp->max_backends;
	s->gens = calloc(s->n, sizeof(*s->gens));
	s->at_start = calloc(s->n, sizeof(*s->at_start));
	s->cur = calloc(s->n, sizeof(*s->cur));
	s->last = calloc(s->n, sizeof(*s->last));
	if (!s->gens || !s->at_start || !s->cur || !s->last) {
		xlb_sweep_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void xlb_sweep_free(struct xlb_sweep *s)
{
	if (!s)
		return;
	free(s->gens);
	free(s->at_start);
	free(s->cur);
	free(s->last);
	xlb_dp_batch_free(&s->buf);
	free(s);
}

int xlb_sweep_due(const struct xlb_sweep *s, long long now_us)
{
	long long rest = s->rep.duration_us * XLB_SWEEP_REST_FACTOR;

	if (rest < XLB_SWEEP_REST_MIN_MS * 1000LL)
		rest = XLB_SWEEP_REST_MIN_MS * 1000LL;
	return !s->running && (!s->rep.have || now_us - s->rep.done_us >= rest);
}

int xlb_sweep_pending(const struct xlb_sweep *s)
{
	return s->running;
}

void xlb_sweep_abort(struct xlb_sweep *s)
{
	s->running = 0;
}

const struct xlb_sweep_count *xlb_sweep_counts(const struct xlb_sweep *s)
{
	return s->rep.have ? s->last : NULL;
}

const struct xlb_sweep_report *xlb_sweep_last(const struct xlb_sweep *s)
{
	return &s->rep;
}

/* Reads n values of an array map in batches (two system calls for 4096
 * ids rather than 4096). */
static int read_array(int fd, __u32 n, void *vals, size_t size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 *keys = calloc(n, sizeof(*keys)), done = 0, cursor = 0, next;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	while (done < n) {
		__u32 count = n - done;

		err = bpf_map_lookup_batch(fd, done ? &cursor : NULL, &next, keys,
					   (char *)vals + done * size, &count, &opts)
			  ? -errno
			  : 0;
		done += count;
		cursor = next;
		if (err == -ENOENT) {
			err = done == n ? 0 : -EIO;
			break;
		}
		if (err)
			break;
	}
	free(keys);
	return err;
}

/* The generations of all backends, and xlb_backend_conns, as the pass
 * begins. */
static int read_backends(struct xlb_sweep *s)
{
	struct xlb_backend *be = calloc(s->n, sizeof(*be));
	int err;

	if (!be)
		return -ENOMEM;
	err = read_array(bpf_map__fd(s->dp->skel->maps.xlb_backends), s->n, be, sizeof(*be));
	for (__u32 id = 0; !err && id < s->n; id++)
		s->gens[id] = be[id].gen;
	free(be);
	_Static_assert(sizeof(struct xlb_backend_conns) == sizeof(__s64), "one counter");
	if (!err)
		err = read_array(bpf_map__fd(s->dp->skel->maps.xlb_backend_conns), s->n,
				 s->at_start, sizeof(*s->at_start));
	return err;
}

int xlb_sweep_start(struct xlb_sweep *s)
{
	long long c0 = cpu_us();
	int err;

	err = xlb_dp_config_get(s->dp, &s->cfg);
	if (!err)
		err = read_backends(s);
	if (err)
		return err;
	memset(s->cur, 0, s->n * sizeof(*s->cur));
	memset(&s->run, 0, sizeof(s->run));
	s->table = XLB_DP_CONNS;
	s->started = 0;
	s->running = 1;
	s->start_us = mono_us();
	s->run.cpu_us = cpu_us() - c0;
	return 0;
}

/* Deletes the batch's expired entries in one system call (the kernel
 * loops), n of them at keys. A key already gone (evicted, or deleted by
 * a flush) stops the kernel's loop: skip it and go on. Returns how many
 * were deleted, or a negative errno. No entry is looked at again first: a
 * packet that came within the slice since the batch was read found the
 * entry expired too, and the data plane re-picked its flow, which it
 * does again at the next packet (sweep.h). */
static long long expire(int fd, struct xlb_flow *keys, __u32 n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	long long deleted = 0;

	while (n) {
		__u32 count = n;

		if (!bpf_map_delete_batch(fd, keys, &count, &opts)) {
			deleted += count;
			break;
		}
		if (errno != ENOENT || count >= n)
			return -errno;
		deleted += count;
		keys += count + 1;
		n -= count + 1;
	}
	return deleted;
}

/* One batch of the table under way. Returns 1 at its end, 0 when more
 * remains, or a negative errno. */
static int sweep_batch(struct xlb_sweep *s)
{
	int fd = xlb_dp_conn_table_fd(s->dp, s->table);
	__u64 now_ns;
	__u32 count, next, n_exp = 0;
	int end = xlb_dp_batch_read(fd, &s->buf, s->started ? &s->cursor : NULL, &next, &count);

	if (end < 0)
		return end;
	now_ns = xlb_conn_now_ns();
	/* The expired keys move to the front of the buffer, in place. */
	for (__u32 i = 0; i < count; i++)
		if (xlb_sweep_classify(&s->buf.keys[i], &s->buf.vals[i], &s->cfg, now_ns, s->gens,
				       s->n, s->cur) == XLB_SWEEP_DELETE)
			s->buf.keys[n_exp++] = s->buf.keys[i];
	if (n_exp) {
		long long ret = expire(fd, s->buf.keys, n_exp);

		if (ret < 0)
			return (int)ret;
		s->run.expired += ret;
	}
	s->run.scanned += count;
	s->cursor = next;
	s->started = 1;
	return end;
}

/* The end of a pass: each backend's value moves by what the walk found it
 * off by at the start (sweep.h: the race). */
static int finish(struct xlb_sweep *s)
{
	struct xlb_sweep_count *t;

	for (__u32 id = 0; id < s->n; id++) {
		__s64 delta = (__s64)s->cur[id].active - s->at_start[id];
		int err;

		if (!delta)
			continue;
		err = xlb_dp_backend_conns_add(s->dp, id, delta);
		if (err)
			return err;
		s->run.corrected++;
		s->run.drift += delta < 0 ? -delta : delta;
	}
	t = s->last;
	s->last = s->cur;
	s->cur = t;
	s->running = 0;
	s->run.have = 1;
	s->run.done_us = mono_us();
	s->run.duration_us = s->run.done_us - s->start_us;
	s->rep = s->run;
	return 0;
}

int xlb_sweep_step(struct xlb_sweep *s, unsigned int budget_us)
{
	long long t0 = mono_us(), c0 = cpu_us(), end = t0 + budget_us, took;
	int ret = 1;

	if (!s->running)
		return 0;
	s->run.slices++;
	do {
		ret = sweep_batch(s);
		if (ret < 0)
			break;
		if (ret && s->table == XLB_DP_CONNS) {
			s->table = XLB_DP_CONNS_NEW;
			s->started = 0;
			ret = 0;
		} else if (ret) {
			break;
		}
	} while (mono_us() < end);
	took = mono_us() - t0;
	if (took > s->run.max_slice_us)
		s->run.max_slice_us = took;
	s->run.cpu_us += cpu_us() - c0;
	if (ret < 0) {
		s->running = 0;
		return ret;
	}
	if (ret) {
		ret = finish(s);
		if (ret < 0) {
			s->running = 0;
			return ret;
		}
		return 0;
	}
	return 1;
}

int xlb_sweep_run(struct xlb_sweep *s)
{
	int err = s->running ? 0 : xlb_sweep_start(s);

	while (err == 0 && s->running)
		err = xlb_sweep_step(s, 1000000);
	return err < 0 ? err : 0;
}
