// SPDX-License-Identifier: GPL-2.0
/* attach.c: xlb's XDP programs on and off an interface (see attach.h).
 * Forwarding never stops on a restart: the new program joins the libxdp
 * dispatcher beside the old one, sharing its pinned maps, and only then is the
 * old one removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "attach.h"
#include "bpffs.h"
#include "files.h"
#include "netns.h"
#include "log.h"
#include "xlb.h"
#include "xlb_decap.h"

#define BPFFS	      "/sys/fs/bpf"
#define MAX_OLD_PROGS 16

const struct xlb_attach_desc xlb_attach_lb = {
    .prog = "xlb_lb",
    .title = "xlb",
    .pin_root = XLB_PIN_ROOT,
    .lock_root = XLB_RUN_DIR,
    .owner = "xlbd",
    .size_opts = "--max-vips, --max-backends, --conns",
    .detach_fmt = "'xlbctl detach' or 'xlbd -i %s --detach'",
    .private_opt = "--private-bpffs",
    .private_loss = "the next xlbd would start with empty maps: the connection table lost, "
		    "established flows re-hashed",
};

/* No lock: xlb-decap exits after each command, and attach is idempotent. */
const struct xlb_attach_desc xlb_attach_decap = {
    .prog = "xlb_decap",
    .title = "xlb_decap",
    .pin_root = XLB_DECAP_PIN_ROOT,
    .owner = "xlb-decap",
    .detach_fmt = "'xlb-decap detach %s'",
    /* Its state is refilled by every attach (a refresh reaches the maps
     * through the attached program), so only 'stats' misses the pins. */
    .private_loss = "'xlb-decap stats' will not find them",
};

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	/* libxdp warns about things xlbd then handles (the generic fallback)
	 * and reports itself: not worth a warning of ours. */
	xlb_log(level == LIBXDP_WARN ? XLB_LOG_INFO : XLB_LOG_DEBUG, "libxdp: %s", line);
	return 0;
}

const char *xlb_attach_mode_str(int mode)
{
	switch (mode) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "generic";
	case XDP_MODE_HW:
		return "offload";
	default:
		return "unknown";
	}
}

int xlb_attach_probe(char *err, size_t errlen)
{
	int ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL);

	if (ret == 1)
		return 0;
	if (ret == 0)
		return xlb_errf(-EOPNOTSUPP, err, errlen,
			    "BPF unavailable: this kernel cannot load XDP programs, expected "
			    "a kernel with BPF and XDP support");
	return xlb_errf(ret, err, errlen,
		    "BPF unavailable: cannot load a test XDP program (%s), expected a kernel "
		    "with BPF and XDP and CAP_BPF/CAP_NET_ADMIN (unprivileged BPF off? "
		    "seccomp?)",
		    strerror(-ret));
}

/* Pins on a bpffs of this mount namespace only die with it: a restart
 * would adopt nothing. Refused unless allowed; said loudly when allowed. */
static int check_bpffs(const struct xlb_attach *at, int allow_private, char *err, size_t errlen)
{
	char ns[256] = "NAME";

	if (!xlb_bpffs_private(BPFFS))
		return 0;
	if (xlb_netns_name(ns, sizeof(ns)))
		snprintf(ns, sizeof(ns), "NAME");
	if (allow_private || !at->desc->private_opt) {
		pr_warn("interface %s: the pins in %s are on a bpffs private to this mount "
			"namespace%s: they die with it, and %s; to keep them run '%s' in the "
			"network namespace alone: 'nsenter --net=%s/%s %s ...'",
			at->ifname, at->pin_dir,
			at->desc->private_opt ? " (as allowed by the option)" : "",
			at->desc->private_loss, at->desc->owner, XLB_NETNS_RUN_DIR, ns,
			at->desc->owner);
		return 0;
	}
	return xlb_errf(-EPERM, err, errlen,
			"%s runs in a mount namespace of its own (as under 'ip netns exec', which "
			"mounts a fresh /sys) and %s is not the host's bpffs: the pins in %s would "
			"die with this process, and %s. Run it in the network namespace without "
			"a mount namespace of its own: 'nsenter --net=%s/%s %s ...'; or pass %s to "
			"run with pins that do not outlive it",
			at->desc->owner, BPFFS, at->pin_dir, at->desc->private_loss,
			XLB_NETNS_RUN_DIR, ns, at->desc->owner, at->desc->private_opt);
}

