// SPDX-License-Identifier: GPL-2.0
/* xlb_decap.c: xlb-decap, run on each backend. Attaches the decapsulation
 * program (bpf/xlb_decap.bpf.c) to an interface through libxdp, tells it the
 * host's addresses, pins its maps, and exits: the attachment stays until
 * `xlb-decap detach`. Also prints the program's counters.
 *
 * Usage: xlb-decap [-v] [-j] {attach IFACE [-m native|generic] | detach IFACE |
 *                             stats IFACE}
 */
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <jansson.h>

#include "xlb.h"
#include "xlb_decap.h"
#include "xlb_decap.skel.h"
#include "netns.h"


#define PROG_NAME "xlb_decap"
#define ADDRS_MAP "xlb_decap_addrs"
#define STATS_MAP "xlb_decap_stats"
#define BPFFS	  "/sys/fs/bpf"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static int verbose; /* -v: let libbpf and libxdp talk */
static int json;    /* -j: JSON on stdout */

static const struct {
	const char *name, *help;
} stat_info[] = {
#define XLB_DECAP_STAT_INFO(name, str, help) {str, help},
    XLB_DECAP_STATS(XLB_DECAP_STAT_INFO)
#undef XLB_DECAP_STAT_INFO
};

/* ---- messages ------------------------------------------------------------ */

/* "Error: <what was wrong>, <what is valid>" on stderr; in JSON mode also
 * {"error": "..."} on stdout, so scripts reading stdout see it. */
