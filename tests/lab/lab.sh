#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/lab/lab.sh: the veth lab of the end-to-end tests and the demo. Builds a
# client, a router, a load balancer and N backends in network namespaces, with
# an echo server in every backend. Never touches the root namespace's links,
# addresses or routes. The only XDP programs it attaches are pass-everything
# ones on the router-side veth peers, which XDP_TX out of the lb and backends
# needs (see lab_up); xlb itself is attached by the tests.
#
#   client eth0 198.18.1.2 ---- veth-client 198.18.1.1  router
#                                           br0 198.18.0.1 (veth-lb, veth-be1..N)
#   lb eth0 198.18.0.2 ---- veth-lb                     |
#   beI eth0 198.18.0.(10+I) ---- veth-beI              |
#   VIPs 198.18.100.0/24, 2001:db8:100::/64: router -> lb; every backend holds
#   them on lo and answers the client directly (direct server return). What
#   the lb's XDP program passes up for a VIP is refused there (an unreachable
#   route), rather than looping between lb and router until the TTL runs out.
#   The lb's tunnels leave from 198.18.0.2 and 2001:db8::2: what backends give
#   `xlb-decap attach --from` (tests/e2e/lib.sh LAB_LB_FROM).
#
# LAB_LBS=N (2-8) builds N load balancers lb1..lbN instead of lb, at
# 198.18.0.(1+I) and 2001:db8::(1+I) (lb1 keeps lb's addresses), each running
# BIRD with docs/bird/lb.conf; the router runs BIRD with docs/bird/router.conf
# and learns the VIPs from them over BGP (no static VIP route): one multipath
# route per VIP, flows spread by their 5-tuple (fib_multipath_hash_policy=1,
# set in the router's namespace only). The tests start xlbd with
# --announce-table 100 on each. BIRD's control sockets: RUN_DIR/bird/NODE.ctl.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XLB_BUILD:-$ROOT/build}
RUN_BASE=/run/xlb-lab
LAB_PORTS=${LAB_PORTS:-"80 443 8080 9000"}
MAX_BACKENDS=64
MAX_LBS=8
NLBS=${LAB_LBS:-1}

usage() {
	cat <<EOF
Usage: tests/lab/lab.sh up PREFIX [NBACKENDS]     build the lab (default 4 backends, at most $MAX_BACKENDS)
       tests/lab/lab.sh down PREFIX               tear it down (quiet when absent)
       tests/lab/lab.sh exec PREFIX NODE CMD...   run CMD in NODE's network namespace
       tests/lab/lab.sh status PREFIX             show namespaces, links, servers
  PREFIX: a short word, [a-z][a-z0-9]{0,11} (namespaces are PREFIX-client,
  PREFIX-router, PREFIX-lb or PREFIX-lb1..N, PREFIX-be1..N). NODE: client,
  router, lb (lb1..lbN with LAB_LBS), be1..beN.
  Environment: LAB_PORTS (echo server ports, default "80 443 8080 9000"),
  LAB_LBS (load balancers, default 1: the node lb; 2-$MAX_LBS: lb1..lbN
  with BIRD, announcing to BIRD on the router, ECMP), XLB_BUILD (binaries,
  default <repo>/build). BIRD control sockets: $RUN_BASE/PREFIX/bird/NODE.ctl.
EOF
}

die_usage() {
	echo "Error: $*" >&2
	usage >&2
	exit 2
}

check_prefix() {
	[[ ${1:-} =~ ^[a-z][a-z0-9]{0,11}$ ]] ||
		die_usage "bad PREFIX '${1:-}', expected a short word: [a-z][a-z0-9]{0,11}"
}

# Run a command in one of the lab's namespaces. nsenter rather than
# `ip netns exec`, which remounts /sys and hides /sys/fs/bpf.
nx() {
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}

# The lab's namespaces that exist now (exact names only: PREFIX "a" never
# matches the lab "ab").
lab_namespaces() {
	ip netns list 2>/dev/null | awk '{print $1}' |
		grep -E "^$1-(client|router|lb|lb[0-9]+|be[0-9]+)\$" | sort -V || true
}

# ---------------------------------------------------------------- down

# Stop a namespace's processes: TERM, up to 2 s of grace, then KILL.
kill_ns_procs() {
	local ns pids i
	for ns in "$@"; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
	done
	for ((i = 0; i < 20; i++)); do
		pids=""
		for ns in "$@"; do
			pids+=$(ip netns pids "$ns" 2>/dev/null || true)
		done
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	for ns in "$@"; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
	done
	sleep 0.1
}

