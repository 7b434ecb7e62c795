// SPDX-License-Identifier: GPL-2.0
/* xlb_probe.c: the test client. Opens many TCP or UDP flows to one address,
 * asks each "hello" and counts which backend (by the name xlb-echo answers)
 * served it. Hold mode keeps TCP connections open across configuration changes
 * and checks on every stdin line whether each still reaches the same backend.
 * Always bounded: every flow has a timeout and the whole run has a deadline.
 */
#define _GNU_SOURCE /* strverscmp */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAME   63
#define MAX_COUNT  100000
#define MAX_EVENTS 256
#define UDP_TRIES  2 /* one send and one retry */
#define MAX_REQUEST 65000
/* "hello\n", or with -l, "hello" padded with dots to the length, then "\n". */
static char request[MAX_REQUEST + 1] = "hello\n";
static size_t request_len = 6;

enum flow_state {
	FLOW_NEW,	 /* not started yet */
	FLOW_CONNECTING, /* TCP connect in flight */
	FLOW_WAITING,	 /* request sent, reply not complete */
	FLOW_OPEN,	 /* hold mode: answered, connection kept open and idle */
	FLOW_OK,	 /* answered and closed */
	FLOW_FAILED,	 /* failed or broken; fd closed */
};

struct flow {
	int fd;
	int slot;	      /* index in the active array while in flight, else -1 */
	unsigned short sport; /* local port, host order (0 while unknown) */
	enum flow_state state;
	int tries;	   /* UDP requests sent for the current ask */
	uint64_t deadline; /* ms, CLOCK_MONOTONIC, of the current attempt */
	size_t len;	   /* bytes in buf */
	char buf[MAX_NAME + 2];
	char name[MAX_NAME + 1];  /* backend of the latest answered ask */
	char first[MAX_NAME + 1]; /* hold mode: backend of the first ask */
	const char *error;	  /* why it failed, for -v and JSON */
	uint64_t start_ms;	  /* when it started, ms after the run began */
};

/* Command-line settings. */
static struct {
	int udp;
	int count;
	int concurrency;
	int sport_base; /* 0: let the kernel choose */
	int timeout_ms;
	int overall_s;
	int json;
	int verbose;
	int hold;
	int gap_ms; /* -i: flow i starts no earlier than i * gap_ms */
	struct sockaddr_storage dst;
	socklen_t dst_len;
	struct sockaddr_storage src; /* family AF_UNSPEC when -s was not given */
} opt = {
    .count = 100,
    .concurrency = 32,
    .timeout_ms = 2000,
    .overall_s = 120,
};

static struct flow *flows;
static uint64_t run_start, next_start_at; /* ms; next_start_at 0: none pending */
static uint64_t run_start_unix;		  /* run_start on the wall clock, for scripts */
static struct flow **active;		  /* flows in FLOW_CONNECTING or FLOW_WAITING */
static int nactive;
static int epfd = -1;
static uint64_t overall_deadline;
/* Hold mode's stdin: lines seen but not yet checked, and end of file. */
static int stdin_pending, stdin_eof, stdin_polled;
static int stdin_marker; /* its address tags stdin in epoll */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* CLOCK_REALTIME in ms: lets a script line our timestamps up with its own. */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage_err(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A runtime error: in JSON mode, stdout carries only JSON. */
static void runtime_err(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opt.json) {
		json_t *o = json_pack("{s:s}", "error", msg);

		if (o) {
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
		}
	}
	fprintf(stderr, "Error: %s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: xlb-probe [-u] [-n COUNT] [-c CONCURRENCY] [-b SPORT_BASE] [-i GAP_MS]\n"
	    "                 [-t TIMEOUT_MS] [-T SECONDS] [-s SOURCE_ADDR] [-l BYTES] [-j] [-v]\n"
	    "                 ADDR PORT\n"
	    "       xlb-probe --hold [-n COUNT] [same options, TCP only] ADDR PORT\n"
	    "  Opens COUNT flows to ADDR PORT, sends \"hello\\n\" on each, reads the reply line\n"
	    "  (the backend's name) and prints how many flows each backend served.\n"
	    "  -u             UDP: each flow its own socket (default TCP)\n"
	    "  -n COUNT       number of flows, 1-%d (default 100)\n"
	    "  -c CONCURRENCY flows in flight at once (default 32)\n"
	    "  -b SPORT_BASE  flow i uses source port SPORT_BASE+i (default: kernel's choice)\n"
	    "  -i GAP_MS      pace: flow i starts no earlier than i*GAP_MS after the first\n"
	    "                 (JSON gives each flow's start_ms), to watch changes over time\n"
	    "  -t TIMEOUT_MS  per-flow timeout (default 2000); UDP resends once after it\n"
	    "  -T SECONDS     deadline of the whole run (default 120)\n"
	    "  -s SOURCE_ADDR bind to this source address\n"
	    "  -l BYTES       UDP: requests of BYTES bytes, 6-%d (\"hello\" padded with dots;\n"
	    "                 larger than the path MTU, the kernel fragments them)\n"
	    "  -j             JSON on stdout: {\"ok\",\"failed\",\"backends\",\"flows\",\n"
	    "                 \"start_unix_ms\"}\n"
	    "  -v             one line per flow: SPORT NAME|FAIL\n"
	    "  --hold         keep the COUNT TCP connections; print \"ready\", then on every\n"
	    "                 stdin line (or at end of input if no line came) ask each again\n"
	    "                 and report kept / moved / broken; exit at end of input\n"
	    "  Exit: 0 every flow answered (hold: every connection kept in every check),\n"
	    "        1 otherwise, 2 usage error.\n",
	    MAX_COUNT, MAX_REQUEST);
}

