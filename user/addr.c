// SPDX-License-Identifier: GPL-2.0
/* addr.c: parsing and printing of addresses, VIPs and endpoints. Errors name
 * the bad text and what would be valid. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "addr.h"
#include "log.h"

int xlb_addr_parse(const char *text, union xlb_addr *addr, __u8 *family)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(text);

	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, text + 1, len - 2);
		buf[len - 2] = 0;
		text = buf;
	}
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, &addr->v4) == 1) {
		*family = XLB_AF_INET;
		return 0;
	}
	if (strchr(text, ':') && inet_pton(AF_INET6, text, addr->bytes) == 1) {
		*family = XLB_AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/* Decimal digits only: strtoul() would also take " 80", "+80" and "-0"
 * (which made an all-ports VIP), so no sign, space or base prefix. */
int xlb_uint_parse(const char *text, __u32 min, __u32 max, __u32 *out)
{
	unsigned long long v = 0;

	if (!*text)
		return -EINVAL;
	for (; *text; text++) {
		if (*text < '0' || *text > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(*text - '0');
		if (v > max)
			return -EINVAL;
	}
	if (v < min)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

static int parse_port(const char *text, __u32 min, __be16 *port)
{
	__u32 v;

	if (xlb_uint_parse(text, min, 65535, &v))
		return -EINVAL;
	*port = htons((__u16)v);
	return 0;
}

/* Splits "ADDR:PORT" at the port's colon: the last one, after a ']' for IPv6. */
static int split_host_port(const char *text, char *host, size_t hostlen, const char **port)
{
	const char *colon;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		/* An unbracketed IPv6 address has several colons: ambiguous. */
		if (!colon || strchr(text, ':') != colon)
			return -EINVAL;
	}
	if ((size_t)(colon - text) >= hostlen)
		return -EINVAL;
	memcpy(host, text, colon - text);
	host[colon - text] = 0;
	*port = colon + 1;
	return 0;
}

int xlb_vip_key_parse(const char *text, struct xlb_vip_key *key, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2], portbuf[8];
	const char *port, *slash;

	memset(key, 0, sizeof(*key));
	if (split_host_port(text, host, sizeof(host), &port))
		return xlb_errf(
		    -EINVAL, err, errlen,
		    "bad VIP '%s', expected ADDR:PORT/PROTO, e.g. 198.18.100.1:80/tcp or "
		    "[2001:db8:100::1]:443/udp",
		    text);
	if (xlb_addr_parse(host, &key->addr, &key->family))
		return xlb_errf(-EINVAL, err, errlen,
				"bad VIP address '%s', expected an IPv4 or IPv6 address", host);
	slash = strchr(port, '/');
	if (!slash || (size_t)(slash - port) >= sizeof(portbuf))
		return xlb_errf(-EINVAL, err, errlen,
				"bad VIP '%s', expected ADDR:PORT/PROTO with PROTO tcp or udp",
				text);
	memcpy(portbuf, port, slash - port);
	portbuf[slash - port] = 0;
	if (parse_port(portbuf, 0, &key->port))
		return xlb_errf(-EINVAL, err, errlen,
				"bad port '%s' in VIP '%s', expected 0-65535 (0 = all ports)",
				portbuf, text);
	if (!strcmp(slash + 1, "tcp"))
		key->proto = IPPROTO_TCP;
	else if (!strcmp(slash + 1, "udp"))
		key->proto = IPPROTO_UDP;
	else
		return xlb_errf(-EINVAL, err, errlen,
				"bad protocol '%s' in VIP '%s', expected tcp or udp", slash + 1,
				text);
	return 0;
}

int xlb_endpoint_parse(const char *text, union xlb_addr *addr, __u8 *family, __be16 *port,
		       char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *p;

	if (split_host_port(text, host, sizeof(host), &p) || xlb_addr_parse(host, addr, family))
		return xlb_errf(-EINVAL, err, errlen,
				"bad endpoint '%s', expected ADDR:PORT, e.g. 198.18.1.2:40000 or "
				"[2001:db8:1::2]:40000",
				text);
	if (parse_port(p, 1, port))
		return xlb_errf(-EINVAL, err, errlen, "bad port '%s' in '%s', expected 1-65535", p,
				text);
	return 0;
}