/* The lock file holds the owner's pid, for the message the next one gets. */
static int take_lock(struct xlb_attach *at, char *err, size_t errlen)
{
	char pid[32];
	int ret = xlb_lock_take(at->lock_path, &at->lock_fd, pid, sizeof(pid));

	if (ret == -EBUSY)
		return xlb_errf(ret, err, errlen,
				"another %s%s%s already manages %s (lock %s), stop it first or use "
				"another interface",
				at->desc->owner, *pid ? " with pid " : "", pid, at->ifname,
				at->lock_path);
	if (ret == -EAGAIN)
		return xlb_errf(ret, err, errlen, "cannot lock %s: it keeps being replaced",
				at->lock_path);
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot lock %s: %s", at->lock_path,
				strerror(-ret));
	return 0;
}

int xlb_attach_open(struct xlb_attach *at, const struct xlb_attach_desc *desc, const char *ifname,
		    char *err, size_t errlen)
{
	char lock_name[IFNAMSIZ + 8];
	int ret;

	memset(at, 0, sizeof(*at));
	at->desc = desc;
	at->lock_fd = -1;
	libxdp_set_print(libxdp_print);
	if (!*ifname || strlen(ifname) >= sizeof(at->ifname) || strchr(ifname, '/'))
		return xlb_errf(-EINVAL, err, errlen,
				"bad interface name '%s', expected 1-%zu characters without '/'",
				ifname, sizeof(at->ifname) - 1);
	strcpy(at->ifname, ifname);
	at->ifindex = if_nametoindex(ifname);
	snprintf(at->detach_how, sizeof(at->detach_how), desc->detach_fmt, ifname);
	/* Namespaces share /sys/fs/bpf and /run but not interface names. */
	ret = xlb_netns_scoped_path(desc->pin_root, ifname, at->pin_dir, sizeof(at->pin_dir));
	if (!ret && desc->lock_root) {
		snprintf(lock_name, sizeof(lock_name), "%s.lock", ifname);
		ret = xlb_netns_scoped_path(desc->lock_root, lock_name, at->lock_path,
					    sizeof(at->lock_path));
	}
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot name the pin and lock paths: %s",
				strerror(-ret));
	return 0;
}

int xlb_attach_prepare(struct xlb_attach *at, const struct xlb_attach_desc *desc,
		       const char *ifname, int allow_private, char *err, size_t errlen)
{
	char lock_dir[sizeof(at->lock_path)];
	int ret;

	ret = xlb_attach_open(at, desc, ifname, err, errlen);
	if (ret)
		return ret;
	if (!at->ifindex)
		return xlb_errf(-ENODEV, err, errlen,
				"no such interface '%s', expected one of this network namespace "
				"(see 'ip link')",
				ifname);
	ret = check_bpffs(at, allow_private, err, errlen);
	if (ret)
		return ret;
	if (at->lock_path[0]) {
		snprintf(lock_dir, sizeof(lock_dir), "%s", at->lock_path);
		*strrchr(lock_dir, '/') = 0;
		ret = xlb_dir_make(lock_dir, 0750);
		if (ret)
			return xlb_errf(ret, err, errlen, "cannot create %s: %s", lock_dir,
					strerror(-ret));
		ret = take_lock(at, err, errlen);
		if (ret)
			return ret;
	}
	ret = xlb_bpffs_ensure(BPFFS, err, errlen);
	if (!ret) {
		ret = xlb_dir_make(at->pin_dir, 0700);
		if (ret)
			xlb_errf(ret, err, errlen, "cannot create pin directory %s: %s", at->pin_dir,
				 strerror(-ret));
	}
	if (ret && at->lock_fd >= 0) {
		close(at->lock_fd);
		at->lock_fd = -1;
	}
	return ret;
}

