#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_dryrun.sh: xlbctl --dry-run in the veth lab. With connections held
# open, a dry run of `backend del` reports the share of ring slots that the
# real removal then changes (the data plane's ring read with bpftool before
# and after, within 0.5%) and as many broken connections as then break;
# the dry run itself changes nothing (save identical, ring identical, every
# held connection kept). Dry runs of other commands are refused. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xd$((RANDOM % 10000))
NB=4
HOLD_PID=

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init dryrun
command -v bpftool >/dev/null || { echo "dryrun: bpftool missing (make deps)"; exit 1; }

cleanup() {
	set +e
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

V4=198.18.100.1:80/tcp
# ring FILE: the VIP's ring as the data plane holds it, one backend id a
# line, read with bpftool (the ring maps have no BTF: values are bytes).
# XLBD_PID is xlbd itself (setsid and nsenter exec it).
ring() {
	local rings vid inner
	# xlbd's own descriptor of xlb_rings, the one ARRAY_OF_MAPS (type 12) it holds
	rings=$(for f in /proc/"$XLBD_PID"/fdinfo/*; do
		grep -q '^map_type:.12$' "$f" 2>/dev/null && awk '/^map_id:/ {print $2}' "$f"
	done | head -n 1)
	vid=$(ctl -j list | json_get '[v["id"] for v in d["vips"] if v["vip"] == "'$V4'"][0]')
	inner=$(bpftool -j map lookup id "$rings" key $vid 0 0 0 | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d[0] if isinstance(d, list) else d
v = d.get("inner_map_id", d.get("value"))
if isinstance(v, list):
    v = int.from_bytes(bytes(int(x, 16) for x in v), "little")
if isinstance(d.get("formatted"), dict):
    v = d["formatted"]["value"]
print(v)')
	bpftool -j map dump id "$inner" | python3 -c '
import json, sys
def num(v):
    return int.from_bytes(bytes(int(x, 16) for x in v), "little") if isinstance(v, list) else v
for e in sorted(json.load(sys.stdin), key=lambda e: num(e["key"])): print(num(e["value"]))' >"$1"
	[ "$(wc -l <"$1")" -gt 1000 ]
}

echo "== lab and daemon"
lab_up
ctl vip add $V4 >/dev/null || fail "vip add"
for i in $(seq "$NB"); do ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"; done

hold_start 80 36000 90 198.18.100.1 80
r=$(hold_check)
check "80 held connections answer ($r)" grep -q 'kept 80,' <<<"$r"
on_be2=$(awk '$2 == "be2"' "$T/last_check" | wc -l)

echo "== dry run of backend del"
ctl save >"$T/save.before"
check "the ring can be read" ring "$T/ring.before"
check "dry run of backend del answers" \
	bash -c "$XLBCTL -S $SOCK -j -n backend del $V4 198.18.0.12 >'$T/dry.json'"
ctl -n backend del $V4 198.18.0.12 >"$T/dry.txt"
sed 's/^/    /' "$T/dry.txt"
ctl save >"$T/save.mid"
check "the dry run changed no rule (save identical)" diff -u "$T/save.before" "$T/save.mid"
ring "$T/ring.mid"
check "and no ring slot" cmp -s "$T/ring.before" "$T/ring.mid"
r=$(hold_check)
check "and no held connection ($r)" grep -q 'kept 80,' <<<"$r"
share=$(json "$T/dry.json" '[v["share"] for v in j["vips"] if v["vip"] == "'$V4'"][0]')
predicted=$(json "$T/dry.json" 'j["connections_break"]')
check "the connection table was counted whole" \
	test "$(json "$T/dry.json" 'j["connections_complete"]')" = True

echo "== the real removal"
ctl backend del $V4 198.18.0.12 >/dev/null || fail "backend del be2"
ring "$T/ring.after"
real=$(paste "$T/ring.before" "$T/ring.after" | awk '$1 != $2 {n++} END {printf "%.6f", n / NR}')
echo "  share of slots: dry run $share, real $real"
check "the dry run's share is within 0.5% of the real change ($share vs $real)" \
	python3 -c "import sys; sys.exit(abs($share - $real) > 0.005)"
r=$(hold_check)
broken=$(sed -n 's/.*broken \([0-9]*\).*/\1/p' <<<"$r")
moved=$(sed -n 's/.*moved \([0-9]*\),.*/\1/p' <<<"$r")
echo "  after the removal: $r (be2 held $on_be2)"
check "the dry run's broken connections are those that broke ($predicted = $on_be2, check: $r)" \
	test "$predicted" = "$on_be2" -a "$((broken + moved))" = "$on_be2"
exec 7>&-
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=

echo "== refusals"
ctl save >"$T/save.r0"
out=$(ctl -n list 2>&1)
code=$?
check "dry run of list is refused, exit 2 ($out)" test "$code" = 2
out=$(ctl -n backend del $V4 198.18.0.99 2>&1)
code=$?
check "dry run of a change that would be refused is refused the same way, exit 1 ($out)" \
	test "$code" = 1 -a -n "$(grep -F 198.18.0.99 <<<"$out")"
out=$(ctl -n vip add 198.18.100.1:80/tcp 2>&1)
code=$?
check "dry run of a duplicate VIP is refused ($out)" test "$code" != 0
ctl save >"$T/save.r1"
check "refused dry runs changed nothing" diff -u "$T/save.r0" "$T/save.r1"
out=$(ctl -n restore "$T/save.before")
check "dry run of restore previews the file ($(head -c 200 <<<"$out"))" grep -q "198.18.100.1:80/tcp" <<<"$out"
ctl save >"$T/save.r2"
check "and restores nothing" diff -u "$T/save.r0" "$T/save.r2"

summary dryrun
