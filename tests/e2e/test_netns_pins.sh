#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_netns_pins.sh: xlbd in a named network namespace keeps its pins only on
# the host's bpffs. `ip netns exec` gives it a mount namespace of its own with
# a fresh /sys and no bpffs: what xlbd pinned there would die with it and the
# next xlbd would adopt nothing. Checks that xlbd refuses that (and changes
# nothing), runs with a warning under --private-bpffs, and that under
# `nsenter --net=` a start, a kill and a second start adopt the pinned
# connection table. Run as root; prints "test_netns_pins: N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xp$((RANDOM % 10000))
NS=$P-lb
IF=$P
FILL=1000

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init netns_pins
for b in xlb-connfill; do
	[ -x "$BUILD/$b" ] || { echo "test_netns_pins: $BUILD/$b missing, run make first"; exit 1; }
done
quiet() { "$@" >/dev/null 2>&1; }
# The namespace's cookie names its pin and lock directories (user/netns.c).
cookie() {
	nx lb python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little"))'
}
xdp_on() { ip -n "$NS" -d link show "$IF" | grep -q 'prog/xdp'; }
# map_id PIN: the id of the map pinned at PIN on the host's bpffs
map_id() { bpftool map show pinned "$1" -j | json_get 'd["id"]'; }
# conns_now: the entries xlbd counts in its connection table, once counted
conns_now() {
	local n
	for _ in $(seq 50); do
		n=$(ctl -j stats | json_get 'd["conntrack"]["entries"]' 2>/dev/null)
		[[ $n =~ ^[0-9]+$ ]] && { echo "$n"; return 0; }
		sleep 0.1
	done
	return 1
}

cleanup() {
	set +e
	stop_xlbds
	if [ -e "/run/netns/$NS" ]; then
		nx lb "$XLBD" -i "$IF" --detach >/dev/null 2>&1
		# A dispatcher whose libxdp pins died with a private bpffs.
		xdp_on && ip -n "$NS" link set dev "$IF" xdp off
		ip netns del "$NS"
	fi
	if [ -n "${C:-}" ]; then
		rm -rf "/sys/fs/bpf/xlb/netns-$C/$IF"
		rm -f "/run/xlb/netns-$C/$IF.lock"
		rmdir "/sys/fs/bpf/xlb/netns-$C" "/run/xlb/netns-$C" 2>/dev/null
	fi
	if [ "$failed" != 0 ] && [ -s "$LOG" ]; then
		echo "--- xlbd log (last 30 lines)"
		tail -n 30 "$LOG"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "== namespace $NS"
ip netns add "$NS" || exit 1
ip -n "$NS" link add "$IF" type veth peer name "${IF}p" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" link set "$IF" up
ip -n "$NS" link set "${IF}p" up
ip -n "$NS" addr add 198.18.7.1/24 dev "$IF"
C=$(cookie)
PINS=/sys/fs/bpf/xlb/netns-$C/$IF
check "the namespace has a cookie ($C)" test -n "$C"

echo "== ip netns exec: refused, nothing changed"
out=$(timeout 20 ip netns exec "$NS" "$XLBD" -i "$IF" -S "$SOCK" -r "$RULES" 2>&1)
rc=$?
echo "$out" | sed 's/^/    | /'
check "xlbd exits with status 1 (got $rc)" test "$rc" = 1
check "the message says why: a mount namespace of its own, pins dying with it" \
	grep -q "runs in a mount namespace of its own (as under 'ip netns exec'.*would die with this process" <<<"$out"
check "the message says what is lost: the connection table" \
	grep -q "the connection table lost" <<<"$out"
check "the message says how: nsenter --net=/run/netns/$NS" \
	grep -qF "'nsenter --net=/run/netns/$NS xlbd ...'" <<<"$out"
check "the message names --private-bpffs" grep -qF -- "--private-bpffs" <<<"$out"
check "no XDP program on $IF" quiet test ! "$(xdp_on && echo on)"
check "no rules file written" test ! -e "$RULES"
check "no control socket" test ! -e "$SOCK"
check "no pins on the host's bpffs" test ! -e "$PINS"
check "no lock directory" test ! -e "/run/xlb/netns-$C"

echo "== ip netns exec --private-bpffs: runs, warns"
setsid ip netns exec "$NS" "$XLBD" -i "$IF" -S "$SOCK" -r "$RULES" --private-bpffs \
	>>"$LOG" 2>&1 &
XLBD_PID=$!
XLBD_PIDS+=("$XLBD_PID")
for _ in $(seq 100); do
	ctl list >/dev/null 2>&1 && break
	alive "$XLBD_PID" || break
	sleep 0.1
done
check "xlbd answers" quiet ctl list
check "xlbd warns that its pins die with the mount namespace" \
	grep -q "warn .*interface $IF: the pins in $PINS are on a bpffs private to this mount namespace (as allowed by the option): they die with it, and the next xlbd would start with empty maps" "$LOG"
check "the warning says how to keep them" grep -qF "'nsenter --net=/run/netns/$NS xlbd ...'" "$LOG"
check "xlb is on $IF" xdp_on
check "a VIP can be added" quiet ctl vip add 198.18.100.1:80/tcp
check "its pins are not on the host's bpffs" test ! -e "$PINS/xlb_conns"
stop_xlbds
XLBD_PIDS=()
nx lb "$XLBD" -i "$IF" --detach >/dev/null 2>&1
xdp_on && ip -n "$NS" link set dev "$IF" xdp off
check "xlb is off $IF again" quiet test ! "$(xdp_on && echo on)"
rm -f "$RULES"

echo "== nsenter --net: start, kill, start adopts the connection table"
start_xlbd "$NS" "$IF" || exit 1
check "no warning about a private bpffs" quiet test ! "$(grep 'private to this mount namespace' "$LOG" | grep -v 'as allowed')"
check "vip add" quiet ctl vip add 198.18.100.1:80/tcp
check "backend add" quiet ctl backend add 198.18.100.1:80/tcp 198.18.7.2
check "pins on the host's bpffs" test -e "$PINS/xlb_conns"
out=$(timeout 30 "$BUILD/xlb-connfill" "$PINS/xlb_conns" --fill "$FILL" 2>&1)
check "connection table filled ($out)" test $? = 0
id1=$(map_id "$PINS/xlb_conns")
n1=$(conns_now)
check "xlbd counts $FILL entries (got ${n1:-none})" test "${n1:-0}" -ge "$FILL"
kill -KILL -- "-$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null
check "xlb keeps forwarding after the kill" xdp_on
start_xlbd "$NS" "$IF" || exit 1
id2=$(map_id "$PINS/xlb_conns")
check "the second xlbd keeps the pinned connection table (map id $id1 -> $id2)" \
	test -n "$id1" -a "$id1" = "$id2"
n2=$(conns_now)
check "and counts its $FILL entries (got ${n2:-none})" test "${n2:-0}" -ge "$FILL"

summary test_netns_pins
