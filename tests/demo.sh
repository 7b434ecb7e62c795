#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# demo.sh (make demo): xlb balancing real traffic in a veth lab. Builds a
# client, a router, a load balancer running xlbd and four backends in network
# namespaces, sends a few hundred TCP connections to a VIP, shows how they
# spread, takes a backend away, shows the traffic moving, kills a backend's
# server and shows the health checks taking it out and back, and tears it
# all down. Run as root, after `make`.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${XLB_BUILD:-$ROOT/build}
P=xdemo$((RANDOM % 1000))
T=$(mktemp -d /tmp/xlb-demo.XXXXXX)
SOCK=$T/xlbd.sock
VIP=198.18.100.1:80/tcp
N=400
XLBD_PID=

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
nx() {
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}
ctl() { nx lb "$BUILD/xlbctl" -S "$SOCK" "$@"; }

cleanup() {
	set +e
	say "Tearing down: xlbctl detach, lab down."
	[ -S "$SOCK" ] && ctl detach >/dev/null 2>&1
	[ -n "$XLBD_PID" ] && kill -- "-$XLBD_PID" 2>/dev/null
	for i in 1 2 3 4; do nx "be$i" "$BUILD/xlb-decap" detach eth0 >/dev/null 2>&1; done
	bash "$ROOT/tests/lab/lab.sh" down "$P" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for b in xlbd xlbctl xlb-decap xlb-echo xlb-probe; do
	[ -x "$BUILD/$b" ] || { echo "Error: $BUILD/$b missing, run make first" >&2; exit 1; }
done

say "1. The lab: client -> router -> load balancer (xlb) -> 4 backends, in namespaces."
bash "$ROOT/tests/lab/lab.sh" up "$P" 4 || exit 1
cat <<EOF
   client 198.18.1.2 sends to the VIP $VIP. The router sends VIP traffic
   to the load balancer (198.18.0.2). xlb's XDP program picks a backend by Maglev
   hashing of the connection's 5-tuple and tunnels the packet (IPIP) to it. Each
   backend (be1..be4 = 198.18.0.11..14) decapsulates with xlb-decap, holds the VIP
   on lo and answers the client directly: replies never cross the load balancer.
EOF

say "2. Start xlbd on the load balancer's eth0 and configure the VIP with xlbctl."
setsid nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i eth0 -S "$SOCK" -r "$T/rules" \
	>"$T/xlbd.log" 2>&1 &
XLBD_PID=$!
for _ in $(seq 50); do [ -S "$SOCK" ] && ctl list >/dev/null 2>&1 && break; sleep 0.1; done
if ! ctl list >/dev/null 2>&1; then
	echo "xlbd did not start:"
	cat "$T/xlbd.log"
	exit 1
fi
# Tunnels only from the lb's own addresses (its outer sources).
for i in 1 2 3 4; do
	nx "be$i" "$BUILD/xlb-decap" attach eth0 --from 198.18.0.2,2001:db8::2 >/dev/null || exit 1
done
echo "   \$ xlbctl vip add $VIP"
ctl vip add $VIP
for i in 1 2 3 4; do
	echo "   \$ xlbctl backend add $VIP 198.18.0.$((10 + i))"
	ctl backend add $VIP "198.18.0.$((10 + i))"
done
echo "   \$ xlbctl list"
ctl list | sed 's/^/   /'

# table FILE TITLE: connections per backend with a bar
table() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
total = j["ok"] + j["failed"]
print(f"   {sys.argv[2]}: {j['ok']} of {total} connections answered")
print(f"   {'backend':8} {'conns':>6} {'share':>6}")
for name in sorted(j["backends"]):
    n = j["backends"][name]
    print(f"   {name:8} {n:6} {100.0 * n / total:5.1f}%  {'#' * round(60 * n / total)}")
EOF
}

say "3. $N TCP connections from the client, each asking the backend for its name."
nx client "$BUILD/xlb-probe" -j -n $N -b 30000 198.18.100.1 80 >"$T/before.json"
table "$T/before.json" "Before"
echo
echo "   xlb's own counters (per backend: packets and bytes it tunnelled):"
ctl list | sed 's/^/   /'

say "4. Take be3 (198.18.0.13) out of service: xlbctl backend del $VIP 198.18.0.13"
ctl backend del $VIP 198.18.0.13
nx client "$BUILD/xlb-probe" -j -n $N -b 30000 198.18.100.1 80 >"$T/after.json"
table "$T/after.json" "After"
python3 - "$T/before.json" "$T/after.json" <<'EOF'
import json, sys
b = {f["sport"]: f["backend"] for f in json.load(open(sys.argv[1]))["flows"]}
a = {f["sport"]: f["backend"] for f in json.load(open(sys.argv[2]))["flows"]}
moved = [p for p in b if a.get(p) != b[p]]
from_be3 = [p for p in moved if b[p] == "be3"]
print(f"\n   The same {len(b)} client ports again: {len(moved)} connections changed backend,")
print(f"   {len(from_be3)} of them had been on be3. Maglev moved only be3's share;")
print(f"   every other connection kept its backend.")
EOF

say "5. be2's server dies (killed): xlbd's health checks take it out of the ring."
# state_of ADDR: the backend's state in list (active, down, ...)
state_of() {
	ctl -j list | python3 -c 'import json,sys
print([b["state"] for v in json.load(sys.stdin)["vips"] for b in v["backends"] if b["address"] == sys.argv[1]][0])' "$1"
}
# wait_state ADDR STATE: poll for up to 10 s; prints the milliseconds it took
wait_state() {
	local t0=$(date +%s%N)
	for _ in $(seq 100); do
		[ "$(state_of "$1")" = "$2" ] && { echo $((($(date +%s%N) - t0) / 1000000)); return 0; }
		sleep 0.1
	done
	echo "more than 10000"
	return 1
}
kill -- "-$(cat "/run/xlb-lab/$P/be2.pid")"
ms=$(wait_state 198.18.0.12 down)
echo "   be2 was taken out ${ms} ms after its server stopped (check: tcp connect every"
echo "   1 s, down after 2 failures). From xlbd's log:"
grep -E "198.18.0.12|take new flows" "$T/xlbd.log" | tail -3 | sed 's/^/     /'
nx client "$BUILD/xlb-probe" -j -n 200 -b 40000 198.18.100.1 80 >"$T/health.json"
table "$T/health.json" "New connections while be2 is down"
nsenter --net="/run/netns/$P-be2" setsid "$BUILD/xlb-echo" -n be2 -p 80,443,8080,9000 \
	</dev/null >>"/run/xlb-lab/$P/be2.log" 2>&1 &
echo $! >"/run/xlb-lab/$P/be2.pid"
ms=$(wait_state 198.18.0.12 active)
echo
echo "   be2's server started again: back in the ring after ${ms} ms (2 good checks)."
echo
echo "   \$ xlbctl list"
ctl list | sed 's/^/   /'
echo
echo "   \$ xlbctl stats"
ctl stats | sed 's/^/   /'
say "Done. (The daemon's log is in the lab's temp dir while it runs; everything is removed now.)"
