/* SPDX-License-Identifier: GPL-2.0 */
/* metrics_http.h: the HTTP side of xlbd --metrics: libmicrohttpd without a
 * thread of its own, driven from the caller's event loop, answering
 * GET /metrics with what a render callback builds; 405 to other methods,
 * 404 to other paths. */
#ifndef XLB_METRICS_HTTP_H
#define XLB_METRICS_HTTP_H

#include <stddef.h>

struct xlb_metrics_srv;

/* Builds the body of one scrape: a malloc'ed text the server frees. Returns
 * 0 or a negative errno (the client gets 500). */
typedef int (*xlb_metrics_render_fn)(void *ctx, char **text, size_t *len);

/* Parses "ADDR:PORT" (IPv6 in brackets, PORT 1-65535) without binding:
 * for option checking. 0 or -EINVAL with the reason in err. */
int xlb_metrics_addr_check(const char *addrport, char *err, size_t errlen);
/* Listens on addrport. Returns 0 or a negative errno with err filled. */
int xlb_metrics_srv_open(const char *addrport, xlb_metrics_render_fn render, void *ctx,
			 struct xlb_metrics_srv **out, char *err, size_t errlen);
void xlb_metrics_srv_close(struct xlb_metrics_srv *srv);
/* A descriptor that becomes readable when the server has work: add it to
 * the loop's epoll set and call xlb_metrics_srv_run() then. */
int xlb_metrics_srv_fd(const struct xlb_metrics_srv *srv);
/* Does the work that is ready, never blocking. 0 or a negative errno. */
int xlb_metrics_srv_run(struct xlb_metrics_srv *srv);
/* Milliseconds until xlb_metrics_srv_run() must run even without events
 * (connection timeouts, data still to send), -1 for none. */
int xlb_metrics_srv_timeout_ms(struct xlb_metrics_srv *srv);

#endif
