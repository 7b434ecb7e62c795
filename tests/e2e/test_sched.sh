#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_sched.sh: the rr and wrr schedulers with real TCP through the veth
# lab: rr spreads 400 sequential connections within 1% of 100 per backend,
# wrr 1:2:3:4 spreads 1000 within 5% of proportional, a drained backend
# gets none, conntrack off with them is refused, and switching a VIP's
# scheduler at run time keeps every established connection on its backend.
# The cursors are per CPU: the probe is pinned to one CPU, and a veth
# delivers in the sender's softirq, so every new flow meets one cursor.
# Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xs$((RANDOM % 10000))
NB=4

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init sched

cleanup() {
	set +e
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# seq_probe ARGS...: sequential connections (-c 1) from one CPU.
seq_probe() { nx client timeout 100 taskset -c 0 "$BUILD/xlb-probe" -j -c 1 -T 90 "$@"; }
count() { json "$1" "j['backends'].get('be$2', 0)"; }

echo "== lab and daemon"
lab_up
V=198.18.100.1:80/tcp
ctl vip add $V sched rr >/dev/null || fail "vip add sched rr"
for i in $(seq "$NB"); do
	ctl backend add $V "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"
done
check "list shows sched rr" grep -q "^vip $V sched rr " < <(ctl list)

echo "== rr: 400 sequential connections"
seq_probe -n 400 -b 20000 198.18.100.1 80 >"$T/rr.json"
check "400 connections answered" test "$(json "$T/rr.json" 'j["ok"]')" = 400
echo "  spread (rr): $(json "$T/rr.json" 'j["backends"]')"
for i in $(seq "$NB"); do
	n=$(count "$T/rr.json" "$i")
	check "rr: be$i served $n of 400 (100 +-1)" test "$n" -ge 99 -a "$n" -le 101
done

# Where the turns were taken: the cursors' non-zero per-CPU values (shown,
# not checked: another xlb on this host may hold a map of the same name).
echo "  cursors (vip id: cpu=next slot): $(bpftool -j map dump name xlb_cursors 2>/dev/null |
	python3 -c 'import json,sys
out=[]
for e in json.load(sys.stdin):
	f=e.get("formatted", {})
	v=[(c["cpu"], c["value"]) for c in f.get("values", []) if c["value"]]
	if v: out.append("%s: %s" % (f.get("key"), " ".join("cpu%d=%d" % x for x in v)))
print("; ".join(out) or "none")' 2>/dev/null)"

echo "== rr: a drained backend gets nothing, the others share evenly"
ctl backend set $V 198.18.0.14 weight 0 >/dev/null || fail "drain be4"
seq_probe -n 300 -b 21000 198.18.100.1 80 >"$T/drain.json"
check "drained be4 got no connection" test "$(count "$T/drain.json" 4)" = 0
for i in 1 2 3; do
	n=$(count "$T/drain.json" "$i")
	check "rr drained: be$i served $n of 300 (100 +-1)" test "$n" -ge 99 -a "$n" -le 101
done

echo "== conntrack off is refused with rr and wrr"
out=$(ctl vip set $V conntrack off 2>&1)
check "vip set conntrack off on an rr VIP fails" test $? -ne 0
check "and says why ($out)" grep -q "sched rr needs conntrack on" <<<"$out"
out=$(ctl vip add 198.18.100.1:81/tcp sched wrr conntrack off 2>&1)
check "vip add sched wrr conntrack off is refused ($out)" grep -q "sched wrr needs conntrack on" <<<"$out"
check "the rr VIP kept conntrack on" grep -q "^vip $V sched rr conntrack on " < <(ctl list)

echo "== wrr 1:2:3:4: 1000 sequential connections"
ctl vip set $V sched wrr >/dev/null || fail "vip set sched wrr"
for i in $(seq "$NB"); do
	ctl backend set $V "198.18.0.$((10 + i))" weight "$i" >/dev/null || fail "weight be$i"
done
seq_probe -n 1000 -b 22000 198.18.100.1 80 >"$T/wrr.json"
check "1000 connections answered" test "$(json "$T/wrr.json" 'j["ok"]')" = 1000
echo "  spread (wrr 1:2:3:4): $(json "$T/wrr.json" 'j["backends"]')"
for i in $(seq "$NB"); do
	n=$(count "$T/wrr.json" "$i")
	want=$((100 * i))
	check "wrr: be$i served $n of 1000 ($want +-5%)" \
		test "$((n * 100))" -ge "$((want * 95))" -a "$((n * 100))" -le "$((want * 105))"
done

echo "== switching the scheduler keeps established connections"
ctl vip set $V sched maglev >/dev/null || fail "vip set sched maglev"
hold_start 60 23000 100 198.18.100.1 80
r=$(hold_check)
check "60 held connections answer under maglev ($r)" grep -q 'kept 60,' <<<"$r"
for s in rr wrr sh maglev wrr; do
	ctl vip set $V sched $s >/dev/null || fail "vip set sched $s"
	r=$(hold_check)
	check "switched to $s: every held connection kept ($r)" grep -q 'kept 60,' <<<"$r"
done
seq_probe -n 100 -b 24000 198.18.100.1 80 >"$T/after.json"
check "new connections after the switches answered" test "$(json "$T/after.json" 'j["ok"]')" = 100
exec 7>&-
wait "$HOLD_PID"
HOLD_PID=

summary test_sched
