// SPDX-License-Identifier: GPL-2.0
/* addr_class.c: classes of addresses a VIP or a backend cannot have (see
 * addr_class.h), by their bits alone. */
#include <string.h>
#include <arpa/inet.h>

#include "addr_class.h"

static enum xlb_addr_class classify4(__u32 a)
{
	if (a == 0)
		return XLB_ADDR_UNSPECIFIED;
	if (a == 0xffffffffU)
		return XLB_ADDR_BROADCAST;
	if ((a >> 24) == 0)
		return XLB_ADDR_THIS_NET;
	if ((a >> 24) == 127)
		return XLB_ADDR_LOOPBACK;
	if ((a >> 16) == 0xa9fe) /* 169.254 */
		return XLB_ADDR_LINK_LOCAL;
	if ((a >> 28) == 0xe)
		return XLB_ADDR_MULTICAST;
	return XLB_ADDR_UNICAST;
}

static enum xlb_addr_class classify6(const __u8 *b)
{
	static const __u8 zero[16], mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (!memcmp(b, zero, 16))
		return XLB_ADDR_UNSPECIFIED;
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return XLB_ADDR_LOOPBACK;
	if (!memcmp(b, mapped, 12))
		return XLB_ADDR_V4_MAPPED;
	if (b[0] == 0xff)
		return XLB_ADDR_MULTICAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return XLB_ADDR_LINK_LOCAL;
	return XLB_ADDR_UNICAST;
}

enum xlb_addr_class xlb_addr_classify(const union xlb_addr *addr, __u8 family)
{
	if (family == XLB_AF_INET6)
		return classify6(addr->bytes);
	return classify4(ntohl(addr->v4));
}

const char *xlb_addr_class_why(enum xlb_addr_class c)
{
	switch (c) {
	case XLB_ADDR_UNICAST:
		return "a unicast address";
	case XLB_ADDR_UNSPECIFIED:
		return "the unspecified address, which names no host";
	case XLB_ADDR_THIS_NET:
		return "in 0.0.0.0/8, which a host uses only as a source (RFC 1122)";
	case XLB_ADDR_LOOPBACK:
		return "a loopback address, which never leaves its host";
	case XLB_ADDR_LINK_LOCAL:
		return "link-local, which is valid on one link only and has no route";
	case XLB_ADDR_MULTICAST:
		return "a multicast address, which names a group, not one host";
	case XLB_ADDR_BROADCAST:
		return "the broadcast address, which names every host on a link";
	case XLB_ADDR_V4_MAPPED:
		return "IPv4-mapped, which leaves its family ambiguous";
	case __XLB_ADDR_CLASS_MAX:
		break;
	}
	return "not usable";
}

int xlb_outer_has_family(const struct xlb_config *cfg, __u8 family)
{
	static const __u8 zero[16];

	if (family == XLB_AF_INET6)
		return !!memcmp(cfg->src6.bytes, zero, sizeof(zero));
	return cfg->src4 != 0;
}

int xlb_outer_is_source(const struct xlb_config *cfg, const union xlb_addr *addr, __u8 family)
{
	if (!xlb_outer_has_family(cfg, family))
		return 0;
	if (family == XLB_AF_INET6)
		/* Only the last word varies (xlb_config). */
		return !memcmp(addr->bytes, cfg->src6.bytes, 12) &&
		       !((addr->v6[3] ^ cfg->src6.v6[3]) & ~cfg->src6_vary);
	return !((addr->v4 ^ cfg->src4) & ~cfg->src4_vary);
}
