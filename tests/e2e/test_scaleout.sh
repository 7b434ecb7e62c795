#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_scaleout.sh: three xlb instances behind one router (tests/lab/lab.sh
# LAB_LBS=3), each announcing its VIPs to the router through BIRD
# (docs/bird/lb.conf, router.conf; xlbd --announce-table 100). Checks: BGP
# up and a three-way multipath route per VIP; long-lived TCP connections and
# new ones spread over all three instances; one instance killed (xlbd, BIRD,
# link): the route converges within the BFD time (measured), no held
# connection breaks or changes backend (Maglev: the others' rings are the
# same, a mid-connection packet that misses their tables follows the ring),
# new connections keep working; an instance whose backends of a VIP all
# fail their checks withdraws that VIP alone; kill -9 of an xlbd keeps its
# announcement and its traffic. Bounded (about a minute), cleaned up.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_init scaleout
HOLD_OUT=$T/hold.out
HOLD_WAIT_S=15 # 1,000 connections answer a check

P=${SCALEOUT_PREFIX:-so}$((RANDOM % 100000))
NB=3
NL=3
HELD=${SCALEOUT_HELD:-1000}
TABLE=100
BIRD_DIR=/run/xlb-lab/$P/bird
V1=198.18.100.1:80/tcp
V2=198.18.100.2:80/tcp
V6='[2001:db8:100::1]:80/tcp'
# Tunnels come from any of the three.
FROM=198.18.0.2,198.18.0.3,198.18.0.4,2001:db8::2,2001:db8::3,2001:db8::4
HOLD_PID=
NEW_PID=
declare -A LB_PID

for b in bird birdc; do
	command -v $b >/dev/null || { echo "scaleout: $b missing, apt-get install bird2 (make deps)"; exit 1; }
done

bctl() { # bctl NODE ARGS...: birdc of NODE
	local node=$1
	shift
	birdc -s "$BIRD_DIR/$node.ctl" "$@"
}

cleanup() {
	exec 7>&- 2>/dev/null
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	[ -n "$NEW_PID" ] && kill "$NEW_PID" 2>/dev/null
	scaleout_teardown
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tx() { lctl "$1" -j stats | json_get "d['counters'].get('tx', {}).get('packets', 0)"; }


# Refused before anything is touched.
for bad in 0 253 254 255 4294967296 x; do
	check "xlbd --announce-table $bad refused (exit 2, names the valid ids)" \
		bash -c "\"$XLBD\" -i eth0 --announce-table $bad 2>&1 | grep -q \"bad --announce-table '$bad', expected a routing table id\"; [ \${PIPESTATUS[0]} -eq 2 ]"
done

t0=$(date +%s)
echo "scaleout: lab $P, $NL load balancers, $NB backends"
if ! LAB_LBS=$NL bash "$ROOT/tests/lab/lab.sh" up "$P" $NB >"$T/lab.out" 2>&1; then
	echo "  FAIL: the scale-out lab did not come up (exit $?):"
	sed 's/^/    | /' "$T/lab.out"
	exit 1
fi
cut -c1-120 "$T/lab.out"

cat >"$T/common.rules" <<EOF
vip add $V1
vip add $V2
vip add $V6
EOF
for b in 1 2 3; do
	echo "backend add $V1 198.18.0.1$b" >>"$T/common.rules"
	echo "backend add $V2 198.18.0.1$b" >>"$T/common.rules"
	echo "backend add $V6 2001:db8::1$b" >>"$T/common.rules"
done
for i in $(seq $NL); do
	cp "$T/common.rules" "$T/lb$i.rules"
	start_lb "$i"
done
for i in $(seq $NL); do wait_lb "$i" || exit 1; done
for i in $(seq $NB); do
	nx "be$i" "$BUILD/xlb-decap" attach eth0 --from "$FROM" >/dev/null || fail "xlb-decap attach be$i"
done

# ---- announced, sessions up, three-way ECMP ---------------------------------
check "lb1's table $TABLE holds the VIP addresses as blackholes (proto 250)" \
	bash -c "nx() { nsenter --net=/run/netns/$P-\$1 \"\${@:2}\"; }
		nx lb1 ip route show table $TABLE | grep -q '^blackhole 198.18.100.1 proto 250' &&
		nx lb1 ip route show table $TABLE | grep -q '^blackhole 198.18.100.2 proto 250' &&
		nx lb1 ip -6 route show table $TABLE | grep -q '^blackhole 2001:db8:100::1 .*proto 250'"
check "no rule points at table $TABLE (the routes are inert)" \
	bash -c "! nsenter --net=/run/netns/$P-lb1 ip rule show | grep -q 'lookup $TABLE'"
check "xlbctl -j list: every VIP announced on lb1" \
	bash -c "\"$XLBCTL\" -S \"$T/lb1.sock\" -j list | python3 -c 'import json,sys; v=json.load(sys.stdin)[\"vips\"]; sys.exit(not (len(v) == 3 and all(x[\"announce\"] == \"announced\" and x[\"announced\"] for x in v)))'"
check "xlbctl list shows 'announce announced'" bash -c "\"$XLBCTL\" -S \"$T/lb1.sock\" list | grep -q '^vip $V1 .* announce announced'"
ALL3="198.18.0.2 198.18.0.3 198.18.0.4"
check "the router holds a three-way multipath route for ${V1%%:*}" wait_nexthops 198.18.100.1 "$ALL3" 30
check "... and for ${V2%%:*}" wait_nexthops 198.18.100.2 "$ALL3" 10
check "... and for 2001:db8:100::1 (IPv6 sessions)" wait_nexthops 2001:db8:100::1 "2001:db8::2 2001:db8::3 2001:db8::4" 10
check "every BGP session on the router is established" \
	bash -c "[ \$(birdc -s $BIRD_DIR/router.ctl show protocols | grep -c 'dynbgp.*Established') -eq 6 ]"
# BFD sessions come up a moment after BGP, and one that flapped while the
# xlbds loaded their programs takes a few seconds more: wait (bounded).
bfd_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(birdc -s "$BIRD_DIR/router.ctl" show bfd sessions | grep -c ' Up ')" = 6 ] && return 0
		sleep 0.1
	done
	birdc -s "$BIRD_DIR/router.ctl" show bfd sessions
	return 1
}
check "BFD sessions up on the router" bfd_up

