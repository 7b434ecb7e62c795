#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_sched.sh: the schedulers with real TCP and UDP through the veth lab:
# rr spreads 400 sequential connections within 1% of 100 per backend, wrr
# 1:2:3:4 spreads 1000 within 5% of proportional, a drained backend gets
# none, conntrack off with them is refused; lc gives 40 long-lived
# connections opened one after another 10 per backend, and with 20 held on
# one backend the next 20 to the others, its counts (xlb_backend_conns, read
# with bpftool) back to 0 once the client closes; wlc spreads UDP flows by
# weight; switching a VIP's scheduler at run time keeps every established
# connection on its backend.
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
	for p in "${HOLD_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# seq_probe ARGS...: sequential connections (-c 1) from one CPU.
seq_probe() { nx client timeout 100 taskset -c 0 "$BUILD/xlb-probe" -j -c 1 -T 90 "$@"; }
count() { json "$1" "j['backends'].get('be$2', 0)"; }

# The open-flow counts of the data plane, per backend of VIP: "be1=N be2=N
# ...", from xlbd's own xlb_backend_conns (found among its descriptors: the
# name alone could be another xlb's on this host). XLBD_PID is xlbd itself.
conns_map() {
	local f id
	for f in /proc/"$XLBD_PID"/fdinfo/*; do
		id=$(awk '/^map_id:/ {print $2}' "$f" 2>/dev/null)
		[ -n "$id" ] || continue
		if bpftool -j map show id "$id" 2>/dev/null | grep -q '"name":"xlb_backend_con'; then
			echo "$id"
			return 0
		fi
	done
	return 1
}
active_counts() {
	local vip=$1 map
	map=$(conns_map) || { echo "no xlb_backend_conns"; return 1; }
	ctl -j list >"$T/ids.json" || return 1
	bpftool -j map dump id "$map" >"$T/conns.json" || return 1
	python3 - "$vip" "$T/ids.json" "$T/conns.json" <<'PY'
import json, sys
vip, ids, conns = sys.argv[1], json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
active = {}
for e in conns:
    f = e.get("formatted", e)
    active[int(f["key"])] = int(f["value"]["active"])
v = [v for v in ids["vips"] if v["vip"] == vip][0]
out = []
for b in v["backends"]:
    n = int(b["address"].split(".")[-1]) - 10
    out.append("be%d=%d" % (n, active.get(b["id"], 0)))
print(" ".join(sorted(out)))
PY
}
# wait_counts VIP WANT: until active_counts says WANT (at most 10 s).
wait_counts() {
	local got
	for _ in $(seq 100); do
		got=$(active_counts "$1")
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	echo "counts: $got, want $2"
	return 1
}

# lc_hold NAME N SPORT_BASE ADDR PORT: N TCP connections opened one after
# another from one CPU and held (xlb-probe --hold -c 1); NAME_FD closes them.
lc_hold() {
	local name=$1 n=$2 base=$3 fd
	mkfifo "$T/$name.in"
	nx client timeout 200 taskset -c 0 "$BUILD/xlb-probe" --hold -v -c 1 -n "$n" -b "$base" \
		-T 190 "$4" "$5" <"$T/$name.in" >"$T/$name.out" 2>&1 &
	HOLD_PIDS+=($!)
	exec {fd}>"$T/$name.in"
	eval "${name}_FD=$fd"
	for _ in $(seq 300); do grep -q '^ready' "$T/$name.out" && return 0; sleep 0.1; done
	return 1
}
# held_spread NAME: asks the held connections once more; prints "be1=N ..."
# of the backends that answer them (and "FAIL=N" for any that broke).
held_spread() {
	local name=$1 fd before
	fd=$(eval "echo \$${name}_FD")
	before=$(grep -c '^check ' "$T/$name.out")
	echo check >&"$fd"
	for _ in $(seq 200); do
		[ "$(grep -c '^check ' "$T/$name.out")" -gt "$before" ] && break
		sleep 0.1
	done
	awk 'NF == 4 && /^[0-9]+ / { n[$3]++ } END { for (b in n) printf "%s=%d\n", b, n[b] }' "$T/$name.out" |
		sort | tr '\n' ' ' | sed 's/ $//'
}
# lc_close NAME: the client closes the held connections (FIN).
lc_close() {
	local fd
	fd=$(eval "echo \$${1}_FD")
	exec {fd}>&-
}
HOLD_PIDS=()

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

echo "== lc: 40 long-lived connections opened one after another"
L=198.18.100.2:80/tcp
ctl vip add $L sched lc >/dev/null || fail "vip add sched lc"
for i in $(seq "$NB"); do
	ctl backend add $L "198.18.0.$((10 + i))" >/dev/null || fail "lc backend add be$i"
done
check "list shows sched lc" grep -q "^vip $L sched lc " < <(ctl list)
out=$(ctl vip set $L conntrack off 2>&1)
check "conntrack off on an lc VIP is refused and says why ($out)" \
	grep -q "sched lc needs conntrack on" <<<"$out"
lc_hold a 40 25000 198.18.100.2 80 || fail "40 held connections up"
spread=$(held_spread a)
echo "  held (lc): $spread"
for i in $(seq "$NB"); do
	n=$(sed -n "s/.*be$i=\([0-9]*\).*/\1/p" <<<"$spread")
	check "lc: be$i holds ${n:-0} of 40 (10 +-1)" test "${n:-0}" -ge 9 -a "${n:-0}" -le 11
done
c=$(active_counts $L)
echo "  data plane counts: $c"
check "the data plane counts the 40 as held ($c)" test "$c" = "$spread"
lc_close a
check "counts back to 0 once the client closed them" \
	wait_counts $L "be1=0 be2=0 be3=0 be4=0"

echo "== lc: 20 held on be1, the next 20 new ones go to the others"
for i in 2 3 4; do ctl backend set $L "198.18.0.$((10 + i))" weight 0 >/dev/null; done
lc_hold b 20 26000 198.18.100.2 80 || fail "20 held connections on be1 up"
spread=$(held_spread b)
check "the 20 are all on be1 while the others are drained ($spread)" test "$spread" = "be1=20"
for i in 2 3 4; do ctl backend set $L "198.18.0.$((10 + i))" weight 1 >/dev/null; done
lc_hold c 20 27000 198.18.100.2 80 || fail "20 more held connections up"
spread=$(held_spread c)
echo "  the next 20 (lc): $spread"
check "none of the next 20 went to be1 ($spread)" test -z "$(grep -o 'be1=[0-9]*' <<<"$spread")"
for i in 2 3 4; do
	n=$(sed -n "s/.*be$i=\([0-9]*\).*/\1/p" <<<"$spread")
	check "be$i took ${n:-0} of them (6-7)" test "${n:-0}" -ge 6 -a "${n:-0}" -le 7
done
c=$(active_counts $L)
check "the data plane counts 20 on be1 and the rest on the others ($c)" grep -q "^be1=20 " <<<"$c"
lc_close b
lc_close c
check "counts back to 0 once the client closed them all" \
	wait_counts $L "be1=0 be2=0 be3=0 be4=0"

echo "== wlc over UDP, weights 1:2:3:4: 100 flows one after another"
U=198.18.100.3:80/udp
ctl vip add $U sched wlc >/dev/null || fail "vip add udp sched wlc"
for i in $(seq "$NB"); do
	ctl backend add $U "198.18.0.$((10 + i))" weight "$i" >/dev/null || fail "udp backend be$i"
done
seq_probe -u -n 100 -b 28000 198.18.100.3 80 >"$T/wlc.json"
check "100 UDP flows answered" test "$(json "$T/wlc.json" 'j["ok"]')" = 100
echo "  spread (wlc 1:2:3:4): $(json "$T/wlc.json" 'j["backends"]')"
for i in $(seq "$NB"); do
	n=$(count "$T/wlc.json" "$i")
	want=$((10 * i))
	check "wlc: be$i served $n of 100 ($want +-2)" test "$n" -ge $((want - 2)) -a "$n" -le $((want + 2))
done

echo "== switching the scheduler keeps established connections"
ctl vip set $V sched maglev >/dev/null || fail "vip set sched maglev"
hold_start 60 23000 100 198.18.100.1 80
r=$(hold_check)
check "60 held connections answer under maglev ($r)" grep -q 'kept 60,' <<<"$r"
for s in rr wrr sh lc wlc maglev wrr lc; do
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
