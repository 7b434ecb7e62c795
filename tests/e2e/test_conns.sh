#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_conns.sh: the connection table as operators see it, with real TCP
# through the veth lab: conns lists the held flows with their backend and
# state, its VIP, backend and limit filters work, list's active counts
# follow the flows and return to 0 within seconds once the client closes
# them, conns flush empties a VIP (its flows re-hash and keep working),
# bad input is refused by name and changes nothing, and pins of the old
# 16-byte connection entry are refused with a message. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=cv$((RANDOM % 1000))
NB=2

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init conns

cleanup() {
	set +e
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

V=198.18.100.1:80/tcp
V2=198.18.100.1:443/tcp
BE1=198.18.0.11
BE2=198.18.0.12
N=20

# conns_json ARGS...: ctl -j conns ARGS into $T/c.json
conns_json() { ctl -j conns "$@" >"$T/c.json"; }
# active VIP: the sum of list's active counts of the VIP's backends
active() {
	ctl -j list | json_get "sum(b['connections']['active'] for v in d['vips'] if v['vip'] == '$1' for b in v['backends'])"
}
inactive() {
	ctl -j list | json_get "sum(b['connections']['inactive'] for v in d['vips'] if v['vip'] == '$1' for b in v['backends'])"
}
# wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}
is() { [ "$("${@:2}")" = "$1" ]; }

echo "== lab and daemon"
# A flow hinted by the second chance is not recorded (its entry would lose
# the hint): with the default window the flushed flows below would stay
# untracked for 300 s after the backends were added. A 1 s window keeps the
# previous ring only for the setup; the flush waits until it is gone (the
# part before it can take less than a second).
lab_up --second-chance-window 1
ctl vip add $V >/dev/null || fail "vip add $V"
ctl backend add $V $BE1 >/dev/null || fail "backend add $BE1"
ctl backend add $V $BE2 >/dev/null || fail "backend add $BE2"
ctl vip add $V2 >/dev/null || fail "vip add $V2"
ctl backend add $V2 $BE1 >/dev/null || fail "backend add $V2 $BE1"
check "list -j: every backend has connections {active, inactive}" json_get \
	"all(set(b['connections']) == {'active', 'inactive'} for v in d['vips'] for b in v['backends']) or exit(1)" \
	< <(ctl -j list)
check "list: connections on the backend line" \
	grep -q "backend $BE1 weight 1 active packets 0 bytes 0 health .* connections active 0 inactive 0$" < <(ctl list)

echo "== conns lists the held flows"
hold_start $N 30000 50 198.18.100.1 80
r=$(hold_check)
check "$N held connections answer ($r)" grep -q "kept $N," <<<"$r"
# 5 short connections to the other VIP (closed at once by the probe)
probe -n 5 -b 31000 198.18.100.1 443 >"$T/v2.json"
check "5 connections to $V2 answered" test "$(json "$T/v2.json" 'j["ok"]')" = 5
conns_json $V
check "conns $V: the $N held flows, nothing more" test "$(json "$T/c.json" 'j["matched"]')" = $N
check "conns -j: complete, each flow with client, vip, backend, state, age, idle" json "$T/c.json" \
	"j['complete'] and all(set(f) >= {'client', 'vip', 'backend', 'state', 'age_ms', 'idle_ms'} for f in j['conns']) or exit(1)"
check "every listed flow is established, of $V" json "$T/c.json" \
	"all(f['state'] == 'established' and f['vip'] == '$V' for f in j['conns']) or exit(1)"
# Each flow's backend as conns has it, against the name its backend answered
# with (hold's "SPORT NAME" lines: be1 is $BE1, be2 $BE2).
bad=$(python3 - "$T/c.json" "$T/last_check" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
addr = {"be1": "198.18.0.11", "be2": "198.18.0.12"}
served = {}
for line in open(sys.argv[2]):
    w = line.split()
    served[w[0]] = addr.get(w[1], w[1])
bad = [f for f in c["conns"] if served.get(f["client"].rsplit(":", 1)[1]) != f["backend"]]
print(len(bad) if len(served) == len(c["conns"]) else "count %d/%d" % (len(served), len(c["conns"])))
EOF
)
check "conns names the backend each held flow reached (mismatches: $bad)" test "$bad" = 0
n1=$(ctl -j conns $V backend $BE1 | json_get "d['matched']")
n2=$(ctl -j conns $V backend $BE2 | json_get "d['matched']")
check "backend filter: $n1 on $BE1 + $n2 on $BE2 = $N" test $((n1 + n2)) = $N
check "backend filter: only that backend's flows" json_get \
	"all(f['backend'] == '$BE1' for f in d['conns']) or exit(1)" < <(ctl -j conns $V backend $BE1)
conns_json $V2
check "conns $V2: its 5 flows only" json "$T/c.json" \
	"j['matched'] == 5 and all(f['vip'] == '$V2' for f in j['conns']) or exit(1)"
conns_json limit 3
check "limit 3: 3 shown, the rest counted as more" json "$T/c.json" \
	"j['shown'] == 3 and j['more'] == j['matched'] - 3 and j['matched'] >= $N or exit(1)"
out=$(ctl conns limit 3)
check "conns (text): a header, 3 flows and how many more matched" \
	test "$(grep -c ' established \| closing \| new ' <<<"$out")" = 3 -a \
	"$(grep -c '^client ' <<<"$out")" = 1
check "conns (text): says how many more" grep -q "^3 flows shown, [0-9]* more matched (limit 3)" <<<"$out"

echo "== list counts the flows, and forgets them once the client closes"
check "active on $V is $N within 5 s (got $(active $V))" wait_for 5 is $N active $V
exec 7>&-
wait "$HOLD_PID"
HOLD_PID=
check "active on $V back to 0 within 5 s of the close (got $(active $V))" wait_for 5 is 0 active $V
conns_json $V
echo "  after the close: $(json "$T/c.json" 'sorted(set(f["state"] for f in j["conns"]))'), inactive $(inactive $V)"
check "the closed flows are listed as closing" json "$T/c.json" \
	"j['matched'] == $N and all(f['state'] == 'closing' for f in j['conns']) or exit(1)"
check "the sweep counts them inactive within 5 s (got $(inactive $V))" wait_for 5 is $N inactive $V

echo "== conns flush"
hold_start $N 32000 40 198.18.100.1 80
r=$(hold_check)
check "$N new held connections answer ($r)" grep -q "kept $N," <<<"$r"
check "active on $V is $N within 5 s (got $(active $V))" wait_for 5 is $N active $V
v2_before=$(ctl -j conns $V2 | json_get "d['matched']")
prev_ms() { ctl -j list | json_get "[v['second_chance_ms'] for v in d['vips'] if v['vip'] == '$V'][0]"; }
check "the setup's previous ring of $V is dropped within 3 s (second_chance_ms before: $(prev_ms))" \
	wait_for 3 is 0 prev_ms
out=$(ctl -j conns flush $V)
check "flush reports the flows it deleted ($out)" json_get "d['flushed'] >= $N or exit(1)" <<<"$out"
check "conns flush (text) says so" grep -q "^flushed 0 flows of VIP $V (0 established, 0 new)$" < <(ctl conns flush $V)
check "after the flush $V has no flow" is 0 eval "ctl -j conns $V | json_get \"d['matched']\""
check "and no active connection (got $(active $V))" is 0 active $V
check "the other VIP kept its flows" is "$v2_before" eval "ctl -j conns $V2 | json_get \"d['matched']\""
r=$(hold_check)
check "the flushed connections re-hash and still answer ($r)" grep -Eq "broken 0" <<<"$r"
check "their next packets are tracked again" wait_for 5 is $N eval "ctl -j conns $V | json_get \"d['matched']\""
echo "== bad input is refused and changes nothing"
before=$(ctl -j conns $V | json_get "d['matched']")
refused() { # refused CODE PATTERN ARGS...: exit CODE, an error matching PATTERN
	local code=$1 pat=$2
	shift 2
	out=$(ctl "$@" 2>&1)
	rc=$?
	check "conns ${*:2}: exit $code ($out)" test "$rc" = "$code"
	check "  and names it" grep -Eq "^Error: .*$pat" <<<"$out"
}
refused 1 "no VIP 198.18.100.9:80/tcp" conns 198.18.100.9:80/tcp
refused 1 "no VIP 198.18.100.9:80/tcp" conns flush 198.18.100.9:80/tcp
refused 2 "bad limit '0', expected limit 1-10000" conns limit 0
refused 2 "bad limit '10001', expected limit 1-10000" conns limit 10001
refused 2 "bad backend address '198.18.0.x', expected an IPv4 or IPv6 address" conns backend 198.18.0.x
refused 2 "'conns flush' needs a VIP" conns flush
refused 2 "unexpected 'limit' after 'conns flush $V'" conns flush $V limit 3
refused 2 "bad VIP|expected ADDR:PORT/PROTO" conns 198.18.100.1
out=$(ctl -j conns limit 0 2>/dev/null)
check "-j: the error is JSON" json_get "d['error'] or exit(1)" <<<"$out"
check "nothing was deleted ($before flows of $V)" is "$before" eval "ctl -j conns $V | json_get \"d['matched']\""

exec 7>&-
wait "$HOLD_PID"
HOLD_PID=

echo "== expired flows leave the table and the counts"
# The 5 flows to $V2 closed at the start, the held ones just now: closing
# entries expire fin_timeout (10 s) after their last packet.
check "the sweep deletes every closed flow after the FIN timeout (left: $(ctl -j conns | json_get "d['matched']"))" \
	wait_for 25 is 0 eval "ctl -j conns | json_get \"d['matched']\""
check "inactive on $V back to 0 (got $(inactive $V)), active 0 (got $(active $V))" \
	wait_for 5 is 0:0 eval 'echo "$(inactive $V):$(active $V)"'
out=$(ctl stats)
check "stats: the sweep's last pass ($(grep '^sweep:' <<<"$out"))" grep -Eq "^sweep: [0-9]+ entries in [0-9]+ ms .*[1-9][0-9]* expired|^sweep: .* expired" <<<"$out"

echo "== pins of the old 16-byte connection entry are refused"
# xlbd's pins in the lb's namespace: XLB_PIN_ROOT/netns-COOKIE/eth0 (netns.c).
cookie=$(nx lb python3 -c 'import socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])' 2>/dev/null)
PINS=/sys/fs/bpf/xlb/netns-$cookie/eth0
if [ -n "$PINS" ] && [ -e "$PINS/xlb_conns" ] && command -v bpftool >/dev/null; then
	stop_xlbds
	XLBD_PIDS=()
	entries=$(bpftool -j map show pinned "$PINS/xlb_conns" | json_get "d['max_entries']")
	rm -f "$PINS/xlb_conns"
	bpftool map create "$PINS/xlb_conns" type lru_hash key 40 value 16 entries "$entries" \
		name xlb_conns flags 2
	check "an old-layout xlb_conns is pinned" test -e "$PINS/xlb_conns"
	out=$(nx lb timeout 10 "$XLBD" -i eth0 -S "$SOCK" -r "$RULES" 2>&1)
	check "xlbd refuses to start on it" test $? -ne 0
	check "and says which map, its value size, and what to do ($(grep Error <<<"$out"))" grep -q \
		"xlb_conns value size is 16, this xlbd wants 24) and cannot be adopted: take .* --detach" <<<"$out"
else
	fail "cannot find the lab's pins ($PINS) or bpftool"
fi

summary test_conns
