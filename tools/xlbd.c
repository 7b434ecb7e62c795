// SPDX-License-Identifier: GPL-2.0
/* xlbd.c: the xlb daemon's main: options, then the wiring of data plane,
 * attach, rules file and control socket, then one event loop. Leaving never
 * detaches; only `xlbctl detach` (or `xlbd --detach`) takes xlb off. */
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include "addr.h"
#include "announce.h"
#include "attach.h"
#include "ctl.h"
#include "dataplane.h"
#include "fib_watch.h"
#include "files.h"
#include "health.h"
#include "host_settings.h"
#include "lb.h"
#include "log.h"
#include "maglev.h"
#include "pressure.h"
#include "metrics.h"
#include "metrics_http.h"
#include "metrics_scrape.h"
#include "netns.h"
#include "request.h"
#include "rules.h"
#include "sweep.h"

#define EXIT_USAGE 2

/* Why the event loop ended. */
enum { STOP_NONE, STOP_SIGNAL, STOP_DETACHED };

struct xlbd_opts {
	const char *ifname;	   /* -i */
	const char *socket;	   /* -S, NULL: xlb_ctl_default_path() */
	const char *rules;	   /* -r, NULL: XLB_STATE_DIR[/netns/NAME]/IFNAME.rules */
	enum xlb_attach_mode mode; /* -m */
	const char *src4, *src6;   /* ADDR[/PREFIXLEN], NULL: the interface's */
	struct xlb_dp_opts dp;	   /* sizes; pin_dir filled in later */
	__u32 udp_timeout_s;	   /* --udp-timeout */
	__u32 conn_budget;	   /* --conn-budget, 0: no limit */
	__u32 syn_timeout_s;	   /* --syn-timeout */
	__u32 tcp_timeout_s;	   /* --tcp-timeout */
	__u32 fin_timeout_s;	   /* --fin-timeout */
	int verbose;		   /* -v: debug logging */
	int detach;		   /* --detach: take xlb off the interface, exit */
	int reset;		   /* --reset: a missing or empty rules file may drop
				    * the VIPs the pinned maps hold */
	int no_sysctl;		   /* --no-sysctl: refuse, not fix, wrong sysctls */
	int private_bpffs;	   /* --private-bpffs: run with pins that die with
				    * this mount namespace (see bpffs.h) */
	const char *metrics;	   /* --metrics ADDR:PORT, NULL: no metrics */
	__u32 announce_table;	   /* --announce-table, 0: no announcements */
};

struct xlbd {
	struct xlbd_opts o;
	char socket_path[PATH_MAX];    /* the control socket */
	char rules_path[PATH_MAX];     /* the file restored and rewritten */
	char rules_lock[PATH_MAX];     /* rules_path.lock, held while we run */
	int rules_lock_fd;	       /* -1: not held */
	struct xlb_attach at;	       /* interface, lock, program */
	struct xlb_dp *dp;	       /* the maps */
	struct xlb_lb *lb;	       /* the configuration */
	struct xlb_hc *hc;	       /* the health checks */
	struct xlb_ctl *ctl;	       /* the control socket */
	struct xlb_metrics_srv *metrics; /* --metrics, NULL: off */
	struct xlb_req_env env;	       /* what requests run against */
	struct xlb_fib_watch fib;      /* warns when route lookups fail */
	struct xlb_config cfg;	       /* outer sources (and UDP timeout) for xlb_config */
	int stop;		       /* STOP_*: leave the event loop */
	struct xlb_pressure pressure;  /* connection-table pressure, logged */
	struct xlb_announce *announce; /* the announcement table, NULL: off */
	int announce_failing;	       /* the last sync failed (logged once) */
};

static const char usage_text[] =
    "Usage: xlbd -i IFACE [-S SOCKET] [-r RULES] [-m native|generic] [--src4 ADDR[/LEN]]\n"
    "            [--src6 ADDR[/LEN]] [--max-vips N] [--max-backends N] [--conns N]\n"
    "            [--ring-size M] [--udp-timeout S] [--conn-budget N] [--syn-timeout S]\n"
    "            [--tcp-timeout S] [--fin-timeout S] [--icmp-rate N[/s]] [--announce-table N]\n"
    "            [--second-chance-window S] [--no-second-chance] [--reset] [--no-sysctl]\n"
    "            [--private-bpffs] [--metrics ADDR:PORT] [-v]\n"
    "       xlbd -i IFACE --detach [--announce-table N]\n"
    "Runs the xlb load balancer on IFACE in the foreground, logging to stderr.\n"
    "  -i, --interface IFACE  interface to attach the XDP program to\n"
    "  -S, --socket PATH      control socket (default " XLB_RUN_DIR "/xlbd.sock, in another\n"
    "                         network namespace " XLB_RUN_DIR "/netns-ID/xlbd.sock)\n"
    "  -r, --rules PATH       rules file, restored on start and rewritten after every\n"
    "                         change (default " XLB_STATE_DIR "/IFACE.rules, in a network\n"
    "                         namespace named NS " XLB_STATE_DIR "/netns/NS/IFACE.rules);\n"
    "                         locked: one xlbd per file\n"
    "  -m, --mode MODE        native or generic XDP (default: native, else generic)\n"
    "      --src4 ADDR[/LEN]  outer IPv4 source; the bits after LEN vary per flow for\n"
    "                         RSS on the backends (default: IFACE's first IPv4, /32)\n"
    "      --src6 ADDR[/LEN]  outer IPv6 source, same (default: IFACE's first global\n"
    "                         IPv6, /128); only the last 32 bits can vary\n"
    "      --max-vips N       VIP slots (default 512)\n"
    "      --max-backends N   backend slots, all VIPs together (default 4096)\n"
    "      --conns N          connection table entries (default 1048576)\n"
    "      --ring-size M      Maglev ring size, a prime (default 65537)\n"
    "      --udp-timeout S    idle seconds before a UDP flow may re-hash (default 30)\n"
    "      --conn-budget N    new connection entries per CPU and second, 0-100000000;\n"
    "                         above it new flows go by the ring unrecorded; 0: no\n"
    "                         limit (default 100000)\n"
    "      --syn-timeout S    seconds a TCP flow seen only by its SYN keeps its\n"
    "                         entry, 1-3600 (default 5)\n"
    "      --tcp-timeout S    idle seconds before an established TCP flow's entry\n"
    "                         expires (it re-hashes), 1-604800 (default 900)\n"
    "      --fin-timeout S    idle seconds a TCP flow keeps its entry after the\n"
    "                         client's FIN or RST, 1-3600 (default 10)\n"
    "      --icmp-rate N[/s]  ICMP errors xlb may send per second and CPU (packet too\n"
    "                         big), bursts of 50; 0: none (default 1000)\n"
    "      --announce-table N keep a blackhole route (proto 250) per VIP address with a\n"
    "                         usable backend in routing table N, for a BGP daemon to\n"
    "                         announce (docs/bird/lb.conf); 1-4294967295 but not\n"
    "                         253-255 (default: off)\n"
    "      --second-chance-window S  keep a VIP's ring for S seconds after it changed,\n"
    "                         1-86400: a flow that ECMP moves here from another\n"
    "                         instance in that time, and that the new ring sends\n"
    "                         elsewhere, is sent with the old choice as a hint, which\n"
    "                         xlb-decap follows (default 300)\n"
    "      --no-second-chance keep no previous ring: no hints\n"
    "      --reset            start even when the rules file is missing or holds no\n"
    "                         VIPs while the pinned maps hold some: drop them\n"
    "      --no-sysctl        do not set the sysctls xlb needs on IFACE (forwarding,\n"
    "                         accept_local): refuse to start while one is wrong\n"
    "      --private-bpffs    run even in a mount namespace of its own (as under 'ip\n"
    "                         netns exec') whose bpffs dies with it: the next xlbd\n"
    "                         adopts nothing; 'nsenter --net=/run/netns/NS xlbd ...'\n"
    "                         keeps the host's bpffs and needs no such option\n"
    "      --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
    "                         (IPv6 in brackets; default: off)\n"
    "      --detach           take xlb off IFACE, remove its pins, and exit (with\n"
    "                         --announce-table, withdraw every VIP address first)\n"
    "  -v, --verbose          debug logging\n"
    "  -h, --help             this text\n"
    "SIGTERM/SIGINT stop xlbd and leave xlb forwarding; a new xlbd adopts it.\n"
    "SIGHUP re-reads the rules file. See xlbd(8).\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "Error: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nRun 'xlbd --help' for the options.\n");
	return EXIT_USAGE;
}