int xlb_attach_set_pin_paths(struct xlb_attach *at, struct bpf_object *obj, char *err,
			     size_t errlen)
{
	struct bpf_map *map;
	char path[PATH_MAX];
	int ret;

	bpf_object__for_each_map(map, obj)
	{
		if (bpf_map__is_internal(map))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", at->pin_dir, bpf_map__name(map)) >=
		    (int)sizeof(path))
			return xlb_errf(-ENAMETOOLONG, err, errlen,
					"pin path %s/%s too long, expected under %d bytes",
					at->pin_dir, bpf_map__name(map), PATH_MAX);
		ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return xlb_errf(ret, err, errlen, "cannot pin map %s at %s: %s",
					bpf_map__name(map), path, strerror(-ret));
	}
	return 0;
}

/* The flags the kernel reports for the map obj would create: device maps
 * are made read-only for programs by the kernel itself. */
static __u32 flags_want(const struct bpf_map *map)
{
	__u32 flags = bpf_map__map_flags(map);

	if (bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP ||
	    bpf_map__type(map) == BPF_MAP_TYPE_DEVMAP_HASH)
		flags |= BPF_F_RDONLY_PROG;
	return flags;
}

int xlb_attach_check_pins(struct xlb_attach *at, struct bpf_object *obj, char *err, size_t errlen)
{
	struct bpf_map *map;
	char resize[160] = "";

	/* libbpf 1.1 compares flags literally when it reuses a pin, and the
	 * kernel adds BPF_F_RDONLY_PROG to every device map it creates (but
	 * refuses it from us on create): so ask for it only to adopt a pin. */
	bpf_object__for_each_map(map, obj)
	{
		const char *path = bpf_map__pin_path(map);

		if (path && !access(path, F_OK) && flags_want(map) != bpf_map__map_flags(map) &&
		    bpf_map__set_map_flags(map, flags_want(map)))
			return xlb_errf(-EINVAL, err, errlen, "cannot set the flags of map %s",
				    bpf_map__name(map));
	}

	if (at->desc->size_opts)
		snprintf(resize, sizeof(resize), "start %s with the sizes it had (%s), or ",
			 at->desc->owner, at->desc->size_opts);
	/* Layouts first: a key or value of another size is another version of
	 * the program (xlb_config grew with the connection budget), which no
	 * option can match; only then the sizes, which options set. */
	for (int pass = 0; pass < 2; pass++) {
		bpf_object__for_each_map(map, obj)
		{
			const char *path = bpf_map__pin_path(map);
			struct bpf_map_info info;
			__u32 len = sizeof(info);
			const char *what = NULL;
			__u32 have = 0, want = 0;
			int fd;

			if (!path || access(path, F_OK))
				continue;
			fd = bpf_obj_get(path);
			memset(&info, 0, sizeof(info));
			if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
				if (fd >= 0)
					close(fd);
				return xlb_errf(-EINVAL, err, errlen,
						"%s is not a usable pinned map: remove the pins under "
						"%s (%s) and start again",
						path, at->pin_dir, at->detach_how);
			}
			close(fd);
			if (pass == 0 && info.type != bpf_map__type(map))
				what = "type", have = info.type, want = bpf_map__type(map);
			else if (pass == 0 && info.key_size != bpf_map__key_size(map))
				what = "key size", have = info.key_size,
				want = bpf_map__key_size(map);
			else if (pass == 0 && info.value_size != bpf_map__value_size(map))
				what = "value size", have = info.value_size,
				want = bpf_map__value_size(map);
			else if (pass == 0 && info.map_flags != flags_want(map))
				what = "flags", have = info.map_flags, want = flags_want(map);
			else if (pass == 1 && info.max_entries != bpf_map__max_entries(map))
				what = "size", have = info.max_entries,
				want = bpf_map__max_entries(map);
			if (what && pass == 0)
				return xlb_errf(
				    -EINVAL, err, errlen,
				    "pinned maps under %s were made by another version of %s (%s "
				    "%s is %u, this %s wants %u) and cannot be adopted: take %s "
				    "off %s first with %s (its connection table is lost)",
				    at->pin_dir, at->desc->title, bpf_map__name(map), what, have,
				    at->desc->owner, want, at->desc->title, at->ifname,
				    at->detach_how);
			if (what)
				return xlb_errf(
				    -EINVAL, err, errlen,
				    "pinned maps under %s have an incompatible layout (%s %s is "
				    "%u, this %s wants %u): %stake %s off %s first with %s",
				    at->pin_dir, bpf_map__name(map), what, have, at->desc->owner,
				    want, resize, at->desc->title, at->ifname, at->detach_how);
		}
	}
	return 0;
}

