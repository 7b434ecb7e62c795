#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_second_chance.sh: an instance leaves the ECMP group and, at the same
# moment, a backend is re-weighted on the others (tests/lab/lab.sh
# LAB_LBS=3, BIRD, docs/bird/*.conf). The flows ECMP moves find no entry on
# their new instance and follow its changed ring: without the second chance
# those the new ring sends elsewhere are reset. With it, xlb hints the
# previous ring's choice and the backend's xlb-decap, finding no socket,
# forwards them there (docs/architecture.md "Second chance").
#   1. lb1..lb3 with the second chance: lb3 dies and be1 goes from weight 1
#      to 4 on lb1 and lb2: 0 held connections broken or moved; hints sent,
#      forwards counted on the backends.
#   2. lb1 and lb2 restarted with --no-second-chance: lb2 dies and be1 goes
#      back to weight 1 on lb1: the broken connections are counted (the
#      figure the docs give); some break, and no hint is sent.
# Bounded (about a minute and a half), cleaned up.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
e2e_init second_chance
HOLD_OUT=$T/hold.out
HOLD_WAIT_S=30 # 1,000 connections answer a check, some forwarded once more

P=${SECOND_CHANCE_PREFIX:-sc}$((RANDOM % 100000))
NB=3
NL=3
HELD=${SECOND_CHANCE_HELD:-1000}
TABLE=100
BIRD_DIR=/run/xlb-lab/$P/bird
V1=198.18.100.1:80/tcp
FROM=198.18.0.2,198.18.0.3,198.18.0.4,2001:db8::2,2001:db8::3,2001:db8::4
HOLD_PID=
declare -A LB_PID

for b in bird birdc; do
	command -v $b >/dev/null || { echo "second_chance: $b missing, apt-get install bird2 (make deps)"; exit 1; }
done

stop_hold() {
	exec 7>&- 2>/dev/null
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null && wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
}

