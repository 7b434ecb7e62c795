// SPDX-License-Identifier: GPL-2.0
/* ctl.c: the control socket (see ctl.h). Everything is non-blocking and
 * bounded: request size, words, open connections and the time a client may
 * take, so that no client, however broken or hostile, stalls xlbd. */
#define _GNU_SOURCE /* accept4, struct ucred */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include "ctl.h"
#include "log.h"
#include "netns.h"
#include "xlb.h"

#define TAG_LISTEN	 0
#define TAG_TIMER	 1
#define TAG_CONN	 2 /* + slot */
#define WRITE_TIMEOUT_MS 30000
#define LISTEN_BACKLOG	 1024 /* clients waiting while every slot is taken */

struct ctl_conn {
	int fd;		       /* -1: slot free */
	int writing;	       /* reply queued */
	char *buf;	       /* request, then reply */
	size_t len;	       /* bytes in buf */
	size_t off;	       /* reply bytes sent */
	long long deadline_ms; /* closed when still open after this */
};

struct xlb_ctl {
	int epfd, lfd, tfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	xlb_ctl_handler fn;
	void *ctx;
	struct ctl_conn conns[XLB_CTL_CLIENTS_MAX];
	int paused;		/* every slot taken: lfd out of the epoll set */
	long long last_full_ms; /* rate limit of the "every slot taken" note */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int xlb_ctl_default_path(char *buf, size_t len)
{
	return xlb_netns_scoped_path(XLB_RUN_DIR, XLB_CTL_SOCKET_NAME, buf, len);
}

static int fill_addr(struct sockaddr_un *sa, const char *path, char *err, size_t errlen)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(sa->sun_path))
		return xlb_errf(-ENAMETOOLONG, err, errlen,
				"bad socket path '%s', expected 1-%zu characters", path,
				sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int xlb_ctl_check_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, ret;

	ret = fill_addr(&sa, path, err, errlen);
	if (ret)
		return ret;
	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		return xlb_errf(-errno, err, errlen, "cannot check socket %s: %s", path,
				strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return xlb_errf(-EEXIST, err, errlen,
				"%s exists and is not a socket, expected a free path for -S", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return xlb_errf(-errno, err, errlen, "cannot create a socket: %s", strerror(errno));
	/* Someone answering means another daemon serves this path. */
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return xlb_errf(-EADDRINUSE, err, errlen,
				"control socket %s is in use by a running xlbd, stop it or choose "
				"another path with -S",
				path);
	}
	ret = errno;
	close(fd);
	if (ret != ECONNREFUSED)
		return xlb_errf(-ret, err, errlen, "cannot check socket %s: %s", path,
				strerror(ret));
	pr_info("socket %s: stale (nobody listens), replacing it", path);
	if (unlink(path) && errno != ENOENT)
		return xlb_errf(-errno, err, errlen, "cannot remove stale socket %s: %s", path,
				strerror(errno));
	return 0;
}

static int ep_add(int epfd, int fd, __u32 events, __u64 tag)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag};

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int xlb_ctl_open(const char *path, xlb_ctl_handler fn, void *ctx, struct xlb_ctl **out, char *err,
		 size_t errlen)
{
	struct itimerspec its = {.it_interval = {1, 0}, .it_value = {1, 0}};
	struct sockaddr_un sa;
	struct xlb_ctl *ctl;
	mode_t old_mask;
	int ret;

	ret = fill_addr(&sa, path, err, errlen);
	if (ret)
		return ret;
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	ctl->epfd = ctl->lfd = ctl->tfd = -1;
	for (int i = 0; i < XLB_CTL_CLIENTS_MAX; i++)
		ctl->conns[i].fd = -1;
	ctl->fn = fn;
	ctl->ctx = ctx;
	memcpy(ctl->path, sa.sun_path, sizeof(ctl->path));

	ctl->epfd = epoll_create1(EPOLL_CLOEXEC);
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ctl->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ctl->epfd < 0 || ctl->lfd < 0 || ctl->tfd < 0) {
		ret = xlb_errf(-errno, err, errlen, "cannot create the control socket: %s",
			       strerror(errno));
		goto fail;
	}
	/* The socket file is born 0600 by the umask alone. No chmod after
	 * bind: in a directory others can write, the path may by then name
	 * a symlink to any file, and chmod follows it. */
	old_mask = umask(0177);
	ret = bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	if (ret) {
		xlb_errf(ret, err, errlen, "cannot bind control socket %s: %s", path,
			 strerror(-ret));
		goto fail;
	}
	if (listen(ctl->lfd, LISTEN_BACKLOG) || timerfd_settime(ctl->tfd, 0, &its, NULL)) {
		ret = xlb_errf(-errno, err, errlen, "cannot set up control socket %s: %s", path,
			       strerror(errno));
		unlink(path);
		goto fail;
	}
	ret = ep_add(ctl->epfd, ctl->lfd, EPOLLIN, TAG_LISTEN);
	if (!ret)
		ret = ep_add(ctl->epfd, ctl->tfd, EPOLLIN, TAG_TIMER);
	if (ret) {
		xlb_errf(ret, err, errlen, "cannot watch control socket: %s", strerror(-ret));
		unlink(path);
		goto fail;
	}
	*out = ctl;
	return 0;
