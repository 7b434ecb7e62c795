/* SPDX-License-Identifier: GPL-2.0 */
/* protect.h: a VIP's protection as the operator gives it: source ACLs
 * (allow and deny lists of prefixes) and the limit of new flows per client,
 * with their grammar, their text for save, and their translation into the
 * data plane's entries (xlb_acl, xlb_limits). How the lists combine: the
 * longest prefix that matches a client decides; a VIP with an allow list
 * denies what matches neither list, one with only a deny list allows it. */
#ifndef XLB_PROTECT_H
#define XLB_PROTECT_H

#include <stddef.h>
#include "xlb.h"
#include "addr.h"

/* The text of one list at most: XLB_ACL_MAX_PREFIXES IPv6 prefixes. */
#define XLB_RULES_LIST_MAX 2048

struct xlb_protect {
	struct xlb_prefix allow[XLB_ACL_MAX_PREFIXES]; /* sorted, of the VIP's family */
	struct xlb_prefix deny[XLB_ACL_MAX_PREFIXES];  /* likewise */
	__u32 n_allow, n_deny;			       /* 0: no such list */
	__u32 rate;  /* new flows per second and client, 0: no limit */
	__u32 burst; /* flows a client may open at once (bucket size) */
};

/* "allow" or "deny" (list) with its value at argv[1]: PREFIX[,PREFIX...]
 * of the VIP's family, or "any" (allow) / "none" (deny) for no list. */
int xlb_protect_parse_list(struct xlb_protect *p, int deny, __u8 vip_family, int argc, char **argv,
			   int *consumed, char *err, size_t errlen);
/* "limit N/s [burst B]" or "limit off", from argv[0]. */
int xlb_protect_parse_limit(struct xlb_protect *p, int argc, char **argv, int *consumed, char *err,
			    size_t errlen);
/* Refuses a prefix that is in both lists (which one should win?). */
int xlb_protect_check(const struct xlb_protect *p, const char *vip, char *err, size_t errlen);

int xlb_protect_same(const struct xlb_protect *a, const struct xlb_protect *b);
/* XLB_VIP_F_ACL and XLB_VIP_F_LIMIT as p needs them. */
__u32 xlb_protect_flags(const struct xlb_protect *p);
/* " allow P,P deny P limit N/s burst B": only what is set, each part
 * preceded by a space; "" for none. Returns the length or -ENOSPC. */
int xlb_protect_format(const struct xlb_protect *p, char *buf, size_t len);
/* One list as "P,P" (buf "" when empty). */
void xlb_protect_format_list(const struct xlb_prefix *list, __u32 n, char *buf, size_t len);

/* The VIP's xlb_acl entries (at most XLB_ACL_ENTRIES_PER_VIP): both lists
 * and, with an allow list, the /0 deny of the VIP's family (unless /0 is
 * itself allowed). Returns how many. */
size_t xlb_protect_acl_entries(const struct xlb_protect *p, __u32 vip_id, __u8 family,
			       struct xlb_acl_key *keys, struct xlb_acl *vals);
/* The VIP's xlb_limits entry (all zero: none). */
void xlb_protect_limit(const struct xlb_protect *p, struct xlb_limit *out);

#endif