static int parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* Numeric IPv4 or IPv6 address, IPv6 optionally in brackets. */
static int parse_addr(const char *s, unsigned short port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(s);

	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, s + 1, n - 2);
		buf[n - 2] = '\0';
		s = buf;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

static void raise_nofile(int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < (rlim_t)need + 64 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void active_add(struct flow *f)
{
	if (f->slot >= 0)
		return;
	f->slot = nactive;
	active[nactive++] = f;
}

static void active_del(struct flow *f)
{
	if (f->slot < 0)
		return;
	active[f->slot] = active[--nactive];
	active[f->slot]->slot = f->slot;
	f->slot = -1;
}

static int flow_interest(struct flow *f, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = f};

	return epoll_ctl(epfd, EPOLL_CTL_MOD, f->fd, &ev);
}

/* Close without TIME_WAIT (SO_LINGER 0 sends a reset), so that a later run can
 * reuse the same source ports at once. */
static void flow_close(struct flow *f)
{
	if (f->fd < 0)
		return;
	if (!opt.udp) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(f->fd);
	f->fd = -1;
}

static void flow_fail(struct flow *f, const char *why)
{
	active_del(f);
	flow_close(f);
	f->state = FLOW_FAILED;
	f->error = why;
	f->name[0] = '\0';
}

static void flow_answered(struct flow *f)
{
	active_del(f);
	if (!f->first[0])
		strcpy(f->first, f->name);
	if (opt.hold) {
		f->state = FLOW_OPEN;
		return; /* stays registered for EPOLLIN: notices a reset while idle */
	}
	flow_close(f);
	f->state = FLOW_OK;
}

static int flow_send(struct flow *f)
{
	ssize_t n = send(f->fd, request, request_len, MSG_DONTWAIT | MSG_NOSIGNAL);

	/* A fresh socket's buffer always takes the whole request. */
	if (n != (ssize_t)request_len) {
		flow_fail(f, n < 0 ? strerror(errno) : "short send");
		return -1;
	}
	return 0;
}

/* Send the request on an established connection (or UDP socket) and wait. */
static void flow_ask(struct flow *f)
{
	f->len = 0;
	f->tries = 0;
	f->deadline = now_ms() + (uint64_t)opt.timeout_ms;
	f->state = FLOW_WAITING;
	active_add(f);
	if (flow_interest(f, EPOLLIN) < 0) {
		flow_fail(f, strerror(errno));
		return;
	}
	if (flow_send(f) == 0)
		f->tries = 1;
}

