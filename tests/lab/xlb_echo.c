// SPDX-License-Identifier: GPL-2.0
/* xlb_echo.c: the lab's backend server. Answers every TCP chunk and every UDP
 * datagram with its own name and a newline, so a client can tell which backend
 * the load balancer chose. Single-threaded epoll loop, never blocks.
 */
#define _GNU_SOURCE /* accept4, struct in6_pktinfo */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS  32
#define MAX_NAME   63
#define MAX_EVENTS 256
/* Replies owed to a client that does not read; past this, stop reading from it
 * until it drains, so one slow client cannot make us buffer without end. */
#define MAX_OWED 1024

enum item_kind {
	ITEM_SIGNAL,	 /* the signalfd for SIGTERM/SIGINT */
	ITEM_TCP_LISTEN, /* a listening TCP socket */
	ITEM_UDP,	 /* a bound UDP socket */
	ITEM_TCP_CONN,	 /* an accepted connection */
};

/* One registered file descriptor; epoll's data.ptr points at it. */
struct item {
	enum item_kind kind;
	int fd;
	unsigned int owed; /* TCP_CONN: replies not yet fully sent */
	size_t off;	   /* TCP_CONN: bytes of the current reply already sent */
	uint32_t events;   /* TCP_CONN: the epoll interest currently set */
};

static char reply[MAX_NAME + 2]; /* "NAME\n" */
static size_t reply_len;
static int epfd = -1;
static unsigned long nconns;

static void err(const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xlb-echo -n NAME -p PORT[,PORT...] [-4|-6]\n"
		"  Answers each TCP chunk and each UDP datagram on every PORT with \"NAME\\n\".\n"
		"  -n NAME   name to answer with (1-%d printable characters)\n"
		"  -p PORTS  comma-separated ports (1-65535, at most %d)\n"
		"  -4        IPv4 only    -6  IPv6 only    (default: both, one dual-stack socket)\n"
		"  Exits on SIGTERM or SIGINT.\n",
		MAX_NAME, MAX_PORTS);
}

static int parse_ports(const char *s, unsigned short *ports, int *n)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long v;

		errno = 0;
		v = strtol(tok, &end, 10);
		if (errno || *end || end == tok || v < 1 || v > 65535 || *n >= MAX_PORTS) {
			ret = -EINVAL;
			break;
		}
		ports[(*n)++] = (unsigned short)v;
	}
	if (!*n)
		ret = -EINVAL;
	free(copy);
	return ret;
}

static int valid_name(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > MAX_NAME)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

static struct item *item_new(enum item_kind kind, int fd, uint32_t events)
{
	struct item *it = calloc(1, sizeof(*it));
	struct epoll_event ev = {.events = events};

	if (!it)
		return NULL;
	it->kind = kind;
	it->fd = fd;
	it->events = events;
	ev.data.ptr = it;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(it);
		return NULL;
	}
	return it;
}

static void conn_close(struct item *it)
{
	close(it->fd); /* also removes it from the epoll set */
	free(it);
	nconns--;
}

static int conn_interest(struct item *it, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = it};

	if (it->events == events)
		return 0;
	it->events = events;
	return epoll_ctl(epfd, EPOLL_CTL_MOD, it->fd, &ev);
}

