// SPDX-License-Identifier: GPL-2.0
/* metrics_http.c: libmicrohttpd in its external-polling epoll mode
 * (MHD_USE_EPOLL, no MHD_USE_INTERNAL_POLLING_THREAD): MHD keeps its
 * sockets in an epoll set of its own, whose descriptor the caller watches,
 * and MHD_run() does what is ready without blocking. A slow or stuck client
 * thus never holds up the control socket or the health checks; responses
 * are sent as the socket takes them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "metrics_http.h"
#include "metrics.h"
#include "addr.h"
#include "log.h"

/* Scrapers are few: more concurrent clients than this are refused, so that
 * a flood of connections cannot exhaust xlbd's descriptors. */
#define METRICS_MAX_CONNS 32
/* A client that sends nothing for this long is dropped. */
#define METRICS_CONN_TIMEOUT_S 10

struct xlb_metrics_srv {
	struct MHD_Daemon *mhd;
	int epoll_fd; /* MHD's own epoll set */
	xlb_metrics_render_fn render;
	void *ctx;
};

static int parse_addr(const char *addrport, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char why[XLB_ERRLEN];
	union xlb_addr addr;
	__u8 family;
	__be16 port;

	if (xlb_endpoint_parse(addrport, &addr, &family, &port, why, sizeof(why)))
		return xlb_errf(-EINVAL, err, errlen, "bad --metrics: %s", why);
	memset(ss, 0, sizeof(*ss));
	if (family == XLB_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = port;
		sin->sin_addr.s_addr = addr.v4;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, addr.bytes, 16);
	}
	return 0;
}

int xlb_metrics_addr_check(const char *addrport, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	return parse_addr(addrport, &ss, err, errlen);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, char *body,
			     size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_GET);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result static_reply(struct MHD_Connection *conn, unsigned int status,
				    const char *text)
{
	return reply(conn, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT,
		     "text/plain; charset=utf-8");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_ctx)
{
	struct xlb_metrics_srv *srv = cls;
	char *text = NULL;
	size_t len = 0;
	int ret;

	/* A body (of a refused POST) is read and dropped. */
	if (*req_ctx) {
		*upload_size = 0;
		return MHD_YES;
	}
	*req_ctx = srv;
	if (strcmp(method, MHD_HTTP_METHOD_GET))
		return static_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "method not allowed: only GET /metrics is served\n");
	if (strcmp(url, "/metrics"))
		return static_reply(conn, MHD_HTTP_NOT_FOUND,
				    "not found: the metrics are at /metrics\n");
	ret = srv->render(srv->ctx, &text, &len);
	if (ret) {
		pr_warn("metrics: cannot build a scrape: %s", strerror(-ret));
		return static_reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				    "cannot build the metrics, see xlbd's log\n");
	}
	return reply(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE, XLB_METRICS_CONTENT_TYPE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[XLB_ERRLEN];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	pr_warn("metrics: %s", msg);
}

int xlb_metrics_srv_open(const char *addrport, xlb_metrics_render_fn render, void *ctx,
			 struct xlb_metrics_srv **out, char *err, size_t errlen)
{
	struct xlb_metrics_srv *srv;
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int ret = parse_addr(addrport, &ss, err, errlen);

	if (ret)
		return ret;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	srv->render = render;
	srv->ctx = ctx;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	srv->mhd =
	    MHD_start_daemon(flags, ntohs(((struct sockaddr_in *)&ss)->sin_port), NULL, NULL,
			     on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CONNS,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)METRICS_CONN_TIMEOUT_S,
			     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
	if (!srv->mhd) {
		ret = errno ? -errno : -EADDRNOTAVAIL;
		free(srv);
		return xlb_errf(ret, err, errlen,
				"cannot serve metrics on %s: %s; expected a local address and a "
				"free port",
				addrport, strerror(-ret));
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		xlb_metrics_srv_close(srv);
		return xlb_errf(-EIO, err, errlen,
				"cannot serve metrics on %s: libmicrohttpd gave no epoll "
				"descriptor",
				addrport);
	}
	srv->epoll_fd = info->epoll_fd;
	*out = srv;
	return 0;
}

void xlb_metrics_srv_close(struct xlb_metrics_srv *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->mhd);
	free(srv);
}

int xlb_metrics_srv_fd(const struct xlb_metrics_srv *srv)
{
	return srv->epoll_fd;
}

int xlb_metrics_srv_run(struct xlb_metrics_srv *srv)
{
	return MHD_run(srv->mhd) == MHD_YES ? 0 : -EIO;
}

int xlb_metrics_srv_timeout_ms(struct xlb_metrics_srv *srv)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (MHD_get_timeout(srv->mhd, &t) != MHD_YES)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}