static void flow_learn_sport(struct flow *f)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (f->sport || getsockname(f->fd, (struct sockaddr *)&ss, &len))
		return;
	if (ss.ss_family == AF_INET)
		f->sport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		f->sport = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void flow_start(struct flow *f, int idx)
{
	int one = 1, family = opt.dst.ss_family;
	struct epoll_event ev = {.data.ptr = f};
	struct sockaddr_storage src;
	socklen_t src_len;

	f->fd =
	    socket(family, (opt.udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		flow_fail(f, strerror(errno));
		return;
	}
	if (opt.sport_base || opt.src.ss_family != AF_UNSPEC) {
		if (opt.src.ss_family != AF_UNSPEC) {
			src = opt.src;
		} else {
			memset(&src, 0, sizeof(src));
			src.ss_family = (sa_family_t)family;
		}
		src_len =
		    family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if (opt.sport_base) {
			f->sport = (unsigned short)(opt.sport_base + idx);
			if (family == AF_INET)
				((struct sockaddr_in *)&src)->sin_port = htons(f->sport);
			else
				((struct sockaddr_in6 *)&src)->sin6_port = htons(f->sport);
			setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		} else if (!opt.udp) {
			/* Only the address: the port is picked at connect, per 4-tuple. */
			setsockopt(f->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		}
		if (bind(f->fd, (struct sockaddr *)&src, src_len) < 0) {
			flow_fail(f, strerror(errno));
			return;
		}
	}
	if (!opt.udp)
		setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	ev.events = opt.udp ? EPOLLIN : EPOLLOUT;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, f->fd, &ev) < 0) {
		flow_fail(f, strerror(errno));
		return;
	}
	f->deadline = now_ms() + (uint64_t)opt.timeout_ms;
	active_add(f);
	if (connect(f->fd, (struct sockaddr *)&opt.dst, opt.dst_len) < 0) {
		if (errno != EINPROGRESS || opt.udp) {
			flow_fail(f, strerror(errno));
			return;
		}
		f->state = FLOW_CONNECTING;
		flow_learn_sport(f);
		return;
	}
	flow_learn_sport(f);
	flow_ask(f);
}

/* A reply is one line of printable characters: the backend's name. */
static void flow_got(struct flow *f, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n') {
			if (f->len && f->buf[f->len - 1] == '\r')
				f->len--;
			if (!f->len) {
				flow_fail(f, "empty reply");
				return;
			}
			memcpy(f->name, f->buf, f->len);
			f->name[f->len] = '\0';
			flow_answered(f);
			return;
		}
		if (f->len >= MAX_NAME + 1 || ((c < ' ' || c > '~') && c != '\r')) {
			flow_fail(f, "bad reply");
			return;
		}
		f->buf[f->len++] = c;
	}
	if (opt.udp)
		flow_fail(f, "reply without newline"); /* a datagram is the whole reply */
}

static void flow_event(struct flow *f, uint32_t events)
{
	char buf[256];
	ssize_t n;

	switch (f->state) {
	case FLOW_CONNECTING: {
		int e = 0;
		socklen_t len = sizeof(e);

		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
			e = errno;
		if (e) {
			flow_fail(f, strerror(e));
			return;
		}
		if (!(events & EPOLLOUT))
			return;
		flow_learn_sport(f);
		flow_ask(f);
		return;
	}
	case FLOW_WAITING:
		n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* A connected UDP socket reports "fragmentation needed" /
			 * "packet too big" as EMSGSIZE: the kernel has lowered
			 * the path MTU, and the resend after the timeout is
			 * fragmented to fit, as a real client would retry. */
			if (opt.udp && errno == EMSGSIZE)
				return;
			flow_fail(f, strerror(errno));
			return;
		}
		if (n == 0) {
			flow_fail(f, "closed by peer");
			return;
		}
		flow_got(f, buf, (size_t)n);
		return;
	case FLOW_OPEN:
		/* Idle between checks: only a close or a reset is expected. */
		n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			flow_fail(f, "closed by peer");
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			flow_fail(f, strerror(errno));
		return;
	default:
		return;
	}
}

static void flow_timeout(struct flow *f)
{
	if (opt.udp && f->state == FLOW_WAITING && f->tries < UDP_TRIES) {
		f->deadline = now_ms() + (uint64_t)opt.timeout_ms;
		f->len = 0;
		if (flow_send(f) == 0)
			f->tries++;
		return;
	}
	flow_fail(f, "timeout");
}

static void read_stdin(void)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		stdin_eof = 1;
		if (stdin_polled) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
			stdin_polled = 0;
		}
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\n')
			stdin_pending++;
}

/* Wait for events once, at most until the earliest flow deadline or the
 * overall deadline, then expire what is due. */