static int parse_num(const char *text, unsigned long min, unsigned long max, __u32 *out)
{
	unsigned long v;
	char *end;

	if (!*text || strspn(text, "0123456789") != strlen(text) || strlen(text) > 10)
		return -EINVAL;
	v = strtoul(text, &end, 10);
	if (v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* --icmp-rate: "N" or "N/s", 0-XLB_ICMP_RATE_MAX; 0 (none) is stored as -1,
 * since 0 in xlb_dp_opts is the default. */
static int parse_rate(const char *text, __s32 *out)
{
	char buf[16];
	size_t n = strlen(text);
	__u32 v;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, n + 1);
	if (n > 2 && !strcmp(buf + n - 2, "/s"))
		buf[n - 2] = 0;
	if (parse_num(buf, 0, XLB_ICMP_RATE_MAX, &v))
		return -EINVAL;
	*out = v ? (__s32)v : -1;
	return 0;
}

enum {
	OPT_SRC4 = 256,
	OPT_SRC6,
	OPT_MAX_VIPS,
	OPT_MAX_BACKENDS,
	OPT_CONNS,
	OPT_RING_SIZE,
	OPT_UDP_TIMEOUT,
	OPT_CONN_BUDGET,
	OPT_SYN_TIMEOUT,
	OPT_ICMP_RATE,
	OPT_TCP_TIMEOUT,
	OPT_FIN_TIMEOUT,
	OPT_DETACH,
	OPT_RESET,
	OPT_NO_SYSCTL,
	OPT_PRIVATE_BPFFS,
	OPT_METRICS,
	OPT_ANNOUNCE_TABLE,
	OPT_SECOND_CHANCE_WINDOW,
	OPT_NO_SECOND_CHANCE,
};

/* Returns -1 to go on, else the exit code. */
static int parse_opts(int argc, char **argv, struct xlbd_opts *o)
{
	static const struct option longopts[] = {
	    {"interface", required_argument, NULL, 'i'},
	    {"socket", required_argument, NULL, 'S'},
	    {"rules", required_argument, NULL, 'r'},
	    {"mode", required_argument, NULL, 'm'},
	    {"src4", required_argument, NULL, OPT_SRC4},
	    {"src6", required_argument, NULL, OPT_SRC6},
	    {"max-vips", required_argument, NULL, OPT_MAX_VIPS},
	    {"max-backends", required_argument, NULL, OPT_MAX_BACKENDS},
	    {"conns", required_argument, NULL, OPT_CONNS},
	    {"ring-size", required_argument, NULL, OPT_RING_SIZE},
	    {"udp-timeout", required_argument, NULL, OPT_UDP_TIMEOUT},
	    {"conn-budget", required_argument, NULL, OPT_CONN_BUDGET},
	    {"syn-timeout", required_argument, NULL, OPT_SYN_TIMEOUT},
	    {"tcp-timeout", required_argument, NULL, OPT_TCP_TIMEOUT},
	    {"fin-timeout", required_argument, NULL, OPT_FIN_TIMEOUT},
	    {"icmp-rate", required_argument, NULL, OPT_ICMP_RATE},
	    {"detach", no_argument, NULL, OPT_DETACH},
	    {"reset", no_argument, NULL, OPT_RESET},
	    {"no-sysctl", no_argument, NULL, OPT_NO_SYSCTL},
	    {"private-bpffs", no_argument, NULL, OPT_PRIVATE_BPFFS},
	    {"metrics", required_argument, NULL, OPT_METRICS},
	    {"announce-table", required_argument, NULL, OPT_ANNOUNCE_TABLE},
	    {"second-chance-window", required_argument, NULL, OPT_SECOND_CHANCE_WINDOW},
	    {"no-second-chance", no_argument, NULL, OPT_NO_SECOND_CHANCE},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->udp_timeout_s = XLB_UDP_TIMEOUT_DEFAULT_S;
	o->conn_budget = XLB_CONN_BUDGET_DEFAULT;
	o->syn_timeout_s = XLB_SYN_TIMEOUT_DEFAULT_S;
	o->tcp_timeout_s = XLB_TCP_TIMEOUT_DEFAULT_S;
	o->fin_timeout_s = XLB_FIN_TIMEOUT_DEFAULT_S;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:S:r:m:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->ifname = optarg;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'r':
			o->rules = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "native"))
				o->mode = XLB_ATTACH_NATIVE;
			else if (!strcmp(optarg, "generic") || !strcmp(optarg, "skb"))
				o->mode = XLB_ATTACH_GENERIC;
			else
				return usage_error("bad mode '%s', expected native or generic",
						   optarg);
			break;
		case OPT_SRC4:
			o->src4 = optarg;
			break;
		case OPT_SRC6:
			o->src6 = optarg;
			break;
		case OPT_MAX_VIPS:
			if (parse_num(optarg, 1, 1 << 20, &o->dp.max_vips))
				return usage_error("bad --max-vips '%s', expected 1-1048576",
						   optarg);
			break;
		case OPT_MAX_BACKENDS:
			if (parse_num(optarg, 1, 1 << 20, &o->dp.max_backends))
				return usage_error("bad --max-backends '%s', expected 1-1048576",
						   optarg);
			break;
		case OPT_CONNS:
			if (parse_num(optarg, 1, 1U << 30, &o->dp.max_conns))
				return usage_error("bad --conns '%s', expected 1-1073741824",
						   optarg);
			break;
		case OPT_RING_SIZE:
			if (parse_num(optarg, 2, 1 << 24, &o->dp.ring_size) ||
			    !xlb_is_prime(o->dp.ring_size))
				return usage_error("bad --ring-size '%s', expected a prime up to "
						   "16777216 (e.g. 65537)",
						   optarg);
			break;
		case OPT_UDP_TIMEOUT:
			if (parse_num(optarg, 1, 86400, &o->udp_timeout_s))
				return usage_error(
				    "bad --udp-timeout '%s', expected 1-86400 seconds", optarg);
			break;
		case OPT_CONN_BUDGET:
			if (parse_num(optarg, 0, XLB_CONN_BUDGET_MAX, &o->conn_budget))
				return usage_error("bad --conn-budget '%s', expected 0-100000000 new "
						   "entries per CPU and second (0: no limit)",
						   optarg);
			break;
		case OPT_SYN_TIMEOUT:
			if (parse_num(optarg, 1, 3600, &o->syn_timeout_s))
				return usage_error("bad --syn-timeout '%s', expected 1-3600 seconds",
						   optarg);
			break;
		case OPT_TCP_TIMEOUT:
			if (parse_num(optarg, 1, 604800, &o->tcp_timeout_s))
				return usage_error(
				    "bad --tcp-timeout '%s', expected 1-604800 seconds", optarg);
			break;
		case OPT_FIN_TIMEOUT:
			if (parse_num(optarg, 1, 3600, &o->fin_timeout_s))
				return usage_error("bad --fin-timeout '%s', expected 1-3600 seconds",
						   optarg);
			break;
		case OPT_ICMP_RATE:
			if (parse_rate(optarg, &o->dp.icmp_rate))
				return usage_error("bad --icmp-rate '%s', expected 0-1000000 "
						   "messages a second (N or N/s)",
						   optarg);
			break;
		case OPT_DETACH:
			o->detach = 1;
			break;
		case OPT_RESET:
			o->reset = 1;
			break;
		case OPT_NO_SYSCTL:
			o->no_sysctl = 1;
			break;
		case OPT_PRIVATE_BPFFS:
			o->private_bpffs = 1;
			break;
		case OPT_METRICS: {
			char why[XLB_ERRLEN];

			if (xlb_metrics_addr_check(optarg, why, sizeof(why)))
				return usage_error("%s", why);
			o->metrics = optarg;
			break;
		}
		case OPT_ANNOUNCE_TABLE:
			if (parse_num(optarg, 1, 0xffffffffUL, &o->announce_table) ||
			    xlb_announce_table_valid(o->announce_table))
				return usage_error("bad --announce-table '%s', expected a routing "
						   "table id 1-4294967295 other than 253-255 "
						   "(default, main, local)",
						   optarg);
			break;
		case OPT_SECOND_CHANCE_WINDOW: {
			__u32 s;

			if (parse_num(optarg, 1, XLB_SECOND_CHANCE_WINDOW_MAX_S, &s))
				return usage_error(
				    "bad --second-chance-window '%s', expected 1-86400 "
				    "seconds",
				    optarg);
			if (o->dp.second_chance_s >= 0)
				o->dp.second_chance_s = (__s32)s;
			break;
		}
		case OPT_NO_SECOND_CHANCE:
			o->dp.second_chance_s = -1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s', expected options only", argv[optind]);
	if (!o->ifname)
		return usage_error("%s", "missing -i IFACE, expected the interface to serve");
	return -1;
}

