/* SPDX-License-Identifier: GPL-2.0 */
/* attach.h: puts one of xlb's XDP programs on an interface and takes it off
 * again, for xlbd (the load balancer) and xlb-decap (the backends' decap)
 * alike: the bpffs and the pin directory, the per-interface lock, the libxdp
 * attach (native, else generic) that hands over from a running copy without a
 * gap, finding what is attached, and the explicit detach. */
#ifndef XLB_ATTACH_H
#define XLB_ATTACH_H

#include <limits.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>

struct bpf_object;
struct xdp_program;

enum xlb_attach_mode {
	XLB_ATTACH_AUTO,    /* native, generic when the driver cannot */
	XLB_ATTACH_NATIVE,  /* driver mode only */
	XLB_ATTACH_GENERIC, /* skb mode only */
};

/* What to load and pin for one program; everything else is shared. */
struct xlb_attach_desc {
	const char *prog;	 /* program name in the object; how it is found on an interface */
	const char *title;	 /* the program in messages: "xlb", "xlb_decap" */
	const char *pin_root;	 /* pins under PIN_ROOT/IFNAME (netns-scoped, see netns.h) */
	const char *lock_root;	 /* LOCK_ROOT/IFNAME.lock keeps a second manager off; NULL: none */
	const char *owner;	 /* who manages it, in messages: "xlbd" */
	const char *size_opts;	 /* options that size the maps, for messages; NULL: none */
	const char *detach_fmt;	 /* how an operator takes it off, in messages; %s: interface */
	const char *private_opt; /* the option that accepts a private bpffs (see bpffs.h);
				    NULL: accepted with a warning, nothing is lost */
	const char *private_loss; /* what a private bpffs loses, in messages */
};

extern const struct xlb_attach_desc xlb_attach_lb;    /* xlb_lb, run by xlbd */
extern const struct xlb_attach_desc xlb_attach_decap; /* xlb_decap, put on by xlb-decap */

struct xlb_attach {
	const struct xlb_attach_desc *desc;
	char ifname[IF_NAMESIZE];
	int ifindex;		  /* 0 after xlb_attach_open() of a vanished interface */
	char pin_dir[PATH_MAX];	  /* PIN_ROOT/IFNAME: the maps' pins */
	char lock_path[PATH_MAX]; /* LOCK_ROOT/IFNAME.lock, empty without a lock */
	char detach_how[128];	  /* desc->detach_fmt for this interface */
	int lock_fd;		  /* flock()ed while this process manages ifname */
	struct xdp_program *prog; /* ours, once attached */
	int mode;		  /* enum xdp_attach_mode in use once attached */
};

/* A program found on an interface. */
struct xlb_attached {
	__u32 prog_id;	/* its id */
	int mode;	/* enum xdp_attach_mode */
	int dispatcher; /* 1 behind libxdp's dispatcher, 0 alone (legacy) */
};

/* 0 when this kernel and process can load XDP programs, else -errno and a
 * message saying what is missing. */
int xlb_attach_probe(char *err, size_t errlen);

/* Names the pin directory (and lock) of desc's program on ifname, touching
 * nothing: for looking at or removing what is there. ifindex stays 0 when no
 * such interface exists. */
int xlb_attach_open(struct xlb_attach *at, const struct xlb_attach_desc *desc, const char *ifname,
		    char *err, size_t errlen);

/* xlb_attach_open(), then: the interface must exist; refuses a bpffs private
 * to this mount namespace (pins that would die with the process) unless
 * allow_private or desc->private_opt is NULL, and warns then; takes the lock
 * (refusing when another manager holds it), mounts the bpffs if needed and
 * creates the pin directory. A refusal changes nothing. */
int xlb_attach_prepare(struct xlb_attach *at, const struct xlb_attach_desc *desc,
		       const char *ifname, int allow_private, char *err, size_t errlen);

/* Pins every map of obj (but the loader's own: .rodata, .bss...) at
 * at->pin_dir/NAME when it is loaded, adopting the pins already there. */
int xlb_attach_set_pin_paths(struct xlb_attach *at, struct bpf_object *obj, char *err,
			     size_t errlen);

/* Refuses pinned maps under at->pin_dir whose layout differs from what obj
 * would create (other sizes, an older version), before anything is loaded. */
int xlb_attach_check_pins(struct xlb_attach *at, struct bpf_object *obj, char *err, size_t errlen);

/* Loads obj through libxdp and attaches its program desc->prog; a copy of it
 * already on the interface is detached only after the new one runs. */
int xlb_attach_prog(struct xlb_attach *at, struct bpf_object *obj, enum xlb_attach_mode mode,
		    char *err, size_t errlen);

/* Finds desc's program on the interface: 0 and *found, -ENOENT, or -errno. */
int xlb_attach_find(const struct xlb_attach *at, struct xlb_attached *found);

/* An fd of the map called name that program prog_id uses, or -errno: the
 * running program is the authority on its maps, whatever the pins say. */
int xlb_attach_prog_map(__u32 prog_id, const char *name);

/* Pins fd at at->pin_dir/name, replacing whatever was pinned there. */
int xlb_attach_pin_map(const struct xlb_attach *at, int fd, const char *name);

/* Takes every copy of desc's program off the interface (when it still
 * exists) and removes the pins and the lock file. Returns the number of
 * programs taken off, or -errno with err filled. */
int xlb_attach_detach(struct xlb_attach *at, char *err, size_t errlen);

/* Removes the pin directory and what is in it, and the parents it leaves
 * empty. 1 if there was anything, 0 if not, or -errno. */
int xlb_attach_remove_pins(const struct xlb_attach *at);

/* Leaves the program attached and the pins in place (restart, SIGTERM);
 * closes handles and releases the lock. */
void xlb_attach_release(struct xlb_attach *at);

/* "native", "generic" or "offload". */
const char *xlb_attach_mode_str(int xdp_mode);

#endif