fail:
	if (ctl->lfd >= 0)
		close(ctl->lfd);
	if (ctl->tfd >= 0)
		close(ctl->tfd);
	if (ctl->epfd >= 0)
		close(ctl->epfd);
	free(ctl);
	return ret;
}

int xlb_ctl_fd(const struct xlb_ctl *ctl)
{
	return ctl->epfd;
}

/* While every slot is taken, new clients wait in the listen backlog
 * instead of being accepted and dropped: a burst of xlbctl calls queues. */
static void listen_pause(struct xlb_ctl *ctl)
{
	if (ctl->paused)
		return;
	if (epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, ctl->lfd, NULL)) {
		pr_warn("socket %s: cannot pause accepting: %s", ctl->path, strerror(errno));
		return;
	}
	ctl->paused = 1;
	if (now_ms() - ctl->last_full_ms > 1000) {
		pr_info("socket %s: %d clients at once, the next ones wait", ctl->path,
			XLB_CTL_CLIENTS_MAX);
		ctl->last_full_ms = now_ms();
	}
}

static void listen_resume(struct xlb_ctl *ctl)
{
	int ret;

	if (!ctl->paused)
		return;
	ret = ep_add(ctl->epfd, ctl->lfd, EPOLLIN, TAG_LISTEN);
	if (ret) {
		pr_err("socket %s: cannot accept again: %s", ctl->path, strerror(-ret));
		return;
	}
	ctl->paused = 0;
}

static void conn_close(struct xlb_ctl *ctl, struct ctl_conn *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	listen_resume(ctl);
}

/* Sends what it can; closes when done or broken. */
static void conn_write(struct xlb_ctl *ctl, struct ctl_conn *c)
{
	while (c->off < c->len) {
		ssize_t n =
		    send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(ctl, c);
			return;
		}
		c->off += n;
	}
	conn_close(ctl, c);
}

/* The error envelope; usage: the request itself was malformed (xlbctl exits
 * 2 for those, 1 for the rest). */
static json_t *error_reply(int usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *error_reply(int usage, const char *fmt, ...)
{
	char msg[XLB_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Messages quote the offending input, which may be any bytes; JSON
	 * strings must be UTF-8, and a terminal deserves no control codes. */
	for (unsigned char *p = (unsigned char *)msg; *p; p++)
		if (*p < 0x20 || *p >= 0x7f)
			*p = '?';
	return json_pack("{s:s, s:b}", "error", msg, "usage", usage);
}

static void conn_reply(struct xlb_ctl *ctl, struct ctl_conn *c, json_t *reply)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = TAG_CONN + (c - ctl->conns)};
	char *text;

	if (!reply)
		reply = error_reply(0, "xlbd is out of memory");
	text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	json_decref(reply);
	free(c->buf);
	c->buf = NULL;
	if (!text) {
		conn_close(ctl, c);
		return;
	}
	c->len = strlen(text);
	/* One line per reply; json_dumps escapes newlines inside strings. */
	c->buf = realloc(text, c->len + 2);
	if (!c->buf) {
		free(text);
		conn_close(ctl, c);
		return;
	}
	c->buf[c->len++] = '\n';
	c->off = 0;
	c->writing = 1;
	c->deadline_ms = now_ms() + WRITE_TIMEOUT_MS;
	if (epoll_ctl(ctl->epfd, EPOLL_CTL_MOD, c->fd, &ev)) {
		conn_close(ctl, c);
		return;
	}
	conn_write(ctl, c);
}