/* Ids of the copies of program name attached to the interface now; *legacy
 * when one was attached without a dispatcher. *mode: the mode in use, or
 * UNSPEC. */
static int find_progs(int ifindex, const char *name, __u32 *ids, int max, int *legacy, int *mode,
		      char *other, size_t otherlen)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;
	int n = 0, err = libxdp_get_error(mp);

	*legacy = 0;
	*mode = XDP_MODE_UNSPEC;
	if (other)
		other[0] = 0;
	if (!mp || err == -ENOENT)
		return 0;
	if (err)
		return err;
	*mode = xdp_multiprog__attach_mode(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		*legacy = 1;
		if (p && !strcmp(xdp_program__name(p), name))
			ids[n++] = xdp_program__id(p);
		else if (p && other)
			snprintf(other, otherlen, "%s", xdp_program__name(p));
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p && n < max;
		     p = xdp_multiprog__next_prog(p, mp))
			if (!strcmp(xdp_program__name(p), name))
				ids[n++] = xdp_program__id(p);
	}
	xdp_multiprog__close(mp);
	return n;
}

static int detach_id(struct xlb_attach *at, __u32 id, int legacy, int mode)
{
	struct xdp_program *p = xdp_program__from_id(id);
	int ret = libxdp_get_error(p);

	if (!p || ret)
		return ret ? ret : -ENOENT;
	if (legacy) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(at->ifindex);

		ret = libxdp_get_error(mp);
		if (!ret)
			ret = xdp_multiprog__detach(mp);
		if (mp && !libxdp_get_error(mp))
			xdp_multiprog__close(mp);
	} else {
		ret = xdp_program__detach(p, at->ifindex, mode, 0);
	}
	xdp_program__close(p);
	return ret;
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* The old copy runs without the libxdp dispatcher (libxdp falls back to that
 * where the kernel refuses freplace programs). Two programs cannot share the
 * interface then, so swap them in one netlink request (XDP_FLAGS_REPLACE):
 * packets see the old program or the new one. */