lab_down() {
	local prefix=$1 dir=$RUN_BASE/$1 pf pid ns want
	local -a nss
	mapfile -t nss < <(lab_namespaces "$prefix")

	# The echo servers run in their own process groups; stop each group, but
	# only when its leader still lives in the namespace it was started in
	# (a stale pidfile must never hit an unrelated process).
	if [ -d "$dir" ]; then
		for pf in "$dir"/*.pid "$dir"/bird/*.pid; do
			[ -e "$pf" ] || continue
			pid=$(cat "$pf" 2>/dev/null || true)
			want="$prefix-$(basename "$pf" .pid)"
			if [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)) &&
				[ "$(ip netns identify "$pid" 2>/dev/null)" = "$want" ]; then
				kill -TERM -- "-$pid" 2>/dev/null || true
			fi
		done
	fi
	((${#nss[@]})) && kill_ns_procs "${nss[@]}"
	for ns in "${nss[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$dir"
	rmdir "$RUN_BASE" 2>/dev/null || true
}

# ---------------------------------------------------------------- up

sysctl_ns() {
	local node=$1
	shift
	nx "$node" sysctl -q -w "$@" >/dev/null
}

# Succeeds when NODE reaches ADDR over TCP: a connection, or a refusal (the
# reset proves the path both ways), within one second.
reach() {
	local node=$1 addr=$2 out
	out=$(nx "$node" timeout 1 bash -c "exec 3<>/dev/tcp/$addr/7" 2>&1) && return 0
	[[ $out == *"refused"* ]]
}

wait_reach() {
	local node=$1 addr=$2 i
	for ((i = 0; i < 30; i++)); do
		reach "$node" "$addr" && return 0
		sleep 0.1
	done
	echo "Error: lab $P: $node cannot reach $addr after 30 tries" >&2
	return 1
}

# One TCP and one UDP flow from the client to a backend's echo server.
wait_echo() {
	local be=$1 addr=$2 port=$3 i
	for ((i = 0; i < 30; i++)); do
		if nx client "$BUILD/xlb-probe" -n 1 -t 500 -T 5 "$addr" "$port" >/dev/null 2>&1 &&
			nx client "$BUILD/xlb-probe" -u -n 1 -t 500 -T 5 "$addr" "$port" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	echo "Error: lab $P: echo server of $be does not answer on $addr port $port" >&2
	return 1
}

# Settings every namespace shares. Defaults first, so that links created later
# inherit them.
ns_common() {
	local node=$1
	ip netns add "$P-$node"
	nx "$node" ip link set lo up
	sysctl_ns "$node" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
}

# rp_filter is the maximum of "all" and the interface's value: clear each.
ns_finish() {
	local node=$1
	nx "$node" sh -c 'for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 >"$f"; done
		for f in /proc/sys/net/ipv6/conf/*/accept_dad; do echo 0 >"$f"; done'
}

# Compile the router-side peers' pass-everything XDP program (see lab_up).
# Without clang the lab still works, except for XDP_TX out of the lb.
build_xdp_pass() {
	local obj=$1/xdp_pass.o
	if ! command -v clang >/dev/null; then
		echo "Warning: lab $P: clang not found, XDP_TX from the lb will stall" >&2
		return 0
	fi
	clang -O2 -g -target bpf -x c -c -o "$obj" - <<'EOF' || return 1
/* XDP_PASS for every frame; its presence is what matters (see tests/lab/lab.sh). */
__attribute__((section("xdp"), used)) int xlb_lab_pass(void *ctx)
{
	return 2; /* XDP_PASS */
}
char _license[] __attribute__((section("license"), used)) = "GPL";
EOF
	echo "$obj"
}

# Fixed, locally administered MACs (02:00:c6:12 = 198.18) for the leaves and
# br0, so that captures and XDP test programs can name them.
mac() { printf '02:00:c6:12:%02x:%02x' "$1" "$2"; }

# The load balancer nodes: lb alone, or lb1..lbN with LAB_LBS.
lb_nodes() {
	local i
	if ((NLBS == 1)); then
		echo lb
	else
		for ((i = 1; i <= NLBS; i++)); do echo "lb$i"; done
	fi
}

