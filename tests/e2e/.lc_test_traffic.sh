#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_traffic.sh: real TCP and UDP through the veth lab (client -> router ->
# xlb -> backends, replies straight back): spread as Maglev predicts, xlbctl
# lookup agrees with where flows landed, direct server return, backend remove
# / add / drain with long-lived connections, all-ports and source-hash VIPs,
# kill -9 of xlbd with connections in flight, and forged tunnels refused by
# the backends' xlb-decap. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=lc$((RANDOM % 1000))
NB=4

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init traffic

cleanup() {
	set +e
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Backend name (be1..) from its address: be I is 198.18.0.(10+I), 2001:db8::(10+I).
name_of() { echo "be$((${1##*.} - 10))"; }
name_of6() { echo "be$((${1##*:} - 10))"; }

# lookup_all VIP FLOWS.json OUT: writes "sport predicted actual" for every flow
lookup_all() {
	local vip=$1 flows=$2 out=$3 src=$4 sport actual addr ep
	: >"$out"
	while read -r sport actual; do
		ep=$src; case $src in *:*) ep="[$src]" ;; esac
		addr=$(ctl -j lookup "$vip" "$ep:$sport" | json_get 'd["backend"]')
		case $addr in
		*:*) echo "$sport $(name_of6 "$addr") $actual" >>"$out" ;;
		*) echo "$sport $(name_of "$addr") $actual" >>"$out" ;;
		esac
	done < <(python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["flows"]: print(f["sport"], f["backend"])' "$flows")
}

echo "== lab and daemon"
lab_up
V4=198.18.100.1:80/tcp
V6='[2001:db8:100::1]:80/tcp'
U4=198.18.100.1:9000/udp
ctl vip add $V4 >/dev/null && ctl vip add "$V6" >/dev/null && ctl vip add $U4 >/dev/null ||
	fail "vip add"
for i in $(seq "$NB"); do
	ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null &&
		ctl backend add "$V6" "2001:db8::$((10 + i))" >/dev/null &&
		ctl backend add $U4 "198.18.0.$((10 + i))" >/dev/null || fail "backend add be$i"
done

echo "== hundreds of connections spread as Maglev predicts"
rx_before=$(nx lb cat /sys/class/net/eth0/statistics/rx_packets)
probe -n 400 -b 20000 198.18.100.1 80 >"$T/v4.json"
check "400 TCP connections to the IPv4 VIP all answered" \
	test "$(json "$T/v4.json" 'j["ok"]')" = 400
rx_after=$(nx lb cat /sys/class/net/eth0/statistics/rx_packets)
lookup_all $V4 "$T/v4.json" "$T/v4.lookup" 198.18.1.2
agree=$(awk '$2 == $3' "$T/v4.lookup" | wc -l)
check "xlbctl lookup agrees with where every IPv4 flow landed ($agree/400)" test "$agree" = 400
echo "  spread (IPv4): $(json "$T/v4.json" 'j["backends"]')"
for i in $(seq "$NB"); do
	n=$(json "$T/v4.json" "j['backends'].get('be$i', 0)")
	check "be$i served a fair share of 400 flows ($n, expected 60-140)" \
		test "$n" -ge 60 -a "$n" -le 140
done

probe -n 200 -b 21000 2001:db8:100::1 80 >"$T/v6.json"
check "200 TCP connections to the IPv6 VIP all answered" \
	test "$(json "$T/v6.json" 'j["ok"]')" = 200
lookup_all "$V6" "$T/v6.json" "$T/v6.lookup" 2001:db8:1::2
agree=$(awk '$2 == $3' "$T/v6.lookup" | wc -l)
check "xlbctl lookup agrees with where every IPv6 flow landed ($agree/200)" test "$agree" = 200
echo "  spread (IPv6): $(json "$T/v6.json" 'j["backends"]')"

