#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/lab/selftest.sh: checks the lab (tests/lab/lab.sh), xlb-echo and xlb-probe
# without the load balancer: traffic from the client straight to the backends,
# direct server return from a VIP, hold mode, and that up/down are idempotent
# and leave nothing behind. Needs root and build/xlb-echo, build/xlb-probe.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$ROOT/tests/lab/lab.sh
BUILD=${XLB_BUILD:-$ROOT/build}
PROBE=$BUILD/xlb-probe
P=xlbs$RANDOM
FAKE=""
PASS=0
FAIL=0
HOLDER="" # pid of the hold-mode probe (bash unsets HOLD_PID when it ends)

cleanup() {
	[ -n "${HOLDER:-}" ] && kill "$HOLDER" 2>/dev/null
	"$LAB" down "$P" >/dev/null 2>&1
	[ -n "${FAKE:-}" ] && rm -rf "$FAKE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}
fail() {
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

in_ns() {
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}

lab_nss() { ip netns list | awk '{print $1}' | grep -c "^$P-" || true; }

# json_is JQ_FILTER JSON: the JSON text satisfies the filter.
json_is() { jq -e "$1" >/dev/null 2>&1 <<<"$2"; }

# probe_is NAME JQ_FILTER PROBE_ARGS...: probe from the client; the JSON output
# must satisfy the filter.
probe_is() {
	local name=$1 filter=$2 out
	shift 2
	out=$(in_ns client "$PROBE" -j -T 20 "$@" 2>/dev/null)
	if echo "$out" | jq -e "$filter" >/dev/null 2>&1; then
		pass "$name"
	else
		fail "$name: $(echo "$out" | jq -c '{ok,failed,backends}' 2>/dev/null || echo "$out")"
	fi
}

for bin in xlb-echo xlb-probe; do
	[ -x "$BUILD/$bin" ] || {
		echo "Error: $BUILD/$bin not found, build it first: make $BUILD/$bin" >&2
		exit 1
	}
done
command -v jq >/dev/null || { echo "Error: jq not found, install jq" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "Error: lab-selftest needs root, run it as root" >&2; exit 1; }

# ---------------------------------------------------------------- up
start=$(date +%s%N)
check "up with 2 backends" "$LAB" up "$P" 2
echo "# up took $((($(date +%s%N) - start) / 1000000)) ms"
check "5 namespaces" [ "$(lab_nss)" = 5 ]
check "every leaf namespace has eth0" \
	bash -c "for n in client lb be1 be2; do nsenter --net=/run/netns/$P-\$n ip link show eth0 >/dev/null || exit 1; done"
check "status reports the lab" "$LAB" status "$P" >/dev/null

# ---------------------------------------------------------------- direct
probe_is "tcp 198.18.0.11:80 answers be1" '.ok == 20 and .failed == 0 and .backends == {"be1": 20}' \
	-n 20 198.18.0.11 80
probe_is "udp 198.18.0.11:80 answers be1" '.ok == 20 and .failed == 0 and .backends == {"be1": 20}' \
	-u -n 20 198.18.0.11 80
probe_is "tcp [2001:db8::11]:80 answers be1" '.ok == 20 and .backends == {"be1": 20}' \
	-n 20 2001:db8::11 80
probe_is "udp [2001:db8::11]:80 answers be1" '.ok == 20 and .backends == {"be1": 20}' \
	-u -n 20 2001:db8::11 80
probe_is "tcp 198.18.0.12:9000 answers be2" '.ok == 10 and .backends == {"be2": 10}' \
	-n 10 198.18.0.12 9000
probe_is "source ports follow -b" '[.flows[].sport] == [range(40000; 40010)]' \
	-n 10 -b 40000 198.18.0.11 443
probe_is "source ports reused at once (no TIME_WAIT)" '.ok == 10' -n 10 -b 40000 198.18.0.11 443
probe_is "200 flows, 100 at once" '.ok == 200' -n 200 -c 100 198.18.0.12 8080
probe_is "a closed port counts as failed" '.ok == 0 and .failed == 3' -n 3 -t 300 198.18.0.11 81
in_ns client "$PROBE" -n 1 -t 300 -T 5 198.18.0.11 81 >/dev/null 2>&1
check "a failed flow exits 1" [ $? = 1 ]
in_ns client "$PROBE" -n 0 198.18.0.11 80 >/dev/null 2>&1
check "a usage error exits 2" [ $? = 2 ]

# Without the load balancer a VIP goes nowhere: the lb keeps a fresh host's
# defaults (forwarding off until xlbd sets it on eth0), so it drops the
# packet, and with forwarding on its unreachable route refuses it; either
# way it never bounces back to the router.
probe_is "a VIP without xlb goes nowhere" '.failed == 1' -n 1 -t 1500 198.18.100.1 80
in_ns lb sysctl -qw net.ipv4.conf.eth0.forwarding=1
probe_is "with forwarding on, the lb refuses it (unreachable route)" \
	'.failed == 1 and .flows[0].error == "No route to host"' -n 1 -t 1500 198.18.100.1 80
in_ns lb sysctl -qw net.ipv4.conf.eth0.forwarding=0

# ---------------------------------------------------------------- DSR
# Stand in for the load balancer: the router sends one VIP straight to be2,
# which holds every VIP on lo and answers the client from the VIP itself.
in_ns router ip route add 198.18.100.1/32 via 198.18.0.12
in_ns router ip -6 route add 2001:db8:100::1/128 via 2001:db8::12
probe_is "tcp VIP 198.18.100.1 answered by be2 (DSR)" '.ok == 10 and .backends == {"be2": 10}' \
	-n 10 198.18.100.1 80
probe_is "udp VIP 198.18.100.1 answered by be2 (DSR)" '.ok == 10 and .backends == {"be2": 10}' \
	-u -n 10 198.18.100.1 80
probe_is "tcp VIP 2001:db8:100::1 answered by be2 (DSR)" '.ok == 10 and .backends == {"be2": 10}' \
	-n 10 2001:db8:100::1 80
probe_is "udp VIP 2001:db8:100::1 answered by be2 (DSR)" '.ok == 10 and .backends == {"be2": 10}' \
	-u -n 10 2001:db8:100::1 80
in_ns router ip route del 198.18.100.1/32
in_ns router ip -6 route del 2001:db8:100::1/128

# ---------------------------------------------------------------- XDP_TX
# Stand in for xlb with a tiny XDP program on the lb: frames for a VIP leave
# again through XDP_TX with be1's MAC. Checks what the load balancer relies
# on: the router-side peer wakes up for XDP_TX frames, and the client's
# checksums survive it.
xdp_tx_checks() {
	local obj=$FAKE/lab_tx.o
	clang -O2 -g -target bpf -I"/usr/include/$(gcc -dumpmachine)" -x c -c -o "$obj" - <<'EOF' || return 1
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp") int lab_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	unsigned char be1[ETH_ALEN] = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x0b};
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end ||
		    (ip->daddr & bpf_htonl(0xffffff00)) != bpf_htonl(0xc6126400))
			return XDP_PASS; /* not 198.18.100.0/24 */
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end ||
		    ip6->daddr.in6_u.u6_addr32[0] != bpf_htonl(0x20010db8) ||
		    ip6->daddr.in6_u.u6_addr32[1] != bpf_htonl(0x01000000))
			return XDP_PASS; /* not 2001:db8:100::/64 */
	} else {
		return XDP_PASS;
	}
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, be1, ETH_ALEN);
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
EOF
	in_ns lb ip link set dev eth0 xdpdrv obj "$obj" sec xdp || return 1
	probe_is "XDP_TX: tcp VIP 198.18.100.7 reaches be1" '.ok == 20 and .backends == {"be1": 20}' \
		-n 20 -t 1000 198.18.100.7 443
	probe_is "XDP_TX: udp VIP 198.18.100.7 reaches be1" '.ok == 20 and .backends == {"be1": 20}' \
		-u -n 20 -t 1000 198.18.100.7 443
	probe_is "XDP_TX: tcp VIP 2001:db8:100::7 reaches be1" '.ok == 20 and .backends == {"be1": 20}' \
		-n 20 -t 1000 2001:db8:100::7 443
	probe_is "XDP_TX: udp VIP 2001:db8:100::7 reaches be1" '.ok == 20 and .backends == {"be1": 20}' \
		-u -n 20 -t 1000 2001:db8:100::7 443
	in_ns lb ip link set dev eth0 xdpdrv off
}
if command -v clang >/dev/null; then
	FAKE=$(mktemp -d)
	xdp_tx_checks || fail "XDP_TX: cannot build or attach the test program"