static void pump(void)
{
	struct epoll_event events[MAX_EVENTS];
	uint64_t now = now_ms(), wake = overall_deadline;
	int n, timeout;

	if (next_start_at && next_start_at < wake)
		wake = next_start_at;
	for (int i = 0; i < nactive; i++)
		if (active[i]->deadline < wake)
			wake = active[i]->deadline;
	timeout = wake > now ? (int)(wake - now) : 0;
	n = epoll_wait(epfd, events, MAX_EVENTS, timeout);
	for (int i = 0; i < n; i++) {
		if (events[i].data.ptr == &stdin_marker)
			read_stdin();
		else
			flow_event(events[i].data.ptr, events[i].events);
	}
	now = now_ms();
	for (int i = 0; i < nactive;) {
		struct flow *f = active[i];

		if (f->deadline <= now) {
			flow_timeout(f); /* may remove f from the array at i */
			if (i < nactive && active[i] == f)
				i++;
		} else {
			i++;
		}
	}
}

/* Run flows [0, count) with at most `concurrency` in flight. */
static void run_flows(void)
{
	int next = 0;

	run_start = now_ms();
	run_start_unix = wall_ms();
	for (;;) {
		while (nactive < opt.concurrency && next < opt.count) {
			uint64_t at = run_start + (uint64_t)next * opt.gap_ms, now = now_ms();

			if (now < at)
				break;
			flows[next].start_ms = now - run_start;
			flow_start(&flows[next], next);
			next++;
		}
		next_start_at =
		    next < opt.count && opt.gap_ms ? run_start + (uint64_t)next * opt.gap_ms : 0;
		if (!nactive && next == opt.count)
			return;
		if (now_ms() >= overall_deadline) {
			while (nactive)
				flow_fail(active[0], "overall deadline");
			for (; next < opt.count; next++) {
				flows[next].state = FLOW_FAILED;
				flows[next].error = "overall deadline";
			}
			return;
		}
		pump();
	}
}

/* Backend names and how many flows each served, sorted by name. */
struct tally {
	const char *name;
	int n;
};

static int tally_cmp(const void *a, const void *b)
{
	return strverscmp(((const struct tally *)a)->name, ((const struct tally *)b)->name);
}

static int tally_flows(struct tally *t, int *ok, int *failed)
{
	int nt = 0;

	*ok = *failed = 0;
	for (int i = 0; i < opt.count; i++) {
		struct flow *f = &flows[i];
		int j;

		if (f->state != FLOW_OK && f->state != FLOW_OPEN) {
			(*failed)++;
			continue;
		}
		(*ok)++;
		for (j = 0; j < nt && strcmp(t[j].name, f->name); j++)
			;
		if (j == nt)
			t[nt++] = (struct tally){.name = f->name};
		t[j].n++;
	}
	qsort(t, (size_t)nt, sizeof(*t), tally_cmp);
	return nt;
}

static json_t *json_backends(const struct tally *t, int nt)
{
	json_t *o = json_object();

	for (int j = 0; j < nt; j++)
		json_object_set_new(o, t[j].name, json_integer(t[j].n));
	return o;
}

