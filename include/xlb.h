/* SPDX-License-Identifier: GPL-2.0 */
/* xlb.h: the one header the XDP programs and userspace share: map keys and
 * values, counters, limits and pin paths. Depends only on <linux/types.h> so
 * that both clang -target bpf and the host compiler read the same layout.
 */
#ifndef XLB_H
#define XLB_H

#include <linux/types.h>

/* Maglev ring size M: a prime, so that every skip in [1, M-1] is coprime to M
 * and each backend's permutation visits every slot. */
#define XLB_RING_SIZE_DEFAULT 65537
#define XLB_MAX_VIPS_DEFAULT 512
#define XLB_MAX_BACKENDS_DEFAULT 4096
/* Connection table entries. BPF_F_NO_COMMON_LRU gives every CPU its own
 * share (max_entries / possible CPUs), so size it for the busiest CPU. */
#define XLB_CONNS_DEFAULT (1U << 20)
#define XLB_UDP_TIMEOUT_DEFAULT_S 30
/* Datagrams in flight in fragments that xlb remembers the backend of: a
 * fragment's entry is needed only until its last fragment passed. */
#define XLB_FRAGS_DEFAULT 8192
/* New entries a CPU may create per second (xlb_config.conn_budget). An
 * insert costs a few hundred ns (make bench: v4_new_flow), so this caps the
 * work at a few percent of a CPU and the churn of the new-flow table. */
#define XLB_CONN_BUDGET_DEFAULT 100000
#define XLB_CONN_BUDGET_MAX 100000000
/* Seconds a TCP flow's entry stays usable in the new-flow table (no packet
 * but the SYN seen yet): SYN retransmits come after 1 and 3 s. */
#define XLB_SYN_TIMEOUT_DEFAULT_S 5
/* Idle seconds after which a tracked TCP flow's entry expires, by state
 * (IPVS's defaults for established; closing is short because only the
 * client's side is seen: its ACKs after a FIN keep the entry fresh). */
#define XLB_TCP_TIMEOUT_DEFAULT_S 900
#define XLB_FIN_TIMEOUT_DEFAULT_S 10
/* Backends an lc or wlc VIP may have: the data plane scans them all for a
 * new flow (xlb_members). */
#define XLB_LC_MAX_BACKENDS 64
/* The new-flow table is this fraction of --conns (at least a few entries
 * per CPU): it holds handshakes in flight, not established flows. */
#define XLB_CONNS_NEW_SHIFT 2
/* ICMP errors xlb generates (fragmentation needed, packet too big), per CPU:
 * a token bucket of XLB_ICMP_BURST refilled at the rate (xlbd --icmp-rate). */
#define XLB_ICMP_RATE_DEFAULT 1000
#define XLB_ICMP_RATE_MAX 1000000
#define XLB_ICMP_BURST 50
#define XLB_MAX_WEIGHT 65535
/* Outer TTL / hop limit of encapsulated packets: the tunnel crosses one L2
 * segment or a routed fabric, never the internet (RFC 2003 section 3.1). */
#define XLB_ENCAP_TTL 64
/* The second chance (docs/architecture.md "Second chance"): a TCP packet
 * that is no SYN and missed the connection tables, of a VIP whose previous
 * ring chose another backend, is encapsulated to the current choice with
 * the previous one's address as a hint, which the backend's xlb-decap
 * follows when the flow has no socket there. IPv4 outer header: one IP
 * option, RFC 4727's experimental option 30 (copy 0, class 0): type,
 * length 8, two flag bytes (0), the address. IPv6: a destination options
 * header holding RFC 4727's experimental option 0x1e (its two high bits 00:
 * skip it if unknown), length 16, the address, then a PadN of 4 bytes up
 * to 24. */
#define XLB_HINT_OPT4 0x1e
#define XLB_HINT_LEN4 8
#define XLB_HINT_OPT6 0x1e
#define XLB_HINT_LEN6 24
/* How long a VIP's previous ring is kept after a change (xlbd
 * --second-chance-window): a flow moved to another instance within it is
 * kept; later, its packets follow the current ring alone. */
