/* SPDX-License-Identifier: GPL-2.0 */
/* addr.h: text <-> wire form of addresses, VIPs (ADDR:PORT/PROTO) and
 * endpoints (ADDR:PORT), the only place where byte order is converted. */
#ifndef XLB_ADDR_H
#define XLB_ADDR_H

#include <stddef.h>
#include "xlb.h"

/* "[" + the longest inet_ntop text (45, INET6_ADDRSTRLEN less its NUL) +
 * "]:65535/tcp" and a NUL: a VIP printed into it is never cut short. */
#define XLB_ADDR_STRLEN 58

/* "198.18.0.1", "2001:db8::1" or "[2001:db8::1]". Returns 0 or -EINVAL. */
int xlb_addr_parse(const char *text, union xlb_addr *addr, __u8 *family);
/* "ADDR:PORT/PROTO" with PROTO tcp or udp, PORT 0-65535 (0 = all ports). */
int xlb_vip_key_parse(const char *text, struct xlb_vip_key *key, char *err, size_t errlen);
/* "ADDR:PORT" with PORT 1-65535 (IPv6 in brackets). */
int xlb_endpoint_parse(const char *text, union xlb_addr *addr, __u8 *family, __be16 *port,
		       char *err, size_t errlen);

/* An address prefix, ADDR/LEN with the bits beyond LEN zero. */
struct xlb_prefix {
	union xlb_addr addr; /* network order */
	__u8 family;         /* enum xlb_family */
	__u8 len;            /* prefix length: 0-32 (IPv4), 0-128 (IPv6) */
};

/* "198.18.0.0/24", "2001:db8::/64", or an address alone (all its bits).
 * Refuses bits set beyond LEN, naming the prefix that was meant. */
int xlb_prefix_parse(const char *text, struct xlb_prefix *p, char *err, size_t errlen);

/* "PREFIX[,PREFIX...]": up to max prefixes as xlb_prefix_parse takes them,
 * no empty item. Returns how many (at least 1), or -EINVAL / -E2BIG. */
int xlb_prefix_list_parse(const char *text, struct xlb_prefix *out, size_t max, char *err,
			  size_t errlen);

/* Decimal digits only (no sign, space or prefix), min..max. 0 or -EINVAL. */
int xlb_uint_parse(const char *text, __u32 min, __u32 max, __u32 *out);

void xlb_addr_format(const union xlb_addr *addr, __u8 family, char *buf, size_t len);
/* "ADDR/LEN"; buf of XLB_ADDR_STRLEN bytes is enough. */
void xlb_prefix_format(const struct xlb_prefix *p, char *buf, size_t len);
void xlb_vip_key_format(const struct xlb_vip_key *key, char *buf, size_t len);
/* "ADDR:PORT", IPv6 in brackets: the inverse of xlb_endpoint_parse(). */
void xlb_endpoint_format(const union xlb_addr *addr, __u8 family, __be16 port, char *buf,
			 size_t len);
const char *xlb_proto_name(__u8 proto);

#endif
