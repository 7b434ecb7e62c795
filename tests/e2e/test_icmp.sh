#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_icmp.sh: ICMP through the veth lab, IPv4 and IPv6. A ping of a VIP is
# answered by xlb. Upload: the client sends 1 MB over TCP in full-size
# (1500-byte) packets, which no longer fit the 1500-byte LB->backend link
# once encapsulated; it completes because xlb answers with fragmentation
# needed / packet too big and the client lowers its path MTU. Download: the
# router's route back to the client has MTU 1400; a backend's 1 MB reply
# completes because the router's error, addressed to the VIP, reaches the
# backend through xlb (and xlb-decap hands it to the backend's stack).
# Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xi$((RANDOM % 10000))
NB=2
PORT=7000
MB=1048576

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init icmp

cleanup() {
	set +e
	local i
	for i in $(seq "$NB"); do
		[ -f "$T/srv$i.pid" ] && kill -- "-$(cat "$T/srv$i.pid")" 2>/dev/null
	done
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Packets under one xlb counter.
stat_of() {
	ctl -j stats | python3 -c 'import json,sys
c=json.load(sys.stdin)["counters"].get(sys.argv[1]); print(c["packets"] if c else 0)' "$1"
}

# A bulk server on PORT in every backend, dual-stack, in its own process
# group and bounded in time: "up N" reads N bytes and answers "ok N NAME";
# "down N" sends N bytes.
start_servers() {
	local i
	for i in $(seq "$NB"); do
		setsid nsenter --net="/run/netns/$P-be$i" timeout 300 python3 - "be$i" "$PORT" \
			>"$T/srv$i.log" 2>&1 <<'EOF' &
import socket, sys, threading

name, port = sys.argv[1].encode(), int(sys.argv[2])
ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
ls.bind(("::", port))
ls.listen(16)

def serve(c):
    c.settimeout(60)
    f = c.makefile("rb")
    cmd, n = f.readline().split()
    n = int(n)
    if cmd == b"up":
        got = 0
        while got < n:
            b = f.read1(min(65536, n - got))
            if not b:
                break
            got += len(b)
        c.sendall(b"ok %d %s\n" % (got, name))
    else:
        c.sendall(b"d" * n)
    c.close()

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
		echo $! >"$T/srv$i.pid"
	done
}

# bulk up|down ADDR: 1 MB one way through the VIP; succeeds when every byte
# arrived within 60 s.
bulk() {
	nx client timeout 90 python3 - "$1" "$2" "$PORT" "$MB" <<'EOF'
import socket, sys, time

mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0 = time.time()
s = socket.create_connection((addr, port), timeout=60)
if mode == "up":
    s.sendall(b"up %d\n" % n + b"u" * n)
    reply = s.makefile("rb").readline().split()
    ok = len(reply) == 3 and int(reply[1]) == n
    print("upload: %s in %.2fs" % (b" ".join(reply).decode(), time.time() - t0))
else:
    s.sendall(b"down %d\n" % n)
    got = 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += len(b)
    ok = got == n
    print("download: %d bytes in %.2fs" % (got, time.time() - t0))
sys.exit(0 if ok else 1)
EOF
}

# The client's (or a backend's) path MTU towards ADDR as its route cache
# holds it ("" when none was learned).
pmtu() {
	nx "$1" ip route get "$2" | sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -n 1
}

echo "== lab and daemon"
LAB_PORTS=80 lab_up
V4=198.18.100.1
V6=2001:db8:100::1
ctl vip add "$V4:$PORT/tcp" >/dev/null && ctl vip add "[$V6]:$PORT/tcp" >/dev/null ||
	fail "vip add"
for i in $(seq "$NB"); do
	ctl backend add "$V4:$PORT/tcp" "198.18.0.$((10 + i))" >/dev/null &&
		ctl backend add "[$V6]:$PORT/tcp" "2001:db8::$((10 + i))" >/dev/null ||
		fail "backend add be$i"
done
start_servers
sleep 1

echo "== --icmp-rate"
check "xlbd logs the ICMP rate it runs with (default 1000/s)" \
	grep -q "ICMP errors 1000/s per CPU" "$LOG"
for bad in 5x -1 1000001 /s 10/m; do
	out=$(nx lb "$XLBD" -i eth0 -S "$T/bad.sock" -r "$T/bad.rules" --icmp-rate "$bad" 2>&1)
	rc=$?
	check "--icmp-rate '$bad' refused (exit $rc, 2 expected), naming the value and the range" \
		test "$rc" = 2 -a -n "$(grep -F "bad --icmp-rate '$bad', expected 0-1000000" <<<"$out")"
done

echo "== ping of a VIP is answered by xlb"
e0=$(stat_of icmp_echo_reply)
check "ping $V4 answers" nx client ping -c 3 -i 0.2 -W 2 "$V4"
check "ping -6 $V6 answers" nx client ping -6 -c 3 -i 0.2 -W 2 "$V6"
e=$(($(stat_of icmp_echo_reply) - e0))
check "xlb answered all six (icmp_echo_reply +$e)" test "$e" -eq 6

echo "== upload: 1500-byte packets do not fit the tunnel; xlb says so"
check "the client starts with no path MTU towards the VIP" test -z "$(pmtu client $V4)"
t0=$(stat_of icmp_too_big)
check "1 MB upload to $V4 completes" bulk up "$V4"
check "1 MB upload to $V6 completes" bulk up "$V6"
t=$(($(stat_of icmp_too_big) - t0))
check "xlb sent fragmentation needed / packet too big (icmp_too_big +$t)" test "$t" -ge 2
check "the client learned path MTU 1480 towards $V4 (got '$(pmtu client $V4)')" \
	test "$(pmtu client $V4)" = 1480
check "the client learned path MTU 1460 towards $V6 (got '$(pmtu client $V6)')" \
	test "$(pmtu client $V6)" = 1460

echo "== download: the router's route back to the client has MTU 1400"
# Same metric as the connected routes (IPv6's is 256), or a second route
# would be added behind them.
nx router ip route replace 198.18.1.0/24 dev veth-client src 198.18.1.1 mtu 1400 ||
	fail "router route mtu"
nx router ip -6 route replace 2001:db8:1::/64 dev veth-client metric 256 mtu 1400 ||
	fail "router route mtu (v6)"
check "the router's routes to the client say mtu 1400" \
	test "$(pmtu router 198.18.1.2)$(pmtu router 2001:db8:1::2)" = 14001400
for fam in 4 6; do
	if [ $fam = 4 ]; then vip=$V4 client=198.18.1.2; else vip=$V6 client=2001:db8:1::2; fi
	f0=$(stat_of icmp_error_fwd)
	check "1 MB download from $vip completes" bulk down "$vip"
	f=$(($(stat_of icmp_error_fwd) - f0))
	check "xlb delivered the router's errors to the backend (icmp_error_fwd +$f)" \
		test "$f" -ge 1
	learned=""
	for i in $(seq "$NB"); do learned+="$(pmtu "be$i" "$client") "; done
	check "a backend learned path MTU 1400 towards $client (got: $learned)" \
		grep -qw 1400 <<<"$learned"
done

summary test_icmp
