// SPDX-License-Identifier: GPL-2.0
/* xlb_decap.c: xlb-decap, run on each backend. Attaches the decapsulation
 * program (bpf/xlb_decap.bpf.c) to an interface through the attach path that
 * xlbd uses too (user/attach.c), fills its maps (user/decap.c) and exits: the
 * attachment stays until `xlb-decap detach`. Also prints the counters.
 *
 * Usage: xlb-decap [-v] [-j] {attach IFACE --from PREFIX[,PREFIX...] [-m native|generic] |
 *                             detach IFACE | stats IFACE}
 */
#include <errno.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <jansson.h>

#include "addr.h"
#include "attach.h"
#include "decap.h"
#include "log.h"
#include "xlb.h"
#include "xlb_decap.h"
#include "xlb_decap.skel.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static int verbose; /* -v: let libbpf and libxdp talk */
static int json;    /* -j: JSON on stdout */

/* attach --from: the load balancers' outer sources. */
static struct xlb_prefix from[XLB_DECAP_MAX_FROM];
static size_t n_from;

/* How many entries each map got from an attach or refresh. */
struct filled {
	int addrs; /* outer destinations: this host's addresses */
	int local; /* inner destinations: local routes */
};

/* Prints and frees o (NULL: out of memory, nothing to print). */
static void print_json(json_t *o, size_t flags)
{
	if (!o)
		return;
	json_dumpf(o, stdout, flags);
	fputc('\n', stdout);
	json_decref(o);
}

/* "Error: <what was wrong>, <what is valid>" on stderr; in JSON mode also
 * {"error": "..."} on stdout, so scripts reading stdout see it. */
__attribute__((format(printf, 1, 2))) static void error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "Error: %s\n", msg);
	if (json)
		print_json(json_pack("{s:s}", "error", msg), JSON_COMPACT);
}

static const char usage_main[] =
    "Usage: xlb-decap [-v] [-j] COMMAND IFACE [OPTIONS]\n"
    "Strips xlb's tunnel headers (IPv4/IPv6 in IPv4/IPv6) in XDP on a backend, for\n"
    "tunnels to this host's addresses from the load balancers (--from) that carry a\n"
    "packet for this host. A load balancer's tunnel carrying anything else is dropped;\n"
    "everything else passes untouched.\n"
    "\n"
    "Commands:\n"
    "  attach IFACE --from PREFIX[,PREFIX...] [-m native|generic]\n"
    "                    attach to IFACE, or refresh its maps\n"
    "  detach IFACE      remove from IFACE, and its pins\n"
    "  stats IFACE       print the counters\n"
    "  help [COMMAND]    this text, or a command's\n"
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
    "Usage: xlb-decap attach IFACE --from PREFIX[,PREFIX...] [-m native|generic] [-j]\n"
    "Attaches the decapsulation program to IFACE through libxdp (so other XDP programs\n"
    "can share the interface), fills its maps, pins them and exits; the program stays\n"
    "attached. Tunnels are stripped only when their outer destination is an address of\n"
    "this network namespace (all interfaces), their outer source is in --from, and\n"
    "their inner destination is local here (the local routing table: addresses and\n"
    "ranges routed to lo, such as VIPs held with 'ip route add local').\n"
    "  --from PREFIX[,PREFIX...]  the load balancers' outer source addresses (xlbd's\n"
    "                             --src4/--src6, else its interface's addresses), IPv4\n"
    "                             or IPv6, ADDR or ADDR/LEN; may be repeated; required\n"
    "Without -m: native mode, falling back to generic. On an interface where it is\n"
    "already attached, replaces --from and refreshes the addresses and local routes\n"
    "instead (run it again after adding or removing addresses or VIPs).\n";

static const char usage_detach[] = "Usage: xlb-decap detach IFACE [-j]\n"
				   "Removes the decapsulation program from IFACE and its pins.\n";