__attribute__((format(printf, 1, 2))) static void error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "Error: %s\n", msg);
	if (json) {
		json_t *o = json_pack("{s:s}", "error", msg);

		if (o) {
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
		}
	}
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("xlb-decap: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static const char *mode_name(enum xdp_attach_mode mode)
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

/* ---- help ---------------------------------------------------------------- */

static const char usage_main[] =
    "Usage: xlb-decap [-v] [-j] COMMAND IFACE [OPTIONS]\n"
    "Strips xlb's tunnel headers (IPv4/IPv6 in IPv4/IPv6) in XDP on a backend, for\n"
    "packets to this host's addresses; everything else passes untouched.\n"
    "\n"
    "Commands:\n"
    "  attach IFACE [-m native|generic]  attach to IFACE, or refresh the address list\n"
    "  detach IFACE                      remove from IFACE, and its pins\n"
    "  stats IFACE                       print the counters\n"
    "  help [COMMAND]                    this text, or a command's\n"
    "\n"
    "Options:\n"
    "  -j, --json     JSON output (errors too, as {\"error\": \"...\"})\n"
    "  -v, --verbose  show libbpf/libxdp messages\n"
    "  -h, --help     help (also after a command)\n"
    "\n"
    "Pins: " XLB_DECAP_PIN_ROOT "/IFACE/ (another network namespace: " XLB_DECAP_PIN_ROOT
    "/netns-COOKIE/IFACE/).\n"
    "Exit status: 0 success, 1 runtime error, 2 usage error.\n";

static const char usage_attach[] =
    "Usage: xlb-decap attach IFACE [-m native|generic] [-j]\n"
    "Attaches the decapsulation program to IFACE through libxdp (so other XDP programs\n"
    "can share the interface), fills its address map with every IPv4/IPv6 address of\n"
    "this network namespace (all interfaces), pins its maps and exits; the program\n"
    "stays attached. Without -m: native mode, falling back to generic. On an interface\n"
    "where it is already attached, refreshes the address map instead (run it again\n"
    "after adding or removing addresses).\n";

static const char usage_detach[] = "Usage: xlb-decap detach IFACE [-j]\n"
				   "Removes the decapsulation program from IFACE and its pins.\n";

static const char usage_stats[] =
    "Usage: xlb-decap stats IFACE [-j]\n"
    "Prints whether the program is attached, the addresses it accepts tunnels for, and\n"
    "its counters (packets, bytes as received) by reason.\n";

/* ---- bpffs and pins -------------------------------------------------------- */

static int bpffs_mounted(void)
{
	struct statfs st;

	return !statfs(BPFFS, &st) && st.f_type == BPF_FS_MAGIC;
}

static int ensure_bpffs(void)
{
	if (bpffs_mounted())
		return 0;
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
		return -errno;
	return 0;
}

/* XLB_DECAP_PIN_ROOT/IFACE, or XLB_DECAP_PIN_ROOT/netns-ID/IFACE outside the
 * initial network namespace. */
static int pin_dir(const char *ifname, char *buf, size_t len)
{
	return xlb_netns_scoped_path(XLB_DECAP_PIN_ROOT, ifname, buf, len);
}

static int pin_path(char *buf, size_t len, const char *dir, const char *map)
{
	int n = snprintf(buf, len, "%s/%s", dir, map);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Removes the map pins and the directories they leave empty. Returns 1 if
 * anything was there, 0 if not, or a negative errno. */
static int unpin_all(const char *dir)
{
	const char *maps[] = {ADDRS_MAP, STATS_MAP};
	char path[PATH_MAX], parent[PATH_MAX], *slash;
	int found = 0;

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (pin_path(path, sizeof(path), dir, maps[i]))
			return -ENAMETOOLONG;
		if (!unlink(path))
			found = 1;
		else if (errno != ENOENT)
			return -errno;
	}
	if (!rmdir(dir))
		found = 1;
	else if (errno != ENOENT && errno != ENOTEMPTY)
		return -errno;
	/* The netns-ID level and the root, when nothing else lives there. */
	snprintf(parent, sizeof(parent), "%s", dir);
	while ((slash = strrchr(parent, '/')) && strlen(parent) > strlen(XLB_DECAP_PIN_ROOT)) {
		*slash = '\0';
		if (rmdir(parent))
			break;
	}
	return found;
}

/* Pins fd at dir/name, replacing whatever was pinned there. */
static int repin(int fd, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = pin_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return bpf_obj_pin(fd, path) ? -errno : 0;
}

static int open_pinned(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd, err = pin_path(path, sizeof(path), dir, name);

	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* ---- the attached program ---------------------------------------------------- */

/* What is attached where. */
struct attachment {
	__u32 prog_id;		   /* xlb_decap's program id */
	enum xdp_attach_mode mode; /* native or generic */
	int dispatcher;		   /* 1 behind libxdp's dispatcher, 0 alone (legacy) */
};

/* Finds xlb_decap among the XDP programs of ifindex (behind a libxdp
 * dispatcher or alone). Returns 0 and fills *at, or -ENOENT. */
static int find_attached(int ifindex, struct attachment *at)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	long err = libxdp_get_error(mp);

	if (err || !mp)
		return err && err != -ENOENT ? (int)err : -ENOENT;
	err = -ENOENT;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), PROG_NAME))
			err = 0;
	} else {
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (!strcmp(xdp_program__name(p), PROG_NAME)) {
				err = 0;
				break;
			}
	}
	if (!err) {
		at->prog_id = xdp_program__id(p);
		at->mode = xdp_multiprog__attach_mode(mp);
		at->dispatcher = !xdp_multiprog__is_legacy(mp);
	}
	xdp_multiprog__close(mp);
	return (int)err;
}

/* Opens the maps a loaded program uses, by name: the program itself is the
 * authority, whatever the pins say. */
static int prog_maps(__u32 prog_id, int *addrs_fd, int *stats_fd)
{
	__u32 ids[8], n = sizeof(ids) / sizeof(ids[0]);
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int prog_fd, err = 0;

	*addrs_fd = *stats_fd = -1;
	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		return -errno;
	info.nr_map_ids = n;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	for (__u32 i = 0; i < info.nr_map_ids && i < n; i++) {
		struct bpf_map_info minfo = {};
		__u32 mlen = sizeof(minfo);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &minfo, &mlen)) {
			if (!strcmp(minfo.name, ADDRS_MAP) && *addrs_fd < 0) {
				*addrs_fd = fd;
				continue;
			}
			if (!strcmp(minfo.name, STATS_MAP) && *stats_fd < 0) {
				*stats_fd = fd;
				continue;
			}
		}
		close(fd);
	}
	if (*addrs_fd < 0 || *stats_fd < 0)
		err = -ENOENT;
