#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_vip_edges.sh: traffic to a VIP address that xlb does not balance
# (another port) is dropped and counted by xlb, not passed to a kernel that
# would route it back to the router: the frames crossing the router's
# lb-facing link are counted. An echo request to the VIP address is answered
# by xlb itself (test_icmp.sh has the rest of ICMP). Traffic to the load
# balancer's own address still reaches its kernel. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XLB_BUILD:-$ROOT/build}
P=xe$((RANDOM % 10000))
T=$(mktemp -d /tmp/xlb-edges.XXXXXX)
SOCK=$T/xlbd.sock
XLBD_PID=
VIP=198.18.100.1

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
ctl() { nx lb "$BUILD/xlbctl" -S "$SOCK" "$@"; }

start_xlbd() {
	setsid nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i eth0 -S "$SOCK" \
		-r "$T/rules" >>"$T/xlbd.log" 2>&1 &
	XLBD_PID=$!
	for _ in $(seq 50); do
		[ -S "$SOCK" ] && ctl list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "xlbd did not come up:"
	cat "$T/xlbd.log"
	return 1
}

cleanup() {
	set +e
	if [ -S "$SOCK" ]; then ctl detach >/dev/null 2>&1; fi
	if [ -n "$XLBD_PID" ]; then
		kill -9 -- "-$XLBD_PID" 2>/dev/null
		wait "$XLBD_PID" 2>/dev/null
	fi
	bash "$ROOT/tests/lab/lab.sh" down "$P" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Frames both ways on the router's port towards the lb.
link_frames() {
	nx router ip -s -j link show dev veth-lb |
		python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"]+s["tx"]["packets"])'
}

# Datagrams the lb's kernel forwarded (a looping packet is forwarded there).
lb_forwarded() {
	nx lb awk '/^Ip: [0-9]/ {print $7}' /proc/net/snmp
}

# Packets under one xlb counter (0 when this xlb has no such counter).
stat_of() {
	ctl -j stats | python3 -c 'import json,sys
c=json.load(sys.stdin)["counters"].get(sys.argv[1]); print(c["packets"] if c else 0)' "$1"
}

# From the client, with raw sockets so that each packet is sent exactly
# once: "send DST": one ICMP echo request and TCP SYNs to port 81 from two
# source ports; "echo DST": one echo request, exit 0 when its reply comes.
client_raw() {
	nx client timeout 10 python3 - "$@" <<'EOF'
import random, select, socket, struct, sys

SRC = "198.18.1.2"
mode, dst = sys.argv[1], sys.argv[2]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def echo_request(ident):
    h = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"xlb-edges"
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]

def syn(sport, dport):
    seg = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), 0, 5 << 4, 0x02,
                      64240, 0, 0)
    pseudo = socket.inet_aton(SRC) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    return seg[:16] + struct.pack("!H", csum(pseudo + seg)) + seg[18:]

icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = random.randrange(1, 65535)
icmp.sendto(echo_request(ident), (dst, 0))
if mode == "send":
    tcp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    for sport in (40001, 40002):
        tcp.sendto(syn(sport, 81), (dst, 0))
    sys.exit(0)
while select.select([icmp], [], [], 2)[0]:
    pkt = icmp.recv(2048)
    ihl = (pkt[0] & 15) * 4
    if socket.inet_ntoa(pkt[12:16]) == dst and pkt[ihl] == 0 and \
            struct.unpack("!H", pkt[ihl + 4:ihl + 6])[0] == ident:
        sys.exit(0)
sys.exit(1)
EOF
}

echo "== lab and daemon"
bash "$ROOT/tests/lab/lab.sh" up "$P" 1 >/dev/null || exit 1
# The lab refuses VIP traffic its lb passes up (an unreachable route). A real
# load balancer has no such route: nothing on it owns a VIP, and its default
# route leads back to the router. Model that for the VIP under test.
nx lb ip route add "$VIP/32" via 198.18.0.1 || exit 1
start_xlbd || exit 1
# No backend: no health checks, so nothing else crosses the link.
ctl vip add "$VIP:80/tcp" >/dev/null || fail "vip add"

echo "== the load balancer's own address is still the kernel's"
n0=$(stat_of pass_unsupported)
check "a ping to the lb's address is answered" client_raw echo 198.18.0.2
check "and passed to it as pass_unsupported" test "$(($(stat_of pass_unsupported) - n0))" -ge 1

echo "== one ping and two SYNs to port 81 of the VIP address"
# Each of the three crosses the link once, and the ping's reply once more;
# neighbour probes and IPv6 housekeeping (ND, MLD) may add a few frames,
# hence "under 20". A loop makes ~65 crossings a packet (197 frames measured
# before the fix).
f0=$(link_frames)
l0=$(lb_forwarded)
d0=$(stat_of drop_vip_unhandled)
e0=$(stat_of icmp_echo_reply)
client_raw send "$VIP" || fail "send from the client"
sleep 1
frames=$(($(link_frames) - f0))
looped=$(($(lb_forwarded) - l0))
dropped=$(($(stat_of drop_vip_unhandled) - d0))
echoed=$(($(stat_of icmp_echo_reply) - e0))
echo "  frames on the router's lb-facing link: $frames; forwarded back by the lb: $looped"
check "each packet crosses the link once (4 frames, under 20 with housekeeping; got $frames)" \
	test "$frames" -ge 4 -a "$frames" -lt 20
check "the lb's kernel forwarded none of them back ($looped)" test "$looped" -eq 0
check "xlb dropped and counted both SYNs (drop_vip_unhandled +$dropped)" test "$dropped" -eq 2
check "xlb answered the ping itself (icmp_echo_reply +$echoed)" test "$echoed" -eq 1
check "and the client gets the answer from the VIP" client_raw echo "$VIP"

echo "test_vip_edges: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