# ---- spread: held connections and new ones over all three -------------------
declare -A TX0
for i in $(seq $NL); do TX0[$i]=$(tx "$i"); done
mkfifo "$T/hold.in"
nx client timeout 150 "$BUILD/xlb-probe" --hold -n "$HELD" -b 20000 -c 32 -t 3000 -T 140 198.18.100.1 80 \
	<"$T/hold.in" >"$T/hold.out" 2>&1 &
HOLD_PID=$!
exec 7>"$T/hold.in"
for _ in $(seq 600); do grep -q '^ready' "$T/hold.out" && break; sleep 0.1; done
r=$(hold_check)
check "$HELD long-lived connections answer ($r)" grep -q "kept $HELD," <<<"$r"
probe -n 150 -b 40000 -c 16 -t 3000 198.18.100.1 80 >"$T/new0.json"
check "150 new connections all answered" test "$(json "$T/new0.json" 'j["ok"]')" = 150
spread=""
for i in $(seq $NL); do
	d=$(($(tx "$i") - TX0[$i]))
	spread+=" lb$i $d"
	check "lb$i forwarded some of them (tx +$d)" test "$d" -gt 50
done
echo "  per-instance tx packets:$spread"

# ---- one instance's backends fail their checks: it withdraws that VIP alone ---
lctl 3 vip set $V2 fail-open off check tcp port 9 interval 200 timeout 200 fall 1 >/dev/null ||
	fail "vip set on lb3"
check "lb3 withdraws ${V2%%:*} alone: the router keeps lb1 and lb2 for it" \
	wait_nexthops 198.18.100.2 "198.18.0.2 198.18.0.3" 10
check "... and all three for ${V1%%:*}" wait_nexthops 198.18.100.1 "$ALL3" 1
check "lb3 list: ${V2%%:*} withdrawn, ${V1%%:*} announced" \
	bash -c "\"$XLBCTL\" -S \"$T/lb3.sock\" list | grep -q '^vip $V2 .* announce withdrawn' &&
		\"$XLBCTL\" -S \"$T/lb3.sock\" list | grep -q '^vip $V1 .* announce announced'"
check "lb3's table no longer holds ${V2%%:*}" \
	bash -c "! nsenter --net=/run/netns/$P-lb3 ip route show table $TABLE | grep -q '198.18.100.2 '"
lctl 3 vip set $V2 fail-open on check default >/dev/null || fail "vip set back on lb3"
check "back up: lb3 announces ${V2%%:*} again" wait_nexthops 198.18.100.2 "$ALL3" 10

# ---- kill lb3: xlbd, BIRD, link ------------------------------------------------
# New connections every 20 ms across the failure.
nx client timeout 60 "$BUILD/xlb-probe" -j -n 250 -i 20 -c 16 -b 45000 -t 4000 -T 50 198.18.100.1 80 \
	>"$T/new1.json" 2>&1 &
