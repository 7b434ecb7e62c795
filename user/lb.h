/* SPDX-License-Identifier: GPL-2.0 */
/* lb.h: the load balancer's configuration as the operator sees it (VIPs,
 * backends, weights, health) and its translation into the data plane: ids,
 * Maglev rings, validity flags. Every change is validated completely before
 * anything is written; errors say what was wrong and what is valid. */
#ifndef XLB_LB_H
#define XLB_LB_H

#include <stddef.h>
#include "xlb.h"
#include "dataplane.h"
#include "maglev.h"
#include "health_config.h"
#include "protect.h"
#include "log.h"

struct xlb_hc;

struct xlb_lb_backend {
	int used;
	__u32 id;	     /* index in xlb_backends */
	__u32 vip;	     /* index of its VIP in lb->vips */
	union xlb_addr addr; /* network order */
	__u8 family;
	__u32 weight;	      /* 0 = draining: keeps its flows, gets no new ones */
	int up;		      /* health: 1 up (also when not checked), 0 down */
	int in_ring;	      /* currently in the VIP's ring */
	__u64 changed_ms;     /* CLOCK_MONOTONIC ms of the last health change */
	struct xlb_hc_cfg hc; /* its own check options, over the VIP's */
	int ss_own;	      /* its own slow start in seconds, -1: its VIP's */
	__u64 ramp_ms;	      /* CLOCK_MONOTONIC ms its ramp began, 0: at full weight */
	__u32 ring_weight;    /* its weight in the ring now, times its VIP's ss_scale */
	int dp_written;	      /* its entry in xlb_backends was written ... */
	__u8 dp_flags;	      /* ... with these flags */
};

struct xlb_lb_vip {
	int used;
	__u32 id; /* index in xlb_rings and the per-VIP counters */
	struct xlb_vip_key key;
	__u32 flags;	  /* enum xlb_vip_flags */
	int fail_close;	  /* all backends down: drop instead of using all */
	int failing_open; /* all backends down, forwarding to all of them */
	int dropping;	  /* all backends down and fail_close: no ring */
	int dirty;	  /* its ring waits for xlb_lb_batch_commit() */
	int report;	  /* log its in-service count at the commit */
	__u32 n_in_ring;  /* backends in its ring now */
	__u32 n_backends;
	int announced;	      /* its address is in the announcement table (announce.h) */
	__u32 slow_start;     /* seconds of its backends' ramp (their default), 0: none */
	__u32 n_ramping;      /* backends ramping at the last build: the tick rebuilds */
	__u32 ss_scale;	      /* ring weights = weights times this at the last build */
	struct xlb_hc_cfg hc; /* check defaults of its backends */
	struct xlb_protect prot; /* source ACLs and limit of new flows */
};

struct xlb_lb {
	struct xlb_dp *dp;
	struct xlb_lb_vip *vips;	    /* dp->max_vips slots, index = VIP id */
	struct xlb_lb_backend *backends;    /* dp->max_backends slots, index = backend id */
	__u32 *gens;			    /* per backend id, survives reuse */
	__u32 *ring;			    /* scratch: dp->ring_size slots */
	struct xlb_lb_scratch *scratch;	    /* scratch: dp->max_backends entries */
	struct xlb_maglev_backend *members; /* scratch: the ring's input */
	struct xlb_lb_adopt *adopt;	    /* what the pins held at start */
	int *m_up, *m_in;		    /* scratch of ring_members() */
	__u32 *m_weight;
	struct xlb_hc *hc; /* health checks; NULL: every backend up */
	struct xlb_config outer; /* the data plane's outer sources ... */
	int have_outer;		 /* ... once xlb_lb_set_outer() gave them */
	int batch;		 /* between xlb_lb_batch_begin() and _commit() */
	__u64 ring_builds;	 /* rings rebuilt since start (tests, benchmarks) */
	__u32 announce_table;	 /* xlbd --announce-table; 0: VIPs are not announced */
	/* Called after a backend's health state changed (for logging, tests). */
	void (*on_change)(void *ctx, const struct xlb_lb_vip *vip, const struct xlb_lb_backend *be);
	void *on_change_ctx;
};