#define XLB_SECOND_CHANCE_WINDOW_DEFAULT_S 300
#define XLB_SECOND_CHANCE_WINDOW_MAX_S	   86400
/* Seed of the flow hash. Every xlb instance behind one ECMP group must use the
 * same one, so it is a constant of the protocol, not a knob. */
#define XLB_HASH_SEED 0x786c6221U

#define XLB_PIN_ROOT "/sys/fs/bpf/xlb"
#define XLB_RUN_DIR "/run/xlb"
#define XLB_STATE_DIR "/var/lib/xlb"

/* Address families as stored in keys (values of AF_INET / AF_INET6 would tie
 * the BPF side to libc headers). */
enum xlb_family {
	XLB_AF_NONE = 0,
	XLB_AF_INET = 4,
	XLB_AF_INET6 = 6,
};

/* An IPv4 or IPv6 address in network byte order. IPv4 uses v4 (the first four
 * bytes); the other twelve bytes are zero so that keys compare equal. */
union xlb_addr {
	__be32 v4;
	__be32 v6[4];
	__u8 bytes[16];
};

/* xlb_vips key: one virtual service. port 0 = every port of addr/proto. */
struct xlb_vip_key {
	union xlb_addr addr; /* VIP address, network order */
	__be16 port;         /* destination port, network order; 0 = all ports */
	__u8 proto;          /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;         /* enum xlb_family */
};
_Static_assert(sizeof(struct xlb_vip_key) == 20, "xlb_vip_key layout");