probe -u -n 200 -b 22000 198.18.100.1 9000 >"$T/u4.json"
check "200 UDP flows all answered" test "$(json "$T/u4.json" 'j["ok"]')" = 200
lookup_all $U4 "$T/u4.json" "$T/u4.lookup" 198.18.1.2
agree=$(awk '$2 == $3' "$T/u4.lookup" | wc -l)
check "xlbctl lookup agrees with where every UDP flow landed ($agree/200)" test "$agree" = 200
echo "  spread (UDP): $(json "$T/u4.json" 'j["backends"]')"

echo "== direct server return"
# A TCP exchange here is about 5 client packets and 4 replies per flow. If
# replies came back through the lb, it would receive about twice as many.
ctl -j stats >"$T/stats.json"
tx=$(json "$T/stats.json" 'j["counters"]["tx"]["packets"] if "counters" in j else j["tx"]["packets"]' 2>/dev/null || echo 0)
rx=$((rx_after - rx_before))
echo "  lb eth0 received $rx frames during 400 TCP connections; xlb tx total $tx"
check "replies bypass the lb (lb received $rx frames for 400 connections, < 8 per flow)" \
	test "$rx" -lt 3200
check "xlb counted the forwarded packets (tx $tx >= 2000)" test "${tx:-0}" -ge 2000

echo "== long-lived connections across backend changes"
hold_start 100 23000 120 198.18.100.1 80
r=$(hold_check)
check "100 held connections answer before any change ($r)" grep -q 'kept 100,' <<<"$r"

ctl backend add $V4 198.18.0.99 >/dev/null 2>&1 # no such host: a backend add still moves no flow
r=$(hold_check)
check "adding a backend moves no established connection ($r)" grep -q 'kept 100,' <<<"$r"
ctl backend del $V4 198.18.0.99 >/dev/null

ctl backend set $V4 198.18.0.12 weight 0 >/dev/null
r=$(hold_check)
check "draining be2 keeps every established connection ($r)" grep -q 'kept 100,' <<<"$r"
probe -n 200 -b 24000 198.18.100.1 80 >"$T/drain.json"
n=$(json "$T/drain.json" "j['backends'].get('be2', 0)")
check "a drained backend gets no new connection ($n of 200)" test "$n" = 0
ctl backend set $V4 198.18.0.12 weight 1 >/dev/null

ctl backend del $V4 198.18.0.13 >/dev/null
r=$(hold_check)
others_kept=$(awk '$2 != "be3" && $4 == "kept"' "$T/last_check" | wc -l)
others=$(awk '$2 != "be3"' "$T/last_check" | wc -l)
be3_lost=$(awk '$2 == "be3" && $4 != "kept"' "$T/last_check" | wc -l)
echo "  after removing be3: $r; be3 held $be3_lost connections"
check "removing be3 keeps every connection of the other backends ($others_kept/$others)" \
	test "$others_kept" = "$others" -a "$others" -gt 0
check "removing be3 moves only its own connections (lost $be3_lost)" test "$be3_lost" -gt 0
ctl backend add $V4 198.18.0.13 >/dev/null

echo "== kill -9 of xlbd with connections in flight"
r=$(hold_check)
kill -9 -- "-$XLBD_PID"
sleep 0.5
r2=$(hold_check)
echo "  before kill: $r; after: $r2"
before_kept=$(sed -n 's/.*kept \([0-9]*\),.*/\1/p' <<<"$r")
check "no held connection breaks when xlbd dies ($r2)" grep -q "kept $before_kept," <<<"$r2"
probe -n 50 -b 25000 198.18.100.1 80 >"$T/nodaemon.json"
check "new connections work with no daemon" test "$(json "$T/nodaemon.json" 'j["ok"]')" = 50
cp "$T/rules" "$T/rules.before"
start_xlbd "$P-lb" eth0 || fail "restart xlbd"
ctl save >"$T/save.after"
check "a restarted xlbd shows the same configuration" diff -u "$T/rules.before" "$T/save.after"
r3=$(hold_check)
check "held connections survive the restart ($r3)" grep -q "kept $before_kept," <<<"$r3"
exec 7>&-
for _ in $(seq 50); do kill -0 "$HOLD_PID" 2>/dev/null || break; sleep 0.1; done
kill "$HOLD_PID" 2>/dev/null
HOLD_PID=