int xlb_lb_new(struct xlb_dp *dp, struct xlb_lb **out);
void xlb_lb_free(struct xlb_lb *lb);

/* Runs health checks through hc (owned by the caller, who dispatches it):
 * every backend configured from now on is checked and its verdicts change
 * the rings. Without it, every backend counts as up. */
void xlb_lb_set_health(struct xlb_lb *lb, struct xlb_hc *hc);

/* The outer sources the data plane's tunnels leave from (the xlb_config
 * xlbd writes): from now on a backend that is one of them, or of a family
 * without one, is refused. Without them (library use) neither is checked. */
void xlb_lb_set_outer(struct xlb_lb *lb, const struct xlb_config *cfg);
/* Those outer sources, NULL when not set. */
const struct xlb_config *xlb_lb_outer(const struct xlb_lb *lb);
/* 0 when addr can be a backend of lb: unicast, not one of lb's own outer
 * sources, of a family lb has an outer source for. Else -EINVAL and why. */
int xlb_lb_backend_usable(const struct xlb_lb *lb, const union xlb_addr *addr, __u8 family,
			  char *err, size_t errlen);

/* The effective check of a backend: its VIP's defaults, its own options and
 * the rules that need the VIP (xlb_hc_cfg_resolve()). */
int xlb_lb_backend_check(const struct xlb_lb *lb, const struct xlb_lb_backend *b,
			 struct xlb_hc_cfg *out, char *err, size_t errlen);

/* Defers ring rebuilds of additions, weight and health changes until the
 * commit, which rebuilds each changed VIP once (removals stay immediate).
 * Until then a new backend takes no new flows. Commit returns the first
 * rebuild error; every dirty VIP is tried. */
void xlb_lb_batch_begin(struct xlb_lb *lb);
int xlb_lb_batch_commit(struct xlb_lb *lb);

/* flags: enum xlb_vip_flags. */
int xlb_lb_vip_add(struct xlb_lb *lb, const struct xlb_vip_key *key, __u32 flags, char *err,
		   size_t errlen);
int xlb_lb_vip_set_flags(struct xlb_lb *lb, const struct xlb_vip_key *key, __u32 flags, char *err,
			 size_t errlen);
/* The VIP's check defaults (applied to every backend at once) and what it
 * does when every backend is down: fail_close 0 forwards to all of them,
 * 1 drops. */
int xlb_lb_vip_set_health(struct xlb_lb *lb, const struct xlb_vip_key *key, int fail_close,
			  const struct xlb_hc_cfg *hc, char *err, size_t errlen);
/* The VIP's source ACLs and limit of new flows, replacing the old ones.
 * Entries are written before the flag that makes the data plane read
 * them, and removed after it is cleared. */
int xlb_lb_vip_set_protect(struct xlb_lb *lb, const struct xlb_vip_key *key,
			   const struct xlb_protect *prot, char *err, size_t errlen);
int xlb_lb_vip_del(struct xlb_lb *lb, const struct xlb_vip_key *key, char *err, size_t errlen);
struct xlb_lb_vip *xlb_lb_vip_find(struct xlb_lb *lb, const struct xlb_vip_key *key);

int xlb_lb_backend_add(struct xlb_lb *lb, const struct xlb_vip_key *vip, const union xlb_addr *addr,
		       __u8 family, __u32 weight, char *err, size_t errlen);
int xlb_lb_backend_set_weight(struct xlb_lb *lb, const struct xlb_vip_key *vip,
			      const union xlb_addr *addr, __u8 family, __u32 weight, char *err,
			      size_t errlen);