NEW_PID=$!
sleep 1
# The link first, as when a host dies: no FIN of BIRD's BGP socket reaches
# the router, BFD has to notice.
nx router ip link set veth-lb3 down
k0=$(date +%s%N)
kill -KILL -- "-${LB_PID[3]}" 2>/dev/null
kill -KILL "$(cat "$BIRD_DIR/lb3.pid")" 2>/dev/null
gone "${LB_PID[3]}"
check "the router drops lb3's path" wait_nexthops 198.18.100.1 "198.18.0.2 198.18.0.3" 10
conv_ms=$((($(date +%s%N) - k0) / 1000000))
echo "  route convergence after lb3 died: $conv_ms ms (BFD 100 ms x 5)"
check "convergence within the BFD detection time (500 ms) plus 1 s ($conv_ms ms < 1500)" test $conv_ms -lt 1500
r=$(hold_check)
broken=$(sed -E 's/.*broken ([0-9]+).*/\1/' <<<"$r")
moved=$(sed -E 's/.*moved ([0-9]+).*/\1/' <<<"$r")
echo "  held connections after lb3 died: $r"
check "0 of $HELD held connections broken or moved ($r)" grep -q "kept $HELD, moved 0, broken 0" <<<"$r"
wait "$NEW_PID"
NEW_PID=
new_ok=$(json "$T/new1.json" 'j["ok"]')
new_failed=$(json "$T/new1.json" 'j["failed"]')
echo "  new connections every 20 ms across the failure: $new_ok answered, $new_failed failed"
check "new connections across the failure all answered ($new_ok of 250)" test "$new_ok" = 250
probe -n 100 -b 50000 -c 16 -t 3000 198.18.100.1 80 >"$T/new2.json"
check "100 new connections after the failure answered" test "$(json "$T/new2.json" 'j["ok"]')" = 100

# ---- kill -9 of xlbd on lb2: the announcement and the traffic stay ------------
tx2=$(tx 2)
kill -KILL -- "-${LB_PID[2]}" 2>/dev/null
gone "${LB_PID[2]}"
sleep 4 # longer than the BGP hold time
check "lb2's table keeps its routes after kill -9 of xlbd" \
	bash -c "nsenter --net=/run/netns/$P-lb2 ip route show table $TABLE | grep -q '^blackhole 198.18.100.1 proto 250'"
check "the router keeps lb2's path" wait_nexthops 198.18.100.1 "198.18.0.2 198.18.0.3" 1
probe -n 100 -b 52000 -c 16 -t 3000 198.18.100.1 80 >"$T/new3.json"
check "100 new connections answered with lb2's xlbd dead" test "$(json "$T/new3.json" 'j["ok"]')" = 100
r=$(hold_check)
echo "  held connections after kill -9 of lb2's xlbd: $r"
check "held connections still kept ($r)" grep -q "kept $HELD, moved 0, broken 0" <<<"$r"
# A new xlbd adopts the data plane and reconciles the table without a flap.
start_lb 2
wait_lb 2 || fail "xlbd restart on lb2"
d=$(($(tx 2) - tx2))
check "lb2 forwarded while its xlbd was dead (tx +$d, read by the new xlbd)" test "$d" -gt 20
check "the restarted xlbd keeps lb2 announced" \
	bash -c "\"$XLBCTL\" -S \"$T/lb2.sock\" list | grep -q '^vip $V1 .* announce announced'"

kill -TERM "${LB_PID[2]}"
gone "${LB_PID[2]}"
check "SIGTERM of xlbd keeps lb2's routes too" \
	bash -c "nsenter --net=/run/netns/$P-lb2 ip route show table $TABLE | grep -q '^blackhole 198.18.100.1 proto 250'"

# ---- detach withdraws ------------------------------------------------------------
nx lb2 "$XLBD" -i eth0 --detach --announce-table $TABLE >>"$T/lb2.log" 2>&1 || fail "xlbd --detach on lb2"
check "xlbd --detach --announce-table emptied lb2's table" \
	bash -c "[ -z \"\$(nsenter --net=/run/netns/$P-lb2 ip route show table $TABLE proto 250)\" ]"
check "the router drops lb2's path" wait_nexthops 198.18.100.1 "198.18.0.2" 10
lctl 1 detach >/dev/null || fail "detach lb1"
check "detach emptied lb1's table" \
	bash -c "[ -z \"\$(nsenter --net=/run/netns/$P-lb1 ip route show table $TABLE proto 250)\" ] &&
		[ -z \"\$(nsenter --net=/run/netns/$P-lb1 ip -6 route show table $TABLE proto 250)\" ]"
check "the router drops lb1's path: no route left for the VIP" wait_nexthops 198.18.100.1 "" 10

echo "  took $(($(date +%s) - t0)) s"
summary scaleout
