// SPDX-License-Identifier: GPL-2.0
/* health.c: the engine that runs thousands of TCP/HTTP/UDP backend checks
 * for xlbd from one epoll set, a timerfd and a min-heap (see health.h); what
 * a result means for the backend is health_state.c's to say.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "health.h"

/* Work done by one xlb_hc_dispatch() call, so that a burst (10k backends
 * due together after a stall) cannot hold the daemon's loop for long. */
#define DISPATCH_EVENTS 64
#define DISPATCH_ROUNDS 8
#define DISPATCH_STARTS 256
#define NO_HEAP		SIZE_MAX
/* Holds the HTTP request (at most 322 bytes with path and host at their
 * limits) and then the reply: the status line or a UDP datagram's prefix. */
#define BUF_MAX 352

enum phase {
	PH_IDLE,       /* no socket; due_ms is the next start */
	PH_CONNECTING, /* TCP/HTTP connect in flight */
	PH_SENDING,    /* HTTP request partly written */
	PH_READING,    /* waiting for the HTTP status line or the UDP reply */
};

struct hc_backend {
	__u64 key;
	struct hc_backend *next; /* hash chain, or graveyard list once dead */
	size_t heap_idx;	 /* position in hc->heap, NO_HEAP if unscheduled */
	__u64 due_ms;		 /* heap key: next start, or running check's deadline */
	__u64 next_start_ms;	 /* while running: when the next check is due */
	int fd;			 /* check socket, -1 when idle */
	enum phase phase;
	int dead;		    /* deleted during dispatch; freed at its end */
	struct sockaddr_storage sa; /* backend address and check port */
	socklen_t salen;
	struct xlb_hc_cfg cfg;
	struct xlb_hc_state st;
	xlb_hc_cb cb;
	void *ctx;
	size_t off;	/* bytes of buf sent or received */
	size_t req_len; /* HTTP request length in buf */
	char buf[BUF_MAX];
};

struct xlb_hc {
	int epfd;
	int tfd;
	__u64 armed_ms; /* timerfd expiry, 0 = disarmed */
	struct hc_backend **buckets;
	size_t nbuckets, count;
	struct hc_backend **heap;
	size_t heap_len, heap_cap;
	struct hc_backend *graveyard; /* deleted while dispatching */
	int in_dispatch;
	__u64 rng;
	xlb_hc_log_fn log;
	void *log_ctx;
	__u64 last_local_log_ms; /* rate limit of "out of sockets" lines */
	__u64 local_suppressed;
	struct xlb_hc_counters cnt;
};

/* The default until xlbd routes lines through its own logger. */
static void log_stderr(void *ctx, enum xlb_log_level level, const char *msg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	(void)ctx;
	fprintf(stderr, "%s: health: %s\n", names[(unsigned int)level & 3], msg);
}