out:
	close(prog_fd);
	return err;
}

/* ---- the address map -------------------------------------------------------- */

static int addr_key(const struct sockaddr *sa, struct xlb_decap_key *key)
{
	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		key->family = XLB_AF_INET;
		key->addr.v4 = ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		key->family = XLB_AF_INET6;
		memcpy(key->addr.bytes, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

static const char *key_str(const struct xlb_decap_key *key, char *buf, size_t len)
{
	if (!inet_ntop(key->family == XLB_AF_INET6 ? AF_INET6 : AF_INET, key->addr.bytes, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* Makes the map hold exactly the addresses of this network namespace: adds
 * the new ones first, then removes the ones that left, so that an address
 * present before and after is never missing. Returns the count or -errno. */
static int sync_addrs(int fd)
{
	struct xlb_decap_key key, next, *want, *stale;
	struct ifaddrs *ifa_list, *ifa;
	size_t n_want = 0, n_stale = 0;
	int err = 0, more;

	want = calloc(XLB_DECAP_MAX_ADDRS, sizeof(*want));
	stale = calloc(XLB_DECAP_MAX_ADDRS, sizeof(*stale));
	if (!want || !stale) {
		err = -ENOMEM;
		goto out;
	}
	if (getifaddrs(&ifa_list)) {
		err = -errno;
		goto out;
	}
	for (ifa = ifa_list; ifa; ifa = ifa->ifa_next) {
		struct xlb_decap_addr val = {0};
		int dup = 0;

		if (!ifa->ifa_addr || addr_key(ifa->ifa_addr, &key))
			continue;
		for (size_t i = 0; i < n_want && !dup; i++)
			dup = !memcmp(&want[i], &key, sizeof(key));
		if (dup)
			continue;
		if (n_want == XLB_DECAP_MAX_ADDRS) {
			err = -E2BIG;
			break;
		}
		val.ifindex = if_nametoindex(ifa->ifa_name);
		if (bpf_map_update_elem(fd, &key, &val, BPF_ANY)) {
			err = -errno;
			break;
		}
		want[n_want++] = key;
	}
	freeifaddrs(ifa_list);
	if (err)
		goto out;

	for (more = !bpf_map_get_next_key(fd, NULL, &next); more && n_stale < XLB_DECAP_MAX_ADDRS;
	     more = !bpf_map_get_next_key(fd, &key, &next)) {
		int keep = 0;

		key = next;
		for (size_t i = 0; i < n_want && !keep; i++)
			keep = !memcmp(&want[i], &key, sizeof(key));
		if (!keep)
			stale[n_stale++] = key;
	}
	for (size_t i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(fd, &stale[i]) && errno != ENOENT)
			err = -errno;
out:
	free(want);
	free(stale);
	return err ? err : (int)n_want;
}

/* Addresses in the map, as a JSON array of strings. */
static json_t *list_addrs(int fd)
{
	struct xlb_decap_key key, next;
	json_t *arr = json_array();
	char buf[INET6_ADDRSTRLEN];
	int more;

	for (more = !bpf_map_get_next_key(fd, NULL, &next); more && arr;
	     more = !bpf_map_get_next_key(fd, &key, &next)) {
		key = next;
		json_array_append_new(arr, json_string(key_str(&key, buf, sizeof(buf))));
	}
	return arr;
}

/* ---- commands ---------------------------------------------------------------- */

static void print_result(const char *action, const char *ifname, const struct attachment *at,
			 int n_addrs, const char *dir)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:i, s:s}", "interface", ifname,
				      "action", action, "mode", mode_name(at->mode), "dispatcher",
				      at->dispatcher, "prog_id", (json_int_t)at->prog_id,
				      "addresses", n_addrs, "pin_dir", dir);

		if (o) {
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
		}
		return;
	}
	printf("%s %s on %s (%s mode, %s, program id %u), %d addresses, pins in %s\n", PROG_NAME,
	       action, ifname, mode_name(at->mode),
	       at->dispatcher ? "libxdp dispatcher" : "alone: no libxdp dispatcher", at->prog_id,
	       n_addrs, dir);
}

/* Opens the skeleton and attaches it in one mode. libxdp loads the object
 * itself (as an freplace extension of its dispatcher), so the skeleton is only
 * opened here. */
static int attach_mode(struct xlb_decap_bpf **skelp, int ifindex, enum xdp_attach_mode mode)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .prog_name = PROG_NAME);
	struct xlb_decap_bpf *skel;
	struct xdp_program *prog;
	int err;

	skel = xlb_decap_bpf__open();
	if (!skel)
		return -errno;
	opts.obj = skel->obj;
	prog = xdp_program__create(&opts);
	err = (int)libxdp_get_error(prog);
	if (!err) {
		err = xdp_program__attach(prog, ifindex, mode, 0);
		/* The attachment lives on in the dispatcher's pinned link. */
		xdp_program__close(prog);
	}
	if (err) {
		xlb_decap_bpf__destroy(skel);
		return err;
	}
	*skelp = skel;
	return 0;
}