# BIRD in NODE's namespace with CONF, in its own process group, in the
# foreground (its pid is $!), control socket and log under RUN_DIR/bird.
start_bird() {
	local node=$1 conf=$2 bdir=$RUN_BASE/$P/bird i
	mkdir -p "$bdir"
	nsenter --net="/run/netns/$P-$node" setsid bird -f -c "$conf" -s "$bdir/$node.ctl" \
		-P "$bdir/$node.pid" </dev/null >"$bdir/$node.log" 2>&1 &
	echo $! >"$bdir/$node.pid"
	for ((i = 0; i < 50; i++)); do
		birdc -s "$bdir/$node.ctl" show status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "Error: lab $P: BIRD on $node does not answer on $bdir/$node.ctl; its log:" >&2
	tail -n 20 "$bdir/$node.log" >&2
	return 1
}

lab_up() {
	local n=$1 i be start ports_csv port node bin peer pass_obj lbn
	local dir=$RUN_BASE/$P
	local -a lbs
	start=$(date +%s%N)
	mapfile -t lbs < <(lb_nodes)
	if ((NLBS > 1)); then
		for bin in bird birdc; do
			command -v "$bin" >/dev/null || {
				echo "Error: LAB_LBS=$NLBS needs BIRD 2 ($bin not found): apt-get install bird2 (make deps)" >&2
				exit 1
			}
		done
	fi

	for bin in xlb-echo xlb-probe; do
		[ -x "$BUILD/$bin" ] || {
			echo "Error: $BUILD/$bin not found, build it first: make $BUILD/$bin" >&2
			exit 1
		}
	done
	for port in $LAB_PORTS; do
		[[ $port =~ ^[0-9]+$ ]] && ((port >= 1 && port <= 65535)) ||
			die_usage "bad port '$port' in LAB_PORTS, expected numbers 1-65535"
	done
	ports_csv=$(echo $LAB_PORTS | tr ' ' ',')
	[ -n "$ports_csv" ] || die_usage "LAB_PORTS is empty, give at least one port"

	lab_down "$P" # idempotent: a lab of this name is rebuilt from scratch

	# From here on, a failure tears down whatever was built.
	FAILED_CMD=""
	# Keep the innermost failing command: the ERR trap fires again in
	# every caller as the failure propagates.
	trap '[ -n "$FAILED_CMD" ] || [[ $BASH_COMMAND == return* ]] ||
		FAILED_CMD="$BASH_COMMAND (line $LINENO)"' ERR
	trap 'up_exit $?' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	mkdir -p "$dir"
	echo "$n" >"$dir/nbackends"
	echo "$NLBS" >"$dir/nlbs"
	pass_obj=$(build_xdp_pass "$dir")

	for node in client router "${lbs[@]}"; do ns_common "$node"; done
	for ((i = 1; i <= n; i++)); do ns_common "be$i"; done
	sysctl_ns router net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Several load balancers: each flow's 5-tuple picks its path (L4).
	((NLBS == 1)) || sysctl_ns router net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.fib_multipath_hash_policy=1
	# The lb keeps the kernel's defaults (forwarding off, accept_local off),
	# as a fresh host has them: xlbd sets what its data plane needs on its
	# interface itself (or, with --no-sysctl, refuses to start).

	# Router: the LAN bridge. A fixed MAC, so that it does not change as
	# ports join (neighbours would keep a stale one).
	nx router ip -batch - <<EOF
link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
link set br0 address $(mac 0 1) up
addr add 198.18.0.1/24 dev br0
addr add 2001:db8::1/64 dev br0 nodad
EOF

	# Every veth is created inside the router namespace with its peer placed
	# straight into the leaf namespace as eth0: no name ever exists in the
	# root namespace.
	nx router ip link add veth-client type veth peer name eth0 netns "$P-client"
	for node in "${lbs[@]}"; do
		nx router ip link add "veth-$node" type veth peer name eth0 netns "$P-$node"
	done
	for ((i = 1; i <= n; i++)); do
		nx router ip link add "veth-be$i" type veth peer name eth0 netns "$P-be$i"
	done

	nx router ip -batch - <<EOF
addr add 198.18.1.1/24 dev veth-client
addr add 2001:db8:1::1/64 dev veth-client nodad
link set veth-client up
EOF
	for node in "${lbs[@]}"; do
		nx router ip link set "veth-$node" master br0 up
	done
	# One load balancer: static routes. Several: BGP brings the VIPs.
	if ((NLBS == 1)); then
		nx router ip -batch - <<EOF
route add 198.18.100.0/24 via 198.18.0.2
route add 2001:db8:100::/64 via 2001:db8::2
EOF
	fi
	for ((i = 1; i <= n; i++)); do
		nx router ip link set "veth-be$i" master br0 up
	done

	nx client ip -batch - <<EOF
link set eth0 address $(mac 1 2) up
addr add 198.18.1.2/24 dev eth0
addr add 2001:db8:1::2/64 dev eth0 nodad
route add default via 198.18.1.1
route add ::/0 via 2001:db8:1::1
EOF
	for ((i = 1; i <= NLBS; i++)); do
		lbn=${lbs[i - 1]}
		nx "$lbn" ip -batch - <<EOF
link set eth0 address $(mac 0 $((1 + i))) up
addr add 198.18.0.$((1 + i))/24 dev eth0
addr add 2001:db8::$((1 + i))/64 dev eth0 nodad
route add default via 198.18.0.1
route add ::/0 via 2001:db8::1
route add unreachable 198.18.100.0/24
route add unreachable 2001:db8:100::/64
EOF
	done
	for ((i = 1; i <= n; i++)); do
		nx "be$i" ip -batch - <<EOF
link set eth0 address $(mac 0 $((10 + i))) up
addr add 198.18.0.$((10 + i))/24 dev eth0
addr add 2001:db8::$((10 + i))/64 dev eth0 nodad
route add default via 198.18.0.1
route add ::/0 via 2001:db8::1
route add local 198.18.100.0/24 dev lo
route add local 2001:db8:100::/64 dev lo
EOF
		# Replies leave from the VIP, an address only a local route holds.
		sysctl_ns "be$i" net.ipv4.ip_nonlocal_bind=1 net.ipv6.ip_nonlocal_bind=1
	done

	# Frames a veth sends with XDP_TX land in its peer's ring. With no NAPI
	# on the peer they are dropped (GRO on turns NAPI on); and the kernel
	# (checked on 6.18) wakes that NAPI after XDP_TX only when the peer has
	# an XDP program of its own, so with GRO alone the frames wait in the
	# ring until unrelated traffic comes by. Hence both on the router-side
	# peers: GRO, and a program that passes everything.
	for peer in "${lbs[@]/#/veth-}" $(seq -f 'veth-be%g' 1 "$n"); do
		nx router ethtool -K "$peer" gro on >/dev/null
		if [ -n "$pass_obj" ]; then
			nx router ip link set dev "$peer" xdpdrv obj "$pass_obj" sec xdp
		fi
	done
	# The client computes its own checksums: a partial checksum (offloaded to
	# the veth) does not survive the load balancer's XDP_TX, and the backend
	# would drop the packet (TcpInCsumErrors).
	nx client ethtool -K eth0 tx off >/dev/null

	for node in client router "${lbs[@]}"; do ns_finish "$node"; done
	for ((i = 1; i <= n; i++)); do ns_finish "be$i"; done

	# Echo servers, each in its own process group (setsid: its pid is the
	# group id), logs next to the pidfiles.
	for ((i = 1; i <= n; i++)); do
		be=be$i
		# Not through nx: $! must be the server itself, not a subshell.
		nsenter --net="/run/netns/$P-$be" setsid "$BUILD/xlb-echo" -n "$be" \
			-p "$ports_csv" </dev/null >"$dir/$be.log" 2>&1 &
		echo $! >"$dir/$be.pid"
	done

	if ((NLBS > 1)); then
		start_bird router "$ROOT/docs/bird/router.conf"
		for node in "${lbs[@]}"; do start_bird "$node" "$ROOT/docs/bird/lb.conf"; done
	fi

	# Usable means: client reaches router and lb; every echo server answers
	# the client over TCP and UDP, IPv4 and IPv6 (bounded retries each).
	wait_reach client 198.18.1.1
	wait_reach client 2001:db8:1::1
	wait_reach client 198.18.0.2
	wait_reach client 2001:db8::2
	port=${LAB_PORTS%% *}
	for ((i = 1; i <= n; i++)); do
		wait_echo "be$i" "198.18.0.$((10 + i))" "$port"
		wait_echo "be$i" "2001:db8::$((10 + i))" "$port"
	done

	trap - ERR EXIT INT TERM
	local ms=$((($(date +%s%N) - start) / 1000000))
	if ((NLBS == 1)); then
		printf 'lab %s up in %d.%03ds: client 198.18.1.2 -> router 198.18.1.1 -> lb 198.18.0.2 ' \
			"$P" $((ms / 1000)) $((ms % 1000))
	else
		printf 'lab %s up in %d.%03ds: client 198.18.1.2 -> router 198.18.1.1 (BIRD, ECMP) -> ' \
			"$P" $((ms / 1000)) $((ms % 1000))
		printf 'lb1..lb%d 198.18.0.2..%d (BIRD, BGP) ' "$NLBS" $((1 + NLBS))
	fi
	printf '(VIPs 198.18.100.0/24, 2001:db8:100::/64); backends be1..be%d 198.18.0.11..%d, ' \
		"$n" $((10 + n))
	printf 'echo on tcp+udp %s; ns %s-{client,router,%s,be1..be%d}\n' "$ports_csv" "$P" "$( ((NLBS == 1)) && echo lb || echo "lb1..lb$NLBS")" "$n"
}

