#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_explain.sh: xlbctl explain in the veth lab. For 100 new flows it
# names, before they run, the backend each then lands on; for flows that
# ran, the connection-table entry and its backend; for held connections
# after a backend is added, the entry (not the changed ring) as what the
# data plane uses, which the connections confirm by staying; after their
# backend is removed, the entry as stale. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xe$((RANDOM % 10000))
NB=4
HOLD_PID=

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init explain

cleanup() {
	set +e
	[ -n "$HOLD_PID" ] && kill "$HOLD_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

V4=198.18.100.1:80/tcp
CLIENT=198.18.1.2
name_of() { [ "$1" = None ] && echo none || echo "be$((${1##*.} - 10))"; }
# explain_fields SPORT: "uses backend ring_backend conn_backend conn_usable age_ms"
explain_fields() {
	ctl -j explain $V4 "$CLIENT:$1" | json_get '" ".join(str(x) for x in (d["uses"], d["backend"],
  (d["ring"] or {}).get("backend"), ((d["conn"] or {}).get("backend") or {}).get("backend"),
  (d["conn"] or {}).get("usable"), (d["conn"] or {}).get("age_ms")))'
}

# explain_many FROM TO: "SPORT uses backend ring_backend conn_backend
# conn_usable age_ms" for each source port, one python3 for them all: a
# closed flow's entry lives 10 s (the FIN timeout) after its last packet,
# longer than a python3 a flow takes.
explain_many() {
	local s
	for s in $(seq "$1" "$2"); do
		echo "$s $(ctl -j explain $V4 "$CLIENT:$s")"
	done | python3 -c 'import json, sys
for line in sys.stdin:
	s, j = line.split(" ", 1)
	d = json.loads(j)
	print(s, " ".join(str(x) for x in (d["uses"], d["backend"],
	  (d["ring"] or {}).get("backend"), ((d["conn"] or {}).get("backend") or {}).get("backend"),
	  (d["conn"] or {}).get("usable"), (d["conn"] or {}).get("age_ms"))))'
}

echo "== lab and daemon"
# The probe's flows close at once (the client's FIN); explaining 100 of them
# takes longer than the default --fin-timeout, after which a closed flow's
# entry is stale: keep them usable while this test reads them.
lab_up --fin-timeout 600
ctl vip add $V4 >/dev/null || fail "vip add"
for i in 1 2 3; do ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"; done

echo "== 100 new flows land where explain said"
: >"$T/predicted"
for s in $(seq 30000 30099); do
	read -r uses be ring conn usable age < <(explain_fields "$s")
	echo "$s $(name_of "$be") $uses $conn" >>"$T/predicted"
done
check "before they run, every flow comes from the ring with no entry" \
	test "$(awk '$3 == "ring" && $4 == "None"' "$T/predicted" | wc -l)" = 100
probe -n 100 -b 30000 198.18.100.1 80 >"$T/new.json"
check "100 flows answered" test "$(json "$T/new.json" 'j["ok"]')" = 100
python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["flows"]: print(f["sport"], f["backend"])' "$T/new.json" |
	sort >"$T/landed"
agree=$(join <(sort "$T/predicted") "$T/landed" | awk '$2 == $5' | wc -l)
check "explain named the landing backend of every flow ($agree/100)" test "$agree" = 100
echo "  spread: $(json "$T/new.json" 'j["backends"]')"

echo "== the flows that ran have an entry the data plane uses"
: >"$T/after"
while read -r s uses be ring conn usable age; do
	echo "$s $(name_of "$be") $uses $(name_of "$conn") $usable $age" >>"$T/after"
done < <(explain_many 30000 30099)
check "every flow now uses its usable entry" \
	test "$(awk '$3 == "conntrack" && $5 == "True"' "$T/after" | wc -l)" = 100
agree=$(join "$T/after" "$T/landed" | awk '$2 == $7 && $4 == $7' | wc -l)
check "each entry's backend is where the flow landed ($agree/100)" test "$agree" = 100

echo "== held connections after a backend is added: the entry wins over the ring"
hold_start 40 33000 60 198.18.100.1 80
r=$(hold_check)
check "40 held connections answer ($r)" grep -q 'kept 40,' <<<"$r"
sort "$T/last_check" | awk '{print $1, $2}' >"$T/held"
sleep 1.2
ctl backend add $V4 198.18.0.14 weight 3 >/dev/null || fail "backend add be4"
: >"$T/held.explain"
while read -r s landed; do
	read -r uses be ring conn usable age < <(explain_fields "$s")
	echo "$s $landed $uses $(name_of "$be") $(name_of "$ring") $(name_of "$conn") $usable $age" \
		>>"$T/held.explain"
done <"$T/held"
n=$(awk '$3 == "conntrack" && $4 == $2 && $6 == $2 && $7 == "True"' "$T/held.explain" | wc -l)
check "explain says each held connection uses its entry's backend, where it is ($n/40)" \
	test "$n" = 40
moved=$(awk '$5 != $2' "$T/held.explain" | wc -l)
check "the new ring gives some of them to another backend ($moved of 40)" test "$moved" -gt 0
aged=$(awk '$8 >= 1000' "$T/held.explain" | wc -l)
check "the entries' age counts from their first packet ($aged/40 at least 1 s)" test "$aged" = 40
r=$(hold_check)
check "and the data plane kept every one where explain said ($r)" grep -q 'kept 40,' <<<"$r"
s=$(awk '$5 != $2 {print $1; exit}' "$T/held.explain")
if [ -n "$s" ]; then
	ctl explain $V4 "$CLIENT:$s" >"$T/plain.txt"
	check "plain explain shows the entry and which backend is used" \
		grep -q "uses .*the connection table's entry" "$T/plain.txt"
	sed 's/^/    /' "$T/plain.txt"
fi

echo "== after its backend is removed, the entry is stale and the ring decides"
s=$(awk '$2 == "be1" {print $1; exit}' "$T/held")
ctl backend del $V4 198.18.0.11 >/dev/null || fail "backend del be1"
read -r uses be ring conn usable age < <(explain_fields "$s")
check "be1's held flow $s: entry stale, the ring's backend used ($uses $usable $be $ring)" \
	test "$uses" = ring -a "$usable" = False -a "$be" = "$ring" -a "$be" != 198.18.0.11
ctl -j explain $V4 "$CLIENT:$s" >"$T/stale.json"
why=$(json "$T/stale.json" 'j["conn"]["stale_reason"]')
check "the stale entry says why ($why)" grep -q "removed" <<<"$why"
exec 7>&-
kill "$HOLD_PID" 2>/dev/null
wait "$HOLD_PID" 2>/dev/null
HOLD_PID=

echo "== refusals"
out=$(ctl explain 198.18.100.9:80/tcp "$CLIENT:1" 2>&1)
code=$?
check "an unknown VIP is refused, exit 1 ($out)" test "$code" = 1
check "naming the VIP" grep -q "198.18.100.9:80/tcp" <<<"$out"
out=$(ctl explain $V4 "[2001:db8:1::2]:1" 2>&1)
code=$?
check "an IPv6 client of an IPv4 VIP is refused, exit 2 ($out)" test "$code" = 2
out=$(ctl explain $V4 2>&1)
code=$?
check "a missing client is refused, exit 2 ($out)" \
	test "$code" = 2 -a -n "$(grep -F "SRC_ADDR:SRC_PORT" <<<"$out")"
check "-j errors are JSON" bash -c "$XLBCTL -S $SOCK -j explain $V4 | grep -q '\"error\"'"

summary explain
