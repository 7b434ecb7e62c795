#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_health.sh: xlbd's health checks against real servers in the veth lab.
# Stops a backend's server and measures, with new client flows every 25 ms,
# how long until no new flow reaches it and how long until it gets new flows
# again after the server restarts; both must be within interval x fall +
# timeout + interval. Also: a never-answering address times out without
# delaying the other checks, HTTP (bad status) and UDP checks, fail-open and
# fail-open off with real traffic, drain for maintenance, the reasons in the
# log, and the CPU xlbd uses to check 1000 backends every second. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xh$((RANDOM % 10000))
NB=4
HTTP_PID=
LAB_DIR=/run/xlb-lab/$P
LAB_PORTS="80 443 8080 9000"
# The defaults: interval 1000 ms, timeout 1000 ms, rise 2, fall 2.
BOUND_MS=$((1000 * 2 + 1000 + 1000))

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init health
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# jl EXPR: evaluate a Python expression over `xlbctl -j list` (as d), with
# be(vip, addr) giving a backend's object.
jl() {
	ctl -j list | python3 -c '
import json, sys
d = json.load(sys.stdin)
def be(vip, addr):
    for v in d["vips"]:
        if v["vip"] == vip:
            for b in v["backends"]:
                if b["address"] == addr:
                    return b
def vip(name):
    return [v for v in d["vips"] if v["vip"] == name][0]
print('"$1"')'
}
# wait_for SECONDS EXPR: poll jl EXPR until it prints True
wait_for() {
	local deadline=$(($(now_ms) + $1 * 1000))
	while [ "$(now_ms)" -lt "$deadline" ]; do
		[ "$(jl "$2" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	return 1
}

start_echo() { # start_echo beI: the lab's echo server, pid where lab.sh finds it
	nsenter --net="/run/netns/$P-$1" setsid "$BUILD/xlb-echo" -n "$1" \
		-p "$(echo $LAB_PORTS | tr ' ' ,)" </dev/null >>"$LAB_DIR/$1.log" 2>&1 &
	echo $! >"$LAB_DIR/$1.pid"
}
stop_echo() { kill -- "-$(cat "$LAB_DIR/$1.pid")" 2>/dev/null; }

cleanup() {
	set +e
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "== lab and daemon"
lab_up
# Never-answering hosts: their addresses resolve (a permanent neighbour entry
# with a MAC nobody has), so every SYN leaves and none is ever answered.
for x in 99 $(seq 200 219); do
	nx lb ip neigh replace "198.18.0.$x" lladdr "02:00:00:00:00:$(printf %02x "$x")" \
		dev eth0 nud permanent || fail "neighbour entry for 198.18.0.$x"
done
# An HTTP server on be1 only, serving /healthz from a directory we control.
mkdir -p "$T/www" && echo ok >"$T/www/healthz"
nx be1 python3 -m http.server 8081 --bind 198.18.0.11 --directory "$T/www" \
	>"$T/http.log" 2>&1 &
HTTP_PID=$!

V1=198.18.100.1:80/tcp      # default check: tcp to port 80
U1=198.18.100.1:9000/udp    # udp check: "ping", reply starts with "be"
VB=198.18.100.2:80/tcp      # never-answering addresses (no host has them)
VF=198.18.100.3:80/tcp      # checks a closed port: all down, fail-open
VM=198.18.100.4:80/tcp      # maintenance: be1 drained, the others down
VH=198.18.100.5:80/tcp      # http check of /healthz on port 8081
U2=198.18.100.5:9000/udp    # udp check whose reply never matches
{
	echo "vip add $V1"
	echo "vip add $U1 check udp send ping expect be"
	echo "vip add $VB"
	echo "vip add $VF check port 7"
	echo "vip add $VM"
	echo "vip add $VH check http port 8081 path /healthz"
	echo "vip add $U2 check udp send ping expect pong"
	echo "backend add $U2 198.18.0.13"
	for i in $(seq "$NB"); do
		echo "backend add $V1 198.18.0.$((10 + i))"
		echo "backend add $U1 198.18.0.$((10 + i))"
	done
	echo "backend add $V1 198.18.0.99"
	for i in $(seq 0 19); do echo "backend add $VB 198.18.0.$((200 + i))"; done
	for i in 1 2 3; do echo "backend add $VF 198.18.0.$((10 + i))"; done
	echo "backend add $VM 198.18.0.11 weight 0"
	echo "backend add $VM 198.18.0.12 check port 7"
	echo "backend add $VM 198.18.0.13 check port 7"
	echo "backend add $VH 198.18.0.11"
	echo "backend add $VH 198.18.0.12"
} >"$T/setup.rules"
check "restore the test's configuration (7 VIPs, 38 backends)" ctl restore "$T/setup.rules"

echo "== first verdicts"
check "the never-answering backend goes down with a timeout" \
	wait_for 5 'be("'$V1'", "198.18.0.99")["health"]["last"] == "timeout" and not be("'$V1'", "198.18.0.99")["health"]["up"]'
check "the 20 never-answering backends of another VIP go down too" \
	wait_for 5 'all(not b["health"]["up"] for b in vip("'$VB'")["backends"])'
check "the four real servers are up and in the ring" \
	test "$(jl '[be("'$V1'", "198.18.0.%d" % (10 + i))["state"] for i in range(1, 5)]')" = \
	"['active', 'active', 'active', 'active']"
check "the UDP check finds the four servers up" \
	test "$(jl 'sum(b["health"]["up"] and b["health"]["last"] == "ok" for b in vip("'$U1'")["backends"])')" = 4
# While 21 checks hang until their timeout, the others keep their schedule.
s0=$(jl 'be("'$V1'", "198.18.0.11")["health"]["ok_streak"]')
sleep 3
s1=$(jl 'be("'$V1'", "198.18.0.11")["health"]["ok_streak"]')
check "21 hanging checks delay no other: be1 passed $((s1 - s0)) checks in 3 s (expected 2-4)" \
	test $((s1 - s0)) -ge 2 -a $((s1 - s0)) -le 4
check "list says why: timeout" grep -q "backend 198.18.0.99 weight 1 down .* health down .* (tcp timeout)" < <(ctl list)
check "the log names the reason" \
	grep -q "tcp check of 198.18.0.99:80: DOWN after 2 failure(s) in a row (timeout after 1000 ms)" "$T/xlbd.log"

check "udp check: a reply without the expected prefix is a bad reply" \
	wait_for 4 'be("'$U2'", "198.18.0.13")["health"]["last"] == "bad_reply" and not be("'$U2'", "198.18.0.13")["health"]["up"]'
check "the log says bad_reply" grep -q "udp check of 198.18.0.13:9000: DOWN after 2 failure(s) in a row (bad_reply)" "$T/xlbd.log"

echo "== http check: bad status"
check "http check: be1 up, be2 (no http server) down" \
	wait_for 4 'be("'$VH'", "198.18.0.11")["health"]["up"] and be("'$VH'", "198.18.0.12")["health"]["last"] == "refused"'
rm -f "$T/www/healthz"
check "/healthz gone: be1 down with bad status 404" \
	wait_for 5 'not be("'$VH'", "198.18.0.11")["health"]["up"] and be("'$VH'", "198.18.0.11")["health"]["last_code"] == 404'
check "the log says bad_status 404" grep -q "http check of 198.18.0.11:8081: DOWN .*(bad_status 404, expected 200)" "$T/xlbd.log"
check "both down, fail-open: list says FAIL-OPEN" grep -q "^vip $VH .* FAIL-OPEN" < <(ctl list)
echo ok >"$T/www/healthz"
check "/healthz back: be1 up again" wait_for 5 'be("'$VH'", "198.18.0.11")["health"]["up"]'
check "fail-open over once one backend is up" test "$(jl 'vip("'$VH'")["failing_open"]')" = False

echo "== fail-open and fail-open off, with traffic"
check "every backend of $VF is down and the VIP fails open" \
	wait_for 5 'vip("'$VF'")["failing_open"] and all(b["state"] == "fail-open" for b in vip("'$VF'")["backends"])'
check "the log says FAIL-OPEN" grep -q "vip $VF: every backend is down, FAIL-OPEN" "$T/xlbd.log"
probe -n 30 -t 1000 198.18.100.3 80 >"$T/vf.json"
check "fail-open: 30 of 30 new flows answered ($(json "$T/vf.json" 'j["backends"]'))" \
	test "$(json "$T/vf.json" 'j["ok"]')" = 30
check "vip set fail-open off" ctl vip set $VF fail-open off
check "the log says new flows are dropped" grep -q "vip $VF: every backend is down and fail-open is off: new flows are DROPPED" "$T/xlbd.log"
probe -n 10 -t 500 198.18.100.3 80 >"$T/vf-off.json"
check "fail-open off: 0 of 10 new flows answered" test "$(json "$T/vf-off.json" 'j["ok"]')" = 0
check "lookup says nothing takes new flows" bash -c "! '$BUILD/xlbctl' -S '$SOCK' lookup $VF 198.18.1.2:40000 2>/dev/null" 
check "save keeps fail-open off" grep -q "^vip add $VF .*fail-open off check port 7$" < <(ctl save)

echo "== maintenance: weight 0 stays out, even when everything else is down"
check "be2 and be3 of $VM are down, the VIP fails open" \
	wait_for 5 'vip("'$VM'")["failing_open"]'
check "the drained be1 is healthy but draining" \
	test "$(jl '(be("'$VM'", "198.18.0.11")["state"], be("'$VM'", "198.18.0.11")["health"]["up"])')" = "('draining', True)"
probe -n 40 -t 1000 198.18.100.4 80 >"$T/vm.json"
check "40 of 40 flows answered, none by the drained be1 ($(json "$T/vm.json" 'j["backends"]'))" \
	test "$(json "$T/vm.json" '(j["ok"], j["backends"].get("be1", 0))')" = "(40, 0)"

echo "== a backend's server stops: time until no new flow reaches it"
# New flows every 25 ms for 6 s; be2's server stops 0.5 s in. Flows that
# still reach be2 fail (its kernel refuses them); the last such flow marks
# the moment be2 left the ring.
probe -n 240 -i 25 -c 64 -t 1000 198.18.100.1 80 >"$T/kill.json" &
ppid=$!
sleep 0.5
t_kill=$(now_ms)
stop_echo be2
wait "$ppid"
read -r n_ok n_fail before_kill last_fail late_other < <(json "$T/kill.json" '
" ".join(str(x) for x in (lambda fl, t0, tk: (
    sum(1 for f in fl if f["backend"]),
    sum(1 for f in fl if not f["backend"]),
    sum(1 for f in fl if not f["backend"] and t0 + f["start_ms"] < tk),
    max([t0 + f["start_ms"] - tk for f in fl if not f["backend"]] or [-1]),
    sum(1 for f in fl if f["backend"] == "be2" and t0 + f["start_ms"] > tk + 100),
))(j["flows"], j["start_unix_ms"], '"$t_kill"'))')
echo "  240 flows: $n_ok answered, $n_fail failed; last failed flow started ${last_fail} ms after the stop"
check "flows did reach the stopped be2 before it went down ($n_fail failed)" test "$n_fail" -ge 1
check "no flow failed before the stop ($before_kill)" test "$before_kill" = 0
check "no new flow reached be2 after ${last_fail} ms (bound $BOUND_MS ms)" \
	test "$last_fail" -ge 0 -a "$last_fail" -le "$BOUND_MS"
check "be2 answered nothing after its server stopped ($late_other)" test "$late_other" = 0
check "list: be2 down, refused" test "$(jl '(be("'$V1'", "198.18.0.12")["state"], be("'$V1'", "198.18.0.12")["health"]["last"])')" = "('down', 'refused')"
check "the UDP check took be2 down too" wait_for 3 'not be("'$U1'", "198.18.0.12")["health"]["up"]'
check "the log says refused" grep -q "tcp check of 198.18.0.12:80: DOWN after 2 failure(s) in a row (refused)" "$T/xlbd.log"
ring_logged() { grep -A5 "vip $V1: backend 198.18.0.12 is down" "$T/xlbd.log" | grep -q "vip $V1: 3 of 5 backends take new flows"; }
check "the log says what it did to the ring" ring_logged

echo "== xlbd restarts while be2 is down: be2 stays out"
kill -TERM "$XLBD_PID"
for _ in $(seq 50); do kill -0 "$XLBD_PID" 2>/dev/null || break; sleep 0.1; done
check "xlbd stopped" bash -c "! kill -0 $XLBD_PID 2>/dev/null"
check "xlbd started again" start_xlbd "$P-lb" eth0
check "be2 is down from the start, not active until checks pass" \
	test "$(jl '(be("'$V1'", "198.18.0.12")["state"], be("'$V1'", "198.18.0.12")["in_ring"])')" = "('down', False)"
check "the log says it stays down" grep -q "vip $V1: backend 198.18.0.12 was down when the last xlbd stopped" "$T/xlbd.log"
probe -n 60 -t 1000 198.18.100.1 80 >"$T/restart.json"
check "60 of 60 new flows right after the restart answered, none sent to be2 ($(json "$T/restart.json" 'j["backends"]'))" \
	test "$(json "$T/restart.json" '(j["ok"], j["backends"].get("be2", 0))')" = "(60, 0)"
check "the others kept running: be1 up" test "$(jl 'be("'$V1'", "198.18.0.11")["state"]')" = active

echo "== the server restarts: time until it gets new flows again"
probe -n 240 -i 25 -c 64 -t 1000 198.18.100.1 80 >"$T/back.json" &
ppid=$!
sleep 0.5
t_start=$(now_ms)
start_echo be2
wait "$ppid"
read -r n_ok first_be2 < <(json "$T/back.json" '
" ".join(str(x) for x in (lambda fl, t0, ts: (
    sum(1 for f in fl if f["backend"]),
    min([t0 + f["start_ms"] - ts for f in fl if f["backend"] == "be2"] or [-1]),
))(j["flows"], j["start_unix_ms"], '"$t_start"'))')
echo "  240 flows: $n_ok answered; the first on be2 started ${first_be2} ms after the restart"
check "every flow answered while be2 was out ($n_ok/240)" test "$n_ok" = 240
check "be2 got new flows again after ${first_be2} ms (bound $BOUND_MS ms)" \
	test "$first_be2" -ge 0 -a "$first_be2" -le "$BOUND_MS"
check "the log says UP" grep -q "tcp check of 198.18.0.12:80: UP after 2 success(es) in a row" "$T/xlbd.log"
check "list: the time since the change is shown" grep -Eq "backend 198.18.0.12 weight 1 active .* health up [0-9.]+s \(tcp ok\)" < <(ctl list)

echo "== drain for maintenance: the checker does not bring it back"
check "backend set weight 0 check none" ctl backend set $V1 198.18.0.13 weight 0 check none
stop_echo be3
sleep 2.5
# Fresh source ports: a port the kernel reuses after the server closed maps
# to its old connection's entry, which may name be3 (draining keeps
# established flows), and that is not what this checks.
probe -n 60 -b 47000 198.18.100.1 80 >"$T/maint.json"
json "$T/maint.json" '"\n".join("    failed flow %s: %s" % (f["sport"], f.get("error")) for f in j["flows"] if f.get("error"))'
check "be3 in maintenance: 60 of 60 flows answered, none by be3 ($(json "$T/maint.json" 'j["backends"]'))" \
	test "$(json "$T/maint.json" '(j["ok"], j["backends"].get("be3", 0))')" = "(60, 0)"
check "list: draining, unchecked" grep -q "backend 198.18.0.13 weight 0 draining .* health unchecked" < <(ctl list)
start_echo be3
check "back from maintenance" ctl backend set $V1 198.18.0.13 weight 1 check default
# It is up at once (it was never down); flows wait until its server answers.
check "be3's check passes" wait_for 5 'be("'$V1'", "198.18.0.13")["health"]["last"] == "ok"'
probe -n 100 -t 1000 198.18.100.1 80 >"$T/after.json"
check "be3 serves again ($(json "$T/after.json" 'j["backends"]'))" \
	test "$(json "$T/after.json" '(j["ok"], j["backends"].get("be3", 0) > 5)')" = "(100, True)"
# Every change since the restart is both logged and counted. Other
# backends (be3 of the UDP VIP) may change meanwhile: read the log before
# and after the counter until nothing changed in between.
changes_logged() {
	awk '/ready, control socket/ { n = 0 } /check of .*: (UP|DOWN) after/ { n++ } END { print n }' "$T/xlbd.log"
}
for _ in 1 2 3 4 5; do
	logged=$(changes_logged)
	ctl -j stats >"$T/stats.json"
	[ "$(changes_logged)" = "$logged" ] && break
	sleep 0.3
done
counted=$(json "$T/stats.json" 'j["health"]["transitions"]')
check "stats counts every logged state change ($counted counted, $logged logged)" \
	test "$counted" = "$logged" -a "$counted" -ge 2

echo "== 1000 backends checked every second: CPU of xlbd"
# 250 VIPs of 4 backends each, all checked by TCP connect to real servers.
for i in $(seq 0 249); do
	echo "vip add 198.18.101.$i:80/tcp"
	for b in 1 2 3 4; do echo "backend add 198.18.101.$i:80/tcp 198.18.0.$((10 + b))"; done
done >"$T/big.rules"
t0=$(now_ms)
check "restore 250 VIPs with 1000 backends" ctl restore "$T/big.rules"
echo "  restore took $(($(now_ms) - t0)) ms"
check "all 1000 backends up" wait_for 5 'sum(b["health"]["up"] for v in d["vips"] for b in v["backends"]) == 1000'
sleep 1
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$XLBD_PID/stat"; }
started() { ctl -j stats | json_get 'd["health"]["started"]'; }
# The counter is read right after each timestamp, so both reads lag equally.
ws0=$(now_ms)
st0=$(started)
c0=$(cpu)
w0=$(now_ms)
sleep 10
c1=$(cpu)
w1=$(now_ms)
ws1=$(now_ms)
st1=$(started)
checks=$((st1 - st0))
rate=$(python3 -c "print(f'{$checks / (($ws1 - $ws0) / 1000):.0f}')")
secs=$(python3 -c "print(f'{($w1 - $w0) / 1000:.2f}')")
pct=$(python3 -c "print(f'{100.0 * ($c1 - $c0) / $tick / (($w1 - $w0) / 1000):.1f}')")
us=$(python3 -c "print(f'{1e6 * ($c1 - $c0) / $tick / max($checks, 1):.0f}')")
echo "  1000 backends, interval 1 s: $rate checks/s; over ${secs} s xlbd used $pct% of one core (${us} us of CPU per check)"
check "about 1000 checks a second ran ($rate/s, expected 900-1100)" \
	test "$rate" -ge 900 -a "$rate" -le 1100
check "xlbd is still responsive" ctl list >/dev/null
check "xlbd kept running" kill -0 "$XLBD_PID"

summary test_health