/* Send what is owed; returns -1 when the connection is dead. */
static int conn_flush(struct item *it)
{
	while (it->owed) {
		ssize_t n =
		    send(it->fd, reply + it->off, reply_len - it->off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		it->off += (size_t)n;
		if (it->off == reply_len) {
			it->off = 0;
			it->owed--;
		}
	}
	if (!it->owed)
		return conn_interest(it, EPOLLIN);
	return conn_interest(it, it->owed >= MAX_OWED ? EPOLLOUT : EPOLLIN | EPOLLOUT);
}

static void conn_event(struct item *it, uint32_t events)
{
	char buf[4096];

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		ssize_t n = recv(it->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 ||
		    (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			conn_close(it); /* closed or reset by the client */
			return;
		}
		if (n > 0)
			it->owed++;
	}
	if (conn_flush(it) < 0)
		conn_close(it);
}

static void tcp_accept(struct item *lit)
{
	/* Bounded so that a flood of connections cannot starve the other sockets. */
	for (int i = 0; i < 64; i++) {
		int one = 1;
		int fd = accept4(lit->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				fprintf(stderr, "xlb-echo: accept: %s\n", strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!item_new(ITEM_TCP_CONN, fd, EPOLLIN)) {
			close(fd);
			continue;
		}
		nconns++;
	}
}

/* Build the reply's source-address control message from the received one. The
 * backend holds the VIPs through a local route, not as interface addresses, and
 * the client accepts the reply only from the VIP it sent to (direct server
 * return), so the reply must leave from the address the datagram came to. */
static size_t udp_reply_cmsg(struct msghdr *in, char *out, size_t outlen)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(in); c; c = CMSG_NXTHDR(in, c)) {
		struct cmsghdr *oc = (struct cmsghdr *)out;

		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    outlen >= CMSG_SPACE(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi6_ifindex = 0; /* let the route choose the way back */
			oc->cmsg_level = IPPROTO_IPV6;
			oc->cmsg_type = IPV6_PKTINFO;
			oc->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(oc), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    outlen >= CMSG_SPACE(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			oc->cmsg_level = IPPROTO_IP;
			oc->cmsg_type = IP_PKTINFO;
			oc->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(oc), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static void udp_event(struct item *it)
{
	/* Bounded so that a flood of datagrams cannot starve the other sockets. */
	for (int i = 0; i < 64; i++) {
		char buf[2048];
		union {
			char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				 CMSG_SPACE(sizeof(struct in_pktinfo))];
			struct cmsghdr align;
		} cin, cout;
		struct sockaddr_storage peer;
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr msg = {
		    .msg_name = &peer,
		    .msg_namelen = sizeof(peer),
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = cin.buf,
		    .msg_controllen = sizeof(cin.buf),
		};
		ssize_t n = recvmsg(it->fd, &msg, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue; /* a queued ICMP error of an earlier reply */
		}
		memset(&cout, 0, sizeof(cout));
		iov.iov_base = reply;
		iov.iov_len = reply_len;
		msg.msg_controllen = udp_reply_cmsg(&msg, cout.buf, sizeof(cout.buf));
		msg.msg_control = msg.msg_controllen ? cout.buf : NULL;
		msg.msg_flags = 0;
		if (sendmsg(it->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			fprintf(stderr, "xlb-echo: udp reply: %s\n", strerror(errno));
	}
}

static int open_socket(int family, int type, unsigned short port, int v6only)
{
	int one = 1, fd;
	struct sockaddr_storage ss = {0};
	socklen_t len;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
			goto fail;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_any;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(*a);
	}
	if (type == SOCK_DGRAM) {
		/* IPv6 refuses a reply source that is only covered by a local
		 * route (the VIP) unless the socket may use non-local addresses. */
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
		/* IPv4 datagrams on a dual-stack socket carry IP_PKTINFO. */
		if ((family == AF_INET || !v6only) &&
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 1024) < 0)
		goto fail;
	return fd;
fail:
	len = (socklen_t)-errno;
	close(fd);
	return (int)len;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned short ports[MAX_PORTS];
	const char *name = NULL;
	int nports = 0, only4 = 0, only6 = 0, opt, sfd;
	struct epoll_event events[MAX_EVENTS];
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "n:p:46h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			name = optarg;
			break;
		case 'p':
			if (parse_ports(optarg, ports, &nports) < 0) {
				err("bad port list '%s', expected PORT[,PORT...] with ports "
				    "1-65535 "
				    "(at most %d)",
				    optarg, MAX_PORTS);
				return 2;
			}
			break;
		case '4':
			only4 = 1;
			break;
		case '6':
			only6 = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		err("unexpected argument '%s', every setting is an option", argv[optind]);
		return 2;
	}
	if (!name || !valid_name(name)) {
		err("missing or bad name, -n NAME takes 1-%d printable characters without spaces",
		    MAX_NAME);
		return 2;
	}
	if (!nports) {
		err("missing ports, -p PORT[,PORT...] is required");
		return 2;
	}
	if (only4 && only6) {
		err("-4 and -6 exclude each other, give at most one (default: both)");
		return 2;
	}
	snprintf(reply, sizeof(reply), "%s\n", name);
	reply_len = strlen(reply);
	raise_nofile();

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		err("epoll_create1: %s", strerror(errno));
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || !item_new(ITEM_SIGNAL, sfd, EPOLLIN)) {
		err("signalfd: %s", strerror(errno));
		return 1;
	}

	for (int i = 0; i < nports; i++) {
		static const int types[2] = {SOCK_STREAM, SOCK_DGRAM};

		for (int t = 0; t < 2; t++) {
			int family = only4 ? AF_INET : AF_INET6;
			int fd = open_socket(family, types[t], ports[i], only6);

			if (fd == -EAFNOSUPPORT && !only6) /* a host without IPv6 */
				fd = open_socket(AF_INET, types[t], ports[i], 0);
			if (fd < 0) {
				err("cannot listen on %s port %u: %s", t ? "udp" : "tcp", ports[i],
				    strerror(-fd));
				return 1;
			}
			if (!item_new(t ? ITEM_UDP : ITEM_TCP_LISTEN, fd, EPOLLIN)) {
				err("epoll_ctl: %s", strerror(errno));
				return 1;
			}
		}
	}
	fprintf(stderr, "xlb-echo: %s listening on tcp and udp port", name);
	for (int i = 0; i < nports; i++)
		fprintf(stderr, "%s%u", i ? "," : " ", ports[i]);
	fprintf(stderr, " (%s)\n", only4 ? "IPv4" : only6 ? "IPv6" : "IPv4 and IPv6");

	for (;;) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct item *it = events[i].data.ptr;

			switch (it->kind) {
			case ITEM_SIGNAL:
				fprintf(stderr,
					"xlb-echo: %s exiting on signal, %lu open connections\n",
					name, nconns);
				return 0;
			case ITEM_TCP_LISTEN:
				tcp_accept(it);
				break;
			case ITEM_UDP:
				udp_event(it);
				break;
			case ITEM_TCP_CONN:
				conn_event(it, events[i].events);
				break;
			}
		}
	}
}