/* "ADDR[/LEN]" -> address and the bits that vary per flow. */
static int parse_src(const char *text, __u8 want, union xlb_addr *addr, __be32 *vary)
{
	char buf[INET6_ADDRSTRLEN + 8];
	__u32 max = want == XLB_AF_INET6 ? 128 : 32, len = max;
	char *slash;
	__u8 family;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -EINVAL;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		if (parse_num(slash + 1, 0, max, &len))
			return -EINVAL;
	}
	if (xlb_addr_parse(buf, addr, &family) || family != want)
		return -EINVAL;
	if (want == XLB_AF_INET)
		*vary = len == 32 ? 0 : htonl(0xffffffffU >> len);
	else if (len >= 96)
		*vary = len == 128 ? 0 : htonl(0xffffffffU >> (len - 96));
	else
		*vary = 0xffffffffU; /* only the last word varies (xlb_config) */
	return 0;
}

/* The interface's own addresses: first IPv4, first global IPv6. */
static void iface_addrs(const char *ifname, struct xlb_config *cfg, int *have4, int *have6)
{
	struct ifaddrs *ifa, *i;

	*have4 = *have6 = 0;
	if (getifaddrs(&ifa)) {
		pr_warn("interface %s: cannot read its addresses: %s", ifname, strerror(errno));
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || strcmp(i->ifa_name, ifname))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !*have4) {
			cfg->src4 = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			*have4 = 1;
		} else if (i->ifa_addr->sa_family == AF_INET6 && !*have6) {
			const struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a) ||
			    IN6_IS_ADDR_MULTICAST(a))
				continue;
			memcpy(cfg->src6.bytes, a, sizeof(*a));
			*have6 = 1;
		}
	}
	freeifaddrs(ifa);
}