int xlb_lb_backend_del(struct xlb_lb *lb, const struct xlb_vip_key *vip, const union xlb_addr *addr,
		       __u8 family, char *err, size_t errlen);
/* Sets a backend's own check options without running them: the next
 * xlb_lb_vip_set_health() of its VIP runs them together with the VIP's, so
 * that one change can move an option (say the port of an all-ports VIP)
 * from the VIP to its backends. Returns 0 or -ENOENT. */
int xlb_lb_backend_stage_check(struct xlb_lb *lb, const struct xlb_vip_key *vip,
			       const union xlb_addr *addr, __u8 family, const struct xlb_hc_cfg *hc);
/* A backend's own check options (over its VIP's defaults). */
int xlb_lb_backend_set_check(struct xlb_lb *lb, const struct xlb_vip_key *vip,
			     const union xlb_addr *addr, __u8 family, const struct xlb_hc_cfg *hc,
			     char *err, size_t errlen);
/* Health verdict for a backend; rebuilds the ring when membership changes. */
int xlb_lb_backend_set_up(struct xlb_lb *lb, __u32 backend_id, int up);
struct xlb_lb_backend *xlb_lb_backend_find(struct xlb_lb *lb, const struct xlb_lb_vip *vip,
					   const union xlb_addr *addr, __u8 family);

/* The VIP a flow to vkey matches, as the data plane finds it: vkey
 * itself, else the all-ports VIP of its address and protocol (*all_ports
 * set). NULL (and err filled) when none. */
struct xlb_lb_vip *xlb_lb_vip_match(struct xlb_lb *lb, const struct xlb_vip_key *vkey,
				    int *all_ports, char *err, size_t errlen);
/* The 5-tuple of a flow from src:sport to vkey (the xlb_conns key) and its
 * hash as the VIP's scheduler computes it. */
void xlb_lb_flow(const struct xlb_lb_vip *v, const struct xlb_vip_key *vkey,
		 const union xlb_addr *src, __be16 sport, struct xlb_flow *flow, __u32 *hash);

/* Which backend a new flow from src:sport to vip would get now, read from
 * the ring the data plane uses. vip may name a port of an all-ports VIP. */
int xlb_lb_lookup(struct xlb_lb *lb, const struct xlb_vip_key *vip, const union xlb_addr *src,
		  __u8 src_family, __be16 sport, struct xlb_lb_backend **be, char *err,
		  size_t errlen);

/* Slow start (slowstart.h). The VIP's default ramp, in seconds (0: none,
 * at most XLB_SLOW_START_MAX), and a backend's own (-1: its VIP's). A
 * backend ramps after it was added or came back up. */
int xlb_lb_vip_set_slow_start(struct xlb_lb *lb, const struct xlb_vip_key *key, __u32 seconds,
			      char *err, size_t errlen);
int xlb_lb_backend_set_slow_start(struct xlb_lb *lb, const struct xlb_vip_key *vip,
				  const union xlb_addr *addr, __u8 family, int seconds, char *err,
				  size_t errlen);
/* The ramp a backend has: its own, else its VIP's. */
__u32 xlb_lb_backend_slow_start(const struct xlb_lb *lb, const struct xlb_lb_backend *b);
/* While b ramps: 1, its effective weight in thousandths of a weight unit
 * and the ms left; else 0. */
int xlb_lb_backend_ramp(const struct xlb_lb *lb, const struct xlb_lb_backend *b, __u64 *eff_milli,
			__u64 *remaining_ms);
/* One step of every ramp: rebuilds the ring of each VIP with a ramping
 * backend (xlbd calls it once a second). Returns how many rings were
 * rebuilt, or the first error (every VIP is tried). */
int xlb_lb_slowstart_tick(struct xlb_lb *lb);

/* Removes from the data plane every VIP and backend that was adopted from
 * pins but not configured again since (call after restoring the rules). */
int xlb_lb_prune_adopted(struct xlb_lb *lb);

#endif
