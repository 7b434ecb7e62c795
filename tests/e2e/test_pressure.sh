#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_pressure.sh: connection-table pressure in the veth lab (issue 13, issue
# 17 item 15). xlbd with a small table (--conns 4096) holds 100 established
# TCP connections while 200,000 spoofed SYNs and ACKs of random 5-tuples hit
# the VIP; legitimate new connections made during the flood must succeed
# (>= 99%), and after a backend is added none of the 100 may break or move.
# Run twice: with a small budget (new flows over it are forwarded unrecorded
# and counted, pressure is logged) and with no budget (--conn-budget 0): the
# new-flow table, not the budget, is what keeps the flood out of the table
# of established flows. Run as root.
#
# PRESSURE_MEASURE=1 with XLB_BUILD=<another build> measures an xlbd without
# these options (e.g. the code before the change): one round, no budget
# option, figures printed, breakage reported but not failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xp$((RANDOM % 10000))
NB=5
HELD=100
FLOOD_N=200000
FLOOD_PPS=40000
LEGIT_N=300
MEASURE=${PRESSURE_MEASURE:-0}

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init pressure
FLOOD=$ROOT/build/xlb-flood # the generator of this tree, whatever XLB_BUILD says
[ -x "$FLOOD" ] || { echo "test_pressure: $FLOOD missing, run make first"; exit 1; }

cleanup() {
	set +e
	[ -n "${FLOOD_PID:-}" ] && kill "$FLOOD_PID" 2>/dev/null
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

V4=198.18.100.1:80/tcp
if [ "$MEASURE" = 1 ]; then
	LAB_XLBD_OPTS="--conns 4096"
else
	LAB_XLBD_OPTS="--conns 4096 --conn-budget 1000"
fi

echo "== lab, xlbd $LAB_XLBD_OPTS, $HELD held connections"
lab_up
ctl vip add $V4 >/dev/null || fail "vip add"
for i in 1 2 3; do
	ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"
done

hold_start $HELD 23000 170 198.18.100.1 80
r=$(hold_check)
check "$HELD held connections answer before the flood ($r)" grep -q "kept $HELD," <<<"$r"

# counter NAME: a counter's packets from xlbctl stats (0 when absent).
counter() {
	ctl -j stats | json_get "d['counters'].get('$1', {}).get('packets', 0)"
}

# flood_round LABEL NEW_BACKEND: the flood with legitimate connections made
# meanwhile, then a backend add; checks what the issue asks.
flood_round() {
	local label=$1 be=$2 legit ok_n overlap=no ins0 skip0 ins skip r moved broken
	ins0=$(counter conn_insert)
	skip0=$(counter conn_skip)
	# Paced (5 s) so that it outlasts the legitimate connections on a fast
	# machine too: unpaced it took ~1 s, and the probe may take longer.
	nx client timeout 90 "$FLOOD" -n $FLOOD_N -r $FLOOD_PPS -T 60 198.18.100.1 80 \
		>"$T/flood.$label" 2>&1 &
	FLOOD_PID=$!
	sleep 0.2
	probe -n $LEGIT_N -b 30000 -c 16 -t 3000 198.18.100.1 80 >"$T/legit.$label.json"
	alive "$FLOOD_PID" && overlap=yes
	wait "$FLOOD_PID"
	FLOOD_PID=
	echo "  flood: $(cat "$T/flood.$label"); legitimate connections made while it ran: $overlap"
	check "the generator sent all $FLOOD_N packets ($label)" grep -q "^sent $FLOOD_N " "$T/flood.$label"
	ok_n=$(json "$T/legit.$label.json" 'j["ok"]')
	legit=$((ok_n * 100 / LEGIT_N))
	echo "  legitimate new connections during the flood: $ok_n of $LEGIT_N"
	check "the flood overlapped the legitimate connections ($label)" test $overlap = yes
	if [ "$MEASURE" != 1 ]; then
		check ">= 99% of legitimate new connections succeed during the flood ($ok_n/$LEGIT_N, $label)" \
			test $((ok_n * 100)) -ge $((LEGIT_N * 99))
	fi
	ins=$(($(counter conn_insert) - ins0))
	skip=$(($(counter conn_skip) - skip0))
	echo "  new flows recorded: $ins, over the budget unrecorded: $skip"
	ctl backend add $V4 "$be" >/dev/null || fail "backend add $be"
	r=$(hold_check)
	moved=$(sed -n 's/.*moved \([0-9]*\),.*/\1/p' <<<"$r")
	broken=$(sed -n 's/.*broken \([0-9]*\).*/\1/p' <<<"$r")
	echo "  after adding $be: $r"
	echo "FIGURE $label: held $HELD, moved ${moved:-?}, broken ${broken:-?}, legit $ok_n/$LEGIT_N"
	if [ "$MEASURE" != 1 ]; then
		check "after the flood and a backend add, 0 of $HELD connections broke or moved ($r, $label)" \
			grep -q "kept $HELD, moved 0, broken 0" <<<"$r"
	fi
	LAST_SKIP=$skip
}

if [ "$MEASURE" = 1 ]; then
	echo "== flood, the build under test ($BUILD)"
	flood_round measured 198.18.0.14
else
	echo "== flood, budget 1000"
	flood_round budget 198.18.0.14
fi
if [ "$MEASURE" != 1 ]; then
	check "new flows over the budget were counted, not recorded ($LAST_SKIP)" test "$LAST_SKIP" -gt 0
	# The pressure line comes at the next one-second sample.
	for _ in $(seq 30); do grep -q 'under pressure' "$LOG" && break; sleep 0.1; done
	check "xlbd logged entering pressure, once" test "$(grep -c 'under pressure' "$LOG")" = 1
	ctl stats >"$T/stats.txt"
	check "xlbctl stats shows the budget and the skipped flows" \
		grep -q "over the budget unrecorded; budget 1000 per CPU and second" "$T/stats.txt"

	echo "== flood, no budget (--conn-budget 0), after an xlbd restart"
	kill -TERM -- "-$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null
	start_xlbd "$P-lb" eth0 --conns 4096 --conn-budget 0 || fail "restart xlbd"
	r=$(hold_check)
	check "held connections survive the restart ($r)" grep -q "kept $HELD," <<<"$r"
	flood_round nobudget 198.18.0.15
	check "no flow was skipped without a budget ($LAST_SKIP)" test "$LAST_SKIP" = 0
fi

exec 7>&-
for _ in $(seq 50); do kill -0 "$HOLD_PID" 2>/dev/null || break; sleep 0.1; done
kill "$HOLD_PID" 2>/dev/null
HOLD_PID=

summary test_pressure