static int replace_legacy(struct xlb_attach *at, struct bpf_object *obj, __u32 old_id, int mode,
			  char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
	const char *title = at->desc->title;
	__u32 flags = XDP_FLAGS_REPLACE;
	struct bpf_program *prog;
	int ret, fd, old_fd;

	flags |= mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	prog = bpf_object__find_program_by_name(obj, at->desc->prog);
	if (!prog)
		return xlb_errf(-ENOENT, err, errlen, "the object holds no program %s",
				at->desc->prog);
	ret = bpf_object__load(obj);
	if (ret)
		return xlb_errf(ret, err, errlen,
				"cannot load the XDP program: %s (pinned maps under %s "
				"incompatible? then run %s first)",
				strerror(-ret), at->pin_dir, at->detach_how);
	fd = bpf_program__fd(prog);
	old_fd = bpf_prog_get_fd_by_id(old_id);
	if (old_fd < 0)
		return xlb_errf(-errno, err, errlen, "cannot open the running %s program %u: %s",
				title, old_id, strerror(errno));
	opts.old_prog_fd = old_fd;
	ret = bpf_xdp_attach(at->ifindex, fd, flags, &opts);
	ret = ret < 0 ? -errno : 0;
	close(old_fd);
	if (ret)
		return xlb_errf(ret, err, errlen, "cannot replace the running %s program on %s: %s",
				title, at->ifname, strerror(-ret));
	at->mode = mode;
	pr_info("interface %s: %s program %u replaced by %u in %s mode (no dispatcher)",
		at->ifname, title, old_id, prog_id(fd), xlb_attach_mode_str(mode));
	return 0;
}

static int attach_prog(struct xlb_attach *at, struct bpf_object *obj, enum xlb_attach_mode want,
		       char *err, size_t errlen)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = obj, .prog_name = at->desc->prog);
	const char *title = at->desc->title;
	__u32 old[MAX_OLD_PROGS], new_id;
	int n_old, legacy, cur, modes[2], n_modes = 0, ret = -EINVAL;
	char other[64], msg[128];

	n_old = find_progs(at->ifindex, at->desc->prog, old, MAX_OLD_PROGS, &legacy, &cur, other,
			   sizeof(other));
	if (n_old < 0) {
		libxdp_strerror(n_old, msg, sizeof(msg));
		return xlb_errf(n_old, err, errlen, "cannot read the XDP programs of %s: %s",
				at->ifname, msg);
	}
	if (legacy && !n_old)
		return xlb_errf(-EBUSY, err, errlen,
				"%s already runs XDP program '%s' without the libxdp dispatcher, "
				"remove it first (ip link set dev %s xdp off)",
				at->ifname, other, at->ifname);
	if (cur != XDP_MODE_UNSPEC) {
		/* A dispatcher has one mode: join it in that one. */
		if ((want == XLB_ATTACH_NATIVE && cur != XDP_MODE_NATIVE) ||
		    (want == XLB_ATTACH_GENERIC && cur != XDP_MODE_SKB))
			return xlb_errf(-EBUSY, err, errlen,
					"%s already runs XDP in %s mode, restart with -m %s or "
					"take the other programs off first",
					at->ifname, xlb_attach_mode_str(cur),
					xlb_attach_mode_str(cur));
		modes[n_modes++] = cur;
	} else if (want == XLB_ATTACH_NATIVE) {
		modes[n_modes++] = XDP_MODE_NATIVE;
	} else if (want == XLB_ATTACH_GENERIC) {
		modes[n_modes++] = XDP_MODE_SKB;
	} else {
		modes[n_modes++] = XDP_MODE_NATIVE;
		modes[n_modes++] = XDP_MODE_SKB;
	}
	if (legacy)
		return replace_legacy(at, obj, old[0], cur, err, errlen);

	at->prog = xdp_program__create(&opts);
	ret = libxdp_get_error(at->prog);
	if (!at->prog || ret) {
		at->prog = NULL;
		libxdp_strerror(ret ? ret : -EINVAL, msg, sizeof(msg));
		return xlb_errf(ret ? ret : -EINVAL, err, errlen,
				"cannot prepare the XDP program: %s", msg);
	}
	for (int i = 0; i < n_modes; i++) {
		/* Loads the object too (with its pinned maps) on first use. */
		ret = xdp_program__attach(at->prog, at->ifindex, modes[i], 0);
		if (!ret) {
			at->mode = modes[i];
			break;
		}
		libxdp_strerror(ret, msg, sizeof(msg));
		/* Not loaded at all: another mode will not help. */
		if (xdp_program__fd(at->prog) < 0) {
			xdp_program__close(at->prog);
			at->prog = NULL;
			return xlb_errf(ret, err, errlen,
					"cannot load the XDP program: %s (the libbpf messages "
					"above say why)",
					msg);
		}
		if (i + 1 < n_modes)
			pr_warn("interface %s: %s mode failed (%s), trying %s", at->ifname,
				xlb_attach_mode_str(modes[i]), msg,
				xlb_attach_mode_str(modes[i + 1]));
	}
	if (ret) {
		xdp_program__close(at->prog);
		at->prog = NULL;
		if (ret == -EINVAL && n_old)
			return xlb_errf(ret, err, errlen,
					"cannot attach %s to %s (%s): the pinned maps under %s may "
					"have an incompatible layout, run %s first",
					title, at->ifname, msg, at->pin_dir, at->detach_how);
		return xlb_errf(ret, err, errlen, "cannot attach %s to %s in %s mode: %s", title,
				at->ifname,
				want == XLB_ATTACH_AUTO ? "native or generic"
							: xlb_attach_mode_str(modes[0]),
				msg);
	}
	new_id = xdp_program__id(at->prog);
	pr_info("interface %s: %s attached in %s mode (program id %u)", at->ifname, title,
		xlb_attach_mode_str(at->mode), new_id);
	/* The new program runs now; the old one can go. */
	for (int i = 0; i < n_old; i++) {
		if (old[i] == new_id)
			continue;
		ret = detach_id(at, old[i], 0, at->mode);
		if (ret) {
			libxdp_strerror(ret, msg, sizeof(msg));
			pr_warn("interface %s: cannot detach the previous %s program %u: %s",
				at->ifname, title, old[i], msg);
		} else {
			pr_info("interface %s: previous %s program %u detached", at->ifname, title,
				old[i]);
		}
	}
	return 0;
}