echo "== all-ports and source-hash VIPs"
ctl vip add 198.18.100.2:0/tcp >/dev/null
ctl vip add 198.18.100.3:80/tcp sched sh >/dev/null
for i in $(seq "$NB"); do
	ctl backend add 198.18.100.2:0/tcp "198.18.0.$((10 + i))" >/dev/null
	ctl backend add 198.18.100.3:80/tcp "198.18.0.$((10 + i))" >/dev/null
done
a=$(probe -n 20 198.18.100.2 80 | json_get 'd["ok"]')
b=$(probe -n 20 198.18.100.2 8080 | json_get 'd["ok"]')
check "an all-ports VIP answers on port 80 ($a/20) and 8080 ($b/20)" test "$a" = 20 -a "$b" = 20
probe -n 50 198.18.100.3 80 >"$T/sh.json"
nb=$(json "$T/sh.json" 'len(j["backends"])')
check "a source-hash VIP keeps one client on one backend ($(json "$T/sh.json" 'j["backends"]'))" \
	test "$nb" = 1

echo "== tunnels the backends refuse: forged sources, inner destinations not theirs"
# forge FAMILY SRC DST: sends from this namespace one tunnel packet to be1
# (198.18.0.11 / 2001:db8::11) whose inner UDP packet goes from SRC to DST
# port 9000; the kernel writes the outer header (raw socket, protocol 4 / 41).
cat >"$T/forge.py" <<'PYEOF'
import socket, struct, sys
fam, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
payload = b"forged"
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
udp = struct.pack("!HHHH", 40000, 9000, 8 + len(payload), 0) + payload
if fam == "4":
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                      socket.inet_pton(socket.AF_INET, src), socket.inet_pton(socket.AF_INET, dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 4)
    s.sendto(hdr + udp, ("198.18.0.11", 0))
else:
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(udp), 17, 64,
                      socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 41)
    s.sendto(hdr + udp, ("2001:db8::11", 0))
PYEOF
# decap_count REASON: be1's xlb-decap counter REASON, in packets
decap_count() { nx be1 "$BUILD/xlb-decap" -j stats eth0 | json_get "d['counters']['$1']['packets']"; }
src0=$(decap_count refuse_source)
inner0=$(decap_count refuse_inner)
# From the router (198.18.0.1, 2001:db8::1: not in --from), to a VIP be1 holds.
nx router python3 "$T/forge.py" 4 198.18.1.2 198.18.100.1
nx router python3 "$T/forge.py" 6 2001:db8:1::2 2001:db8:100::1
# From the lb (in --from), to be2's addresses: be1 would relay them.
nx lb python3 "$T/forge.py" 4 198.18.1.2 198.18.0.12
nx lb python3 "$T/forge.py" 6 2001:db8:1::2 2001:db8::12
sleep 0.5
src1=$(decap_count refuse_source)
inner1=$(decap_count refuse_inner)
check "be1 refused both forged sources (refuse_source $src0 -> $src1)" test "$((src1 - src0))" -ge 2
check "be1 refused both inner destinations not its own (refuse_inner $inner0 -> $inner1)" \
	test "$((inner1 - inner0))" -ge 2
nx be1 "$BUILD/xlb-decap" stats eth0 >"$T/be1.stats"
check "be1's stats list the lb's addresses as --from" \
	grep -Eq "^from \(2\):( 198.18.0.2/32| 2001:db8::2/128){2}$" "$T/be1.stats"
check "and the VIP ranges on lo as local" \
	grep -Eq "^local .* 198.18.100.0/24( |$).* 2001:db8:100::/64( |$)" "$T/be1.stats"

summary test_traffic