/* xlb_vip_addrs key: an address at least one VIP is on. */
struct xlb_vip_addr_key {
	union xlb_addr addr; /* network order */
	__u8 family;         /* enum xlb_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_vip_addr_key) == 20, "xlb_vip_addr_key layout");

/* xlb_novip: one bit per hash of a destination address (xlb_novip_bit in
 * xlb_hash.h), set when no VIP address has that hash, so that traffic for
 * no VIP leaves after one array lookup. 2^16 bits: with the default 512
 * VIP addresses, under 1% of other addresses share a VIP's bit and take
 * the exact lookups. */
#define XLB_NOVIP_SHIFT 16
#define XLB_NOVIP_WORDS ((1U << XLB_NOVIP_SHIFT) / 64)

/* xlb_vip_addrs value. */
struct xlb_vip_addr {
	__u32 vips; /* VIPs on the address (xlb_vips keys); the entry goes with the last */
};
_Static_assert(sizeof(struct xlb_vip_addr) == 4, "xlb_vip_addr layout");

enum xlb_vip_flags {
	XLB_VIP_F_SRC_HASH = 1 << 0,     /* hash the client address only ("sh") */
	XLB_VIP_F_NO_CONNTRACK = 1 << 1, /* stateless: never read or write xlb_conns */
	/* New flows in turn from the VIP's sequence (its ring holds it) and
	 * this CPU's cursor in xlb_cursors: rr (one slot per backend) or wrr
	 * (slots by weight, smoothly interleaved). Needs the connection table. */
	XLB_VIP_F_RR = 1 << 4,
	XLB_VIP_F_WRR = 1 << 5,
	/* New flows to the member (xlb_members) with the fewest open flows
	 * (xlb_backend_conns): lc, or per unit of weight: wlc. */
	XLB_VIP_F_LC = 1 << 6,
	XLB_VIP_F_WLC = 1 << 7,
	/* Derived by userspace, never given as options: */
	XLB_VIP_F_ACL = 1 << 2,   /* has source ACL entries in xlb_acl: look its clients up */
	XLB_VIP_F_LIMIT = 1 << 3, /* new flows per client limited by xlb_limits[id] */
};
/* The schedulers that take new flows in turn rather than by hash. */
#define XLB_VIP_F_IN_TURN (XLB_VIP_F_RR | XLB_VIP_F_WRR)
/* The flags that name the scheduler (none of them: maglev). */
#define XLB_VIP_F_LEAST (XLB_VIP_F_LC | XLB_VIP_F_WLC)
#define XLB_VIP_F_SCHED (XLB_VIP_F_SRC_HASH | XLB_VIP_F_IN_TURN | XLB_VIP_F_LEAST)

/* xlb_vips value. */
struct xlb_vip {
	__u32 id;    /* index into xlb_rings and the per-VIP counters */
	__u32 flags; /* enum xlb_vip_flags */
};
_Static_assert(sizeof(struct xlb_vip) == 8, "xlb_vip layout");

enum xlb_backend_flags {
	/* Set while established flows may keep using the backend (active or
	 * draining). Cleared when it is removed or down: its flows re-hash. */
	XLB_BACKEND_F_VALID = 1 << 0,
	/* Its health checks failed (it is still valid while its VIP fails
	 * open). Only userspace reads it: a restarted xlbd keeps such a
	 * backend down until it passes `rise` checks, instead of sending it
	 * new flows meanwhile. */
	XLB_BACKEND_F_DOWN = 1 << 1,
};

/* xlb_backends value, indexed by backend id. A backend belongs to one VIP. */
struct xlb_backend {
	union xlb_addr addr; /* tunnel destination, network order */
	__u32 gen;           /* bumped on every reuse of the id; conns store it */
	__u32 vip_id;        /* the VIP this backend serves */
	__u8 family;         /* enum xlb_family of addr */
	__u8 flags;          /* enum xlb_backend_flags */
	__u8 pad[6];
};
_Static_assert(sizeof(struct xlb_backend) == 32, "xlb_backend layout");

/* xlb_nexthops value (per CPU), indexed by backend id: the outer packet's
 * next hop as bpf_fib_lookup() last gave it, so that a packet costs a
 * lookup only once per backend, CPU and XLB_NEXTHOP_TTL_NS. */
struct xlb_nexthop {
	__u64 expires_ns;   /* coarse CLOCK_MONOTONIC; 0 = empty */
	__u32 gen;          /* xlb_backend.gen it was resolved for */
	__u32 ingress;      /* ifindex it was resolved from */
	__u32 ifindex;      /* egress */
	__u16 mtu;          /* largest outer packet the route takes (L3 bytes) */
	__u8 action;        /* XDP_TX or XDP_REDIRECT */
	__u8 pad;
	__u8 dmac[6];
	__u8 smac[6];
	__u32 pad2;
};
_Static_assert(sizeof(struct xlb_nexthop) == 40, "xlb_nexthop layout");

/* How long a cached next hop is used before bpf_fib_lookup() runs again:
 * route and neighbour changes take effect within this time. */
#define XLB_NEXTHOP_TTL_NS 1000000000ULL

/* xlb_conns key: the flow's 5-tuple as seen on the wire, and the hash input. */
struct xlb_flow {
	union xlb_addr src; /* client address, network order */
	union xlb_addr dst; /* VIP address, network order */
	__be16 sport;       /* network order */
	__be16 dport;       /* network order */
	__u8 proto;         /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;        /* enum xlb_family */
	__u16 pad;
};
_Static_assert(sizeof(struct xlb_flow) == 40, "xlb_flow layout");
_Static_assert(__builtin_offsetof(struct xlb_flow, sport) == 32, "xlb_flow ports");

/* A tracked flow's state, from the client's packets only: with direct
 * server return the backend's replies never pass the load balancer. */
enum xlb_conn_state {
	XLB_CONN_NEW = 0,	  /* first packet recorded (SYN, datagram, mid-flow ACK) */
	XLB_CONN_ESTABLISHED = 1, /* a later packet that was neither SYN nor RST */
	XLB_CONN_CLOSING = 2,	  /* FIN or RST from the client */
};

/* xlb_conns and xlb_conns_new value. Grew from 16 bytes (state, age): xlbd
 * refuses pins of the old layout with a message (xlb_attach_check_pins). */
struct xlb_conn {
	__u32 backend_id;   /* index into xlb_backends */
	__u32 backend_gen;  /* xlb_backend.gen when chosen; a mismatch re-hashes */
	__u64 last_seen_ns; /* CLOCK_MONOTONIC (coarse); written at most once a second */
	__u32 created_s;    /* CLOCK_MONOTONIC (coarse) seconds when recorded */
	__u32 state;	    /* enum xlb_conn_state; changed by compare-and-swap, so
			     * that one CPU alone moves a flow out of the counts */
};
_Static_assert(sizeof(struct xlb_conn) == 24, "xlb_conn layout");

/* xlb_backend_conns value, indexed by backend id: the flows that count as
 * open for lc/wlc (state new or established, not expired). The data plane
 * adds and subtracts atomically as flows start and close; xlbd's sweep sets
 * it from the tables, which also drop silently (LRU eviction, expiry). */
struct xlb_backend_conns {
	__s64 active;
};
_Static_assert(sizeof(struct xlb_backend_conns) == 8, "xlb_backend_conns layout");

/* xlb_members value, indexed by VIP id: the backends an lc or wlc VIP may
 * give new flows (up, weight > 0, not draining), written by userspace. */
struct xlb_member {
	__u32 id;     /* backend id */
	__u32 weight; /* its weight now (slow start included); > 0 */
};
struct xlb_members {
	__u32 count; /* entries of m in use, at most XLB_LC_MAX_BACKENDS */
	__u32 pad;
	struct xlb_member m[XLB_LC_MAX_BACKENDS];
};
_Static_assert(sizeof(struct xlb_members) == 8 + 8 * XLB_LC_MAX_BACKENDS, "xlb_members layout");

/* xlb_frags key: one fragmented datagram (RFC 791 / 8200: source,
 * destination, protocol and identification name it). */
struct xlb_frag_key {
	union xlb_addr src;
	union xlb_addr dst;
	__be32 id;    /* IPv4: the 16-bit identification; IPv6: the fragment header's */
	__u8 proto;   /* IPv4: protocol; IPv6: the fragment header's next header */
	__u8 family;  /* XLB_AF_INET or XLB_AF_INET6 */
	__u8 pad[2];
};
_Static_assert(sizeof(struct xlb_frag_key) == 40, "xlb_frag_key layout");

/* xlb_frags value: where the datagram's first fragment went. */
struct xlb_frag {
	__u32 backend_id;
	__u32 backend_gen;
	__u32 hash; /* the first fragment's flow hash: same outer source and flow label */
	__u32 pad;
};
_Static_assert(sizeof(struct xlb_frag) == 16, "xlb_frag layout");

/* xlb_config value (one entry): runtime knobs read by the data plane. Its
 * size grew from 32 and 40 bytes: xlbd refuses pins of the old layout with a
 * message (xlb_attach_check_pins), never reads them. */
struct xlb_config {
	__be32 src4;        /* outer IPv4 source, network order */
	__be32 src4_vary;   /* host bits of src4 varied per flow (RSS), network order */
	union xlb_addr src6; /* outer IPv6 source, network order */
	__be32 src6_vary;   /* bits of src6's last word varied per flow, network order */
	__u32 udp_timeout_s; /* idle time after which a UDP flow re-hashes */
	__u32 conn_budget;  /* new entries per CPU and second; 0 = no limit */
	__u32 syn_timeout_s; /* lifetime of a TCP entry in the new-flow table */
	__u32 tcp_timeout_s; /* idle time after which an established TCP flow re-hashes */
	__u32 fin_timeout_s; /* idle time after which a closing TCP flow re-hashes */
};
_Static_assert(sizeof(struct xlb_config) == 48, "xlb_config layout");

/* Idle seconds after which a connection entry expires, the data plane's
 * rule (conns.bpf.h) that xlbd's views repeat: UDP by udp_timeout_s, TCP
 * by the entry's state. */
static inline __attribute__((always_inline)) __u32
xlb_conn_timeout_s(const struct xlb_config *cfg, int tcp, __u32 state)
{
	if (!tcp)
		return cfg->udp_timeout_s;
	if (state == XLB_CONN_ESTABLISHED)
		return cfg->tcp_timeout_s;
	return state == XLB_CONN_NEW ? cfg->syn_timeout_s : cfg->fin_timeout_s;
}

/* xlb_budget value (per CPU, one entry): this CPU's new entries in the
 * current one-second window. A window older than a second starts anew at
 * the next new flow; tests rewrite window_ns to make time pass. */
struct xlb_budget {
	__u64 window_ns; /* coarse CLOCK_MONOTONIC of the window's start */
	__u32 used;      /* entries created in it */
	__u32 pad;
};
_Static_assert(sizeof(struct xlb_budget) == 16, "xlb_budget layout");

/* Source ACLs: prefixes per list (allow, deny) of one VIP. A rules line
 * (XLB_RULES_LINE_MAX) holds this many IPv6 prefixes with room to spare. */
#define XLB_ACL_MAX_PREFIXES 32
/* xlb_acl entries per VIP: both lists and the implicit default deny. */
#define XLB_ACL_ENTRIES_PER_VIP (2 * XLB_ACL_MAX_PREFIXES + 1)
/* Bits of struct xlb_acl_key ahead of the address (vip_id, family, pad):
 * always matched whole, so one trie serves every VIP and both families. */
#define XLB_ACL_KEY_HEAD_BITS 64

/* xlb_acl key (BPF_MAP_TYPE_LPM_TRIE): a source prefix of one VIP. */
struct xlb_acl_key {
	__u32 prefixlen;     /* XLB_ACL_KEY_HEAD_BITS + the prefix's length */
	__u32 vip_id;        /* host order; the trie compares it as bytes */
	__u8 family;         /* enum xlb_family of the VIP and of addr */
	__u8 pad[3];
	union xlb_addr addr; /* prefix (bits beyond its length zero), network order */
};
_Static_assert(sizeof(struct xlb_acl_key) == 28, "xlb_acl_key layout");
_Static_assert(__builtin_offsetof(struct xlb_acl_key, addr) * 8 ==
		   32 + XLB_ACL_KEY_HEAD_BITS, "xlb_acl_key head bits");

enum xlb_acl_action {
	XLB_ACL_ALLOW = 1,
	XLB_ACL_DENY = 2,
};

/* xlb_acl value: what the longest matching prefix says. */
struct xlb_acl {
	__u32 action; /* enum xlb_acl_action */
};
_Static_assert(sizeof(struct xlb_acl) == 4, "xlb_acl layout");

/* Per-client limits of new flows: N/s from 1 to XLB_LIMIT_RATE_MAX (a new
 * flow costs an insert of a few hundred ns: more per client is no limit),
 * bursts from 1 to XLB_LIMIT_BURST_MAX. */
#define XLB_LIMIT_RATE_MAX 1000000
#define XLB_LIMIT_BURST_MAX 1000000
/* Clients whose buckets are remembered (xlb_buckets, one LRU for all
 * CPUs): an evicted client starts again with a full bucket. */
#define XLB_BUCKETS_DEFAULT 65536

/* xlb_limits value, indexed by VIP id: the token bucket in nanoseconds of
 * credit, so that the data plane only adds and compares. */
struct xlb_limit {
	__u64 cost_ns;  /* 1e9 / rate: the credit one new flow takes; 0 = no limit */
	__u64 burst_ns; /* burst * cost_ns: the bucket's capacity */
};
_Static_assert(sizeof(struct xlb_limit) == 16, "xlb_limit layout");

/* xlb_buckets key: one client of one VIP. IPv6 clients by their /64: a
 * host gets a /64 to itself (RFC 7421), so its lower bits cost nothing to
 * vary and per-address buckets would limit nobody. */
struct xlb_bucket_key {
	union xlb_addr src; /* client address, IPv6 with its last 64 bits zero */
	__u32 vip_id;
	__u8 family;        /* enum xlb_family */
	__u8 pad[3];
};
_Static_assert(sizeof(struct xlb_bucket_key) == 24, "xlb_bucket_key layout");

/* xlb_buckets value. Tests rewrite last_ns to make time pass. */
struct xlb_bucket {
	__u64 last_ns;   /* coarse CLOCK_MONOTONIC of the last refill */
	__u64 credit_ns; /* credit left, at most xlb_limit.burst_ns */
};
_Static_assert(sizeof(struct xlb_bucket) == 16, "xlb_bucket layout");

/* Counters by reason. X(name, "printed name", "what it means"): the enum and
 * the printers are generated from this one list. Every frame xlb_lb sees is
 * counted under exactly one of PASS_NOT_IP..REDIRECT, its verdict; CONN_*,
 * NEXTHOP_MISS and the ICMP events after it count events on the way. */
#define XLB_STATS(X)                                                                   \
	X(PASS_NOT_IP, "pass_not_ip", "not IPv4/IPv6: passed to the kernel")            \
	X(PASS_NOT_VIP, "pass_not_vip", "IP but no VIP matched: passed to the kernel")  \
	X(NO_CONFIG, "no_config",                                                       \
	  "VIP matched but the config entry was missing (never once loaded): passed")  \
	X(PASS_UNSUPPORTED, "pass_unsupported",                                         \
	  "neither TCP nor UDP (ICMP, IPv6 routing/AH/ESP header...): passed")          \
	X(MALFORMED, "malformed", "truncated or inconsistent headers: passed")          \
	X(FRAGMENT, "fragment", "IPv4 fragment or IPv6 fragment header, not to a VIP: passed") \
	X(FRAG_MISS, "frag_miss",                                                       \
	  "later fragment to a VIP address whose first fragment was not seen (reordered " \
	  "ahead of it, or its entry evicted): dropped")                                \
	X(DROP_VIP_UNHANDLED, "drop_vip_unhandled",                                     \
	  "to a VIP address, but no VIP's port/protocol, or not parsable (fragment, "    \
	  "ICMP other than echo or a VIP flow's error, malformed TCP/UDP): dropped, "   \
	  "as the kernel would route it back")                                          \
	X(ICMP_ECHO_REPLY, "icmp_echo_reply",                                           \
	  "ICMP/ICMPv6 echo request to a VIP address: answered by xlb (XDP_TX)")        \
	X(NO_BACKEND, "no_backend", "VIP matched but its ring is empty: dropped")       \
	X(DROP_ACL, "drop_acl", "client not allowed by the VIP's source ACL: dropped")  \
	X(DROP_LIMIT, "drop_limit",                                                     \
	  "new flow over the client's limit of new flows per second: dropped")         \
	X(TOO_BIG, "too_big",                                                           \
	  "larger than the egress MTU once encapsulated: dropped, no ICMP sent (rate "  \
	  "limit, an ICMP error itself, source not unicast)")                           \
	X(ICMP_TOO_BIG, "icmp_too_big",                                                 \
	  "larger than the egress MTU once encapsulated: answered with fragmentation "  \
	  "needed / packet too big (XDP_TX)")                                           \
	X(ENCAP_FAIL, "encap_fail",                                                     \
	  "no headroom for the outer header, or trailer not trimmable: dropped")        \
	X(FIB_PASS, "fib_pass",                                                         \
	  "VLAN-tagged or egress not xlb's: encapsulated, passed for the kernel to route") \
	X(FIB_NO_NEIGH, "fib_no_neigh",                                                 \
	  "next hop's neighbour not resolved yet: encapsulated, passed (the kernel "     \
	  "resolves it)")                                                               \
	X(FIB_FWD_DISABLED, "fib_fwd_disabled",                                         \
	  "forwarding is off on the receiving interface (sysctl): dropped")             \
	X(FIB_NO_ROUTE, "fib_no_route", "no route to the backend: dropped")             \
	X(FIB_UNREACHABLE, "fib_unreachable",                                           \
	  "the backend's route is blackhole, unreachable or prohibit: dropped")         \
	X(FIB_FAIL, "fib_fail",                                                         \
	  "other route lookup failure (tunnel route, no source address): dropped")     \
	X(TX, "tx", "forwarded out of the receiving interface (XDP_TX)")                \
	X(REDIRECT, "redirect", "forwarded out of another interface (redirect)")        \
	X(CONN_HIT, "conn_hit", "connection table hit: flow kept its backend")          \
	X(CONN_MISS, "conn_miss", "no usable entry: backend chosen from the ring")      \
	X(CONN_STALE, "conn_stale",                                                     \
	  "entry's backend gone, UDP idle or unconfirmed entry old: re-hashed")        \
	X(CONN_INSERT, "conn_insert", "new flow recorded in the new-flow table")        \
	X(CONN_PROMOTE, "conn_promote",                                                 \
	  "new flow confirmed (a packet after its first, not SYN/RST): established")   \
	X(CONN_SKIP, "conn_skip",                                                       \
	  "new flow over this CPU's budget: forwarded by the ring, not recorded")     \
	X(NEXTHOP_MISS, "nexthop_miss", "next hop not cached on this CPU: looked up")    \
	X(FRAG_FIRST, "frag_first",                                                     \
	  "first fragment of a VIP flow: balanced, its backend remembered for the rest") \
	X(FRAG_FOLLOW, "frag_follow", "later fragment sent to its first fragment's backend")    \
	X(ICMP_ERROR_FWD, "icmp_error_fwd",                                             \
	  "ICMP error about a VIP flow: sent to the flow's backend (verdict: tx...)")  \
	X(ICMP_RATE_LIMITED, "icmp_rate_limited",                                       \
	  "ICMP xlb would have sent, suppressed by the per-CPU rate limit")       \
	X(SECOND_CHANCE, "second_chance",                                               \
	  "TCP, not SYN/RST, missed the tables and the VIP's previous ring chose "      \
	  "another backend: sent to the current one with the previous as a hint "      \
	  "(a first fragment without one: its later fragments could not follow)")

enum xlb_stat {
#define XLB_STAT_ENUM(name, str, help) XLB_STAT_##name,
	XLB_STATS(XLB_STAT_ENUM)
#undef XLB_STAT_ENUM
	__XLB_STAT_MAX
};
/* Reasons below this are verdicts (one per frame), from it on events. */
#define XLB_STAT_EVENT_FIRST XLB_STAT_CONN_HIT

/* xlb_stats value (per CPU). Index layout:
 *   [0, __XLB_STAT_MAX)                       counters by reason
 *   XLB_STATS_VIP_BASE + vip id               traffic forwarded per VIP
 *   XLB_STATS_VIP_BASE + max_vips + backend id  traffic forwarded per backend
 *   then max_vips of ACL drops, then max_vips of limit drops, by VIP id
 */
struct xlb_counter {
	__u64 packets;
	__u64 bytes; /* frame bytes as received, before encapsulation */
};
#define XLB_STATS_VIP_BASE __XLB_STAT_MAX

/* Entries of xlb_conns_new for a connection table of conns entries: a
 * per-CPU LRU needs a few per CPU at least. */
static inline __u32 xlb_conns_new_entries(__u32 conns, __u32 cpus)
{
	__u32 n = conns >> XLB_CONNS_NEW_SHIFT;

	return n > cpus * 64 ? n : cpus * 64;
}

static inline __u32 xlb_stats_entries(__u32 max_vips, __u32 max_backends)
{
	return XLB_STATS_VIP_BASE + 3 * max_vips + max_backends;
}

/* Index of a VIP's ACL drops; its limit drops follow max_vips later. */
static inline __u32 xlb_stats_vip_acl(__u32 max_vips, __u32 max_backends, __u32 vip_id)
{
	return XLB_STATS_VIP_BASE + max_vips + max_backends + vip_id;
}

static inline __u32 xlb_stats_vip_limit(__u32 max_vips, __u32 max_backends, __u32 vip_id)
{
	return XLB_STATS_VIP_BASE + 2 * max_vips + max_backends + vip_id;
}

#endif /* XLB_H */