else
	echo "# skipping the XDP_TX checks: clang not found"
fi

# ---------------------------------------------------------------- hold
coproc HOLD { exec nsenter --net="/run/netns/$P-client" "$PROBE" --hold -j -n 20 -T 30 \
	198.18.0.11 80 2>/dev/null; }
HOLDER=$HOLD_PID
line=""
read -t 10 -r line <&"${HOLD[0]}"
check "hold: ready" [ "$line" = ready ]
echo check >&"${HOLD[1]}"
line=""
read -t 10 -r line <&"${HOLD[0]}"
check "hold: check 1 keeps all 20" json_is '.check == 1 and .kept == 20 and .broken == 0' "$line"
kill -TERM "$(cat "/run/xlb-lab/$P/be1.pid")"
sleep 0.3
echo check >&"${HOLD[1]}"
line=""
read -t 10 -r line <&"${HOLD[0]}"
check "hold: check 2 sees all 20 broken after be1 stops" \
	json_is '.check == 2 and .kept == 0 and .broken == 20' "$line"
eval "exec ${HOLD[1]}>&-"
wait "$HOLDER"
check "hold: exits 1 at end of input after a broken check" [ $? = 1 ]
HOLDER=""

# ---------------------------------------------------------------- idempotence
"$LAB" down "$P"
check "down" [ $? = 0 ]
check "down removes every namespace" [ "$(lab_nss)" = 0 ]
"$LAB" up "$P" 2 >/dev/null
check "up (first)" [ $? = 0 ]
"$LAB" up "$P" 2 >/dev/null
check "up again on the same prefix" [ $? = 0 ]
check "still 5 namespaces" [ "$(lab_nss)" = 5 ]
check "one echo server per backend" \
	[ "$(ip netns pids "$P-be1" | wc -l),$(ip netns pids "$P-be2" | wc -l)" = "1,1" ]