static void hc_log(struct xlb_hc *hc, enum xlb_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void hc_log(struct xlb_hc *hc, enum xlb_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!hc->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hc->log(hc->log_ctx, level, msg);
}

/* xorshift64*: jitter needs spread, not secrecy, and must not cost a syscall
 * per check. */
static __u64 rnd(struct xlb_hc *hc)
{
	hc->rng ^= hc->rng >> 12;
	hc->rng ^= hc->rng << 25;
	hc->rng ^= hc->rng >> 27;
	return hc->rng * 0x2545f4914f6cdd1dULL;
}

/* Next start after one at `from`: the interval +-10%, so that backends added
 * together drift apart instead of firing in lockstep forever. */
static __u64 next_start(struct xlb_hc *hc, const struct hc_backend *b, __u64 from)
{
	__u64 iv = b->cfg.interval_ms, spread = iv / 5;

	return from + iv - iv / 10 + rnd(hc) % (spread + 1);
}

/* heap: a binary min-heap of backends by due_ms; O(log n) per reschedule. */
static int heap_less(const struct xlb_hc *hc, size_t a, size_t b)
{
	return hc->heap[a]->due_ms < hc->heap[b]->due_ms;
}

static void heap_swap(struct xlb_hc *hc, size_t a, size_t b)
{
	struct hc_backend *t = hc->heap[a];

	hc->heap[a] = hc->heap[b];
	hc->heap[b] = t;
	hc->heap[a]->heap_idx = a;
	hc->heap[b]->heap_idx = b;
}

static void heap_fix(struct xlb_hc *hc, size_t i)
{
	while (i > 0 && heap_less(hc, i, (i - 1) / 2)) {
		heap_swap(hc, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < hc->heap_len && heap_less(hc, l, m))
			m = l;
		if (r < hc->heap_len && heap_less(hc, r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(hc, i, m);
		i = m;
	}
}

static int heap_reserve(struct xlb_hc *hc)
{
	struct hc_backend **h;
	size_t cap;

	if (hc->heap_len < hc->heap_cap)
		return 0;
	cap = hc->heap_cap ? hc->heap_cap * 2 : 64;
	h = realloc(hc->heap, cap * sizeof(*h));
	if (!h)
		return -ENOMEM;
	hc->heap = h;
	hc->heap_cap = cap;
	return 0;
}

/* Call heap_reserve() first: scheduling itself must not fail. */
static void schedule(struct xlb_hc *hc, struct hc_backend *b, __u64 due_ms)
{
	b->due_ms = due_ms;
	if (b->heap_idx == NO_HEAP) {
		b->heap_idx = hc->heap_len;
		hc->heap[hc->heap_len++] = b;
	}
	heap_fix(hc, b->heap_idx);
}

static void unschedule(struct xlb_hc *hc, struct hc_backend *b)
{
	size_t i = b->heap_idx;

	if (i == NO_HEAP)
		return;
	b->heap_idx = NO_HEAP;
	hc->heap_len--;
	if (i == hc->heap_len)
		return;
	hc->heap[i] = hc->heap[hc->heap_len];
	hc->heap[i]->heap_idx = i;
	heap_fix(hc, i);
}

/* Arms the timerfd for the earliest due time (absolute, so a late dispatch
 * does not push every deadline back). */
static void rearm(struct xlb_hc *hc, __u64 now)
{
	struct itimerspec its = {0};
	__u64 due = hc->heap_len ? hc->heap[0]->due_ms : 0;

	/* An expiry in the past fires at once; re-arm it even if unchanged,
	 * since its earlier expiry was already consumed. */
	if (due == hc->armed_ms && (due > now || !due))
		return;
	if (due) {
		its.it_value.tv_sec = (time_t)(due / 1000);
		its.it_value.tv_nsec = (long)(due % 1000) * 1000000;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	if (!timerfd_settime(hc->tfd, TFD_TIMER_ABSTIME, &its, NULL))
		hc->armed_ms = due;
}

static size_t bucket_of(const struct xlb_hc *hc, __u64 key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (hc->nbuckets - 1);
}

static struct hc_backend *lookup(const struct xlb_hc *hc, __u64 key)
{
	struct hc_backend *b;

	for (b = hc->buckets[bucket_of(hc, key)]; b; b = b->next)
		if (b->key == key)
			return b;
	return NULL;
}

static int grow_buckets(struct xlb_hc *hc)
{
	size_t old_n = hc->nbuckets;
	struct hc_backend **old = hc->buckets, **nb;

	if (hc->count < old_n)
		return 0;
	nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	hc->buckets = nb;
	hc->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		while (old[i]) {
			struct hc_backend *b = old[i];
			size_t j = bucket_of(hc, b->key);

			old[i] = b->next;
			b->next = nb[j];
			nb[j] = b;
		}
	}
	free(old);
	return 0;
}

static void addr_str(const struct hc_backend *b, char *s, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (b->sa.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&b->sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(s, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)&b->sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(s, len, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static void close_check(struct xlb_hc *hc, struct hc_backend *b)
{
	if (b->fd < 0)
		return;
	close(b->fd);
	b->fd = -1;
	b->phase = PH_IDLE;
	hc->cnt.running--;
}

static void log_change(struct xlb_hc *hc, struct hc_backend *b)
{
	const struct xlb_hc_state *st = &b->st;
	char where[INET6_ADDRSTRLEN + 8], why[96];

	addr_str(b, where, sizeof(where));
	if (st->up) {
		hc_log(hc, XLB_LOG_INFO,
		       "%s check of %s: UP after %u success(es) in a row; was down for "
		       "%llu.%01llu s; %llu change(s)",
		       xlb_hc_kind_str(b->cfg.kind), where, st->ok_streak,
		       (unsigned long long)st->prev_ms / 1000,
		       (unsigned long long)st->prev_ms % 1000 / 100,
		       (unsigned long long)st->transitions);
		return;
	}
	switch (st->last) {
	case XLB_HC_TIMEOUT:
		snprintf(why, sizeof(why), "timeout after %u ms", b->cfg.timeout_ms);
		break;
	case XLB_HC_BAD_STATUS:
		snprintf(why, sizeof(why), "bad_status %d, expected %u", st->last_code,
			 b->cfg.status);
		break;
	case XLB_HC_ERROR:
		snprintf(why, sizeof(why), "error: %s", strerror(st->last_code));
		break;
	default:
		snprintf(why, sizeof(why), "%s", xlb_hc_result_str(st->last));
		break;
	}
	hc_log(hc, XLB_LOG_WARN,
	       "%s check of %s: DOWN after %u failure(s) in a row (%s); was up for "
	       "%llu.%01llu s; %llu change(s)",
	       xlb_hc_kind_str(b->cfg.kind), where, st->fail_streak, why,
	       (unsigned long long)st->prev_ms / 1000, (unsigned long long)st->prev_ms % 1000 / 100,
	       (unsigned long long)st->transitions);
}

/* Ends the running check (if any) with a result. Must be the caller's last
 * use of b: the callback may delete it. */
static void finish(struct xlb_hc *hc, struct hc_backend *b, enum xlb_hc_result r, int code)
{
	__u64 now = xlb_hc_now_ms();
	int changed;

	close_check(hc, b);
	hc->cnt.results[r]++;
	b->st.last_code = code;
	changed = xlb_hc_state_update(&b->st, r, b->cfg.rise, b->cfg.fall, now) == 1;
	/* A check that ran until its timeout may end after the jittered next
	 * start; start the next one now rather than in the past. */
	schedule(hc, b, b->next_start_ms > now ? b->next_start_ms : now);
	if (!changed)
		return;
	hc->cnt.transitions++;
	log_change(hc, b);
	if (b->cb)
		b->cb(b->ctx, b->key, &b->st);
}

static enum xlb_hc_result errno_result(int err)
{
	if (err == ECONNREFUSED)
		return XLB_HC_REFUSED;
	if (err == ETIMEDOUT)
		return XLB_HC_TIMEOUT;
	return XLB_HC_ERROR;
}

/* Errors that say this host is short of something, not that the backend is
 * sick: they must not take backends down. */
static int local_error(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM ||
	       err == EADDRNOTAVAIL || err == EAGAIN;
}

static void skip_check(struct xlb_hc *hc, struct hc_backend *b, int err, __u64 now)
{
	close_check(hc, b);
	hc->cnt.skipped++;
	schedule(hc, b, b->next_start_ms);
	if (now - hc->last_local_log_ms < 1000 && hc->last_local_log_ms) {
		hc->local_suppressed++;
		return;
	}
	hc_log(hc, XLB_LOG_ERROR,
	       "check not started: %s (%llu more suppressed); raise the fd limit or "
	       "lengthen intervals",
	       strerror(err), (unsigned long long)hc->local_suppressed);
	hc->last_local_log_ms = now;
	hc->local_suppressed = 0;
}

static int watch(struct xlb_hc *hc, struct hc_backend *b, __u32 events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = b};

	return epoll_ctl(hc->epfd, op, b->fd, &ev) ? -errno : 0;
}

/* The HTTP request. HTTP/1.0 with Connection: close so that no server keeps
 * the socket for keep-alive; Host defaults to the address the check dials. */
static void build_request(struct hc_backend *b)
{
	char host[XLB_HC_STR_MAX + INET6_ADDRSTRLEN + 8];
	int n;

	if (b->cfg.host[0]) {
		snprintf(host, sizeof(host), "%s", b->cfg.host);
	} else {
		addr_str(b, host, sizeof(host));
		/* :80 is implied, and some servers match Host literally */
		if (b->cfg.port == 80)
			*strrchr(host, ':') = '\0';
	}
	n = snprintf(b->buf, sizeof(b->buf),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: xlb-health\r\n"
		     "Connection: close\r\n\r\n",
		     b->cfg.path, host);
	b->req_len = n < (int)sizeof(b->buf) ? (size_t)n : sizeof(b->buf) - 1;
	b->off = 0;
}

/* Parses "HTTP/x.y NNN ..." at the start of buf[0..n). Returns the status,
 * or -1 when this is not an HTTP status line. */
static int http_status(const char *s, size_t n)
{
	size_t i = 5;

	if (n < 12 || memcmp(s, "HTTP/", 5))
		return -1;
	while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
		i++;
	if (i == 5 || i + 4 > n || s[i] != ' ')
		return -1;
	i++;
	for (size_t j = i; j < i + 3; j++)
		if (s[j] < '0' || s[j] > '9')
			return -1;
	if (i + 3 < n && s[i + 3] != ' ' && s[i + 3] != '\r' && s[i + 3] != '\n')
		return -1;
	return (s[i] - '0') * 100 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
}

static void http_done(struct xlb_hc *hc, struct hc_backend *b)
{
	int status = http_status(b->buf, b->off);

	if (status < 0)
		finish(hc, b, XLB_HC_BAD_REPLY, 0);
	else
		finish(hc, b, status == b->cfg.status ? XLB_HC_OK : XLB_HC_BAD_STATUS, status);
}

static void on_send(struct xlb_hc *hc, struct hc_backend *b)
{
	while (b->off < b->req_len) {
		ssize_t n = send(b->fd, b->buf + b->off, b->req_len - b->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				if (b->phase != PH_SENDING) {
					b->phase = PH_SENDING;
					if (watch(hc, b, EPOLLOUT, EPOLL_CTL_MOD))
						finish(hc, b, XLB_HC_ERROR, errno);
				}
				return;
			}
			finish(hc, b, errno_result(errno), errno);
			return;
		}
		b->off += (size_t)n;
	}
	b->phase = PH_READING;
	b->off = 0;
	if (watch(hc, b, EPOLLIN, EPOLL_CTL_MOD))
		finish(hc, b, XLB_HC_ERROR, errno);
}

static void on_connect(struct xlb_hc *hc, struct hc_backend *b)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(b->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		finish(hc, b, errno_result(err), err);
		return;
	}
	if (b->cfg.kind == XLB_HC_TCP) {
		finish(hc, b, XLB_HC_OK, 0);
		return;
	}
	build_request(b);
	on_send(hc, b);
}

static void on_read(struct xlb_hc *hc, struct hc_backend *b)
{
	ssize_t n = recv(b->fd, b->buf + b->off, sizeof(b->buf) - 1 - b->off, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		finish(hc, b, errno_result(errno), errno);
		return;
	}
	if (b->cfg.kind == XLB_HC_UDP) {
		/* One datagram is the whole answer. */
		int ok = (size_t)n >= b->cfg.expect_len &&
			 !memcmp(b->buf, b->cfg.expect, b->cfg.expect_len);

		finish(hc, b, ok ? XLB_HC_OK : XLB_HC_BAD_REPLY, 0);
		return;
	}
	b->off += (size_t)n;
	/* Only the status line matters: decide once it is complete, the
	 * buffer is full or the server closed. */
	if (!n || memchr(b->buf, '\n', b->off) || b->off == sizeof(b->buf) - 1)
		http_done(hc, b);
}

static void on_io(struct xlb_hc *hc, struct hc_backend *b)
{
	if (b->dead || b->fd < 0)
		return;
	switch (b->phase) {
	case PH_CONNECTING:
		on_connect(hc, b);
		break;
	case PH_SENDING:
		on_send(hc, b);
		break;
	case PH_READING:
		on_read(hc, b);
		break;
	case PH_IDLE:
		break;
	}
}

static void start_check(struct xlb_hc *hc, struct hc_backend *b, __u64 now)
{
	int udp = b->cfg.kind == XLB_HC_UDP;
	int fd, err;

	b->next_start_ms = next_start(hc, b, now);
	fd = socket(b->sa.ss_family,
		    (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		skip_check(hc, b, errno, now);
		return;
	}
	b->fd = fd;
	b->off = 0;
	hc->cnt.running++;
	if (!udp) {
		/* Close with RST: the checker would otherwise keep one
		 * TIME_WAIT socket per check for a minute, 60k of them for
		 * 1000 backends, and run out of local ports. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	/* A connect that completes at once (loopback) still reports EPOLLOUT,
	 * so both outcomes continue in on_connect(). */
	err = connect(fd, (struct sockaddr *)&b->sa, b->salen) ? errno : 0;
	if (!err || err == EINPROGRESS) {
		b->phase = udp ? PH_READING : PH_CONNECTING;
		err = -watch(hc, b, udp ? EPOLLIN : EPOLLOUT, EPOLL_CTL_ADD);
	}
	if (!err && udp && send(fd, b->cfg.send, b->cfg.send_len, MSG_NOSIGNAL) < 0)
		err = errno;
	if (err && local_error(err)) {
		skip_check(hc, b, err, now);
		return;
	}
	hc->cnt.started++;
	if (err) {
		finish(hc, b, errno_result(err), err);
		return;
	}
	schedule(hc, b, now + b->cfg.timeout_ms);
}

/* Starts may run up to 1% of their interval early (10 ms at most): the
 * schedule is jittered by +-10% anyway, and it lets one wakeup start the
 * checks due in the next few milliseconds instead of waking for each. A
 * timeout is never cut short. */
static int due(const struct hc_backend *b, __u64 now)
{
	__u64 slack = b->fd >= 0 ? 0 : b->cfg.interval_ms / 100;

	return b->due_ms <= now + (slack < 10 ? slack : 10);
}

static void run_timers(struct xlb_hc *hc, __u64 now)
{
	int budget = DISPATCH_STARTS;

	while (hc->heap_len && due(hc->heap[0], now) && budget-- > 0) {
		struct hc_backend *b = hc->heap[0];

		if (b->fd >= 0)
			finish(hc, b, XLB_HC_TIMEOUT, 0);
		else
			start_check(hc, b, now);
	}
}

static void free_graveyard(struct xlb_hc *hc)
{
	while (hc->graveyard) {
		struct hc_backend *b = hc->graveyard;

		hc->graveyard = b->next;
		free(b);
	}
}

int xlb_hc_dispatch(struct xlb_hc *hc)
{
	struct epoll_event ev[DISPATCH_EVENTS];
	int ret = 0;

	hc->in_dispatch = 1;
	for (int round = 0; round < DISPATCH_ROUNDS; round++) {
		int n = epoll_wait(hc->epfd, ev, DISPATCH_EVENTS, 0);

		if (n < 0) {
			if (errno != EINTR)
				ret = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr) {
				__u64 expirations;
				ssize_t r;

				/* Only clears readiness; the heap says what is due. */
				r = read(hc->tfd, &expirations, sizeof(expirations));
				(void)r;
				continue;
			}
			on_io(hc, ev[i].data.ptr);
		}
		if (n < DISPATCH_EVENTS)
			break;
	}
	run_timers(hc, xlb_hc_now_ms());
	rearm(hc, xlb_hc_now_ms());
	hc->in_dispatch = 0;
	free_graveyard(hc);
	return ret;
}

struct xlb_hc *xlb_hc_new(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	struct xlb_hc *hc = calloc(1, sizeof(*hc));

	if (!hc)
		return NULL;
	hc->epfd = epoll_create1(EPOLL_CLOEXEC);
	hc->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	hc->nbuckets = 64;
	hc->buckets = calloc(hc->nbuckets, sizeof(*hc->buckets));
	if (hc->epfd < 0 || hc->tfd < 0 || !hc->buckets ||
	    epoll_ctl(hc->epfd, EPOLL_CTL_ADD, hc->tfd, &ev)) {
		int err = errno;

		xlb_hc_free(hc);
		errno = err;
		return NULL;
	}
	if (getrandom(&hc->rng, sizeof(hc->rng), GRND_NONBLOCK) != sizeof(hc->rng))
		hc->rng = xlb_hc_now_ms() ^ ((__u64)getpid() << 32);
	hc->rng |= 1; /* xorshift must not start at 0 */
	hc->log = log_stderr;
	return hc;
}

void xlb_hc_free(struct xlb_hc *hc)
{
	if (!hc)
		return;
	for (size_t i = 0; hc->buckets && i < hc->nbuckets; i++) {
		while (hc->buckets[i]) {
			struct hc_backend *b = hc->buckets[i];

			hc->buckets[i] = b->next;
			if (b->fd >= 0)
				close(b->fd);
			free(b);
		}
	}
	free_graveyard(hc);
	free(hc->buckets);
	free(hc->heap);
	if (hc->tfd >= 0)
		close(hc->tfd);
	if (hc->epfd >= 0)
		close(hc->epfd);
	free(hc);
}

void xlb_hc_set_log(struct xlb_hc *hc, xlb_hc_log_fn fn, void *ctx)
{
	hc->log = fn;
	hc->log_ctx = ctx;
}

int xlb_hc_fd(const struct xlb_hc *hc)
{
	return hc->epfd;
}

static void set_port(struct hc_backend *b)
{
	if (b->sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&b->sa)->sin6_port = htons(b->cfg.port);
	else
		((struct sockaddr_in *)&b->sa)->sin_port = htons(b->cfg.port);
}

/* First check at a random point within one interval, so that backends added
 * together (a restart restores thousands) spread over the interval. */
static void schedule_first(struct xlb_hc *hc, struct hc_backend *b)
{
	if (b->cfg.kind == XLB_HC_NONE) {
		unschedule(hc, b);
		return;
	}
	schedule(hc, b, xlb_hc_now_ms() + rnd(hc) % b->cfg.interval_ms);
	rearm(hc, xlb_hc_now_ms());
}

int xlb_hc_add(struct xlb_hc *hc, __u64 key, int family, const void *addr,
	       const struct xlb_hc_cfg *cfg, xlb_hc_cb cb, void *ctx)
{
	struct hc_backend *b;
	size_t i;

	if (!addr || !cfg || !xlb_hc_cfg_valid(cfg))
		return -EINVAL;
	if (family == XLB_AF_INET)
		family = AF_INET;
	else if (family == XLB_AF_INET6)
		family = AF_INET6;
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (lookup(hc, key))
		return -EEXIST;
	if (grow_buckets(hc) || heap_reserve(hc))
		return -ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->key = key;
	b->fd = -1;
	b->heap_idx = NO_HEAP;
	b->cfg = *cfg;
	b->cb = cb;
	b->ctx = ctx;
	b->sa.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		memcpy(&((struct sockaddr_in *)&b->sa)->sin_addr, addr, 4);
		b->salen = sizeof(struct sockaddr_in);
	} else {
		memcpy(&((struct sockaddr_in6 *)&b->sa)->sin6_addr, addr, 16);
		b->salen = sizeof(struct sockaddr_in6);
	}
	set_port(b);
	xlb_hc_state_init(&b->st, xlb_hc_now_ms());
	i = bucket_of(hc, key);
	b->next = hc->buckets[i];
	hc->buckets[i] = b;
	hc->count++;
	hc->cnt.backends++;
	schedule_first(hc, b);
	return 0;
}

int xlb_hc_update(struct xlb_hc *hc, __u64 key, const struct xlb_hc_cfg *cfg)
{
	struct hc_backend *b = lookup(hc, key);

	if (!b)
		return -ENOENT;
	if (!cfg || !xlb_hc_cfg_valid(cfg))
		return -EINVAL;
	if (xlb_hc_cfg_same(&b->cfg, cfg))
		return 0;
	if (heap_reserve(hc))
		return -ENOMEM;
	close_check(hc, b);
	b->cfg = *cfg;
	set_port(b);
	schedule_first(hc, b);
	if (cfg->kind == XLB_HC_NONE) {
		int was_up = b->st.up;
		__u64 transitions = b->st.transitions, since = b->st.since_ms;
		__u64 now = xlb_hc_now_ms();

		/* Unchecked means trusted: forget the streaks, keep the count. */
		xlb_hc_state_init(&b->st, since);
		b->st.transitions = transitions;
		if (!was_up) {
			char where[INET6_ADDRSTRLEN + 8];

			b->st.prev_ms = now - since;
			b->st.since_ms = now;
			b->st.transitions++;
			hc->cnt.transitions++;
			addr_str(b, where, sizeof(where));
			hc_log(hc, XLB_LOG_INFO,
			       "check of %s turned off: UP; was down for %llu.%01llu s", where,
			       (unsigned long long)b->st.prev_ms / 1000,
			       (unsigned long long)b->st.prev_ms % 1000 / 100);
			if (b->cb)
				b->cb(b->ctx, b->key, &b->st);
		}
	}
	return 0;
}

int xlb_hc_mark_down(struct xlb_hc *hc, __u64 key)
{
	struct hc_backend *b = lookup(hc, key);

	if (!b)
		return -ENOENT;
	if (b->cfg.kind == XLB_HC_NONE)
		return -EINVAL;
	b->st.up = 0;
	b->st.ok_streak = 0;
	b->st.fail_streak = 0;
	b->st.since_ms = xlb_hc_now_ms();
	return 0;
}

int xlb_hc_del(struct xlb_hc *hc, __u64 key)
{
	struct hc_backend **pp = &hc->buckets[bucket_of(hc, key)], *b;

	while (*pp && (*pp)->key != key)
		pp = &(*pp)->next;
	b = *pp;
	if (!b)
		return -ENOENT;
	*pp = b->next;
	hc->count--;
	hc->cnt.backends--;
	close_check(hc, b);
	unschedule(hc, b);
	if (hc->in_dispatch) {
		/* epoll_wait may have returned an event for it in this batch. */
		b->dead = 1;
		b->next = hc->graveyard;
		hc->graveyard = b;
	} else {
		free(b);
	}
	return 0;
}

int xlb_hc_get(const struct xlb_hc *hc, __u64 key, struct xlb_hc_state *out)
{
	const struct hc_backend *b = lookup(hc, key);

	if (!b)
		return -ENOENT;
	*out = b->st;
	return 0;
}

void xlb_hc_counters_get(const struct xlb_hc *hc, struct xlb_hc_counters *out)
{
	*out = hc->cnt;
}