static const char usage_stats[] =
    "Usage: xlb-decap stats IFACE [-j]\n"
    "Prints whether the program is attached, the addresses it accepts tunnels for, the\n"
    "sources it accepts them from (--from), the inner destinations it accepts (local\n"
    "routes), and its counters (packets, bytes as received) by reason.\n";

static const char *key_str(const struct xlb_decap_key *key, char *buf, size_t len)
{
	if (!inet_ntop(key->family == XLB_AF_INET6 ? AF_INET6 : AF_INET, key->addr.bytes, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* Prefixes of an LPM map (from, local), as a JSON array of strings. */
static json_t *list_prefixes(int fd, size_t max)
{
	struct xlb_prefix *p = calloc(max, sizeof(*p));
	char buf[XLB_ADDR_STRLEN];
	json_t *arr = json_array();
	int n = p ? xlb_decap_prefixes_read(fd, p, max) : -ENOMEM;

	for (int i = 0; i < n && arr; i++) {
		xlb_prefix_format(&p[i], buf, sizeof(buf));
		json_array_append_new(arr, json_string(buf));
	}
	free(p);
	if (n < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* Addresses in the map, as a JSON array of strings. */
static json_t *list_addrs(const struct xlb_decap_maps *m)
{
	struct xlb_decap_key *keys = calloc(XLB_DECAP_MAX_ADDRS, sizeof(*keys));
	char buf[INET6_ADDRSTRLEN];
	json_t *arr = json_array();
	int n = keys ? xlb_decap_addrs_read(m, keys, XLB_DECAP_MAX_ADDRS) : -ENOMEM;

	for (int i = 0; i < n && arr; i++)
		json_array_append_new(arr, json_string(key_str(&keys[i], buf, sizeof(buf))));
	free(keys);
	if (n < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static const char *attached_how(const struct xlb_attached *a)
{
	return a->dispatcher ? "libxdp dispatcher" : "alone: no libxdp dispatcher";
}

static void print_result(const char *action, const struct xlb_attach *at,
			 const struct xlb_attached *a, const struct filled *f)
{
	if (json) {
		print_json(json_pack("{s:s, s:s, s:s, s:b, s:I, s:i, s:i, s:i, s:s}", "interface",
				     at->ifname, "action", action, "mode",
				     xlb_attach_mode_str(a->mode), "dispatcher", a->dispatcher,
				     "prog_id", (json_int_t)a->prog_id, "addresses", f->addrs,
				     "from", (int)n_from, "local", f->local, "pin_dir",
				     at->pin_dir),
			   JSON_COMPACT);
		return;
	}
	printf("%s %s on %s (%s mode, %s, program id %u), %d addresses, %zu source prefixes "
	       "(--from), %d local routes, pins in %s\n",
	       at->desc->prog, action, at->ifname, xlb_attach_mode_str(a->mode), attached_how(a),
	       a->prog_id, f->addrs, n_from, f->local, at->pin_dir);
}

/* Fills every map, each add-first (what the old and the new contents share is
 * never missing in between). Returns 0 or -errno. */
static int fill_maps(const struct xlb_decap_maps *m, struct filled *f)
{
	int err = xlb_decap_set_from(m, from, n_from);

	if (err)
		return err;
	f->local = xlb_decap_sync_local(m);
	if (f->local < 0)
		return f->local;
	f->addrs = xlb_decap_sync_addrs(m);
	return f->addrs < 0 ? f->addrs : 0;
}

/* Already there: refresh the maps and the pins, keep the mode. */
static int refresh(struct xlb_attach *at, const struct xlb_attached *a, enum xlb_attach_mode want)
{
	struct xlb_decap_maps m;
	struct filled f;
	int err;

	err = xlb_decap_maps_from_prog(a->prog_id, &m);
	if (err) {
		error("%s (id %u) on %s lacks the maps of this xlb-decap: %s, detach it and attach "
		      "again",
		      at->desc->prog, a->prog_id, at->ifname, strerror(-err));
		return EXIT_RUNTIME;
	}
	if ((want == XLB_ATTACH_NATIVE && a->mode != XDP_MODE_NATIVE) ||
	    (want == XLB_ATTACH_GENERIC && a->mode != XDP_MODE_SKB))
		pr_warn("interface %s: %s already attached in %s mode; detach first to change the "
			"mode",
			at->ifname, at->desc->prog, xlb_attach_mode_str(a->mode));
	err = fill_maps(&m, &f);
	if (!err)
		err = xlb_decap_maps_pin(at, &m);
	xlb_decap_maps_close(&m);
	if (err) {
		error("cannot refresh %s on %s: %s, check the pins in %s", at->desc->prog,
		      at->ifname, strerror(-err), at->pin_dir);
		return EXIT_RUNTIME;
	}
	print_result("refreshed", at, a, &f);
	return EXIT_OK;
}

static int attach_fresh(struct xlb_attach *at, enum xlb_attach_mode mode)
{
	struct xlb_decap_bpf *skel;
	struct xlb_decap_maps m;
	struct xlb_attached a;
	struct filled f;
	char err[512];
	int ret;

	skel = xlb_decap_bpf__open();
	if (!skel) {
		error("cannot open the decapsulation program: %s, reinstall xlb-decap",
		      strerror(errno));
		return EXIT_RUNTIME;
	}
	/* libbpf pins the maps as it creates them. */
	if (xlb_attach_set_pin_paths(at, skel->obj, err, sizeof(err)) ||
	    xlb_attach_prog(at, skel->obj, mode, err, sizeof(err))) {
		error("%s%s", err,
		      verbose ? "" : " (see 'xlb-decap -v attach' for libxdp's account)");
		xlb_decap_bpf__destroy(skel);
		xlb_attach_remove_pins(at);
		return EXIT_RUNTIME;
	}
	/* The maps start empty, so until they are filled tunnel packets reach
	 * the kernel untouched, as before the attach. */
	ret = xlb_decap_maps_from_obj(skel->obj, &m);
	if (!ret) {
		ret = fill_maps(&m, &f);
		xlb_decap_maps_close(&m);
	}
	xlb_decap_bpf__destroy(skel);
	if (ret) {
		error("cannot fill the maps of %s on %s: %s, nothing was left attached",
		      at->desc->prog, at->ifname, strerror(-ret));
		xlb_attach_detach(at, err, sizeof(err));
		return EXIT_RUNTIME;
	}
	if (xlb_attach_find(at, &a)) {
		error("%s vanished from %s right after the attach, check 'ip link show %s'",
		      at->desc->prog, at->ifname, at->ifname);
		return EXIT_RUNTIME;
	}
	print_result("attached", at, &a, &f);
	return EXIT_OK;
}

static int cmd_attach(const char *ifname, enum xlb_attach_mode mode)
{
	struct xlb_attached a;
	struct xlb_attach at;
	char err[512];
	int ret, code;

	if (xlb_attach_open(&at, &xlb_attach_decap, ifname, err, sizeof(err))) {
		error("%s", err);
		return EXIT_RUNTIME;
	}
	if (!at.ifindex) {
		error("no interface named '%s' in this network namespace, give one listed by "
		      "'ip link'",
		      ifname);
		return EXIT_RUNTIME;
	}
	ret = xlb_attach_find(&at, &a);
	if (ret && ret != -ENOENT) {
		error("cannot read the XDP programs of %s: %s, check 'ip link show %s'", ifname,
		      strerror(-ret), ifname);
		return EXIT_RUNTIME;
	}
	/* Pins without a program are left from an interface that went away. */
	if (ret == -ENOENT)
		xlb_attach_remove_pins(&at);
	if (xlb_attach_prepare(&at, &xlb_attach_decap, ifname, 1, err, sizeof(err))) {
		error("%s", err);
		return EXIT_RUNTIME;
	}
	code = ret ? attach_fresh(&at, mode) : refresh(&at, &a, mode);
	xlb_attach_release(&at);
	return code;
}

static int cmd_detach(const char *ifname)
{
	struct xlb_attach at;
	int taken, had_pins;
	char err[512];

	if (xlb_attach_open(&at, &xlb_attach_decap, ifname, err, sizeof(err))) {
		error("%s", err);
		return EXIT_RUNTIME;
	}
	had_pins = !access(at.pin_dir, F_OK);
	taken = xlb_attach_detach(&at, err, sizeof(err));
	if (taken < 0) {
		error("%s (see 'xlb-decap -v detach %s')", err, ifname);
		return EXIT_RUNTIME;
	}
	if (!taken && !had_pins) {
		if (!at.ifindex)
			error(
			    "no interface named '%s' in this network namespace, give one listed by "
			      "'ip link'",
			      ifname);
		else
			error("%s is not attached to %s, attach it with 'xlb-decap attach %s'",
			      at.desc->prog, ifname, ifname);
		return EXIT_RUNTIME;
	}
	if (json)
		print_json(json_pack("{s:s, s:s, s:b, s:b}", "interface", ifname, "action",
				     "detached", "was_attached", taken > 0, "pins_removed",
				     had_pins),
			   JSON_COMPACT);
	else if (taken)
		printf("%s detached from %s\n", at.desc->prog, ifname);
	else
		printf("%s was not attached to %s; removed its stale pins\n", at.desc->prog,
		       ifname);
	return EXIT_OK;
}

static int cmd_stats(const char *ifname)
{
	struct xlb_counter sum[__XLB_DECAP_STAT_MAX];
	json_t *root = NULL, *counters = NULL, *addrs = NULL, *srcs = NULL, *local = NULL;
	struct xlb_attached a = {0};
	struct xlb_decap_maps m;
	struct xlb_attach at;
	int attached, ret;
	char err[512];

	if (xlb_attach_open(&at, &xlb_attach_decap, ifname, err, sizeof(err))) {
		error("%s", err);
		return EXIT_RUNTIME;
	}
	if (xlb_decap_maps_from_pins(at.pin_dir, &m)) {
		error("%s is not attached to %s (no pins in %s), attach it with "
		      "'xlb-decap attach %s'",
		      at.desc->prog, ifname, at.pin_dir, ifname);
		return EXIT_RUNTIME;
	}
	attached = !xlb_attach_find(&at, &a);
	ret = xlb_decap_counters(&m, sum);
	if (ret) {
		error("cannot read the counters: %s, check the pins in %s", strerror(-ret),
		      at.pin_dir);
		xlb_decap_maps_close(&m);
		return EXIT_RUNTIME;
	}
	counters = json_object();
	addrs = list_addrs(&m);
	srcs = list_prefixes(m.from, XLB_DECAP_MAX_FROM);
	local = list_prefixes(m.local, XLB_DECAP_MAX_LOCAL);
	xlb_decap_maps_close(&m);
	if (!counters || !addrs || !srcs || !local) {
		error("cannot list the maps of %s: out of memory or unreadable, check the pins in "
		      "%s",
		      at.desc->prog, at.pin_dir);
		json_decref(counters);
		json_decref(addrs);
		json_decref(srcs);
		json_decref(local);
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < __XLB_DECAP_STAT_MAX; i++)
		json_object_set_new(counters, xlb_decap_stat_names[i],
				    json_pack("{s:I, s:I}", "packets", (json_int_t)sum[i].packets,
					      "bytes", (json_int_t)sum[i].bytes));

	if (json) {
		root = json_pack("{s:s, s:b, s:s, s:b, s:I, s:s, s:O, s:O, s:O, s:O}", "interface",
				 ifname, "attached", attached, "mode",
				 attached ? xlb_attach_mode_str(a.mode) : "none", "dispatcher",
				 a.dispatcher, "prog_id", (json_int_t)a.prog_id, "pin_dir",
				 at.pin_dir, "addresses", addrs, "from", srcs, "local", local,
				 "counters", counters);
		print_json(root, JSON_INDENT(2));
	} else {
		size_t i;
		json_t *v;

		if (attached)
			printf("%s on %s: attached, %s mode, %s, program id %u\n", at.desc->prog,
			       ifname, xlb_attach_mode_str(a.mode), attached_how(&a), a.prog_id);
		else
			printf("%s on %s: NOT attached (pins in %s are stale)\n", at.desc->prog,
			       ifname, at.pin_dir);
		printf("addresses (%zu):", json_array_size(addrs));
		json_array_foreach(addrs, i, v) printf(" %s", json_string_value(v));
		printf("\nfrom (%zu):", json_array_size(srcs));
		json_array_foreach(srcs, i, v) printf(" %s", json_string_value(v));
		printf("\nlocal (%zu):", json_array_size(local));
		json_array_foreach(local, i, v) printf(" %s", json_string_value(v));
		printf("\n%-16s %14s %16s  %s\n", "counter", "packets", "bytes", "meaning");
		for (i = 0; i < __XLB_DECAP_STAT_MAX; i++)
			printf("%-16s %14llu %16llu  %s\n", xlb_decap_stat_names[i],
			       (unsigned long long)sum[i].packets, (unsigned long long)sum[i].bytes,
			       xlb_decap_stat_help[i]);
	}
	json_decref(counters);
	json_decref(addrs);
	json_decref(srcs);
	json_decref(local);
	return EXIT_OK;
}

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
	enum xlb_attach_mode mode = XLB_ATTACH_AUTO;
	const char *ifname = NULL;
	enum cmd cmd = CMD_NONE;
	int i, ambiguous;

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
				mode = XLB_ATTACH_NATIVE;
			else if (!strcmp(argv[i], "generic") || !strcmp(argv[i], "skb"))
				mode = XLB_ATTACH_GENERIC;
			else
				return usage_error(
				    usage_attach,
				    "unknown mode '%s', valid modes are native and generic",
				    argv[i]);
		} else if (!strcmp(a, "--from")) {
			char err[XLB_ERRLEN];
			int n;

			if (cmd != CMD_ATTACH)
				return usage_error(cmd == CMD_NONE ? usage_main : cmds[cmd].usage,
						   "option %s belongs to attach", a);
			if (++i == argc)
				return usage_error(
				    usage_attach,
				    "%s needs PREFIX[,PREFIX...], the load balancers' "
				    "outer source addresses",
				    a);
			n = xlb_prefix_list_parse(argv[i], from + n_from,
						  XLB_DECAP_MAX_FROM - n_from, err, sizeof(err));
			if (n < 0)
				return usage_error(usage_attach, "--from: %s", err);
			n_from += (size_t)n;
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
	/* No default: any source would open the backend to anyone's tunnel. */
	if (cmd == CMD_ATTACH && !n_from)
		return usage_error(
		    usage_attach,
		    "attach needs --from PREFIX[,PREFIX...], the outer source "
		    "addresses of the load balancers (xlbd's --src4/--src6, else its "
		    "interface's addresses), IPv4 or IPv6, e.g. --from "
		    "198.18.0.2,2001:db8::2%s",
		    "");

	/* Quiet unless asked: a successful attach prints one result line. */
	xlb_log_set_level(verbose ? XLB_LOG_DEBUG : XLB_LOG_WARN);
	xlb_log_libbpf();
	switch (cmd) {
	case CMD_ATTACH:
		return cmd_attach(ifname, mode);
	case CMD_DETACH:
		return cmd_detach(ifname);
	case CMD_STATS:
		return cmd_stats(ifname);
	default:
		return EXIT_USAGE;
	}
}