/* Turns the request bytes into words and hands them to the handler. */
static json_t *handle(struct xlb_ctl *ctl, const char *buf, size_t len)
{
	char *argv[XLB_CTL_ARGS_MAX], err[XLB_ERRLEN];
	json_t *req, *result = NULL;
	json_error_t jerr;
	int usage = 0, ret;
	size_t argc;

	req = json_loadb(buf, len, 0, &jerr);
	if (!req)
		return error_reply(0,
				   "bad request: not JSON (%s), expected a JSON array of "
				   "strings on one line",
				   jerr.text);
	if (!json_is_array(req) || json_array_size(req) > XLB_CTL_ARGS_MAX) {
		json_decref(req);
		return error_reply(0, "bad request: expected a JSON array of at most %d strings",
				   XLB_CTL_ARGS_MAX);
	}
	argc = json_array_size(req);
	for (size_t i = 0; i < argc; i++) {
		json_t *w = json_array_get(req, i);

		if (!json_is_string(w) || strlen(json_string_value(w)) != json_string_length(w)) {
			json_decref(req);
			return error_reply(0,
					   "bad request: word %zu is not a string without NUL "
					   "bytes, expected a JSON array of strings",
					   i);
		}
		argv[i] = (char *)json_string_value(w);
	}
	err[0] = 0;
	ret = ctl->fn(ctl->ctx, (int)argc, argv, &result, &usage, err, sizeof(err));
	json_decref(req);
	if (ret) {
		json_decref(result);
		return error_reply(usage, "%s", err[0] ? err : strerror(-ret));
	}
	if (!result)
		return NULL;
	return json_pack("{s:o}", "result", result);
}

static void conn_read(struct xlb_ctl *ctl, struct ctl_conn *c)
{
	for (;;) {
		char *nl;
		ssize_t n;

		if (!c->buf) {
			c->buf = malloc(XLB_CTL_REQ_MAX + 1);
			if (!c->buf) {
				conn_close(ctl, c);
				return;
			}
		}
		if (c->len > XLB_CTL_REQ_MAX) {
			conn_reply(ctl, c,
				   error_reply(0,
					       "request larger than %d bytes, expected one line "
					       "of JSON",
					       XLB_CTL_REQ_MAX));
			return;
		}
		n = recv(c->fd, c->buf + c->len, XLB_CTL_REQ_MAX + 1 - c->len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_close(ctl, c);
			return;
		}
		if (n == 0) {
			/* End of request without a newline; nothing sent: just go. */
			if (!c->len)
				conn_close(ctl, c);
			else
				conn_reply(ctl, c, handle(ctl, c->buf, c->len));
			return;
		}
		nl = memchr(c->buf + c->len, '\n', n);
		c->len += n;
		if (nl) {
			conn_reply(ctl, c, handle(ctl, c->buf, nl - c->buf));
			return;
		}
	}
}