/* libxdp probes the kernel by loading test programs whose failures libbpf
 * reports as warnings, also when libxdp then falls back and all is well. So
 * libbpf's warnings during an attach are held back, and shown only when the
 * attach fails (then they carry the verifier's reasons). */
#define HELD_MAX 32
static libbpf_print_fn_t held_prev;
static char held[HELD_MAX][2048];
static int n_held;

static int hold_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *line;
	size_t n;

	if (level != LIBBPF_WARN)
		return held_prev ? held_prev(level, fmt, ap) : 0;
	line = held[n_held % HELD_MAX];
	vsnprintf(line, sizeof(held[0]), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	n_held++;
	return 0;
}

int xlb_attach_prog(struct xlb_attach *at, struct bpf_object *obj, enum xlb_attach_mode want,
		    char *err, size_t errlen)
{
	int ret, first;

	n_held = 0;
	held_prev = libbpf_set_print(hold_print);
	ret = attach_prog(at, obj, want, err, errlen);
	libbpf_set_print(held_prev);
	first = n_held > HELD_MAX ? n_held - HELD_MAX : 0;
	for (int i = first; i < n_held; i++)
		xlb_log(ret ? XLB_LOG_WARN : XLB_LOG_DEBUG, "libbpf: %s", held[i % HELD_MAX]);
	return ret;
}

int xlb_attach_find(const struct xlb_attach *at, struct xlb_attached *found)
{
	__u32 id;
	int n, legacy, mode;

	if (!at->ifindex)
		return -ENOENT;
	n = find_progs(at->ifindex, at->desc->prog, &id, 1, &legacy, &mode, NULL, 0);
	if (n <= 0)
		return n ? n : -ENOENT;
	found->prog_id = id;
	found->mode = mode;
	found->dispatcher = !legacy;
	return 0;
}

int xlb_attach_prog_map(__u32 prog_id, const char *name)
{
	__u32 ids[16], n = sizeof(ids) / sizeof(ids[0]);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int prog_fd, found = -ENOENT;

	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		found = -errno;
		goto out;
	}
	for (__u32 i = 0; i < info.nr_map_ids && i < n && found < 0; i++) {
		struct bpf_map_info minfo;
		__u32 mlen = sizeof(minfo);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&minfo, 0, sizeof(minfo));
		if (!bpf_obj_get_info_by_fd(fd, &minfo, &mlen) && !strcmp(minfo.name, name))
			found = fd;
		else
			close(fd);
	}
