#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_slowstart.sh: slow start in the veth lab. A VIP with 3 backends gets
# a 4th with `slow-start 6`; rounds of new TCP connections (distinct source
# ports each round) every ~1.5 s measure the share of new flows the new
# backend takes: small at first, rising round after round (noise: each at
# least the previous less 5 points) to its full share (25% +- 7) once the
# ramp is over. `list -j` shows the effective weight and the time left while
# it ramps, the whole weight after; a backend back up after its checks
# failed ramps again; save carries the option; bad values
# are refused with the valid range and change nothing. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xs$((RANDOM % 10000))
NB=4
LAB_DIR=/run/xlb-lab/$P
ROUND=200 # connections a round: the share's noise is ~3 points at 25%

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init slowstart

trap lab_cleanup EXIT
trap 'exit 1' INT TERM

V4=198.18.100.1:80/tcp
NEW=198.18.0.14
# ramp_field EXPR: EXPR over the new backend's list -j object (as b)
ramp_field() {
	ctl -j list | json_get '[b for v in d["vips"] for b in v["backends"] if b["address"]=="'$NEW'"][0]'"$1"
}

echo "== lab and daemon"
lab_up
ctl vip add $V4 >/dev/null || fail "vip add"
for i in 1 2 3; do ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"; done
probe -n 60 -b 20000 198.18.100.1 80 >"$T/warm.json"
check "the 3 backends answer" test "$(json "$T/warm.json" 'j["ok"]')" = 60

echo "== refusals name the value and the range, change nothing"
ctl save >"$T/save.before"
out=$(ctl backend add $V4 $NEW slow-start 3601 2>&1)
check "slow-start 3601 refused (exit 2)" test $? = 2
check "  the error names it and 1-3600" grep -q "bad slow-start '3601', expected 1-3600 seconds, or 0 or off for none" <<<"$out"
out=$(ctl vip set $V4 slow-start soon 2>&1)
check "slow-start soon refused" grep -q "bad slow-start 'soon', expected 1-3600" <<<"$out"
out=$(ctl vip set $V4 slow-start 2>&1)
check "slow-start without a value refused" grep -q "'slow-start' needs a value" <<<"$out"
ctl save >"$T/save.after"
check "  nothing changed (save identical)" cmp -s "$T/save.before" "$T/save.after"

echo "== a 4th backend with slow-start 6: its share of new flows ramps"
# one_round R: ROUND new connections from ports of their own; appends the
# new backend's share (in %) to shares.
shares=()
one_round() {
	local r=$1 at ok_n share
	at=$(python3 -c "import time; print('%.1f' % (time.time() - $added))")
	probe -n $ROUND -c 32 -b $((21000 + r * ROUND)) 198.18.100.1 80 >"$T/round$r.json"
	ok_n=$(json "$T/round$r.json" 'j["ok"]')
	[ "$ok_n" = $ROUND ] || fail "round $r: $ok_n of $ROUND answered"
	share=$(json "$T/round$r.json" 'round(100.0 * j["backends"].get("be4", 0) / max(1, j["ok"]), 1)')
	echo "  round $r at ${at}s: be4 takes $share% of new flows ($(json "$T/round$r.json" 'j["backends"]'))"
	shares+=("$share")
}
ctl backend add $V4 $NEW slow-start 6 >/dev/null || fail "backend add be4 slow-start 6"
added=$(date +%s.%N)
one_round 0
check "save carries it" grep -q "backend add $V4 $NEW weight 1 slow-start 6\$" <(ctl save)
eff=$(ramp_field '["effective_weight"]')
left=$(ramp_field '["slow_start"]["remaining_s"]')
check "list -j while ramping: effective_weight $eff below 1, remaining_s $left in (0, 6]" \
	python3 -c "import sys; sys.exit(not (0 < $eff < 1 and 0 < $left <= 6))"
check "plain list says it ramps" grep -q "backend $NEW weight 1 (slow start: effective" <(ctl list)
for r in $(seq 1 6); do
	# rounds at ~1.5 s, 3 s ... 9 s after the addition: four inside the ramp
	target=$(python3 -c "print($added + 1.5 * $r)")
	python3 -c "import time; time.sleep(max(0, $target - time.time()))"
	one_round "$r"
