/* SPDX-License-Identifier: GPL-2.0 */
/* refusal.h: the one wording of each refusal that more than one layer makes
 * (the grammar, the rules value, the load balancer), so that the operator
 * reads the same sentence whichever layer catches the mistake. */
#ifndef XLB_REFUSAL_H
#define XLB_REFUSAL_H

#include <stddef.h>

#include "xlb.h"

/* An IPv4 VIP takes IPv4 backends (IPIP) and IPv6 ones (4in6); an IPv6 VIP
 * only IPv6 ones: there is no 6in4 on the backends' side. */
static inline int xlb_backend_family_fits(__u8 vip_family, __u8 family)
{
	return vip_family != XLB_AF_INET6 || family == XLB_AF_INET6;
}

/* Each fills err through xlb_errf() and returns the negative errno the
 * refusal stands for. VIPs, addresses and clients are passed as text: as the
 * operator gave them, or as xlb_vip_key_format, xlb_addr_format and
 * xlb_endpoint_format print them. */

/* -ENOENT, -EEXIST; -ENOSPC when all max VIP slots are taken. */
int xlb_refuse_no_vip(const char *vip, char *err, size_t errlen);
int xlb_refuse_vip_exists(const char *vip, char *err, size_t errlen);
int xlb_refuse_vips_full(const char *vip, __u32 max, char *err, size_t errlen);

/* -ENOENT, -EEXIST; -ENOSPC when all max backend slots are taken. */
int xlb_refuse_no_backend(const char *addr, const char *vip, char *err, size_t errlen);
int xlb_refuse_backend_exists(const char *addr, const char *vip, char *err, size_t errlen);
int xlb_refuse_backends_full(const char *addr, __u32 max, char *err, size_t errlen);

/* -EINVAL. weight as given: the grammar's text or the library's number. */
int xlb_refuse_weight(const char *weight, char *err, size_t errlen);

/* -EINVAL: a backend whose family does not fit its VIP's
 * (xlb_backend_family_fits), a lookup's client of another family than the
 * VIP (vip_family XLB_AF_INET or XLB_AF_INET6). */
int xlb_refuse_backend_family(const char *addr, const char *vip, char *err, size_t errlen);
int xlb_refuse_client_family(const char *client, __u8 vip_family, char *err, size_t errlen);

/* 0 when the VIP's address can take traffic (xlb_addr_classify() says
 * unicast), else -EINVAL saying what its address is and what would do. */
int xlb_check_vip_addr(const struct xlb_vip_key *key, char *err, size_t errlen);
/* 0 when addr can be a backend, else -EINVAL and why: not unicast; and when
 * outer (the load balancer's xlb_config) is given, one of its own outer
 * sources, or of a family it has no outer source for (the tunnel would
 * leave from 0.0.0.0 or ::). outer NULL: those two are not known here. */
int xlb_check_backend_addr(const union xlb_addr *addr, __u8 family,
			   const struct xlb_config *outer, char *err, size_t errlen);

#endif
