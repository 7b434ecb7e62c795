/* SPDX-License-Identifier: GPL-2.0 */
/* rules.h: the configuration as a value (VIPs and backends with their
 * options) that can be read from the load balancer, changed by commands
 * without touching it, printed in the command grammar (save), read from a
 * rules file (restore), applied as a difference, and persisted atomically. */
#ifndef XLB_RULES_H
#define XLB_RULES_H

#include <stddef.h>
#include <stdio.h>

#include "xlb.h"
#include "cmd.h"
#include "health_config.h"
#include "protect.h"

struct xlb_lb;

#define XLB_RULES_LINE_MAX 4096

struct xlb_rules_vip {
	struct xlb_vip_key key; /* network order, as the data plane's key */
	__u32 flags;		/* enum xlb_vip_flags */
	int fail_close;		/* every backend down: drop (fail-open off) */
	struct xlb_hc_cfg hc;	/* check defaults of its backends */
	struct xlb_protect prot; /* source ACLs, limit of new flows */
	__u32 slow_start;	/* seconds, its backends' default; 0: none */
};

struct xlb_rules_backend {
	struct xlb_vip_key vip; /* the VIP it belongs to */
	union xlb_addr addr;	/* network order */
	__u8 family;
	__u32 weight;
	int slow_start;	      /* its own, in seconds; -1: its VIP's */
	struct xlb_hc_cfg hc; /* its own check options */
};

struct xlb_rules {
	struct xlb_rules_vip *vips;	    /* in no particular order until sorted */
	size_t n_vips, cap_vips;	    /* used and allocated entries */
	struct xlb_rules_backend *backends; /* likewise */
	size_t n_backends, cap_backends;    /* used and allocated entries */
	__u32 max_vips, max_backends;	    /* limits, as the data plane was sized */
	struct xlb_config outer;	    /* the daemon's outer sources ... */
	int have_outer;			    /* ... when known: backends are checked */
};

void xlb_rules_init(struct xlb_rules *r, __u32 max_vips, __u32 max_backends);
void xlb_rules_free(struct xlb_rules *r);
int xlb_rules_copy(struct xlb_rules *dst, const struct xlb_rules *src);
/* The outer sources of the load balancer the rules are for (xlbd's
 * xlb_config; NULL: not known): a backend that is one of them, or of a family
 * without one, is refused by xlb_rules_step(). xlb_rules_from_lb() takes
 * them from the load balancer. */
void xlb_rules_set_outer(struct xlb_rules *r, const struct xlb_config *outer);

/* The configuration lb holds now (adopted-but-unconfigured state excluded). */
int xlb_rules_from_lb(struct xlb_rules *r, struct xlb_lb *lb);

/* Applies one changing command (xlb_cmd_mutates) to r alone. Refuses what the
 * load balancer would refuse: unknown or duplicate VIP/backend, family
 * mix-ups, unusable addresses (refusal.h), limits. Returns 0 or -ENOENT, -EEXIST, -ENOSPC, -EINVAL, -ENOMEM
 * with a message in err; r is unchanged on error. */
int xlb_rules_step(struct xlb_rules *r, const struct xlb_cmd *cmd, char *err, size_t errlen);

/* Reads a rules file into r (which should start empty): one command per line,
 * '#' comments, blank lines, "double quotes" group words. Every line is parsed
 * and checked before this returns 0; errors name FILE:LINE. *usage is set
 * when the error is in the syntax of a line. */
int xlb_rules_read(struct xlb_rules *r, const char *path, int *usage, char *err, size_t errlen);

/* Makes lb's configuration equal to target with as few changes as possible
 * (unchanged VIPs and backends are not touched, so their flows continue).
 * On failure tries to return to what lb held before and reports both. */
int xlb_rules_apply(struct xlb_lb *lb, const struct xlb_rules *target, char *err, size_t errlen);

/* The rules as text in the command grammar, one line each, in a canonical
 * order (sorted by VIP, then backend): save prints it, restore reads it.
 * Returns a malloc'ed string, or NULL when out of memory. */
char *xlb_rules_format(const struct xlb_rules *r);

/* Writes text to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync of the directory. */
int xlb_rules_write_file(const char *path, const char *text, char *err, size_t errlen);

/* Splits one line into words (comments, quotes); returns the count or -EINVAL.
 * The words point into line, which is modified. */
int xlb_rules_split(char *line, char **words, int max_words);

#endif
