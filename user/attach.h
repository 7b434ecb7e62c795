/* SPDX-License-Identifier: GPL-2.0 */
/* attach.h: puts xlb on an interface and takes it off again: the bpffs and
 * the pin directory, the per-interface lock that keeps a second xlbd away,
 * the libxdp attach (native, else generic) that hands over from a running
 * xlb program without a gap, and the explicit detach. */
#ifndef XLB_ATTACH_H
#define XLB_ATTACH_H

#include <limits.h>
#include <stddef.h>
#include <net/if.h>

struct xlb_dp;
struct xdp_program;

enum xlb_attach_mode {
	XLB_ATTACH_AUTO,    /* native, generic when the driver cannot */
	XLB_ATTACH_NATIVE,  /* driver mode only */
	XLB_ATTACH_GENERIC, /* skb mode only */
};

#define XLB_PROG_NAME "xlb_lb"

struct xlb_attach {
	char ifname[IF_NAMESIZE];
	int ifindex;
	char pin_dir[PATH_MAX];	  /* XLB_PIN_ROOT/IFNAME: the maps' pins */
	char lock_path[PATH_MAX]; /* XLB_RUN_DIR/IFNAME.lock */
	int lock_fd;		  /* flock()ed while this process manages ifname */
	struct xdp_program *prog; /* ours, once attached */
	int mode;		  /* enum xdp_attach_mode in use once attached */
};

/* 0 when this kernel and process can load XDP programs, else -errno and a
 * message saying what is missing. */
int xlb_attach_probe(char *err, size_t errlen);

/* Resolves ifname, takes the interface's lock (refusing when another xlbd
 * holds it), mounts the bpffs if needed and creates the pin directory. */
int xlb_attach_prepare(struct xlb_attach *at, const char *ifname, char *err, size_t errlen);

/* Refuses pinned maps under at->pin_dir whose layout differs from what dp
 * would create (other sizes, an older xlb), before anything is loaded. */
int xlb_attach_check_pins(struct xlb_attach *at, struct xlb_dp *dp, char *err, size_t errlen);

/* Loads dp's object through libxdp and attaches it; an xlb program already
 * on the interface is detached only after the new one runs. Calls
 * xlb_dp_loaded(). */
int xlb_attach_prog(struct xlb_attach *at, struct xlb_dp *dp, enum xlb_attach_mode mode, char *err,
		    size_t errlen);

/* Takes every xlb program off the interface and removes the pins (dp may be
 * NULL: then whatever is in the pin directory) and the lock file. */
int xlb_attach_detach(struct xlb_attach *at, struct xlb_dp *dp, char *err, size_t errlen);

/* Leaves the program attached and the pins in place (restart, SIGTERM);
 * closes handles and releases the lock. */
void xlb_attach_release(struct xlb_attach *at);

/* "native" or "generic". */
const char *xlb_attach_mode_str(int xdp_mode);

#endif