static int detach_id(int ifindex, __u32 prog_id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p = NULL;
	long err = libxdp_get_error(mp);

	if (err || !mp)
		return err ? (int)err : -ENOENT;
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && xdp_program__id(p) != prog_id)
			p = NULL;
	} else {
		while ((p = xdp_multiprog__next_prog(p, mp)))
			if (xdp_program__id(p) == prog_id)
				break;
	}
	err = p ? xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0) : -ENOENT;
	xdp_multiprog__close(mp);
	return (int)err;
}

static int cmd_attach(const char *ifname, int ifindex, enum xdp_attach_mode want_mode)
{
	struct xlb_decap_bpf *skel = NULL;
	struct attachment at = {0};
	enum xdp_attach_mode mode;
	char dir[PATH_MAX];
	int addrs_fd, stats_fd, n, err;

	err = ensure_bpffs();
	if (err) {
		error("cannot mount a BPF filesystem on %s: %s, mount one (mount -t bpf bpf %s)",
		      BPFFS, strerror(-err), BPFFS);
		return EXIT_RUNTIME;
	}
	err = pin_dir(ifname, dir, sizeof(dir));
	if (!err)
		err = mkdir_p(dir);
	if (err) {
		error("cannot create the pin directory for %s: %s, check %s", ifname,
		      strerror(-err), XLB_DECAP_PIN_ROOT);
		return EXIT_RUNTIME;
	}

	/* Already there: refresh the addresses and the pins, keep the mode. */
	if (!find_attached(ifindex, &at)) {
		err = prog_maps(at.prog_id, &addrs_fd, &stats_fd);
		if (err) {
			error("%s (id %u) on %s has no %s/%s maps: %s, detach it and attach again",
			      PROG_NAME, at.prog_id, ifname, ADDRS_MAP, STATS_MAP, strerror(-err));
			return EXIT_RUNTIME;
		}
		if (want_mode != XDP_MODE_UNSPEC && want_mode != at.mode)
			note("already attached to %s in %s mode; detach first to change the mode",
			     ifname, mode_name(at.mode));
		n = sync_addrs(addrs_fd);
		err = n < 0 ? n : repin(addrs_fd, dir, ADDRS_MAP);
		if (!err)
			err = repin(stats_fd, dir, STATS_MAP);
		close(addrs_fd);
		close(stats_fd);
		if (err) {
			error("cannot refresh %s on %s: %s, check the pins in %s", PROG_NAME,
			      ifname, strerror(-err), dir);
			return EXIT_RUNTIME;
		}
		print_result("refreshed", ifname, &at, n, dir);
		return EXIT_OK;
	}

	/* Pins without a program are left from an interface that went away. */
	unpin_all(dir);
	err = mkdir_p(dir);
	if (err) {
		error("cannot create %s: %s, check %s", dir, strerror(-err), XLB_DECAP_PIN_ROOT);
		return EXIT_RUNTIME;
	}
	mode = want_mode == XDP_MODE_UNSPEC ? XDP_MODE_NATIVE : want_mode;
	err = attach_mode(&skel, ifindex, mode);
	if (err && want_mode == XDP_MODE_UNSPEC) {
		note("native mode failed on %s (%s), trying generic", ifname, strerror(-err));
		mode = XDP_MODE_SKB;
		err = attach_mode(&skel, ifindex, mode);
	}
	if (err) {
		error("cannot attach %s to %s in %s mode: %s, see 'xlb-decap -v attach %s' for "
		      "libxdp's account",
		      PROG_NAME, ifname, mode_name(mode), strerror(-err), ifname);
		unpin_all(dir);
		return EXIT_RUNTIME;
	}

	/* The map starts empty, so until it is filled tunnel packets reach the
	 * kernel untouched, as before the attach. */
	n = sync_addrs(bpf_map__fd(skel->maps.xlb_decap_addrs));
	err = n < 0 ? n : repin(bpf_map__fd(skel->maps.xlb_decap_addrs), dir, ADDRS_MAP);
	if (!err)
		err = repin(bpf_map__fd(skel->maps.xlb_decap_stats), dir, STATS_MAP);
	if (err) {
		error("cannot fill or pin the maps of %s on %s: %s, nothing was left attached",
		      PROG_NAME, ifname, strerror(-err));
		if (!find_attached(ifindex, &at))
			detach_id(ifindex, at.prog_id);
		unpin_all(dir);
		xlb_decap_bpf__destroy(skel);
		return EXIT_RUNTIME;
	}
	xlb_decap_bpf__destroy(skel);
	if (find_attached(ifindex, &at)) {
		error("%s vanished from %s right after the attach, check 'ip link show %s'",
		      PROG_NAME, ifname, ifname);
		return EXIT_RUNTIME;
	}
	print_result("attached", ifname, &at, n, dir);
	return EXIT_OK;
}