cleanup() {
	stop_hold
	scaleout_teardown
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

counter() { lctl "$1" -j stats | json_get "d['counters'].get('$2', {}).get('packets', 0)"; }
decap_counter() { # decap_counter NAME: summed over the backends
	local i n=0 c
	for i in $(seq $NB); do
		c=$(nx "be$i" "$BUILD/xlb-decap" stats eth0 -j |
			json_get "d['counters'].get('$1', {}).get('packets', 0)")
		n=$((n + c))
	done
	echo "$n"
}
hold_start() { # hold_start SPORT_BASE: HELD connections to V1, wait for ready
	mkfifo "$T/hold.in.$1"
	nx client timeout 120 "$BUILD/xlb-probe" --hold -n "$HELD" -b "$1" -c 32 -t 3000 -T 110 \
		198.18.100.1 80 <"$T/hold.in.$1" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 7>"$T/hold.in.$1"
	for _ in $(seq 600); do grep -q '^ready' "$T/hold.out" && break; sleep 0.1; done
}
# kill_lb I: as a host dies: its link first (BFD notices), then xlbd, BIRD.
kill_lb() {
	local i=$1
	nx router ip link set "veth-lb$i" down
	kill -KILL -- "-${LB_PID[$i]}" 2>/dev/null
	kill -KILL "$(cat "$BIRD_DIR/lb$i.pid")" 2>/dev/null
	gone "${LB_PID[$i]}"
}

# Refused before anything is touched.
for bad in 0 86401 x -1; do
	check "xlbd --second-chance-window $bad refused (exit 2, names the valid range)" \
		bash -c "\"$XLBD\" -i eth0 --second-chance-window $bad 2>&1 | grep -q \"bad --second-chance-window '$bad', expected 1-86400 seconds\"; [ \${PIPESTATUS[0]} -eq 2 ]"
done

t0=$(date +%s)
echo "second_chance: lab $P, $NL load balancers, $NB backends, $HELD held connections"
if ! LAB_LBS=$NL bash "$ROOT/tests/lab/lab.sh" up "$P" $NB >"$T/lab.out" 2>&1; then
	echo "  FAIL: the scale-out lab did not come up:"
	sed 's/^/    | /' "$T/lab.out"
	exit 1
fi

echo "vip add $V1" >"$T/common.rules"
for b in 1 2 3; do echo "backend add $V1 198.18.0.1$b" >>"$T/common.rules"; done
for i in $(seq $NL); do
	cp "$T/common.rules" "$T/lb$i.rules"
	start_lb "$i"
done
for i in $(seq $NL); do wait_lb "$i" || exit 1; done
for i in $(seq $NB); do
	nx "be$i" "$BUILD/xlb-decap" attach eth0 --from "$FROM" >/dev/null || fail "xlb-decap attach be$i"
done
ALL3="198.18.0.2 198.18.0.3 198.18.0.4"
check "the router holds a three-way multipath route" wait_nexthops 198.18.100.1 "$ALL3" 30

# ---- 1. with the second chance: lb3 dies, be1 re-weighted on lb1 and lb2 ----
hold_start 20000
r=$(hold_check)
check "$HELD long-lived connections over three instances ($r)" grep -q "kept $HELD," <<<"$r"
sc0=$(($(counter 1 second_chance) + $(counter 2 second_chance)))
fw0=$(decap_counter forward)
hl0=$(decap_counter hint_local)
kill_lb 3
lctl 1 backend set $V1 198.18.0.11 weight 4 >/dev/null || fail "re-weight on lb1"
lctl 2 backend set $V1 198.18.0.11 weight 4 >/dev/null || fail "re-weight on lb2"
check "the router drops lb3's path" wait_nexthops 198.18.100.1 "198.18.0.2 198.18.0.3" 10
r=$(hold_check)
echo "  with the second chance, after lb3 died and be1 went to weight 4: $r"
check "0 of $HELD held connections broken or moved ($r)" grep -q "kept $HELD, moved 0, broken 0" <<<"$r"
sc=$(($(counter 1 second_chance) + $(counter 2 second_chance) - sc0))
fw=$(($(decap_counter forward) - fw0))
hl=$(($(decap_counter hint_local) - hl0))
echo "  hints sent by lb1+lb2: $sc; backends forwarded $fw, kept $hl"
check "lb1 and lb2 sent hints (second_chance +$sc)" test "$sc" -gt 0
check "the backends forwarded hinted packets (forward +$fw)" test "$fw" -gt 0
probe -n 100 -b 40000 -c 16 -t 3000 198.18.100.1 80 >"$T/new1.json"
check "100 new connections answered" test "$(json "$T/new1.json" 'j["ok"]')" = 100
r=$(hold_check)
check "a second check: still 0 broken ($r)" grep -q "kept $HELD, moved 0, broken 0" <<<"$r"
stop_hold

# ---- 2. without: lb2 dies, be1 back to weight 1 on lb1 -----------------------
for i in 1 2; do
	kill -TERM "${LB_PID[$i]}"
	gone "${LB_PID[$i]}"
	start_lb "$i" --no-second-chance
done
for i in 1 2; do wait_lb "$i" || exit 1; done
check "lb1 and lb2 still announce (restarts keep the routes)" \
	wait_nexthops 198.18.100.1 "198.18.0.2 198.18.0.3" 10
hold_start 50000
r=$(hold_check)
check "$HELD long-lived connections over two instances ($r)" grep -q "kept $HELD," <<<"$r"
sc0=$(counter 1 second_chance)
kill_lb 2
lctl 1 backend set $V1 198.18.0.11 weight 1 >/dev/null || fail "re-weight on lb1"
check "the router drops lb2's path" wait_nexthops 198.18.100.1 "198.18.0.2" 10
r=$(hold_check)
broken=$(sed -E 's/.*broken ([0-9]+).*/\1/' <<<"$r")
echo "  without the second chance, after lb2 died and be1 went back to weight 1: $r"
echo "  broken without the second chance: $broken of $HELD"
check "no hint sent with --no-second-chance" test "$(($(counter 1 second_chance) - sc0))" = 0
# About a sixth should break (half the flows move, a third of the ring
# changed): far from 0 at this count.
check "without it, some held connections break ($broken of $HELD)" test "$broken" -gt 0
stop_hold

echo "  took $(($(date +%s) - t0)) s"
summary second_chance
