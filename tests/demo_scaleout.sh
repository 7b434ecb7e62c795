#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demo_scaleout.sh (make demo-scaleout): three xlb instances behind a BIRD
# router (tests/lab/lab.sh LAB_LBS=3, docs/bird/*.conf). Shows long-lived
# and new TCP connections shared by the three (per-instance tx), one
# instance dying (xlbd, BIRD, link) with the route's convergence time and
# the held connections kept, then Maglev's weak spot: a second instance
# leaving while a backend is re-weighted on the last one, which the second
# chance covers (hinted packets, forwarded by the backends). Run as root,
# after `make`; about a minute; everything is torn down at the end.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${XLB_BUILD:-$ROOT/build}
P=${DEMO_PREFIX:-xso}$((RANDOM % 1000))
T=$(mktemp -d /tmp/xlb-demo-scaleout.XXXXXX)
BIRD_DIR=/run/xlb-lab/$P/bird
VIP=198.18.100.1:80/tcp
HELD=300
FROM=198.18.0.2,198.18.0.3,198.18.0.4,2001:db8::2,2001:db8::3,2001:db8::4
declare -A PID
HOLD_PID=

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
nx() {
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}
lctl() {
	local i=$1
	shift
	"$BUILD/xlbctl" -S "$T/lb$i.sock" "$@"
}
tx() { lctl "$1" -j stats 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get("tx", {}).get("packets", 0))' 2>/dev/null || echo 0; }
paths() { nx router ip route show 198.18.100.1 | awk '{for (i = 1; i < NF; i++) if ($i == "via") print $(i + 1)}' | sort | tr '\n' ' '; }

cleanup() {
	set +e
	say "Tearing down: detach, lab down."
	exec 7>&- 2>/dev/null
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	for i in 1 2 3; do
		[ -S "$T/lb$i.sock" ] && lctl "$i" detach >/dev/null 2>&1
		[ -n "${PID[$i]:-}" ] && kill -KILL -- "-${PID[$i]}" 2>/dev/null
		nx "lb$i" "$BUILD/xlbd" -i eth0 --detach >/dev/null 2>&1
	done
	for i in 1 2 3; do nx "be$i" "$BUILD/xlb-decap" detach eth0 >/dev/null 2>&1; done
	bash "$ROOT/tests/lab/lab.sh" down "$P" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for b in xlbd xlbctl xlb-decap xlb-echo xlb-probe; do
	[ -x "$BUILD/$b" ] || { echo "Error: $BUILD/$b missing, run make first" >&2; exit 1; }
done
command -v bird >/dev/null || { echo "Error: bird not found: apt-get install bird2 (make deps)" >&2; exit 1; }

hold_check() {
	local n before
	before=$(grep -c '^check ' "$T/hold.out")
	echo check >&7
	for _ in $(seq 150); do
		n=$(grep -c '^check ' "$T/hold.out")
		[ "$n" -gt "$before" ] && break
		sleep 0.1
	done
	grep '^check ' "$T/hold.out" | tail -n 1
}
wait_paths() { # wait_paths WANT: until the router's next hops are WANT, 10 s at most
	for _ in $(seq 500); do
		[ "$(paths)" = "$1 " ] && return 0
		sleep 0.02
	done
	return 1
}
start_hold() {
	exec 7>&- 2>/dev/null
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	rm -f "$T/hold.in"
	mkfifo "$T/hold.in"
	nx client timeout 150 "$BUILD/xlb-probe" --hold -n $HELD -b "$1" -c 32 -t 3000 -T 140 198.18.100.1 80 \
		<"$T/hold.in" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 7>"$T/hold.in"
	for _ in $(seq 300); do grep -q '^ready' "$T/hold.out" && break; sleep 0.1; done
}

say "1. Three load balancers lb1..lb3 behind a router; BIRD on each (docs/bird/lb.conf, router.conf)."
LAB_LBS=3 bash "$ROOT/tests/lab/lab.sh" up "$P" 3 || exit 1
{
	echo "vip add $VIP"
	for b in 1 2 3; do echo "backend add $VIP 198.18.0.1$b"; done
} >"$T/common.rules"
for i in 1 2 3; do
	cp "$T/common.rules" "$T/lb$i.rules"
	setsid nsenter --net="/run/netns/$P-lb$i" "$BUILD/xlbd" -i eth0 -S "$T/lb$i.sock" \
		-r "$T/lb$i.rules" --announce-table 100 >"$T/lb$i.log" 2>&1 &
	PID[$i]=$!
done
for i in 1 2 3; do
	for _ in $(seq 150); do lctl "$i" list >/dev/null 2>&1 && break; sleep 0.1; done
done
for i in 1 2 3; do nx "be$i" "$BUILD/xlb-decap" attach eth0 --from "$FROM" >/dev/null; done
wait_paths "198.18.0.2 198.18.0.3 198.18.0.4" || wait_paths "198.18.0.2 198.18.0.3 198.18.0.4"
echo "router: $(nx router ip route show 198.18.100.1 | tr -s ' \n\t' ' ')"
echo "lb1: $(lctl 1 list | head -n 1)"

say "2. $HELD long-lived connections and 150 new ones, spread by ECMP (tx packets per instance):"
declare -A TX0
for i in 1 2 3; do TX0[$i]=$(tx "$i"); done
start_hold 20000
echo "held: $(hold_check)"
nx client "$BUILD/xlb-probe" -n 150 -b 40000 -c 16 198.18.100.1 80 | tail -n 1
for i in 1 2 3; do echo "lb$i tx +$(($(tx "$i") - TX0[$i]))"; done

say "3. lb3 dies (xlbd and BIRD killed, link down):"
nx router ip link set veth-lb3 down # first: BFD notices, no FIN gets out
k0=$(date +%s%N)
kill -KILL -- "-${PID[3]}" 2>/dev/null
kill -KILL "$(cat "$BIRD_DIR/lb3.pid")" 2>/dev/null
PID[3]=
wait_paths "198.18.0.2 198.18.0.3"
echo "route converged in $((($(date +%s%N) - k0) / 1000000)) ms: $(paths)"
echo "held: $(hold_check)   (kept = same backend, moved = other backend, broken = reset)"
nx client "$BUILD/xlb-probe" -n 100 -b 41000 -c 16 198.18.100.1 80 | tail -n 1

say "4. Maglev's weak spot: lb2 leaves while be1 is re-weighted on lb1 (the second chance):"
start_hold 24000
echo "held (fresh set): $(hold_check)"
lctl 1 backend set $VIP 198.18.0.11 weight 4 >/dev/null
nx router ip link set veth-lb2 down
kill -KILL -- "-${PID[2]}" 2>/dev/null
kill -KILL "$(cat "$BIRD_DIR/lb2.pid")" 2>/dev/null
PID[2]=
wait_paths "198.18.0.2"
r=$(hold_check)
echo "held: $r"
echo "the flows lb2 carried reach lb1 without an entry; lb1's ring moved some of them: lb1 sends"
echo "their packets with the old ring's choice as a hint (second_chance $(lctl 1 -j stats |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get("second_chance", {}).get("packets", 0))')),"
echo "and the backend that has no socket for them forwards them there (xlb-decap forward):"
for i in 1 2 3; do
	echo "  be$i forward $(nx "be$i" "$BUILD/xlb-decap" stats eth0 -j |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"].get("forward", {}).get("packets", 0))')"
done
echo "(xlbd --no-second-chance: those flows break, about a sixth of them in this step)"
