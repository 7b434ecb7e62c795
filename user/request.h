/* SPDX-License-Identifier: GPL-2.0 */
/* request.h: running one request (the words of a command) against an xlb_lb:
 * parse it with the grammar, change the configuration through the rules, or
 * read the load balancer, and build the JSON result that xlbctl prints. */
#ifndef XLB_REQUEST_H
#define XLB_REQUEST_H

#include <stddef.h>
#include <jansson.h>

struct xlb_lb;

/* What a request runs against. The daemon fills it once. */
struct xlb_req_env {
	struct xlb_lb *lb;
	const char *rules_path; /* restore's default file; NULL: none */
	/* Takes xlb off the interface (xlbd); NULL: detach is refused. */
	int (*detach)(void *ctx, char *err, size_t errlen);
	void *ctx;
	int changed; /* out: the configuration changed, persist it */
};

/* A request whose first word is this previews the change that follows
 * (xlbctl --dry-run): validated, applied to nothing, its effect reported. */
#define XLB_REQ_DRY_RUN "--dry-run"

/* Parses and runs one request. Returns 0 with the result in *result (owned
 * by the caller), or a negative errno with "<what was wrong>, <what is
 * valid>" in err; *usage is set when the request itself was malformed. A
 * change is validated completely before the data plane is touched and
 * rolled back on failure. */
int xlb_req_exec(struct xlb_req_env *env, int argc, char **argv, json_t **result, int *usage,
		 char *err, size_t errlen);

#endif
