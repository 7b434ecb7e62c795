#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_sysctl.sh: a load balancer host with the kernel's default settings
# (forwarding and accept_local off, as the lab's lb starts): xlbd --no-sysctl
# refuses to start, names each setting and its fix, and changes nothing;
# plain xlbd sets them, logs each change, and forwards IPv4 and IPv6. When a
# setting is turned off under a running xlbd, the drops are counted under
# their cause and xlbd warns, naming the fix. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xs$((RANDOM % 10000))
NB=2

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init sysctl

cleanup() {
	set +e
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

lbsys() { nx lb cat "/proc/sys/net/$1"; }
settings() {
	echo "$(lbsys ipv4/conf/eth0/forwarding) $(lbsys ipv4/conf/eth0/accept_local)" \
		"$(lbsys ipv6/conf/eth0/forwarding) $(lbsys ipv6/conf/eth0/force_forwarding)"
}
stat_of() { ctl -j stats | json_get "d['counters']['$1']['packets']"; }

echo "== lab with default sysctls on the lb"
bash "$ROOT/tests/lab/lab.sh" up "$P" "$NB" >/dev/null || exit 1
for i in $(seq "$NB"); do
	nx "be$i" "$BUILD/xlb-decap" attach eth0 --from "$LAB_LB_FROM" >/dev/null || fail "xlb-decap attach be$i"
done
before=$(settings)
check "the lb starts with forwarding and accept_local off ($before)" [ "$before" = "0 0 0 0" ]

echo "== --no-sysctl refuses, names the setting and its fix, changes nothing"
out=$(nx lb timeout 20 "$XLBD" -i eth0 -S "$SOCK" -r "$RULES" --no-sysctl 2>&1)
rc=$?
echo "$out" | sed 's/^/    | /'
check "xlbd --no-sysctl exits non-zero" [ "$rc" -ne 0 ]
check "names net.ipv4.conf.eth0.forwarding and its fix" \
	grep -q 'net.ipv4.conf.eth0.forwarding is 0, xlb needs 1.*sysctl -w net.ipv4.conf.eth0.forwarding=1' <<<"$out"
check "names accept_local" grep -q 'net.ipv4.conf.eth0.accept_local is 0' <<<"$out"
check "names IPv6 forwarding" grep -q 'net.ipv6.conf.eth0.forwarding is 0' <<<"$out"
check "says nothing was changed" grep -q 'nothing was changed' <<<"$out"
check "the settings are as they were" [ "$(settings)" = "$before" ]
if nx lb ip link show eth0 | grep -q xdp; then fail "an XDP program was attached"; else ok "no XDP program on the lb's eth0"; fi
check "no control socket left" [ ! -e "$SOCK" ]

echo "== plain xlbd sets them, one log line each, and forwards"
start_xlbd "$P-lb" eth0 || exit 1
check "settings now on ($(settings))" [ "$(settings)" = "1 1 1 1" ]
for s in net.ipv4.conf.eth0.forwarding net.ipv4.conf.eth0.accept_local \
	net.ipv6.conf.eth0.forwarding net.ipv6.conf.eth0.force_forwarding; do
	check "logged: sysctl $s: 0 -> 1" grep -q "sysctl $s: 0 -> 1 (" "$LOG"
done
check "accept_ra kept working: 1 -> 2 logged" grep -q 'net.ipv6.conf.eth0.accept_ra: 1 -> 2' "$LOG"
V4=198.18.100.1:80/tcp
V6='[2001:db8:100::1]:80/tcp'
ctl vip add $V4 >/dev/null && ctl vip add "$V6" >/dev/null || fail "vip add"
for i in $(seq "$NB"); do
	ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null &&
		ctl backend add "$V6" "2001:db8::$((10 + i))" >/dev/null || fail "backend add be$i"
done
check "IPv4 connections through the VIP" probe -n 20 198.18.100.1 80
check "IPv6 connections through the VIP" probe -n 20 2001:db8:100::1 80
check "no drops for forwarding" [ "$(stat_of fib_fwd_disabled)" = 0 ]
stats=$(ctl stats)
for c in fib_no_neigh fib_fwd_disabled fib_no_route fib_unreachable fib_fail too_big; do
	check "xlbctl stats shows $c" grep -q "^$c " <<<"$stats"
done

echo "== forwarding turned off under a running xlbd: counted by cause, warned with the fix"
nx lb sysctl -qw net.ipv4.conf.eth0.forwarding=0
sleep 1.2 # the next hops each CPU cached (1 s) expire
probe -n 5 -t 300 198.18.100.1 80 >/dev/null
drops=$(stat_of fib_fwd_disabled)
check "dropped under fib_fwd_disabled ($drops)" [ "$drops" -gt 0 ]
warned=
for _ in $(seq 30); do
	grep -q 'forwarding is off on the receiving interface. Fix: sysctl -w net.ipv4.conf.eth0.forwarding=1' "$LOG" && warned=1 && break
	sleep 0.1
done
check "xlbd warned, naming the fix" [ -n "$warned" ]
probe -n 5 -t 300 198.18.100.1 80 >/dev/null
sleep 1.5
check "one warning, not one per packet" [ "$(grep -c 'forwarding is off on the receiving' "$LOG")" = 1 ]
nx lb sysctl -qw net.ipv4.conf.eth0.forwarding=1
sleep 1.2
check "forwarding back: connections work again" probe -n 20 198.18.100.1 80

echo "== a restart with --no-sysctl on a host that is set up starts"
stop_xlbds
start_xlbd "$P-lb" eth0 --no-sysctl
check "xlbd --no-sysctl started (the settings hold)" ctl list
check "and forwards" probe -n 20 198.18.100.1 80

summary test_sysctl
