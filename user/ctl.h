/* SPDX-License-Identifier: GPL-2.0 */
/* ctl.h: xlbd's control socket and xlbctl's side of it. A UNIX stream socket,
 * mode 0600, root only; one request per connection: a JSON array of words on
 * one line, answered by one JSON object on one line. */
#ifndef XLB_CTL_H
#define XLB_CTL_H

#include <stddef.h>
#include <jansson.h>

/* The default socket: XLB_RUN_DIR/xlbd.sock in the initial network
 * namespace, XLB_RUN_DIR/netns-ID/xlbd.sock in another (see netns.h), so
 * that xlbd and xlbctl in one namespace meet and other namespaces' don't. */
#define XLB_CTL_SOCKET_NAME "xlbd.sock"
#define XLB_CTL_REQ_MAX	    (64 * 1024)	       /* bytes of one request */
#define XLB_CTL_REPLY_MAX   (64 * 1024 * 1024) /* bytes of one reply (xlbctl) */
#define XLB_CTL_ARGS_MAX    256		       /* words of one request */
#define XLB_CTL_CLIENTS_MAX 64		       /* served at once; more wait to be accepted */
#define XLB_CTL_TIMEOUT_MS  5000	       /* to send a whole request */

struct xlb_ctl;

/* This namespace's default socket path. Returns 0 or a negative errno. */
int xlb_ctl_default_path(char *buf, size_t len);

/* Answers one request (argv: the words): 0 with its result in *result (owned
 * by the socket afterwards), or a negative errno with the message in err and
 * *usage set when the request itself was malformed. The socket wraps either
 * in the reply envelope: {"result": ...} or {"error": "...", "usage": bool}. */
typedef int (*xlb_ctl_handler)(void *ctx, int argc, char **argv, json_t **result, int *usage,
			       char *err, size_t errlen);

/* Checks that path is free: a live socket is refused (another xlbd), a stale
 * one removed. Returns 0, -EADDRINUSE or another negative errno; err says. */
int xlb_ctl_check_path(const char *path, char *err, size_t errlen);

/* Binds and listens on path (mode 0600) and serves requests through fn. */
int xlb_ctl_open(const char *path, xlb_ctl_handler fn, void *ctx, struct xlb_ctl **out, char *err,
		 size_t errlen);
/* The one fd to watch for EPOLLIN (an epoll fd of its own). */
int xlb_ctl_fd(const struct xlb_ctl *ctl);
/* Accepts, reads, answers, writes and times out whatever is ready; never
 * blocks. Returns 0 or a negative errno of the listening socket. */
int xlb_ctl_dispatch(struct xlb_ctl *ctl);
/* Sends the replies still queued, waiting at most timeout_ms (on exit). */
void xlb_ctl_flush(struct xlb_ctl *ctl, int timeout_ms);
/* Closes every connection and the socket, and removes the socket file. */
void xlb_ctl_close(struct xlb_ctl *ctl);

/* xlbctl: sends argv to the daemon at path and waits for its reply. Returns 0
 * with *reply set, or a negative errno with a message in err. */
int xlb_ctl_request(const char *path, int argc, char **argv, json_t **reply, char *err,
		    size_t errlen);

#endif