static int cmd_detach(const char *ifname, int ifindex)
{
	struct attachment at = {0};
	int attached = 0, pins, err;
	char dir[PATH_MAX];

	if (ifindex && !find_attached(ifindex, &at)) {
		err = detach_id(ifindex, at.prog_id);
		if (err) {
			error("cannot detach %s from %s: %s, see 'xlb-decap -v detach %s'",
			      PROG_NAME, ifname, strerror(-err), ifname);
			return EXIT_RUNTIME;
		}
		attached = 1;
	}
	pins = bpffs_mounted() && !pin_dir(ifname, dir, sizeof(dir)) ? unpin_all(dir) : 0;
	if (pins < 0) {
		error("cannot remove the pins in %s: %s, remove them by hand", dir,
		      strerror(-pins));
		return EXIT_RUNTIME;
	}
	if (!attached && !pins) {
		if (!ifindex)
			error(
			    "no interface named '%s' in this network namespace, give one listed by "
			    "'ip link'",
			    ifname);
		else
			error("%s is not attached to %s, attach it with 'xlb-decap attach %s'",
			      PROG_NAME, ifname, ifname);
		return EXIT_RUNTIME;
	}
	if (json) {
		json_t *o =
		    json_pack("{s:s, s:s, s:b, s:b}", "interface", ifname, "action", "detached",
			      "was_attached", attached, "pins_removed", pins > 0);

		if (o) {
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
		}
	} else if (attached) {
		printf("%s detached from %s\n", PROG_NAME, ifname);
	} else {
		printf("%s was not attached to %s; removed its stale pins\n", PROG_NAME, ifname);
	}
	return EXIT_OK;
}

