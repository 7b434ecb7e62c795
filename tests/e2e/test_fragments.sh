#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_fragments.sh: UDP datagrams larger than the path MTU, fragmented by
# the client's kernel, reach a backend whole: the first fragment picks the
# backend, the later ones follow it (xlb_frags), the backend reassembles and
# answers; over 200 datagrams the backends share them, IPv4 and IPv6. First
# on 1500-byte links (too-big fragments answered with ICMP, the client's
# resend fits), then with a 1400-byte client link (every fragment fits at
# once). Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xf$((RANDOM % 10000))
NB=4

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init fragments

cleanup() {
	set +e
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

stat_of() { ctl -j stats | json_get "d['counters']['$1']['packets']"; }

echo "== lab, UDP VIPs on 9000"
lab_up
U4=198.18.100.1:9000/udp
U6='[2001:db8:100::1]:9000/udp'
ctl vip add $U4 >/dev/null && ctl vip add "$U6" >/dev/null || fail "vip add"
for i in $(seq "$NB"); do
	ctl backend add $U4 "198.18.0.$((10 + i))" >/dev/null &&
		ctl backend add "$U6" "2001:db8::$((10 + i))" >/dev/null || fail "backend add be$i"
done

# 1500 bytes everywhere: the client's full-size fragments no longer fit the
# lb-backend link once encapsulated. xlb answers "fragmentation needed" /
# "packet too big", the client's kernel lowers its path MTU to the VIP, and
# xlb-probe's one resend (after its 2 s timeout) goes through.
for fam in 4 6; do
	if [ $fam = 4 ]; then addr=198.18.100.1; else addr=2001:db8:100::1; fi
	echo "== IPv$fam, 1500-byte path: 200 datagrams of 3000 bytes"
	probe -u -n 200 -c 16 -l 3000 -b $((30000 + fam * 1000)) $addr 9000 >"$T/full$fam.json"
	ok=$(json "$T/full$fam.json" 'j["ok"]')
	check "IPv$fam: all 200 answered on a 1500-byte path (ok $ok; too big answered $(stat_of icmp_too_big))" \
		[ "$ok" = 200 ]
done

# Then a 1400-byte client link, so that every fragment fits at once: the
# fragment table alone, every datagram on its first try.
nx client ip link set eth0 mtu 1400
nx router ip link set veth-client mtu 1400

spread() { # FILE: every backend served at least one datagram
	json "$1" 'len(j["backends"]) == '"$NB"' and min(j["backends"].values()) > 0' | grep -q True
}

for fam in 4 6; do
	if [ $fam = 4 ]; then addr=198.18.100.1; else addr=2001:db8:100::1; fi
	echo "== IPv$fam: 200 datagrams of 3000 bytes (3 fragments each)"
	first=$(stat_of frag_first)
	follow=$(stat_of frag_follow)
	miss=$(stat_of frag_miss)
	probe -u -n 200 -c 16 -l 3000 -b $((40000 + fam * 1000)) $addr 9000 >"$T/u$fam.json"
	ok=$(json "$T/u$fam.json" 'j["ok"]')
	check "IPv$fam: all 200 answered (ok $ok)" [ "$ok" = 200 ]
	check "IPv$fam: spread over the $NB backends ($(json "$T/u$fam.json" 'j["backends"]'))" \
		spread "$T/u$fam.json"
	d_first=$(($(stat_of frag_first) - first))
	d_follow=$(($(stat_of frag_follow) - follow))
	check "IPv$fam: first fragments balanced ($d_first >= 200)" [ "$d_first" -ge 200 ]
	check "IPv$fam: later fragments followed them ($d_follow >= 400)" [ "$d_follow" -ge 400 ]
	check "IPv$fam: no fragment without its first ($(($(stat_of frag_miss) - miss)))" \
		[ "$(stat_of frag_miss)" = "$miss" ]
done

echo "== small datagrams are not fragments"
first=$(stat_of frag_first)
check "100 small datagrams answered" probe -u -n 100 198.18.100.1 9000
check "no fragment counted for them" [ "$(stat_of frag_first)" = "$first" ]

summary test_fragments