static void accept_all(struct xlb_ctl *ctl)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct ctl_conn *c = NULL;
		int fd;

		for (int i = 0; i < XLB_CTL_CLIENTS_MAX && !c; i++)
			if (ctl->conns[i].fd < 0)
				c = &ctl->conns[i];
		if (!c) {
			listen_pause(ctl);
			return;
		}
		fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pr_warn("socket %s: accept: %s", ctl->path, strerror(errno));
			return;
		}
		/* The file mode already keeps others out; this holds even if
		 * someone loosens it. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
			pr_warn("socket %s: refused a client that is not root", ctl->path);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->deadline_ms = now_ms() + XLB_CTL_TIMEOUT_MS;
		if (ep_add(ctl->epfd, fd, EPOLLIN | EPOLLRDHUP, TAG_CONN + (c - ctl->conns))) {
			close(fd);
			c->fd = -1;
		}
	}
}

static void expire(struct xlb_ctl *ctl)
{
	long long now = now_ms();
	__u64 ticks;

	if (read(ctl->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_debug("socket %s: timer: %s", ctl->path, strerror(errno));
	for (int i = 0; i < XLB_CTL_CLIENTS_MAX; i++) {
		struct ctl_conn *c = &ctl->conns[i];

		if (c->fd >= 0 && now > c->deadline_ms) {
			pr_debug("socket %s: client timed out", ctl->path);
			conn_close(ctl, c);
		}
	}
}

int xlb_ctl_dispatch(struct xlb_ctl *ctl)
{
	struct epoll_event evs[32];
	int n;

	n = epoll_wait(ctl->epfd, evs, 32, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		__u64 tag = evs[i].data.u64;
		struct ctl_conn *c;

		if (tag == TAG_LISTEN) {
			accept_all(ctl);
			continue;
		}
		if (tag == TAG_TIMER) {
			expire(ctl);
			continue;
		}
		if (tag - TAG_CONN >= XLB_CTL_CLIENTS_MAX)
			continue;
		c = &ctl->conns[tag - TAG_CONN];
		if (c->fd < 0)
			continue;
		if (c->writing)
			conn_write(ctl, c);
		else if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			conn_read(ctl, c);
	}
	return 0;
}

void xlb_ctl_flush(struct xlb_ctl *ctl, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	for (;;) {
		int pending = 0;

		for (int i = 0; i < XLB_CTL_CLIENTS_MAX; i++) {
			struct ctl_conn *c = &ctl->conns[i];

			if (c->fd >= 0 && c->writing) {
				conn_write(ctl, c);
				pending += c->fd >= 0;
			}
		}
		if (!pending || now_ms() >= end)
			return;
		poll(NULL, 0, 10);
	}
}

void xlb_ctl_close(struct xlb_ctl *ctl)
{
	if (!ctl)
		return;
	for (int i = 0; i < XLB_CTL_CLIENTS_MAX; i++)
		conn_close(ctl, &ctl->conns[i]);
	close(ctl->lfd);
	close(ctl->tfd);
	close(ctl->epfd);
	if (unlink(ctl->path) && errno != ENOENT)
		pr_warn("socket %s: cannot remove: %s", ctl->path, strerror(errno));
	free(ctl);
}

int xlb_ctl_request(const char *path, int argc, char **argv, json_t **reply, char *err,
		    size_t errlen)
{
	struct timeval tv = {.tv_sec = 600};
	struct sockaddr_un sa;
	json_error_t jerr;
	json_t *req;
	char *text = NULL, *buf = NULL;
	size_t len = 0, cap = 0, off = 0;
	int fd, ret;

	ret = fill_addr(&sa, path, err, errlen);
	if (ret)
		return ret;
	req = json_array();
	for (int i = 0; req && i < argc; i++)
		if (json_array_append_new(req, json_string(argv[i]))) {
			json_decref(req);
			req = NULL;
		}
	if (req)
		text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return xlb_errf(-EINVAL, err, errlen,
				"cannot encode the request (not UTF-8?), expected text words");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = xlb_errf(-errno, err, errlen, "cannot create a socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (errno == ENOENT || errno == ECONNREFUSED)
			xlb_errf(
			    ret, err, errlen,
			    "no xlbd is listening on %s, start xlbd or give its socket with -S",
			    path);
		else if (errno == EACCES || errno == EPERM)
			xlb_errf(ret, err, errlen,
				 "permission denied on %s, xlbctl must run as root", path);
		else
			xlb_errf(ret, err, errlen, "cannot connect to xlbd at %s: %s", path,
				 strerror(errno));
		goto out;
	}
	/* A restore of many backends can take a while; a dead daemon cannot
	 * keep us forever. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	len = strlen(text);
	text[len++] = '\n';
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = xlb_errf(-errno, err, errlen, "cannot send the request to xlbd: %s",
				       strerror(errno));
			goto out;
		}
		off += n;
	}
	len = 0;
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			char *p;

			if (cap >= XLB_CTL_REPLY_MAX) {
				ret = xlb_errf(-E2BIG, err, errlen,
					       "reply from xlbd larger than %d bytes",
					       XLB_CTL_REPLY_MAX);
				goto out;
			}
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				ret = xlb_errf(-ENOMEM, err, errlen, "out of memory");
				goto out;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = xlb_errf(-errno, err, errlen, "no reply from xlbd: %s",
				       strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (!len) {
		ret = xlb_errf(-ECONNRESET, err, errlen,
			       "xlbd closed the connection without a reply");
		goto out;
	}
	*reply = json_loadb(buf, len, 0, &jerr);
	if (!*reply || !json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		ret = xlb_errf(-EBADMSG, err, errlen, "bad reply from xlbd: %s", jerr.text);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return ret;
}