done
check "first round well below the full share (${shares[0]}% < 12%)" \
	python3 -c "import sys; sys.exit(not ${shares[0]} < 12)"
mono=$(IFS=,; python3 -c "
s = [${shares[*]}]
print(all(b >= a - 5 for a, b in zip(s, s[1:])))")
check "the share rises round after round (each >= previous - 5): ${shares[*]}" test "$mono" = True
last=${shares[6]}
check "after the ramp: the full share, 25% +- 7 ($last%)" \
	python3 -c "import sys; sys.exit(not 18 <= $last <= 32)"
check "list -j after the ramp: effective_weight 1, remaining_s 0" \
	test "$(ramp_field '["effective_weight"]') $(ramp_field '["slow_start"]["remaining_s"]')" = "1.0 0.0"
check "xlbd logged no slow start error" bash -c "! grep -q 'slow start: cannot' '$LOG'"

echo "== back up after its checks failed: it ramps again"
# The VIP's default check: TCP connect to port 80, rise 2 fall 2, every 1 s.
# wait_be SECONDS EXPR: until EXPR over the new backend (b) is True
wait_be() {
	local i
	for i in $(seq $(($1 * 10))); do
		[ "$(ramp_field "$2" 2>/dev/null)" = True ] && return 0
		sleep 0.1
	done
	return 1
}
kill -- "-$(cat "$LAB_DIR/be4.pid")" 2>/dev/null
check "be4 goes down when its server stops" wait_be 15 '["health"]["up"] == False'
nsenter --net="/run/netns/$P-be4" setsid "$BUILD/xlb-echo" -n be4 -p 80,443,8080,9000 \
	</dev/null >>"$LAB_DIR/be4.log" 2>&1 &
echo $! >"$LAB_DIR/be4.pid"
check "be4 comes back up when it answers again" wait_be 15 '["health"]["up"] == True'
back=$(date +%s.%N)
left=$(ramp_field '["slow_start"]["remaining_s"]')
check "list -j: ramping again, remaining_s $left in (4, 6]" \
	python3 -c "import sys; sys.exit(not 4 < $left <= 6)"
probe -n $ROUND -c 32 -b 30000 198.18.100.1 80 >"$T/back.json"
share=$(json "$T/back.json" 'round(100.0 * j["backends"].get("be4", 0) / max(1, j["ok"]), 1)')
at=$(python3 -c "import time; print('%.1f' % (time.time() - $back))")
check "its share right after (${at}s): $share%, well below 25%" \
	python3 -c "import sys; sys.exit(not $share < 15)"
python3 -c "import time; time.sleep(max(0, $back + 6.5 - time.time()))"
probe -n $ROUND -c 32 -b 30400 198.18.100.1 80 >"$T/back2.json"
share=$(json "$T/back2.json" 'round(100.0 * j["backends"].get("be4", 0) / max(1, j["ok"]), 1)')
check "and after the ramp its full share again: $share% (25 +- 7)" \
	python3 -c "import sys; sys.exit(not 18 <= $share <= 32)"

echo "== slow-start off on the VIP's default, 0 on a backend"
ctl vip set $V4 slow-start 30 >/dev/null || fail "vip set slow-start 30"
ctl backend set $V4 $NEW slow-start off >/dev/null || fail "backend set slow-start off"
check "save: the VIP's default and the backend's own 0" \
	bash -c "ctl() { '$XLBCTL' -S '$SOCK' \"\$@\"; }; ctl save | grep -q 'vip add $V4 .* slow-start 30' &&
	ctl save | grep -q 'backend add $V4 $NEW weight 1 slow-start 0\$' &&
	ctl save | grep -q 'backend add $V4 198.18.0.11 weight 1\$'"
check "the backends inheriting it show 30 s" \
	test "$(ctl -j list | json_get '[b["slow_start"]["seconds"] for v in d["vips"] for b in v["backends"]]')" = "[30, 30, 30, 0]"

summary slowstart