/* The outer sources, before the rules file is read: which backends are
 * usable depends on them (no tunnel to ourselves, none from 0.0.0.0 or ::). */
static int outer_config(struct xlbd *d)
{
	struct xlb_config *cfg = &d->cfg;
	union xlb_addr addr;
	int have4, have6;

	memset(cfg, 0, sizeof(*cfg));
	iface_addrs(d->o.ifname, cfg, &have4, &have6);
	if (d->o.src4) {
		if (parse_src(d->o.src4, XLB_AF_INET, &addr, &cfg->src4_vary))
			return -EINVAL;
		cfg->src4 = addr.v4;
		have4 = 1;
	}
	if (d->o.src6) {
		if (parse_src(d->o.src6, XLB_AF_INET6, &cfg->src6, &cfg->src6_vary))
			return -EINVAL;
		have6 = 1;
	}
	if (!have4)
		pr_warn("interface %s: no IPv4 address, IPv4 backends are refused: set --src4",
			d->o.ifname);
	if (!have6)
		pr_info("interface %s: no global IPv6 address, IPv6 backends need --src6",
			d->o.ifname);
	cfg->udp_timeout_s = d->o.udp_timeout_s;
	cfg->conn_budget = d->o.conn_budget;
	cfg->syn_timeout_s = d->o.syn_timeout_s;
	cfg->tcp_timeout_s = d->o.tcp_timeout_s;
	cfg->fin_timeout_s = d->o.fin_timeout_s;
	return 0;
}

static int setup_config(struct xlbd *d)
{
	const struct xlb_config *cfg = &d->cfg;
	char a[XLB_ADDR_STRLEN], b[XLB_ADDR_STRLEN];
	union xlb_addr addr = {0};
	int ret;

	ret = xlb_dp_config_set(d->dp, cfg);
	if (ret)
		return ret;
	addr.v4 = cfg->src4;
	xlb_addr_format(&addr, XLB_AF_INET, a, sizeof(a));
	xlb_addr_format(&cfg->src6, XLB_AF_INET6, b, sizeof(b));
	pr_info("interface %s: outer source %s (vary 0x%08x) and %s (vary 0x%08x), UDP timeout "
		"%us, ICMP errors %d/s per CPU",
		d->o.ifname, a, ntohl(cfg->src4_vary), b, ntohl(cfg->src6_vary),
		cfg->udp_timeout_s,
		d->o.dp.icmp_rate < 0 ? 0
				      : d->o.dp.icmp_rate ? d->o.dp.icmp_rate : XLB_ICMP_RATE_DEFAULT);
	if (cfg->conn_budget)
		pr_info("interface %s: new connection entries: at most %u per CPU and second, "
			"SYN-only entries kept %us",
			d->o.ifname, cfg->conn_budget, cfg->syn_timeout_s);
	else
		pr_info("interface %s: new connection entries: no limit (--conn-budget 0), "
			"SYN-only entries kept %us",
			d->o.ifname, cfg->syn_timeout_s);
	pr_info("interface %s: idle TCP entries expire after %us established, %us closing",
		d->o.ifname, cfg->tcp_timeout_s, cfg->fin_timeout_s);
	return 0;
}

static int persist(struct xlbd *d, char *err, size_t errlen)
{
	struct xlb_rules r;
	char *text;
	int ret;

	ret = xlb_rules_from_lb(&r, d->lb);
	if (ret)
		return xlb_errf(ret, err, errlen, "out of memory");
	text = xlb_rules_format(&r);
	xlb_rules_free(&r);
	if (!text)
		return xlb_errf(-ENOMEM, err, errlen, "out of memory");
	ret = xlb_rules_write_file(d->rules_path, text, err, errlen);
	free(text);
	return ret;
}

/* Brings the announcement table in line with the VIPs' state; a failure
 * is logged once until a sync succeeds again (the tick retries). */
static void announce_sync(struct xlbd *d)
{
	char err[XLB_ERRLEN];

	if (!d->announce)
		return;
	if (xlb_announce_sync(d->announce, d->lb, err, sizeof(err))) {
		if (!d->announce_failing)
			pr_err("announce: %s", err);
		d->announce_failing = 1;
		return;
	}
	if (d->announce_failing)
		pr_info("announce: table %u in step again", d->o.announce_table);
	d->announce_failing = 0;
}

static int on_request(void *ctx, int argc, char **argv, json_t **result, int *usage, char *err,
		      size_t errlen)
{
	char msg[XLB_ERRLEN];
	struct xlbd *d = ctx;
	int ret;

	d->env.changed = 0;
	/* Before list reads the flags, after a change moved them. */
	announce_sync(d);
	ret = xlb_req_exec(&d->env, argc, argv, result, usage, err, errlen);
	if (d->env.changed && !d->stop)
		announce_sync(d);
	if (ret)
		pr_info("request '%s%s': refused: %s", argc ? argv[0] : "", argc > 1 ? " ..." : "",
			err);
	if (d->env.changed && persist(d, msg, sizeof(msg))) {
		pr_err("rules file %s: %s", d->rules_path, msg);
		json_decref(*result);
		*result = NULL;
		*usage = 0;
		return xlb_errf(-EIO, err, errlen, "the change is in effect but was not saved: %s",
				msg);
	}
	return ret;
}