static int cmd_stats(const char *ifname, int ifindex)
{
	int ncpu = libbpf_num_possible_cpus(), stats_fd, addrs_fd, attached, ret = EXIT_OK;
	struct attachment at = {0};
	struct xlb_counter *percpu;
	json_t *root = NULL, *counters, *addrs;
	char dir[PATH_MAX];

	if (ncpu < 0 || pin_dir(ifname, dir, sizeof(dir))) {
		error("cannot find the pins of %s, check /proc", ifname);
		return EXIT_RUNTIME;
	}
	if (!bpffs_mounted() || (stats_fd = open_pinned(dir, STATS_MAP)) < 0) {
		error("%s is not attached to %s (no pins in %s), attach it with "
		      "'xlb-decap attach %s'",
		      PROG_NAME, ifname, dir, ifname);
		return EXIT_RUNTIME;
	}
	addrs_fd = open_pinned(dir, ADDRS_MAP);
	attached = ifindex && !find_attached(ifindex, &at);
	percpu = calloc((size_t)ncpu, sizeof(*percpu));
	counters = json_object();
	addrs = addrs_fd >= 0 ? list_addrs(addrs_fd) : json_array();
	if (!percpu || !counters || !addrs) {
		error("out of memory, free some");
		ret = EXIT_RUNTIME;
		goto out;
	}
	for (__u32 i = 0; i < __XLB_DECAP_STAT_MAX; i++) {
		struct xlb_counter sum = {0};

		if (bpf_map_lookup_elem(stats_fd, &i, percpu)) {
			error("cannot read counter %s: %s, check the pins in %s", stat_info[i].name,
			      strerror(errno), dir);
			ret = EXIT_RUNTIME;
			goto out;
		}
		for (int c = 0; c < ncpu; c++) {
			sum.packets += percpu[c].packets;
			sum.bytes += percpu[c].bytes;
		}
		json_object_set_new(counters, stat_info[i].name,
				    json_pack("{s:I, s:I}", "packets", (json_int_t)sum.packets,
					      "bytes", (json_int_t)sum.bytes));
	}

	if (json) {
		root =
		    json_pack("{s:s, s:b, s:s, s:b, s:I, s:s, s:O, s:O}", "interface", ifname,
			      "attached", attached, "mode", attached ? mode_name(at.mode) : "none",
			      "dispatcher", at.dispatcher, "prog_id", (json_int_t)at.prog_id,
			      "pin_dir", dir, "addresses", addrs, "counters", counters);
		if (root) {
			json_dumpf(root, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
		}
	} else {
		size_t i;
		json_t *v;

		if (attached)
			printf("%s on %s: attached, %s mode, %s, program id %u\n", PROG_NAME,
			       ifname, mode_name(at.mode),
			       at.dispatcher ? "libxdp dispatcher" : "alone: no libxdp dispatcher",
			       at.prog_id);
		else
			printf("%s on %s: NOT attached (pins in %s are stale)\n", PROG_NAME, ifname,
			       dir);
		printf("addresses (%zu):", json_array_size(addrs));
		json_array_foreach(addrs, i, v) printf(" %s", json_string_value(v));
		printf("\n%-16s %14s %16s  %s\n", "counter", "packets", "bytes", "meaning");
		for (i = 0; i < __XLB_DECAP_STAT_MAX; i++) {
			json_t *c = json_object_get(counters, stat_info[i].name);

			printf("%-16s %14lld %16lld  %s\n", stat_info[i].name,
			       (long long)json_integer_value(json_object_get(c, "packets")),
			       (long long)json_integer_value(json_object_get(c, "bytes")),
			       stat_info[i].help);
		}
	}
out:
	json_decref(root);
	json_decref(counters);
	json_decref(addrs);
	free(percpu);
	close(stats_fd);
	if (addrs_fd >= 0)
		close(addrs_fd);
	return ret;
}

/* ---- command line ------------------------------------------------------------ */

enum cmd { CMD_ATTACH, CMD_DETACH, CMD_STATS, CMD_HELP, CMD_NONE };

static const struct {
	const char *name;
	const char *usage;
} cmds[] = {
    [CMD_ATTACH] = {"attach", usage_attach},
    [CMD_DETACH] = {"detach", usage_detach},
    [CMD_STATS] = {"stats", usage_stats},
    [CMD_HELP] = {"help", usage_main},
};

/* Exact name or unique prefix; CMD_NONE if unknown or ambiguous. */
static enum cmd find_cmd(const char *word, int *ambiguous)
{
	enum cmd found = CMD_NONE;
	size_t len = strlen(word);

	*ambiguous = 0;
	for (int i = 0; i < CMD_NONE; i++) {
		if (!strcmp(word, cmds[i].name))
			return (enum cmd)i;
		if (len && !strncmp(word, cmds[i].name, len)) {
			if (found != CMD_NONE)
				*ambiguous = 1;
			found = (enum cmd)i;
		}
	}
	return *ambiguous ? CMD_NONE : found;
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, arg);
	error("%s, see the usage below", what);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	enum xdp_attach_mode mode = XDP_MODE_UNSPEC;
	const char *ifname = NULL;
	enum cmd cmd = CMD_NONE;
	int ifindex, i, ambiguous;

	/* Global options, then the command, then its arguments and options in
	 * any order. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(cmd == CMD_NONE ? usage_main : cmds[cmd].usage, stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = 1;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "-m") || !strcmp(a, "--mode")) {
			if (cmd != CMD_ATTACH)
				return usage_error(cmd == CMD_NONE ? usage_main : cmds[cmd].usage,
						   "option %s belongs to attach", a);
			if (++i == argc)
				return usage_error(usage_attach, "%s needs a mode", a);
			if (!strcmp(argv[i], "native"))
				mode = XDP_MODE_NATIVE;
			else if (!strcmp(argv[i], "generic") || !strcmp(argv[i], "skb"))
				mode = XDP_MODE_SKB;
			else
				return usage_error(
				    usage_attach,
				    "unknown mode '%s', valid modes are native and generic",
				    argv[i]);
		} else if (a[0] == '-' && a[1]) {
			return usage_error(cmd == CMD_NONE ? usage_main : cmds[cmd].usage,
					   "unknown option '%s'", a);
		} else if (cmd == CMD_NONE) {
			cmd = find_cmd(a, &ambiguous);
			if (cmd == CMD_NONE)
				return usage_error(usage_main,
						   ambiguous ? "ambiguous command '%s'"
							     : "unknown command '%s'",
						   a);
		} else if (cmd == CMD_HELP) {
			enum cmd topic = find_cmd(a, &ambiguous);

			if (topic == CMD_NONE)
				return usage_error(usage_main, "no help on '%s'", a);
			fputs(cmds[topic].usage, stdout);
			return EXIT_OK;
		} else if (!ifname) {
			ifname = a;
		} else {
			return usage_error(cmds[cmd].usage, "unexpected argument '%s'", a);
		}
	}
	if (cmd == CMD_HELP) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (cmd == CMD_NONE)
		return usage_error(usage_main, "no command given%s", "");
	if (!ifname)
		return usage_error(cmds[cmd].usage, "%s needs an interface", cmds[cmd].name);
	if (strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/'))
		return usage_error(cmds[cmd].usage, "'%s' is not an interface name", ifname);

	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex && cmd == CMD_ATTACH) {
		error("no interface named '%s' in this network namespace, give one listed by "
		      "'ip link'",
		      ifname);
		return EXIT_RUNTIME;
	}
	switch (cmd) {
	case CMD_ATTACH:
		return cmd_attach(ifname, ifindex, mode);
	case CMD_DETACH:
		return cmd_detach(ifname, ifindex);
	case CMD_STATS:
		return cmd_stats(ifname, ifindex);
	default:
		return EXIT_USAGE;
	}
}