/* Clears the bits of addr beyond len; 1 if any was set. */
static int mask_addr(union xlb_addr *addr, unsigned int len)
{
	int had = 0;

	for (unsigned int i = 0; i < sizeof(addr->bytes); i++) {
		unsigned int keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
		__u8 mask = (__u8)(0xff00 >> keep);

		had |= !!(addr->bytes[i] & ~mask);
		addr->bytes[i] &= mask;
	}
	return had;
}

int xlb_prefix_parse(const char *text, struct xlb_prefix *p, char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 8], meant[XLB_ADDR_STRLEN];
	const char *slash = strchr(text, '/');
	__u32 len = 0;
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned int max;

	memset(p, 0, sizeof(*p));
	if (alen < sizeof(buf)) {
		memcpy(buf, text, alen);
		buf[alen] = 0;
	}
	if (alen >= sizeof(buf) || xlb_addr_parse(buf, &p->addr, &p->family))
		return xlb_errf(
		    -EINVAL, err, errlen,
				"bad prefix '%s', expected an IPv4 or IPv6 address with an optional "
				"/LEN, e.g. 198.18.0.0/24 or 2001:db8::2",
				text);
	max = p->family == XLB_AF_INET6 ? 128 : 32;
	if (slash) {
		if (xlb_uint_parse(slash + 1, 0, max, &len))
			return xlb_errf(-EINVAL, err, errlen,
					"bad prefix length in '%s', expected /0-%u", text, max);
	} else {
		len = max;
	}
	p->len = (__u8)len;
	if (mask_addr(&p->addr, p->len)) {
		xlb_prefix_format(p, meant, sizeof(meant));
		return xlb_errf(-EINVAL, err, errlen,
				"prefix '%s' has bits set beyond /%u, expected %s", text, p->len,
				meant);
	}
	return 0;
}

int xlb_prefix_list_parse(const char *text, struct xlb_prefix *out, size_t max, char *err,
			  size_t errlen)
{
	char item[INET6_ADDRSTRLEN + 8];
	const char *p = text;
	size_t n = 0;

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int ret;

		if (!len)
			return xlb_errf(-EINVAL, err, errlen,
					"empty prefix in '%s', expected PREFIX[,PREFIX...], e.g. "
					"198.18.0.2,2001:db8::/64",
					text);
		if (n == max)
			return xlb_errf(-E2BIG, err, errlen,
					"too many prefixes in '%s', at most %zu", text, max);
		if (len >= sizeof(item))
			return xlb_errf(
			    -EINVAL, err, errlen,
			    "bad prefix '%.*s', expected an IPv4 or IPv6 address with an "
			    "optional /LEN, e.g. 198.18.0.0/24 or 2001:db8::2",
			    (int)len, p);
		memcpy(item, p, len);
		item[len] = 0;
		ret = xlb_prefix_parse(item, &out[n], err, errlen);
		if (ret)
			return ret;
		n++;
		if (!comma)
			return (int)n;
		p = comma + 1;
	}
}

void xlb_prefix_format(const struct xlb_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	xlb_addr_format(&p->addr, p->family, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, p->len);
}

void xlb_addr_format(const union xlb_addr *addr, __u8 family, char *buf, size_t len)
{
	if (!inet_ntop(family == XLB_AF_INET6 ? AF_INET6 : AF_INET, addr->bytes, buf, len))
		snprintf(buf, len, "?");
}

const char *xlb_proto_name(__u8 proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "?";
}

void xlb_vip_key_format(const struct xlb_vip_key *key, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	xlb_addr_format(&key->addr, key->family, a, sizeof(a));
	snprintf(buf, len, key->family == XLB_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a,
		 ntohs(key->port), xlb_proto_name(key->proto));
}

void xlb_endpoint_format(const union xlb_addr *addr, __u8 family, __be16 port, char *buf,
			 size_t len)
{
	char a[INET6_ADDRSTRLEN];

	xlb_addr_format(addr, family, a, sizeof(a));
	snprintf(buf, len, family == XLB_AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(port));
}