out:
	close(prog_fd);
	return found;
}

int xlb_attach_pin_map(const struct xlb_attach *at, int fd, const char *name)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", at->pin_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

/* The netns-ID directory (user/netns.c) and the root above path, once
 * empty; never the mount points themselves. */
static void remove_empty_parents(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = 0;
		if (!strcmp(dir, BPFFS) || !strcmp(dir, "/run") || rmdir(dir))
			break;
	}
}

int xlb_attach_remove_pins(const struct xlb_attach *at)
{
	char path[PATH_MAX];
	struct dirent *de;
	int ret = 0, found = 0;
	DIR *d;

	d = opendir(at->pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	found = 1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", at->pin_dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (unlink(path) && errno != ENOENT)
			ret = -errno;
	}
	closedir(d);
	if (rmdir(at->pin_dir) && errno != ENOENT)
		ret = ret ?: -errno;
	/* The parents only when empty: other interfaces may have theirs. */
	remove_empty_parents(at->pin_dir);
	return ret ? ret : found;
}

int xlb_attach_detach(struct xlb_attach *at, char *err, size_t errlen)
{
	const char *title = at->desc->title;
	__u32 ids[MAX_OLD_PROGS];
	int n, legacy, mode, ret = 0, taken = 0;
	char msg[128];

	/* Re-read after each detach: libxdp rebuilds the dispatcher each time.
	 * A vanished interface took its programs with it. */
	for (int round = 0; at->ifindex && round < MAX_OLD_PROGS; round++) {
		n = find_progs(at->ifindex, at->desc->prog, ids, MAX_OLD_PROGS, &legacy, &mode,
			       NULL, 0);
		if (n <= 0) {
			if (n < 0)
				ret = n;
			break;
		}
		ret = detach_id(at, ids[0], legacy, mode);
		if (ret)
			break;
		taken++;
		pr_info("interface %s: %s program %u detached", at->ifname, title, ids[0]);
	}
	if (ret) {
		libxdp_strerror(ret, msg, sizeof(msg));
		return xlb_errf(ret, err, errlen, "cannot take %s off %s: %s", title, at->ifname,
				msg);
	}
	if (at->prog) {
		xdp_program__close(at->prog);
		at->prog = NULL;
	}
	ret = xlb_attach_remove_pins(at);
	if (ret < 0)
		return xlb_errf(ret, err, errlen,
				"%s is off %s but %s could not be removed: %s, remove it by hand",
				title, at->ifname, at->pin_dir, strerror(-ret));
	if (ret)
		pr_info("interface %s: pins under %s removed", at->ifname, at->pin_dir);
	if (at->lock_fd >= 0) {
		if (unlink(at->lock_path) && errno != ENOENT)
			pr_warn("interface %s: cannot remove %s: %s", at->ifname, at->lock_path,
				strerror(errno));
		remove_empty_parents(at->lock_path);
	}
	return taken;
}

void xlb_attach_release(struct xlb_attach *at)
{
	/* Closing our handle leaves the dispatcher (and us in it) attached:
	 * libxdp pinned the links in the bpffs. */
	if (at->prog) {
		xdp_program__close(at->prog);
		at->prog = NULL;
	}
	/* Only when empty, i.e. a start refused before anything was pinned. */
	if (at->pin_dir[0] && !rmdir(at->pin_dir))
		remove_empty_parents(at->pin_dir);
	if (at->lock_fd >= 0) {
		/* Safe while we hold it: take_lock() checks that the file it
		 * locked is still the one at the path. */
		unlink(at->lock_path);
		close(at->lock_fd);
		at->lock_fd = -1;
	}
}