/* One scrape, built inside the loop from memory and bounded map reads. */
static int render_metrics(void *ctx, char **text, size_t *len)
{
	struct timespec t0, t1;
	struct xlbd *d = ctx;
	struct xlb_mbuf b;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	xlb_mbuf_init(&b);
	ret = xlb_metrics_scrape(d->lb, &b);
	if (ret) {
		xlb_mbuf_free(&b);
		return ret;
	}
	*text = xlb_mbuf_take(&b, len);
	if (!*text)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pr_debug("metrics: scrape of %zu bytes built in %lld us", *len,
		 (long long)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	return 0;
}

static int on_detach(void *ctx, char *err, size_t errlen)
{
	struct xlbd *d = ctx;
	char msg[XLB_ERRLEN];
	int ret;

	/* Routers stop sending before the data plane goes. */
	if (d->announce && xlb_announce_withdraw_all(d->announce, d->lb, msg, sizeof(msg)))
		pr_err("announce: detach: %s", msg);
	ret = xlb_attach_detach(&d->at, err, errlen);
	if (ret < 0)
		return ret;
	d->stop = STOP_DETACHED;
	return 0;
}

static void reload(struct xlbd *d)
{
	char *argv[] = {"restore", NULL};
	char err[XLB_ERRLEN];
	json_t *result = NULL;
	int usage;

	err[0] = 0;
	if (on_request(d, 1, argv, &result, &usage, err, sizeof(err)))
		pr_err("rules file %s: reload failed: %s", d->rules_path, err);
	else
		pr_info("rules file %s: reloaded", d->rules_path);
	json_decref(result);
}

/* Reads the rules file into r and checks it against the limits, before the
 * data plane is touched: a broken file must not cost forwarding. */
static int load_rules(struct xlbd *d, struct xlb_rules *r, int *missing)
{
	char err[XLB_ERRLEN];
	int usage, ret;

	xlb_rules_init(r, d->o.dp.max_vips ? d->o.dp.max_vips : XLB_MAX_VIPS_DEFAULT,
		       d->o.dp.max_backends ? d->o.dp.max_backends : XLB_MAX_BACKENDS_DEFAULT);
	xlb_rules_set_outer(r, &d->cfg);
	*missing = access(d->rules_path, F_OK) && errno == ENOENT;
	if (*missing) {
		pr_info("rules file %s: not there, an empty configuration", d->rules_path);
		return 0;
	}
	ret = xlb_rules_read(r, d->rules_path, &usage, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "Error: %s\n", err);
		return ret;
	}
	pr_info("rules file %s: %zu VIPs, %zu backends", d->rules_path, r->n_vips, r->n_backends);
	return 0;
}

/* A lost or emptied rules file must not silently take every VIP off the
 * data plane that a previous xlbd left running: only --reset may. */
static int check_adopted_state(struct xlbd *d, const struct xlb_rules *r, int missing)
{
	__u32 pinned = 0;
	int ret;

	if (r->n_vips)
		return 0;
	ret = xlb_dp_pinned_vips(d->dp, &pinned);
	if (ret) {
		fprintf(stderr, "Error: cannot read the pinned VIPs under %s: %s\n", d->at.pin_dir,
			strerror(-ret));
		return ret;
	}
	if (!pinned)
		return 0;
	if (d->o.reset) {
		pr_warn("interface %s: rules file %s %s: --reset drops the %u VIPs that the "
			"pinned maps hold",
			d->o.ifname, d->rules_path, missing ? "is missing" : "holds no VIPs",
			pinned);
		return 0;
	}
	fprintf(stderr,
		"Error: rules file %s %s, but the pinned maps under %s hold %u VIPs that a "
		"previous xlbd left forwarding; starting would drop them. Give -r the file "
		"that holds them, or start with --reset to drop them\n",
		d->rules_path, missing ? "is missing" : "holds no VIPs", d->at.pin_dir, pinned);
	return -EEXIST;
}

/* Written back before attaching, so that an unwritable path fails while
 * nothing has changed. */
