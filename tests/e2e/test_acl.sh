#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_acl.sh: a VIP's source ACL and its limit of new flows per client in
# the veth lab (issue 13). The client gets a second address (198.18.1.3):
# with "allow 198.18.1.2" the first connects and the second is dropped and
# counted; refused options (bad prefix, wrong family, out-of-range rates)
# exit 2 and change nothing; save, list and -j carry the ACL. With "limit
# 50/s burst 10" a client opening 500 connections as fast as its
# concurrency lets it (dropped SYNs give up after 100 ms, the next try
# starts at once) gets 50/s +-10% through, while the second client at
# 10 connections a second loses none. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xa$((RANDOM % 10000))
NB=2

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init acl

cleanup() {
	set +e
	[ -n "${SLOW_PID:-}" ] && kill "$SLOW_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

V4=198.18.100.1:80/tcp
A=198.18.1.2
B=198.18.1.3

echo "== lab, second client address $B"
lab_up
nx client ip addr add $B/24 dev eth0 || fail "client address $B"
ctl vip add $V4 >/dev/null || fail "vip add"
for i in 1 2; do
	ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"
done

# vip_field EXPR: EXPR over the VIP's object in list -j (as v).
vip_field() {
	ctl -j list | json_get "[v for v in d['vips'] if v['vip'] == '$V4'][0]$1"
}
counter() {
	ctl -j stats | json_get "d['counters'].get('$1', {}).get('packets', 0)"
}
ok_of() { json_get 'd["ok"]'; }

echo "== ACL"
r=$(probe -s $A -n 20 -t 1000 198.18.100.1 80 | ok_of)
r2=$(probe -s $B -n 20 -t 1000 198.18.100.1 80 | ok_of)
check "without an ACL both clients connect ($r, $r2 of 20)" test "$r/$r2" = 20/20
check "vip set allow $A" ctl vip set $V4 allow $A
d0=$(counter drop_acl)
r=$(probe -s $A -n 20 -t 1000 198.18.100.1 80 | ok_of)
r2=$(probe -s $B -n 20 -t 300 198.18.100.1 80 | ok_of)
check "the allowed client connects ($r of 20)" test "$r" = 20
check "the other client is dropped ($r2 of 20 through)" test "$r2" = 0
d=$(($(counter drop_acl) - d0))
check "drop_acl counted its SYNs ($d >= 20)" test "$d" -ge 20
vd=$(vip_field "['acl_drops']")
check "the VIP's acl_drops counted them too ($vd >= 20)" test "$vd" -ge 20
check "list -j shows the allow list" test "$(vip_field "['allow']")" = "['$A/32']"
ctl list >"$T/list.txt"
check "list shows the ACL and its drops" grep -q "allow $A/32, dropped: acl $vd limit 0" "$T/list.txt"
ctl stats >"$T/stats.txt"
check "stats shows the VIP's drops" grep -q "vip $V4: $vd dropped by its ACL, 0 new flows" "$T/stats.txt"

echo "== refused options change nothing"
refused() { # refused WANT_TEXT ARGS...: exit 2, the text, the ACL as before
	local want=$1 rc
	shift
	ctl vip set $V4 "$@" >"$T/out" 2>&1
	rc=$?
	[ $rc = 2 ] && grep -qF "$want" "$T/out" && [ "$(vip_field "['allow']")" = "['$A/32']" ] &&
		[ "$(vip_field "['limit']")" = None ]
}
check "bad prefix" refused "allow: bad prefix 'frob'" allow frob
check "prefix length out of range" refused "bad prefix length in '198.18.1.0/33', expected /0-32" \
	allow 198.18.1.0/33
check "IPv6 prefix on an IPv4 VIP" refused "is IPv6 but the VIP is IPv4" deny 2001:db8::/32
check "rate 0" refused "bad limit rate '0/s', expected 1-1000000" limit 0/s
check "absurd rate" refused "bad limit rate '5000000/s', expected 1-1000000" limit 5000000/s
check "burst 0" refused "bad burst '0', expected 1-1000000" limit 50/s burst 0
both_lists() { # a contradiction is the configuration's, not the grammar's: exit 1
	local rc
	ctl vip set $V4 deny $A >"$T/out" 2>&1
	rc=$?
	[ $rc = 1 ] && grep -qF "prefix $A/32 is in both allow and deny" "$T/out" &&
		[ "$(vip_field "['deny']")" = "[]" ]
}
check "same prefix in both lists (exit 1)" both_lists
check "save carries the ACL" bash -c "\"$XLBCTL\" -S \"$SOCK\" save | grep -q 'allow $A/32'"
echo "== an xlbd restart keeps the ACL (rules file, pinned maps)"
kill -TERM -- "-$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null
start_xlbd "$P-lb" eth0 || fail "restart xlbd"
check "the restarted xlbd has the allow list" test "$(vip_field "['allow']")" = "['$A/32']"
r=$(probe -s $A -n 10 -t 1000 198.18.100.1 80 | ok_of)
r2=$(probe -s $B -n 10 -t 300 198.18.100.1 80 | ok_of)
check "after the restart: allowed $r of 10, other $r2 of 10" test "$r/$r2" = 10/0
check "allow any clears it" ctl vip set $V4 allow any
r2=$(probe -s $B -n 20 -t 1000 198.18.100.1 80 | ok_of)
check "the other client connects again ($r2 of 20)" test "$r2" = 20

echo "== limit 50/s burst 10"
check "vip set limit 50/s burst 10" ctl vip set $V4 limit 50/s burst 10
l0=$(counter drop_limit)
# The second client, slowly: 20 connections 100 ms apart, during the run.
probe -s $B -n 20 -i 100 -t 2000 198.18.100.1 80 >"$T/slow.json" &
SLOW_PID=$!
probe -s $A -n 500 -c 8 -t 100 -T 50 198.18.100.1 80 >"$T/fast.json"
wait "$SLOW_PID"
SLOW_PID=
# Through per second: the flows that got through beyond the burst, over
# the run (first to last flow's start).
read -r ok span rate < <(python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
span = max(f["start_ms"] for f in j["flows"]) / 1000.0
ok = j["ok"]
print(ok, "%.2f" % span, "%.1f" % ((ok - 10) / span))' "$T/fast.json")
echo "FIGURE limit: $ok of 500 through in ${span}s: $rate/s beyond the burst"
check "the fast client gets 50/s +-10% through ($rate/s)" \
	python3 -c "import sys; sys.exit(0 if 45 <= float('$rate') <= 55 else 1)"
r2=$(ok_of <"$T/slow.json")
check "the slow client is untouched ($r2 of 20)" test "$r2" = 20
l=$(($(counter drop_limit) - l0))
vl=$(vip_field "['limit_drops']")
check "drop_limit counted the refused SYNs ($l, VIP $vl, of $((500 - ok)) failed flows)" \
	bash -c "[ $l -ge $((500 - ok)) ] && [ $vl -ge $((500 - ok)) ]"
check "list -j shows the limit" test "$(vip_field "['limit']")" = "{'rate': 50, 'burst': 10}"
check "limit off" ctl vip set $V4 limit off
r=$(probe -s $A -n 100 -c 16 -t 1000 198.18.100.1 80 | ok_of)
check "without the limit every connection gets through ($r of 100)" test "$r" = 100

summary test_acl