probe_is "be1 answers after the second up" '.ok == 5 and .backends == {"be1": 5}' -n 5 198.18.0.11 80
pids=$(cat /run/xlb-lab/"$P"/*.pid)
"$LAB" down "$P"
check "down" [ $? = 0 ]
"$LAB" down "$P"
check "down again (absent lab)" [ $? = 0 ]
check "no namespaces left" [ "$(lab_nss)" = 0 ]
check "no run dir left" [ ! -e "/run/xlb-lab/$P" ]
gone=1
# A zombie is gone too: init reaps the servers, whose parent lab.sh exited.
for pid in $pids; do
	st=$(ps -o stat= -p "$pid" 2>/dev/null)
	[ -n "$st" ] && [[ $st != Z* ]] && gone=0
done
check "echo servers gone" [ $gone = 1 ]

# ---------------------------------------------------------------- failures
XLB_BUILD=/nonexistent "$LAB" up "$P" 1 >/dev/null 2>&1
check "up without binaries fails" [ $? != 0 ]
# An echo server that dies at once: up must fail late and tear down.
[ -n "$FAKE" ] || FAKE=$(mktemp -d)
printf '#!/bin/sh\nexit 1\n' >"$FAKE/xlb-echo"
chmod +x "$FAKE/xlb-echo"
ln -s "$PROBE" "$FAKE/xlb-probe"
XLB_BUILD=$FAKE "$LAB" up "$P" 1 >/dev/null 2>"$FAKE/err"
check "up with a dead echo server fails" [ $? != 0 ]
check "... with a message" grep -q "^Error: " "$FAKE/err"
check "... and tears down what it built" [ "$(lab_nss)" = 0 ]
check "... including the run dir" [ ! -e "/run/xlb-lab/$P" ]
"$LAB" up "bad-prefix" >/dev/null 2>&1
check "a bad prefix is a usage error" [ $? = 2 ]

echo "lab-selftest: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
