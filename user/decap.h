/* SPDX-License-Identifier: GPL-2.0 */
/* decap.h: the backends' decapsulation program (bpf/xlb_decap.bpf.c) seen
 * from userspace: its maps, wherever they come from (a fresh object, the
 * program running on an interface, the pins), filled from the host's
 * addresses, and its counters. xlb-decap and the unit tests build on it. */
#ifndef XLB_DECAP_USER_H
#define XLB_DECAP_USER_H

#include <stddef.h>
#include "addr.h"
#include "xlb.h"
#include "xlb_decap.h"

struct bpf_object;
struct xlb_attach;

/* File descriptors of the program's maps, -1 when not open. */
struct xlb_decap_maps {
	int addrs; /* xlb_decap_addrs: outer destinations that are ours */
	int from;  /* xlb_decap_from: outer sources accepted (--from) */
	int local; /* xlb_decap_local: inner destinations accepted (local routes) */
	int stats; /* xlb_decap_stats: counters by reason */
};

/* Opens the maps of a loaded object, of the program prog_id, or of the pins
 * under dir. Returns 0 or -errno (then nothing is left open). */
int xlb_decap_maps_from_obj(struct bpf_object *obj, struct xlb_decap_maps *m);
int xlb_decap_maps_from_prog(__u32 prog_id, struct xlb_decap_maps *m);
int xlb_decap_maps_from_pins(const char *dir, struct xlb_decap_maps *m);
/* Pins every map under at->pin_dir, replacing what was there. */
int xlb_decap_maps_pin(const struct xlb_attach *at, const struct xlb_decap_maps *m);
void xlb_decap_maps_close(struct xlb_decap_maps *m);

/* Makes the address map hold exactly this network namespace's addresses
 * (every interface, lo too). Returns how many, or -errno. */
int xlb_decap_sync_addrs(const struct xlb_decap_maps *m);
/* Makes the source map hold exactly these n prefixes. 0 or -errno. */
int xlb_decap_set_from(const struct xlb_decap_maps *m, const struct xlb_prefix *from, size_t n);
/* Makes the inner-destination map hold exactly these n prefixes. 0 or -errno. */
int xlb_decap_set_local(const struct xlb_decap_maps *m, const struct xlb_prefix *local, size_t n);
/* Makes the inner-destination map hold exactly this network namespace's
 * local routes (user/local_routes.h). Returns how many, or -errno. */
int xlb_decap_sync_local(const struct xlb_decap_maps *m);
/* Up to max of the prefixes in a prefix map (m->from or m->local); returns
 * how many, or -errno. */
int xlb_decap_prefixes_read(int fd, struct xlb_prefix *out, size_t max);
/* Up to max of the addresses in the map; returns how many, or -errno. */
int xlb_decap_addrs_read(const struct xlb_decap_maps *m, struct xlb_decap_key *out, size_t max);

/* The counters summed over CPUs. */
int xlb_decap_counters(const struct xlb_decap_maps *m,
		       struct xlb_counter out[__XLB_DECAP_STAT_MAX]);

extern const char *const xlb_decap_stat_names[__XLB_DECAP_STAT_MAX];
extern const char *const xlb_decap_stat_help[__XLB_DECAP_STAT_MAX];

#endif
