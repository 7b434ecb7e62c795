/* SPDX-License-Identifier: GPL-2.0 */
/* cmd.h: the operator's grammar (vip, backend, list, stats, lookup, save,
 * restore, detach), one parser shared by xlbctl, the control socket (through
 * request.h) and the rules file (through rules.h). */
#ifndef XLB_CMD_H
#define XLB_CMD_H

#include <stddef.h>

#include "xlb.h"
#include "health_config.h"
#include "protect.h"
#include "slowstart.h"

#define XLB_CMD_WEIGHT_DEFAULT 1

enum xlb_cmd_op {
	XLB_CMD_HELP,
	XLB_CMD_VIP_ADD,
	XLB_CMD_VIP_SET,
	XLB_CMD_VIP_DEL,
	XLB_CMD_BACKEND_ADD,
	XLB_CMD_BACKEND_SET,
	XLB_CMD_BACKEND_DEL,
	XLB_CMD_LIST,
	XLB_CMD_STATS,
	XLB_CMD_LOOKUP,
	XLB_CMD_EXPLAIN,
	XLB_CMD_TOP,
	XLB_CMD_SAVE,
	XLB_CMD_RESTORE,
	XLB_CMD_DETACH,
	XLB_CMD_CONNS,	     /* conns [VIP] [backend ADDR] [limit N] */
	XLB_CMD_CONNS_FLUSH, /* conns flush VIP */
};

/* Which options a command gave explicitly: set/add keep the rest. */
enum xlb_cmd_given {
	XLB_CMD_G_SCHED = 1 << 0,
	XLB_CMD_G_CONNTRACK = 1 << 1,
	XLB_CMD_G_WEIGHT = 1 << 2,
	XLB_CMD_G_FAIL_OPEN = 1 << 3,
	XLB_CMD_G_CHECK = 1 << 4,
	XLB_CMD_G_ALLOW = 1 << 5,
	XLB_CMD_G_DENY = 1 << 6,
	XLB_CMD_G_LIMIT = 1 << 7,
	XLB_CMD_G_COUNT = 1 << 8,
	XLB_CMD_G_SLOW_START = 1 << 9,
	XLB_CMD_G_VIP = 1 << 10,	 /* conns: a VIP to list the flows of */
	XLB_CMD_G_BACKEND = 1 << 11,	 /* conns: backend ADDR */
	XLB_CMD_G_CONNS_LIMIT = 1 << 12, /* conns: limit N */
};

/* Flows conns lists by default, and at most. */
#define XLB_CMD_CONNS_LIMIT_DEFAULT 100
#define XLB_CMD_CONNS_LIMIT_MAX	    10000

/* One parsed, syntactically valid command. Pointers point into argv. */
struct xlb_cmd {
	enum xlb_cmd_op op;
	__u32 given;		/* enum xlb_cmd_given */
	struct xlb_vip_key vip; /* vip and backend commands, lookup, explain */
	__u32 vip_flags;	/* enum xlb_vip_flags, for the given options */
	union xlb_addr addr;	/* backend address, or lookup's and explain's client */
	__u8 family;		/* family of addr */
	__be16 port;		/* lookup's and explain's client port, network order */
	__u32 weight;		/* backend add/set */
	int fail_close;		/* vip add/set: fail-open off */
	__u32 slow_start;	/* vip/backend add/set: ramp in seconds, 0 = none */
	struct xlb_hc_cfg hc;	/* vip/backend add/set: the check clause */
	struct xlb_protect prot; /* vip add/set: allow, deny, limit (as given) */
	const char *file;	/* restore FILE, NULL: the daemon's rules file */
	const char *topic;	/* help: the object asked about, NULL: all */
	__u32 count;		/* top: intervals to show, 0: until interrupted */
	__u32 limit;		/* conns: flows to show at most */
};

/* 1 for the commands that change the configuration (allowed in rules files). */
int xlb_cmd_mutates(enum xlb_cmd_op op);

/* Parses argv (argv[0] is the object, not a program name). Unique prefixes of
 * objects and verbs are accepted. Returns 0, or -EINVAL with "<what was
 * wrong>, <what is valid>" in err: a usage error. */
/* The schedulers the grammar takes, as its usage lines spell them. */
#define XLB_SCHED_NAMES "maglev|sh|rr|wrr|lc|wlc"
/* The scheduler's name in the grammar for a VIP's enum xlb_vip_flags. */
const char *xlb_sched_name(__u32 vip_flags);

int xlb_cmd_parse(int argc, char **argv, struct xlb_cmd *cmd, char *err, size_t errlen);

/* The grammar, for help output; topic NULL or an object name ("vip"...). */
const char *xlb_cmd_usage(const char *topic);

#endif