static int write_back_rules(struct xlbd *d, const struct xlb_rules *r)
{
	char err[XLB_ERRLEN];
	char *text;
	int ret;

	text = xlb_rules_format(r);
	if (!text)
		return -ENOMEM;
	ret = xlb_rules_write_file(d->rules_path, text, err, sizeof(err));
	free(text);
	if (ret)
		fprintf(stderr, "Error: %s\n", err);
	return ret;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Once a second: is the connection table under pressure? One line when it
 * begins and one when it is over (pressure.h). */
static void sample_pressure(struct xlbd *d)
{
	struct xlb_counter c;
	char msg[256];

	if (xlb_dp_counter(d->dp, XLB_STAT_CONN_SKIP, &c))
		return;
	switch (xlb_pressure_sample(&d->pressure, c.packets, mono_ms(), d->o.conn_budget, msg,
				    sizeof(msg))) {
	case XLB_PRESSURE_ENTER:
		pr_warn("interface %s: %s", d->o.ifname, msg);
		break;
	case XLB_PRESSURE_LEAVE:
		pr_info("interface %s: %s", d->o.ifname, msg);
		break;
	default:
		break;
	}
}

/* At the second's tick: a pass of the sweep if the last one rested long
 * enough (sweep.h); the loop runs its slices. */
static void sweep_start(struct xlbd *d)
{
	int ret;

	if (!xlb_sweep_due(d->dp->sweep, mono_ms() * 1000))
		return;
	ret = xlb_sweep_start(d->dp->sweep);
	if (ret)
		pr_warn("interface %s: cannot sweep the connection tables: %s", d->o.ifname,
			strerror(-ret));
}

static void sweep_step(struct xlbd *d)
{
	const struct xlb_sweep_report *r;
	int ret = xlb_sweep_step(d->dp->sweep, XLB_SWEEP_SLICE_US);

	if (ret < 0) {
		pr_warn("interface %s: cannot sweep the connection tables: %s", d->o.ifname,
			strerror(-ret));
		return;
	}
	if (ret)
		return;
	r = xlb_sweep_last(d->dp->sweep);
	pr_debug("interface %s: swept %llu entries in %lld ms (%lld ms CPU, %u slices, longest "
		 "%lld us): %llu expired, %llu backends' counts corrected by %llu",
		 d->o.ifname, (unsigned long long)r->scanned, r->duration_us / 1000,
		 r->cpu_us / 1000, r->slices, r->max_slice_us, (unsigned long long)r->expired,
		 (unsigned long long)r->corrected, (unsigned long long)r->drift);
}

static int run_loop(struct xlbd *d, int sfd)
{
	struct itimerspec every_second = {.it_interval = {1, 0}, .it_value = {1, 0}};
	struct epoll_event ev = {.events = EPOLLIN};
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int ret = 0;

	if (epfd < 0 || tfd < 0 || timerfd_settime(tfd, 0, &every_second, NULL))
		goto fail;
	/* Once a second: the data plane's counters, for warnings (route
	 * lookups failing, connection-table pressure). */
	ev.data.fd = tfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &ev))
		goto fail;
	ev.data.fd = sfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev))
		goto fail;
	ev.data.fd = xlb_ctl_fd(d->ctl);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto fail;
	/* Health checks: their verdicts reach the rings through the callback
	 * xlb_lb_set_health() installed. */
	ev.data.fd = xlb_hc_fd(d->hc);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto fail;
	/* The metrics server's own epoll set: readable when MHD has work. */
	if (d->metrics) {
		ev.data.fd = xlb_metrics_srv_fd(d->metrics);
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			goto fail;
	}
	while (!d->stop) {
		struct epoll_event evs[8];
		/* A count of the connection table runs a slice between two
		 * looks at the events, so nothing waits behind it for long. */
		int counting = xlb_dp_conn_tally_pending(d->dp);
		/* So does a pass of the sweep (sweep.h). */
		int sweeping = xlb_sweep_pending(d->dp->sweep);
		/* MHD may need a turn without an event (timeouts, a response
		 * still to send): no longer than it says. */
		int wait = counting || sweeping ? 0 : d->metrics ? xlb_metrics_srv_timeout_ms(d->metrics) : -1;
		int n = epoll_wait(epfd, evs, 8, wait);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (counting) {
			ret = xlb_dp_conn_tally_step(d->dp, XLB_DP_TALLY_SLICE_US);
			if (ret < 0)
				pr_warn("interface %s: cannot count the connection table: %s",
					d->o.ifname, strerror(-ret));
			ret = 0;
		}
		if (sweeping)
			sweep_step(d);
		if (d->metrics) {
			ret = xlb_metrics_srv_run(d->metrics);
			if (ret)
				pr_warn("metrics: cannot serve: %s", strerror(-ret));
			ret = 0;
		}
		for (int i = 0; i < n && !d->stop; i++) {
			if (d->metrics && evs[i].data.fd == xlb_metrics_srv_fd(d->metrics))
				continue; /* served above */
			if (evs[i].data.fd == tfd) {
				__u64 ticks;

				if (read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
					continue;
				ret = xlb_fib_watch_tick(&d->fib, d->dp, time(NULL));
				if (ret < 0)
					pr_warn("interface %s: cannot read the counters: %s",
						d->o.ifname, strerror(-ret));
				ret = 0;
				sample_pressure(d);
				sweep_start(d);
				announce_sync(d);
				/* One step of every slow start: at most one
				 * ring rebuild a second per VIP. */
				ret = xlb_lb_slowstart_tick(d->lb);
				if (ret < 0)
					pr_warn(
					    "interface %s: slow start: cannot rebuild a ring: %s",
					    d->o.ifname, strerror(-ret));
				ret = xlb_dp_ring_prev_expire(d->dp, mono_ms());
				if (ret < 0)
					pr_warn("interface %s: cannot drop an expired previous "
						"ring: %s",
						d->o.ifname, strerror(-ret));
				ret = 0;
			} else if (evs[i].data.fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(d);
					continue;
				}
				pr_info("interface %s: signal %d, stopping", d->o.ifname,
					si.ssi_signo);
				d->stop = STOP_SIGNAL;
			} else if (evs[i].data.fd == xlb_hc_fd(d->hc)) {
				/* Verdicts that come together (a rack going
				 * dark) rebuild each VIP's ring once. */
				xlb_lb_batch_begin(d->lb);
				ret = xlb_hc_dispatch(d->hc);
				if (ret)
					pr_err("health checks: %s", strerror(-ret));
				ret = xlb_lb_batch_commit(d->lb);
				if (ret)
					pr_err("health checks: cannot rebuild a ring: %s",
					       strerror(-ret));
				ret = 0;
				announce_sync(d);
			} else if (evs[i].data.fd == xlb_ctl_fd(d->ctl)) {
				ret = xlb_ctl_dispatch(d->ctl);
				if (ret) {
					pr_err("control socket: %s", strerror(-ret));
					d->stop = STOP_SIGNAL;
				}
			}
		}
	}
	close(tfd);
	close(epfd);
	return ret;
fail:
	ret = -errno;
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	return ret;
}

static void hc_log(void *ctx, enum xlb_log_level level, const char *msg)
{
	xlb_log(level, "health: %s", msg);
}

/* A check holds a socket while it runs: thousands of backends whose checks
 * hang until their timeout need more than the usual 1024 descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("cannot raise the open-file limit to %llu: %s, checks of many backends "
			"may be skipped",
			(unsigned long long)rl.rlim_max, strerror(errno));
}

static int make_parent_dir(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	return xlb_dir_make(dirname(buf), mode);
}

/* The defaults are per network namespace, as the pins are: two xlbd in two
 * namespaces never share a socket or a rules file by accident. This
 * namespace's run directory (default socket, interface locks) is made
 * root-only before anything else creates it, and so is the directory of a
 * socket given with -S if it is new: the socket file's own mode comes from
 * the umask at bind, never from a chmod (see xlb_ctl_open()). */