up_exit() {
	local rc=$1
	trap - ERR EXIT INT TERM
	((rc == 0)) && rc=1
	echo "Error: lab $P: up failed${FAILED_CMD:+ at: $FAILED_CMD}, tearing down what was built" >&2
	lab_down "$P" || true
	exit "$rc"
}

# ---------------------------------------------------------------- status

lab_status() {
	local dir=$RUN_BASE/$P ns pid be node ok=0
	local -a nss
	mapfile -t nss < <(lab_namespaces "$P")
	if ((${#nss[@]} == 0)); then
		echo "lab $P: absent"
		return 1
	fi
	echo "lab $P: ${#nss[@]} namespaces, $(cat "$dir/nbackends" 2>/dev/null || echo '?') backends," \
		"$(cat "$dir/nlbs" 2>/dev/null || echo 1) load balancers"
	for ns in "${nss[@]}"; do
		echo "$ns:"
		nsenter --net="/run/netns/$ns" ip -br addr show | grep -v '^lo ' | sed 's/^/  /' || true
	done
	for pf in "$dir"/*.pid; do
		[ -e "$pf" ] || continue
		be=$(basename "$pf" .pid)
		pid=$(cat "$pf")
		if [ "$(ip netns identify "$pid" 2>/dev/null)" = "$P-$be" ]; then
			echo "echo server $be: running, pid $pid"
		else
			echo "echo server $be: not running (log: $dir/$be.log)"
			ok=1
		fi
	done
	for pf in "$dir"/bird/*.pid; do
		[ -e "$pf" ] || continue
		node=$(basename "$pf" .pid)
		if birdc -s "$dir/bird/$node.ctl" show protocols 2>/dev/null | grep -q BGP; then
			echo "BIRD $node: running, BGP sessions:"
			birdc -s "$dir/bird/$node.ctl" show protocols | awk '$2 == "BGP" {print "  " $0}'
		else
			echo "BIRD $node: not answering (log: $dir/bird/$node.log)"
			ok=1
		fi
	done
	return $ok
}

# ---------------------------------------------------------------- main

[ $# -ge 1 ] || die_usage "missing command, expected up, down, exec or status"
cmd=$1
shift
case $cmd in
-h | --help | help)
	usage
	exit 0
	;;
up)
	[ $# -ge 1 ] && [ $# -le 2 ] || die_usage "up takes PREFIX [NBACKENDS]"
	check_prefix "$1"
	P=$1
	nb=${2:-4}
	[[ $nb =~ ^[0-9]+$ ]] && ((nb >= 1 && nb <= MAX_BACKENDS)) ||
		die_usage "bad NBACKENDS '$nb', expected 1-$MAX_BACKENDS"
	[[ $NLBS =~ ^[0-9]+$ ]] && ((NLBS >= 1 && NLBS <= MAX_LBS)) ||
		die_usage "bad LAB_LBS '$NLBS', expected 1-$MAX_LBS"
	[ "$(id -u)" = 0 ] || { echo "Error: lab.sh needs root, run it as root" >&2; exit 1; }
	lab_up "$nb"
	;;
down)
	[ $# -eq 1 ] || die_usage "down takes PREFIX"
	check_prefix "$1"
	P=$1
	lab_down "$P"
	;;
exec)
	[ $# -ge 3 ] || die_usage "exec takes PREFIX NODE CMD..."
	check_prefix "$1"
	P=$1
	node=$2
	shift 2
	[[ $node =~ ^(client|router|lb|lb[0-9]+|be[0-9]+)$ ]] ||
		die_usage "bad NODE '$node', expected client, router, lb, lb1..lbN or be1..beN"
	[ -e "/run/netns/$P-$node" ] || { echo "Error: no namespace $P-$node, is lab $P up?" >&2; exit 1; }
	exec nsenter --net="/run/netns/$P-$node" "$@"
	;;
status)
	[ $# -eq 1 ] || die_usage "status takes PREFIX"
	check_prefix "$1"
	P=$1
	lab_status
	;;
*)
	die_usage "unknown command '$cmd', expected up, down, exec or status"
	;;
esac