static void json_print(json_t *o)
{
	if (!o) {
		fputs("{\"error\": \"out of memory\"}\n", stdout);
		return;
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

static void report_flows(void)
{
	struct tally *t = calloc((size_t)opt.count, sizeof(*t));
	int nt, ok, failed;

	if (!t) {
		runtime_err("out of memory");
		return;
	}
	nt = tally_flows(t, &ok, &failed);
	if (opt.json) {
		json_t *o = json_object(), *list = json_array();

		json_object_set_new(o, "ok", json_integer(ok));
		json_object_set_new(o, "start_unix_ms", json_integer((json_int_t)run_start_unix));
		json_object_set_new(o, "failed", json_integer(failed));
		json_object_set_new(o, "backends", json_backends(t, nt));
		for (int i = 0; i < opt.count; i++) {
			struct flow *f = &flows[i];
			json_t *e = json_object();
			int good = f->state == FLOW_OK || f->state == FLOW_OPEN;

			json_object_set_new(e, "sport", json_integer(f->sport));
			json_object_set_new(e, "start_ms", json_integer((json_int_t)f->start_ms));
			json_object_set_new(e, "backend",
					    good ? json_string(f->name) : json_null());
			if (!good)
				json_object_set_new(e, "error",
						    json_string(f->error ? f->error : "not run"));
			json_array_append_new(list, e);
		}
		json_object_set_new(o, "flows", list);
		json_print(o);
	} else {
		if (opt.verbose)
			for (int i = 0; i < opt.count; i++)
				printf("%u %s\n", flows[i].sport,
				       flows[i].state == FLOW_OK || flows[i].state == FLOW_OPEN
					   ? flows[i].name
					   : "FAIL");
		for (int j = 0; j < nt; j++)
			printf("%-16s %6d  %5.1f%%\n", t[j].name, t[j].n,
			       100.0 * t[j].n / opt.count);
		printf("ok %d, failed %d\n", ok, failed);
		fflush(stdout);
	}
	free(t);
}

/* Hold mode: ask every open connection again and compare with its first
 * answer. Returns 0 when every connection kept its backend. */
static int hold_check(int check)
{
	struct tally *t = calloc((size_t)opt.count, sizeof(*t));
	int kept = 0, moved = 0, broken = 0, nt, ok, failed;
	json_t *o = NULL, *list = NULL;

	if (!t) {
		runtime_err("out of memory");
		return -1;
	}
	for (int i = 0; i < opt.count; i++)
		if (flows[i].state == FLOW_OPEN)
			flow_ask(&flows[i]);
	while (nactive) {
		if (now_ms() >= overall_deadline) {
			while (nactive)
				flow_fail(active[0], "overall deadline");
			break;
		}
		pump();
	}
	nt = tally_flows(t, &ok, &failed);
	if (opt.json) {
		o = json_object();
		list = json_array();
	}
	for (int i = 0; i < opt.count; i++) {
		struct flow *f = &flows[i];
		const char *verdict;

		if (f->state != FLOW_OPEN) {
			verdict = "broken";
			broken++;
		} else if (strcmp(f->name, f->first)) {
			verdict = "moved";
			moved++;
		} else {
			verdict = "kept";
			kept++;
		}
		if (opt.json) {
			json_t *e = json_object();

			json_object_set_new(e, "sport", json_integer(f->sport));
			json_object_set_new(e, "start_ms", json_integer((json_int_t)f->start_ms));
			json_object_set_new(e, "before",
					    f->first[0] ? json_string(f->first) : json_null());
			json_object_set_new(
			    e, "after", f->state == FLOW_OPEN ? json_string(f->name) : json_null());
			json_object_set_new(e, "state", json_string(verdict));
			json_array_append_new(list, e);
		} else if (opt.verbose) {
			printf("%u %s %s %s\n", f->sport, f->first[0] ? f->first : "-",
			       f->state == FLOW_OPEN ? f->name : "FAIL", verdict);
		}
	}
	if (opt.json) {
		json_object_set_new(o, "check", json_integer(check));
		json_object_set_new(o, "kept", json_integer(kept));
		json_object_set_new(o, "moved", json_integer(moved));
		json_object_set_new(o, "broken", json_integer(broken));
		json_object_set_new(o, "backends", json_backends(t, nt));
		json_object_set_new(o, "conns", list);
		json_print(o);
	} else {
		printf("check %d: kept %d, moved %d, broken %d\n", check, kept, moved, broken);
		fflush(stdout);
	}
	free(t);
	return kept == opt.count ? 0 : 1;
}

static int run_hold(void)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &stdin_marker};
	int checks = 0, rc = 0, ok, failed;
	struct tally *t = calloc((size_t)opt.count, sizeof(*t));

	if (!t) {
		runtime_err("out of memory");
		return 1;
	}
	run_flows();
	tally_flows(t, &ok, &failed);
	free(t);
	if (failed)
		fprintf(stderr, "xlb-probe: %d of %d connections failed to open\n", failed,
			opt.count);
	printf("ready\n");
	fflush(stdout);

	/* Pipes and terminals are polled; a regular file or /dev/null cannot be
	 * (EPERM) and is read directly, which never blocks. */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev) == 0)
		stdin_polled = 1;
	for (;;) {
		if (stdin_pending || (stdin_eof && !checks)) {
			if (stdin_pending)
				stdin_pending--;
			if (hold_check(++checks))
				rc = 1;
			continue;
		}
		if (stdin_eof)
			break;
		if (now_ms() >= overall_deadline) {
			runtime_err("overall deadline of %d s reached while waiting for stdin, "
				    "give a longer -T",
				    opt.overall_s);
			rc = 1;
			break;
		}
		if (stdin_polled)
			pump();
		else
			read_stdin();
	}
	for (int i = 0; i < opt.count; i++)
		flow_close(&flows[i]);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"hold", no_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *src = NULL;
	int c, port, rc;

	while ((c = getopt_long(argc, argv, "un:c:b:i:t:T:s:l:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			opt.udp = 1;
			break;
		case 'n':
			if (parse_int(optarg, 1, MAX_COUNT, &opt.count)) {
				usage_err("bad count '%s', -n takes 1-%d", optarg, MAX_COUNT);
				return 2;
			}
			break;
		case 'c':
			if (parse_int(optarg, 1, 10000, &opt.concurrency)) {
				usage_err("bad concurrency '%s', -c takes 1-10000", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_int(optarg, 1, 65535, &opt.sport_base)) {
				usage_err("bad source port base '%s', -b takes 1-65535", optarg);
				return 2;
			}
			break;
		case 'i':
			if (parse_int(optarg, 0, 60000, &opt.gap_ms)) {
				usage_err("bad gap '%s', -i takes 0-60000 ms", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_int(optarg, 1, 600000, &opt.timeout_ms)) {
				usage_err("bad timeout '%s', -t takes 1-600000 ms", optarg);
				return 2;
			}
			break;
		case 'T':
			if (parse_int(optarg, 1, 86400, &opt.overall_s)) {
				usage_err("bad deadline '%s', -T takes 1-86400 s", optarg);
				return 2;
			}
			break;
		case 's':
			src = optarg;
			break;
		case 'l': {
			int len;

			if (parse_int(optarg, 6, MAX_REQUEST, &len)) {
				usage_err("bad request length '%s', -l takes 6-%d bytes", optarg,
					  MAX_REQUEST);
				return 2;
			}
			memset(request + 5, '.', (size_t)len - 6);
			request[len - 1] = '\n';
			request_len = (size_t)len;
			break;
		}
		case 'j':
			opt.json = 1;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'H':
			opt.hold = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage_err("expected ADDR PORT after the options, got %d arguments", argc - optind);
		usage(stderr);
		return 2;
	}
	if (parse_int(argv[optind + 1], 1, 65535, &port)) {
		usage_err("bad port '%s', PORT is 1-65535", argv[optind + 1]);
		return 2;
	}
	if (parse_addr(argv[optind], (unsigned short)port, &opt.dst, &opt.dst_len)) {
		usage_err("bad address '%s', ADDR is a numeric IPv4 or IPv6 address", argv[optind]);
		return 2;
	}
	if (src) {
		socklen_t len;

		if (parse_addr(src, 0, &opt.src, &len) || opt.src.ss_family != opt.dst.ss_family) {
			usage_err("bad source address '%s', -s takes a numeric address of the "
				  "same family as ADDR",
				  src);
			return 2;
		}
	}
	if (opt.sport_base && opt.sport_base + opt.count - 1 > 65535) {
		usage_err("source ports %d+%d run past 65535, lower -b or -n", opt.sport_base,
			  opt.count);
		return 2;
	}
	if (opt.hold && opt.udp) {
		usage_err("--hold keeps TCP connections, it does not take -u");
		return 2;
	}
	if (request_len != 6 && !opt.udp) {
		usage_err("-l sets the size of UDP requests, it needs -u");
		return 2;
	}

	signal(SIGPIPE, SIG_IGN);
	raise_nofile(opt.hold ? opt.count : opt.concurrency);
	flows = calloc((size_t)opt.count, sizeof(*flows));
	active = calloc((size_t)opt.count, sizeof(*active));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!flows || !active || epfd < 0) {
		runtime_err("cannot set up: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < opt.count; i++) {
		flows[i].fd = -1;
		flows[i].slot = -1;
	}
	overall_deadline = now_ms() + (uint64_t)opt.overall_s * 1000;

	if (opt.hold) {
		rc = run_hold();
	} else {
		int ok = 0;

		run_flows();
		report_flows();
		for (int i = 0; i < opt.count; i++)
			ok += flows[i].state == FLOW_OK;
		rc = ok == opt.count ? 0 : 1;
	}
	free(flows);
	free(active);
	close(epfd);
	return rc;
}