static int set_socket_path(struct xlbd *d)
{
	int ret;

	ret = xlb_ctl_default_path(d->socket_path, sizeof(d->socket_path));
	if (ret) {
		fprintf(stderr, "Error: cannot name the control socket: %s, give one with -S\n",
			strerror(-ret));
		return ret;
	}
	ret = make_parent_dir(d->socket_path, 0750);
	if (!ret && d->o.socket) {
		if (snprintf(d->socket_path, sizeof(d->socket_path), "%s", d->o.socket) >=
		    (int)sizeof(d->socket_path)) {
			fprintf(stderr,
				"Error: socket path %s is too long, expected under %d "
				"bytes\n",
				d->o.socket, PATH_MAX);
			return -ENAMETOOLONG;
		}
		ret = make_parent_dir(d->socket_path, 0750);
	}
	if (ret)
		fprintf(stderr, "Error: cannot create the directory of socket %s: %s\n",
			d->socket_path, strerror(-ret));
	return ret;
}

static int set_rules_path(struct xlbd *d)
{
	char name[IF_NAMESIZE + 8];
	int ret;

	snprintf(name, sizeof(name), "%s.rules", d->o.ifname);
	if (d->o.rules)
		ret = snprintf(d->rules_path, sizeof(d->rules_path), "%s", d->o.rules) >=
			      (int)sizeof(d->rules_path)
			  ? -ENAMETOOLONG
			  : 0;
	else
		ret =
		    xlb_netns_state_path(XLB_STATE_DIR, name, d->rules_path, sizeof(d->rules_path));
	if (ret == -ENOENT) {
		fprintf(stderr,
			"Error: this network namespace has no name under %s, so no "
			"default rules file would find it again; give one with -r\n",
			XLB_NETNS_RUN_DIR);
		return ret;
	}
	if (ret) {
		fprintf(stderr,
			"Error: cannot name the rules file: %s, expected a path under "
			"%d bytes with -r\n",
			strerror(-ret), PATH_MAX);
		return ret;
	}
	if (!d->o.rules) {
		ret = make_parent_dir(d->rules_path, 0755);
		if (ret) {
			fprintf(stderr, "Error: cannot create the directory of %s: %s\n",
				d->rules_path, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Two daemons on one rules file would each rewrite it with their own
 * configuration. The lock is a file beside it, not the file itself: every
 * save renames a new file over the old one, and a lock on the old inode
 * would keep no one out. */
static int lock_rules(struct xlbd *d)
{
	char holder[32];
	int ret;

	if (snprintf(d->rules_lock, sizeof(d->rules_lock), "%s.lock", d->rules_path) >=
	    (int)sizeof(d->rules_lock)) {
		fprintf(stderr, "Error: rules file name %s is too long, expected under %d bytes\n",
			d->rules_path, PATH_MAX - 5);
		return -ENAMETOOLONG;
	}
	ret = xlb_lock_take(d->rules_lock, &d->rules_lock_fd, holder, sizeof(holder));
	if (ret == -EBUSY)
		fprintf(stderr,
			"Error: rules file %s is in use by another xlbd%s%s (lock %s); two "
			"daemons would overwrite each other's configuration: stop it or give "
			"this one its own file with -r\n",
			d->rules_path, *holder ? " with pid " : "", holder, d->rules_lock);
	else if (ret)
		fprintf(stderr, "Error: cannot lock rules file %s (lock %s): %s\n", d->rules_path,
			d->rules_lock, strerror(-ret));
	return ret;
}

/* xlbd --detach --announce-table N: what xlbctl detach does to the table,
 * without a daemon. A failure is logged; the detach goes on. */
static void withdraw_before_detach(__u32 table)
{
	struct xlb_announce *a = NULL;
	char err[XLB_ERRLEN];
	int ret;

	ret = xlb_announce_open(table, XLB_MAX_VIPS_DEFAULT, &a);
	if (ret)
		pr_err("announce: cannot open routing table %u: %s", table, strerror(-ret));
	else if (xlb_announce_withdraw_all(a, NULL, err, sizeof(err)))
		pr_err("announce: %s", err);
	xlb_announce_close(a);
}

int main(int argc, char **argv)
{
	char err[XLB_ERRLEN];
	struct xlb_rules rules = {0};
	struct xlbd d;
	sigset_t mask;
	int ret, sfd = -1, code = 1, missing = 0;

	memset(&d, 0, sizeof(d));
	d.at.lock_fd = -1;
	d.rules_lock_fd = -1;
	ret = parse_opts(argc, argv, &d.o);
	if (ret >= 0)
		return ret;
	xlb_log_set_level(d.o.verbose ? XLB_LOG_DEBUG : XLB_LOG_INFO);
	xlb_log_libbpf();
	if (geteuid() != 0) {
		fprintf(stderr, "Error: xlbd must run as root, it needs CAP_BPF and "
				"CAP_NET_ADMIN to load and attach XDP programs\n");
		return 1;
	}
	if (d.o.src4 && parse_src(d.o.src4, XLB_AF_INET, &(union xlb_addr){0}, &(__be32){0}))
		return usage_error("bad --src4 '%s', expected an IPv4 address with an optional "
				   "/0-32, e.g. 198.18.0.2/30",
				   d.o.src4);
	if (d.o.src6 && parse_src(d.o.src6, XLB_AF_INET6, &(union xlb_addr){0}, &(__be32){0}))
		return usage_error("bad --src6 '%s', expected an IPv6 address with an optional "
				   "/0-128, e.g. 2001:db8::2/120",
				   d.o.src6);
	signal(SIGPIPE, SIG_IGN);
	if (xlb_attach_probe(err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		return 1;
	}
	/* First, so that a refusal (another xlbd, a private bpffs) leaves no
	 * directory behind. --detach loses nothing by a private bpffs. */
	if (xlb_attach_prepare(&d.at, &xlb_attach_lb, d.o.ifname, d.o.private_bpffs || d.o.detach,
			       err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		return 1;
	}
	/* Before anything is loaded: with --no-sysctl a wrong setting must
	 * leave the host as it was. */
	ret = d.o.detach ? 0
			 : xlb_host_settings_apply(d.o.ifname, !d.o.no_sysctl, err, sizeof(err));
	if (ret == -EPERM) {
		fprintf(stderr, "Error: interface %s: the kernel settings above are wrong and "
				"--no-sysctl forbids setting them; nothing was changed\n",
			d.o.ifname);
		goto out;
	}
	if (ret) {
		fprintf(stderr, "Error: interface %s: %s\n", d.o.ifname, err);
		goto out;
	}
	if (!d.o.detach && set_socket_path(&d))
		goto out;
	if (d.o.detach) {
		/* With --announce-table, the routers stop sending first. */
		if (d.o.announce_table)
			withdraw_before_detach(d.o.announce_table);
		ret = xlb_attach_detach(&d.at, err, sizeof(err));
		if (ret < 0)
			fprintf(stderr, "Error: %s\n", err);
		else
			pr_info("interface %s: xlb is off, pins removed", d.o.ifname);
		xlb_attach_release(&d.at);
		return ret < 0 ? 1 : 0;
	}
	if (set_rules_path(&d) || lock_rules(&d))
		goto out;
	if (xlb_ctl_check_path(d.socket_path, err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		goto out;
	}
	if (outer_config(&d) || load_rules(&d, &rules, &missing))
		goto out;

	d.o.dp.pin_dir = d.at.pin_dir;
	ret = xlb_dp_open(&d.o.dp, &d.dp);
	if (ret) {
		fprintf(stderr, "Error: cannot open the XDP object: %s\n", strerror(-ret));
		goto out;
	}
	if (xlb_attach_check_pins(&d.at, xlb_dp_object(d.dp), err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		goto out;
	}
	if (check_adopted_state(&d, &rules, missing) || write_back_rules(&d, &rules))
		goto out;
	if (xlb_attach_prog(&d.at, xlb_dp_object(d.dp), d.o.mode, err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		goto out;
	}
	ret = xlb_dp_loaded(d.dp);
	if (ret) {
		fprintf(stderr, "Error: cannot initialise the maps: %s\n", strerror(-ret));
		goto out;
	}
	if (d.dp->adopted)
		pr_info("interface %s: adopted the pinned maps under %s", d.o.ifname, d.at.pin_dir);
	ret = setup_config(&d);
	if (!ret)
		ret = xlb_dp_tx_port_add(d.dp, d.at.ifindex);
	if (ret) {
		fprintf(stderr, "Error: cannot configure the data plane: %s\n", strerror(-ret));
		goto out;
	}
	ret = xlb_sweep_new(d.dp, &d.dp->sweep);
	if (ret) {
		fprintf(stderr, "Error: cannot set up the sweep of the connection tables: %s\n",
			strerror(-ret));
		goto out;
	}
	ret = xlb_lb_new(d.dp, &d.lb);
	if (ret) {
		fprintf(stderr, "Error: cannot read the data plane's state: %s\n", strerror(-ret));
		goto out;
	}
	raise_nofile();
	d.hc = xlb_hc_new();
	if (!d.hc) {
		fprintf(stderr, "Error: cannot start the health checker: %s\n", strerror(errno));
		goto out;
	}
	xlb_hc_set_log(d.hc, hc_log, &d);
	xlb_lb_set_health(d.lb, d.hc);
	xlb_lb_set_outer(d.lb, &d.cfg);
	if (xlb_rules_apply(d.lb, &rules, err, sizeof(err))) {
		fprintf(stderr, "Error: rules file %s: %s\n", d.rules_path, err);
		goto out;
	}
	ret = xlb_fib_watch_init(&d.fib, d.dp, d.o.ifname);
	if (ret) {
		fprintf(stderr, "Error: cannot read the data plane's counters: %s\n",
			strerror(-ret));
		goto out;
	}
	ret = xlb_lb_prune_adopted(d.lb);
	if (ret)
		pr_warn("interface %s: cannot remove stale state from the pinned maps: %s",
			d.o.ifname, strerror(-ret));

	if (d.o.announce_table) {
		ret = xlb_announce_open(d.o.announce_table, d.dp->max_vips, &d.announce);
		if (ret) {
			fprintf(stderr, "Error: cannot open the announcement table %u: %s\n",
				d.o.announce_table, strerror(-ret));
			goto out;
		}
		d.lb->announce_table = d.o.announce_table;
		/* What a previous xlbd left in the table is reconciled, not
		 * withdrawn first: the routers see no flap. */
		announce_sync(&d);
	}

	d.env.lb = d.lb;
	d.env.rules_path = d.rules_path;
	d.env.detach = on_detach;
	d.env.ctx = &d;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		fprintf(stderr, "Error: cannot set up signals: %s\n", strerror(errno));
		goto out;
	}
	if (xlb_ctl_open(d.socket_path, on_request, &d, &d.ctl, err, sizeof(err))) {
		fprintf(stderr, "Error: %s\n", err);
		goto out;
	}
	if (d.o.metrics) {
		if (xlb_metrics_srv_open(d.o.metrics, render_metrics, &d, &d.metrics, err,
					 sizeof(err))) {
			fprintf(stderr, "Error: %s\n", err);
			goto out;
		}
		pr_info("metrics: serving http://%s/metrics", d.o.metrics);
	}
	pr_info("interface %s: ready, control socket %s, rules file %s", d.o.ifname, d.socket_path,
		d.rules_path);
	ret = run_loop(&d, sfd);
	if (ret)
		pr_err("interface %s: event loop: %s", d.o.ifname, strerror(-ret));
	/* The detach reply must reach xlbctl before we go. */
	xlb_ctl_flush(d.ctl, 1000);
	code = ret ? 1 : 0;
	if (d.stop == STOP_DETACHED)
		pr_info("interface %s: detached, exiting (rules file %s kept)", d.o.ifname,
			d.rules_path);
	else
		pr_info("interface %s: exiting, xlb keeps forwarding (a new xlbd adopts it)",
			d.o.ifname);
out:
	xlb_metrics_srv_close(d.metrics);
	xlb_ctl_close(d.ctl);
	if (sfd >= 0)
		close(sfd);
	xlb_rules_free(&rules);
	xlb_announce_close(d.announce);
	xlb_lb_free(d.lb);
	xlb_hc_free(d.hc);
	xlb_lock_release(d.rules_lock, d.rules_lock_fd);
	xlb_attach_release(&d.at);
	if (d.dp)
		xlb_sweep_free(d.dp->sweep);
	xlb_dp_close(d.dp);
	return code;
}
