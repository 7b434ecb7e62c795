#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test_cli.sh: xlbd and xlbctl end to end in a private network namespace: the
# grammar in plain and JSON form, refusal of bad input of every kind (state
# unchanged), garbage on the control socket, restarts that keep the program
# and its state, a second daemon, and detach. No traffic: the lab tests that.
# Run as root from anywhere; prints "test_cli: N passed, M failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init cli

# Random names: several runs (and other tests) may share the host. Pins and
# locks are named by interface, so the names must be unique host-wide.
ID=$RANDOM$RANDOM
NS=xlbd$ID
IFA=xc${ID:0:10}a
IFB=xc${ID:0:10}b
# Small sizes: limits are quick to reach and rings quick to build.
SIZES=(--max-vips 4 --max-backends 6 --ring-size 251 --conns 1024)

# Pins and locks live under a netns-ID directory outside the initial
# namespace (user/netns.c): find them by the interface's name.
pin_of() { find /sys/fs/bpf/xlb -mindepth 1 -maxdepth 2 -type d -name "$1" 2>/dev/null; }
lock_of() { find /run/xlb -mindepth 1 -maxdepth 2 -name "$1.lock" 2>/dev/null; }

cleanup() {
	stop_xlbds
	if [ -e "/run/netns/$NS" ]; then
		nsenter --net="/run/netns/$NS" "$XLBD" -i "$IFA" --detach >/dev/null 2>&1
		ip netns del "$NS"
	fi
	for d in $(pin_of "$IFA") $(pin_of "$IFB") $(lock_of "$IFA") $(lock_of "$IFB"); do
		rm -rf "$d"
	done
	rmdir /sys/fs/bpf/xlb/netns-* /sys/fs/bpf/xlb /run/xlb/netns-* 2>/dev/null
	if [ "$failed" != 0 ] && [ -s "$LOG" ]; then
		echo "--- xlbd log (last 40 lines)"
		tail -n 40 "$LOG"
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

innet() {
	nsenter --net="/run/netns/$NS" "$@"
}
attached() {
	ip -n "$NS" link show "$IFA" | grep -q "prog/xdp"
}

# Starts xlbd in the namespace with the small sizes; sets XLBD_PID.
start_daemon() {
	start_xlbd "$NS" "$IFA" "${SIZES[@]}" "$@"
}

# expect_fail CODE COMMAND...: refused with CODE and an "Error:" message, in
# plain and JSON mode, and the configuration is unchanged.
expect_fail() {
	local want=$1 before after out rc
	shift
	before=$(ctl save)
	out=$(ctl "$@" 2>"$T/err")
	rc=$?
	after=$(ctl save)
	if [ "$rc" != "$want" ]; then
		fail "refuse '$*': exit $rc, wanted $want ($(cat "$T/err"))"
	elif ! grep -q "^Error: ..*" "$T/err" || [ -n "$out" ]; then
		fail "refuse '$*': no 'Error:' message on stderr (stdout: $out)"
	elif [ "$before" != "$after" ]; then
		fail "refuse '$*': configuration changed"
	else
		out=$(ctl -j "$@" 2>/dev/null)
		rc=$?
		if [ "$rc" != "$want" ] ||
			[ "$(echo "$out" | json_get '"error" in d and len(d["error"]) > 10' 2>/dev/null)" != True ]; then
			fail "refuse '$*' (-j): exit $rc, output $out"
		else
			ok "refuse '$*' ($want): $(sed 's/^Error: //' "$T/err")"
		fi
	fi
}

# ---- setup ------------------------------------------------------------------
ip netns add "$NS" || exit 1
ip -n "$NS" link add "$IFA" type veth peer name "$IFB" || exit 1
ip -n "$NS" link set lo up
ip -n "$NS" link set "$IFA" up
ip -n "$NS" link set "$IFB" up
ip -n "$NS" addr add 198.18.7.1/24 dev "$IFA"
ip -n "$NS" addr add 198.18.7.2/24 dev "$IFB"
# xlbd's outer sources: 198.18.7.1 and this one (IPv6 backends need it).
ip -n "$NS" addr add 2001:db8:7::1/64 dev "$IFA" nodad

V4=198.18.100.1:80/tcp
V6=[2001:db8:100::1]:443/tcp
VALL=198.18.100.2:0/udp

if start_daemon; then ok "xlbd starts on $IFA"; else
	fail "xlbd starts on $IFA"
	exit 1
fi
check "program attached to $IFA" attached
check "control socket is mode 0600" test "$(stat -c %a "$SOCK")" = 600
check "rules file created" test -f "$RULES"

# ---- the grammar ------------------------------------------------------------
# Nothing answers checks here: the VIPs whose state is asserted have them off.
check "vip add (checks off)" ctl vip add $V4 check none
check "vip add IPv6, sched sh, conntrack off" ctl vip add "$V6" sched sh conntrack off check none
check "vip add all ports" ctl v a $VALL conntrack off
check "backend add" ctl backend add $V4 198.18.0.11
check "backend add weight" ctl backend add $V4 198.18.0.12 weight 3
check "backend add IPv6 to IPv4 VIP (4in6)" ctl b a $V4 2001:db8::13 weight 2
check "backend add IPv6 bracketed" ctl backend add "$V6" "[2001:db8::21]"
check "backend add to all-ports VIP" ctl backend add $VALL 198.18.0.31
check "backend set weight 0 (drain)" ctl backend set $V4 2001:db8::13 weight 0
check "vip set sched" ctl vip set $VALL sched sh
check "-j change prints {}" test "$(ctl -j backend add $VALL 198.18.0.32 weight 5)" = "{}"
check "backend del" ctl backend del $VALL 198.18.0.32

# Health-check options: on a VIP (its backends' defaults), on a backend (an
# override), and in save, list and the rules file.
VH=198.18.100.7:8080/tcp
check "vip add with an http check and fail-open off" \
	ctl vip add $VH fail-open off check http path /healthz host svc.example status 204 interval 500 timeout 200 rise 3 fall 4
check "backend add with an override" ctl backend add $VH 198.18.0.51 check port 9000 fall 1
check "save keeps the clauses as given" test "$(ctl save | grep -c -e \
	"^vip add $VH sched maglev conntrack on fail-open off check http interval 500 timeout 200 rise 3 fall 4 path /healthz host svc.example status 204\$" -e \
	"^backend add $VH 198.18.0.51 weight 1 check port 9000 fall 1\$")" = 2
out=$(ctl -j list)
check "-j list: the effective check of an overriding backend" test "$(json_get '[b["health"]["check"]["clause"] for v in d["vips"] if v["vip"]=="'$VH'" for b in v["backends"] if b["address"]=="198.18.0.51"][0]' <<<"$out")" = \
	"check http port 9000 interval 500 timeout 200 rise 3 fall 1 path /healthz host svc.example status 204"
check "-j list: VIP fail_open off and its check" test "$(json_get '[(v["fail_open"], v["failing_open"], v["check"]["kind"], v["check"]["port"]) for v in d["vips"] if v["vip"]=="'$VH'"][0]' <<<"$out")" = "('off', False, 'http', 8080)"
check "-j list: unchecked VIP says none" test "$(json_get '[v["check"]["kind"] for v in d["vips"] if v["vip"]=="'$V4'"][0]' <<<"$out")" = none
check "list: health column" grep -q "backend 198.18.0.12 weight 3 active packets 0 bytes 0 health unchecked" < <(ctl list)
check "list: the check under its VIP" grep -q "^    check http port 8080 interval 500 timeout 200 rise 3 fall 4 path /healthz host svc.example status 204" < <(ctl list)
check "backend set check replaces the override" ctl backend set $VH 198.18.0.51 check udp send "ping\n" expect pong
check "send/expect escapes survive save" grep -q "^backend add $VH 198.18.0.51 weight 1 check udp send ping\\\\n expect pong\$" < <(ctl save)
check "backend set check default drops the override" ctl backend set $VH 198.18.0.51 check default
check "no override left" grep -q "^backend add $VH 198.18.0.51 weight 1\$" < <(ctl save)
check "-j list: the backend now runs its VIP's check" test "$(ctl -j list | json_get '[b["health"]["check"]["clause"] for v in d["vips"] if v["vip"]=="'$VH'" for b in v["backends"]][0]')" = \
	"check http port 8080 interval 500 timeout 200 rise 3 fall 4 path /healthz host svc.example status 204"
check "vip set fail-open on, check none" ctl vip set $VH fail-open on check none
check "vip set kept sched and took the rest" grep -q "^vip add $VH sched maglev conntrack on fail-open on check none\$" < <(ctl save)
check "stats shows the checker" grep -q "^health: 6 backends up, 0 down" < <(ctl stats)
check "vip del with checked backends" ctl vip del $VH
# One restore may move an option from a VIP to its backends.
VA=198.18.100.8:0/tcp
printf '%s\n' "vip add $VA check port 80" "backend add $VA 198.18.0.61 check http" >"$T/move1.rules"
printf '%s\n' "vip add $VA" "backend add $VA 198.18.0.61 check http port 80" >"$T/move2.rules"
cat "$RULES" >>"$T/move1.rules"
cat "$RULES" >>"$T/move2.rules"
check "restore: the port on the all-ports VIP" ctl restore "$T/move1.rules"
check "restore: the port moved to the backend" ctl restore "$T/move2.rules"
check "the backend's check is http to port 80" test "$(ctl -j list | json_get '[b["health"]["check"]["clause"] for v in d["vips"] if v["vip"]=="'$VA'" for b in v["backends"]][0]')" = \
	"check http port 80 interval 1000 timeout 1000 rise 2 fall 2 path / status 200"
check "vip del $VA" ctl vip del $VA

out=$(ctl list)
check "list shows the VIP with sched and conntrack" \
	grep -q "^vip $V4 sched maglev conntrack on packets 0 bytes 0" <<<"$out"
check "list shows a backend with weight and state" \
	grep -q "backend 198.18.0.12 weight 3 active packets" <<<"$out"
check "list shows a draining backend" grep -q "backend 2001:db8::13 weight 0 draining" <<<"$out"
check "list shows sh and conntrack off" \
	grep -q "^vip \[2001:db8:100::1\]:443/tcp sched sh conntrack off" <<<"$out"
out=$(ctl -j list)
check "-j list is JSON" is_json <<<"$out"
check "-j list: 3 VIPs, 3 backends in $V4" test \
	"$(json_get 'len(d["vips"]), [len(v["backends"]) for v in d["vips"] if v["vip"]=="'$V4'"][0]' <<<"$out")" = "3 3"
check "-j list: fields" test "$(json_get '[(v["sched"], v["conntrack"], v["backends"][0]["state"]) for v in d["vips"] if v["proto"]=="udp"][0]' <<<"$out")" = "('sh', 'off', 'active')"
check "-j -p list is JSON" is_json < <(ctl -j -p list)

out=$(ctl stats)
check "stats prints counters by reason" grep -q "^conn_hit " <<<"$out"
check "stats prints the connection table" grep -q "^conntrack: 0 entries" <<<"$out"
out=$(ctl -j stats)
check "-j stats is JSON with counters and conntrack" test \
	"$(json_get '"pass_not_vip" in d["counters"] and "hits" in d["conntrack"] and d["limits"]["vips"]' <<<"$out")" = 3

out=$(ctl -j lookup $V4 198.18.1.2:40000)
check "-j lookup is JSON with backend" test \
	"$(json_get 'd["backend"] in ("198.18.0.11","198.18.0.12")' <<<"$out")" = True
check "-j lookup never picks a draining backend" test \
	"$(for p in $(seq 40000 40031); do ctl -j lookup $V4 198.18.1.2:$p; done | grep -c 2001:db8::13)" = 0
check "lookup plain" grep -q "^198.18.1.2:40000 -> $V4: backend 198.18.0.1[12] " < <(ctl lookup $V4 198.18.1.2:40000)
check "lookup on a port of an all-ports VIP" test \
	"$(ctl -j lookup 198.18.100.2:53/udp 198.18.1.2:5353 | json_get 'd["backend"]')" = 198.18.0.31
check "lookup IPv6" test \
	"$(ctl -j lookup "$V6" "[2001:db8:1::2]:40000" | json_get 'd["backend"]')" = 2001:db8::21

check "save equals the rules file" test "$(ctl save)" = "$(cat "$RULES")"
check "-j save is JSON" test "$(ctl -j save | json_get 'len(d["rules"])')" = 8
check "help" grep -q "backend add VIP ADDR" < <(ctl help)
check "-h" grep -q "lookup VIP SRC_ADDR:SRC_PORT" < <(ctl -h)
check "vip help" grep -q "vip set VIP" < <(ctl vip help)
check "backend add --help" grep -q "backend set VIP ADDR \[weight N\] \[slow-start S\] \[CHECK\]" < <(ctl backend add --help)
check "help explains CHECK" grep -q "check \[tcp|http|udp|none\]" < <(ctl help)
check "-j help is JSON" is_json < <(ctl -j help vip)

# restore: a file replaces the configuration, touching only what differs.
printf '%s\n' "# test rules" "vip add $V4" "backend add $V4 198.18.0.11 weight 4" \
	"backend add $V4 198.18.0.14   # new" "vip add $VALL sched sh conntrack off" \
	"backend add $VALL 198.18.0.31" >"$T/good.rules"
ids_before=$(ctl -j list | json_get '[b["id"] for v in d["vips"] for b in v["backends"] if b["address"]=="198.18.0.11"]')
check "restore FILE" ctl restore "$T/good.rules"
check "restore result" test "$(ctl save | wc -l)" = 5
check "restore kept the id of an unchanged backend" test \
	"$(ctl -j list | json_get '[b["id"] for v in d["vips"] for b in v["backends"] if b["address"]=="198.18.0.11"]')" = "$ids_before"
check "restore relative path, -j" test \
	"$(cd "$T" && "$XLBCTL" -S "$SOCK" -j restore good.rules | json_get 'd["vips"], d["backends"]')" = "2 3"
check "restore (the daemon's rules file)" ctl restore
check "rules file follows every change" test "$(ctl save)" = "$(cat "$RULES")"
check "vip del" ctl vip del $VALL
check "vip add again" ctl vip add $VALL conntrack off
check "backend add again" ctl backend add $VALL 198.18.0.31

# ---- bad input: refused, nothing changed -------------------------------------
expect_fail 2 vip add 198.18.100.300:80/tcp
expect_fail 2 vip add 198.18.100.9:65536/tcp
expect_fail 2 vip add 198.18.100.9:-1/tcp
expect_fail 2 vip add 198.18.100.9:80/sctp
expect_fail 2 vip add 198.18.100.9:80
expect_fail 2 vip add 2001:db8::9:80/tcp
expect_fail 1 vip add 198.18.100.9:80/tcp sched lc conntrack off
expect_fail 2 vip add 198.18.100.9:80/tcp sched lcx
expect_fail 2 vip add 198.18.100.9:80/tcp conntrack maybe
expect_fail 2 vip add 198.18.100.9:80/tcp frobnicate
expect_fail 2 vip add 198.18.100.9:80/tcp sched
expect_fail 2 vip add 198.18.100.9:80/tcp sched sh sched maglev
expect_fail 2 vip add
expect_fail 2 vip
expect_fail 2 vip frob 198.18.100.9:80/tcp
expect_fail 2 frob
expect_fail 2 s
expect_fail 2 l
expect_fail 2 detac
expect_fail 2 ""
expect_fail 2 -x list
expect_fail 1 vip add $V4
expect_fail 1 vip del 198.18.100.9:80/tcp
expect_fail 1 vip set 198.18.100.9:80/tcp sched sh
expect_fail 2 backend add "$V6" 198.18.0.1
expect_fail 2 backend add $V4 198.18.0.256
expect_fail 2 backend add $V4 198.18.0.1:80
expect_fail 2 backend add $V4
expect_fail 1 backend add 198.18.100.9:80/tcp 198.18.0.1
expect_fail 1 backend add $V4 198.18.0.11
expect_fail 2 backend add $V4 198.18.0.77 weight 65536
expect_fail 2 backend add $V4 198.18.0.77 weight -1
expect_fail 2 backend add $V4 198.18.0.77 weight abc
expect_fail 2 backend add $V4 198.18.0.77 weight
expect_fail 2 backend add $V4 198.18.0.77 weight 1 weight 2
expect_fail 1 backend set $V4 198.18.0.77 weight 3
# health-check grammar
expect_fail 2 vip add 198.18.100.9:80/tcp check
expect_fail 2 vip add 198.18.100.9:80/tcp check icmp
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp interval 50
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp interval 500 timeout 900
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp rise 0
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp fall 101
expect_fail 2 vip add 198.18.100.9:80/tcp check none interval 500
expect_fail 2 vip add 198.18.100.9:80/tcp check http path nopath
expect_fail 2 vip add 198.18.100.9:80/tcp check http status 99
expect_fail 2 vip add 198.18.100.9:80/tcp check http path '/a"b'
expect_fail 2 vip add 198.18.100.9:80/tcp check http host '#x'
expect_fail 2 vip add 198.18.100.9:80/tcp check http path '/a\b' 
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp port 0
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp rise 2 rise 3
expect_fail 2 vip add 198.18.100.9:80/tcp check tcp check udp
expect_fail 2 vip add 198.18.100.9:80/tcp fail-open maybe
expect_fail 2 vip add 198.18.100.9:80/tcp fail-open
expect_fail 2 backend add $V4 198.18.0.77 check udp send "\\xZZ"
expect_fail 1 vip add 198.18.100.9:0/tcp check tcp
expect_fail 1 backend add $VALL 198.18.0.77 check http
expect_fail 1 vip set $VALL check udp
expect_fail 2 backend set $V4 198.18.0.11
expect_fail 1 backend del $V4 198.18.0.77
expect_fail 2 backend del $V4 198.18.0.11 extra
expect_fail 2 list extra
expect_fail 2 stats extra
expect_fail 2 lookup $V4
expect_fail 2 lookup $V4 198.18.1.1
expect_fail 2 lookup $V4 198.18.1.1:0
expect_fail 2 lookup $V4 "[2001:db8::1]:5"
expect_fail 1 lookup 198.18.100.9:80/tcp 198.18.1.1:5
expect_fail 2 restore a b
expect_fail 1 restore "$T/nonexistent"
printf '%s\n' "vip add 198.18.100.60:80/tcp" "backend add 198.18.100.60:80/tcp 198.18.0.5" \
	"backend add 198.18.100.60:80/tcp 198.18.0.5" >"$T/dup.rules"
expect_fail 1 restore "$T/dup.rules"
printf '%s\n' "vip add 198.18.100.60:80/tcp" "backend add 198.18.100.60:80/tcp 198.18.0.500" \
	>"$T/syntax.rules"
expect_fail 1 restore "$T/syntax.rules"
# Unusable addresses: no packet to them reaches one host through a router.
for a in 0.0.0.0 [::] 0.1.2.3 127.0.0.1 [::1] 169.254.1.1 [fe80::1] 224.0.0.1 \
	[ff02::1] 255.255.255.255 [::ffff:198.18.100.9]; do
	expect_fail 2 vip add "$a:80/tcp"
done
for a in 0.0.0.0 :: 0.1.2.3 127.0.0.1 ::1 169.254.1.1 fe80::1 224.0.0.5 ff05::2 \
	255.255.255.255 ::ffff:198.18.0.9; do
	expect_fail 2 backend add $V4 "$a"
done
check "refused: the reason and what is valid" grep -q \
	"^Error: backend 127.0.0.1 is a loopback address, which never leaves its host, expected the unicast address of another host" \
	< <(ctl backend add $V4 127.0.0.1 2>&1)
check "refused: the IPv4 that an IPv4-mapped address meant" grep -q "expected the IPv4 backend 198.18.0.9\$" \
	< <(ctl backend add $V4 ::ffff:198.18.0.9 2>&1)
# xlbd's own outer sources (the addresses of $IFA): its tunnels would come back.
expect_fail 1 backend add $V4 198.18.7.1
expect_fail 1 backend add "$V6" 2001:db8:7::1
check "own outer source: says so" grep -q "^Error: backend 198.18.7.1 is this load balancer's own outer source (198.18.7.1)" \
	< <(ctl backend add $V4 198.18.7.1 2>&1)
printf '%s\n' "vip add 198.18.100.60:80/tcp" "backend add 198.18.100.60:80/tcp 198.18.0.5" \
	"backend add 198.18.100.60:80/tcp 198.18.7.1" >"$T/self.rules"
expect_fail 1 restore "$T/self.rules"
check "restore: refused at the line of the LB's own address" grep -q "^Error: $T/self.rules:3: backend 198.18.7.1 is this" \
	< <(ctl restore "$T/self.rules" 2>&1)
printf '%s\n' "vip add 198.18.100.60:80/tcp" "backend add 198.18.100.60:80/tcp 239.1.1.1" >"$T/mcast.rules"
expect_fail 1 restore "$T/mcast.rules"
printf '%s\n' "vip add 198.18.100.60:80/tcp" "list" >"$T/verb.rules"
expect_fail 1 restore "$T/verb.rules"
printf '%s\n' "backend add 198.18.100.61:80/tcp 198.18.0.5" >"$T/novip.rules"
expect_fail 1 restore "$T/novip.rules"
head -c 3000 /dev/urandom >"$T/garbage.rules"
expect_fail 1 restore "$T/garbage.rules"
# Limits (xlbd runs with --max-vips 4 --max-backends 6).
check "fill the VIP slots" ctl vip add 198.18.100.3:80/tcp
check "fill the VIP slots" ctl vip add 198.18.100.4:80/tcp
expect_fail 1 vip add 198.18.100.5:80/tcp
printf 'vip add 198.18.100.%d:80/tcp\n' 1 2 3 4 5 >"$T/many.rules"
expect_fail 1 restore "$T/many.rules"
for a in 41 42 43; do
	check "fill the backend slots" ctl backend add 198.18.100.3:80/tcp 198.18.0.$a
done
expect_fail 1 backend add 198.18.100.4:80/tcp 198.18.0.44
check "free the slots" ctl vip del 198.18.100.3:80/tcp
check "free the slots" ctl vip del 198.18.100.4:80/tcp

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$XLBCTL" -S "$SOCK" list 2>&1)
check "non-root xlbctl is refused" test $? = 1 -a -n "$out"

# ---- garbage on the socket -----------------------------------------------------
before=$(ctl save)
python3 - "$SOCK" <<'EOF'
import os, socket, sys, time
path = sys.argv[1]
payloads = [os.urandom(100000), b'["list"', b'{"a":1}\n', b'[1,2]\n', b'["a\\u0000"]\n',
            b'\n', b'', b'x' * 70000 + b'\n', b'[' + b'"list",' * 1000 + b'"x"]\n',
            b'["vip","add","198.18.100.9:80/tcp"', bytes(range(256)) * 10]
for p in payloads:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    try:
        s.sendall(p)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        s.recv(65536)
    except OSError:
        pass
    s.close()
# Clients that connect and say nothing, more than the daemon serves at once.
idle = []
for _ in range(80):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        idle.append(s)
    except OSError:
        break
time.sleep(0.2)
for s in idle:
    s.close()
EOF
check "xlbd survives garbage on the socket" alive "$XLBD_PID"
check "xlbctl works after garbage" ctl list
check "garbage changed nothing" test "$(ctl save)" = "$before"

# ---- restarts keep the program, the maps and the ids ---------------------------
save_before=$(ctl save)
ids_before=$(ctl -j list | json_get '[(v["id"], [b["id"] for b in v["backends"]]) for v in d["vips"]]')
{
	kill -KILL "$XLBD_PID"
	wait "$XLBD_PID"
} 2>/dev/null
check "kill -9: program stays attached" attached
out=$(ctl list 2>&1)
check "xlbctl without a daemon: exit 1 and a message" test $? = 1 -a -n "$out"
if start_daemon; then ok "restart after kill -9 (stale socket replaced)"; else fail "restart after kill -9"; fi
check "restart: same configuration" test "$(ctl save)" = "$save_before"
check "restart: same VIP and backend ids" test \
	"$(ctl -j list | json_get '[(v["id"], [b["id"] for b in v["backends"]]) for v in d["vips"]]')" = "$ids_before"
check "restart: program attached" attached
grep -q "adopted the pinned maps" "$LOG"
check "restart: pinned maps adopted" test $? = 0

# SIGHUP re-reads the rules file.
cp "$RULES" "$T/rules.keep"
echo "backend add $V4 198.18.0.15 weight 9" >>"$RULES"
kill -HUP "$XLBD_PID"
for _ in $(seq 50); do
	ctl save | grep -q 198.18.0.15 && break
	sleep 0.1
done
check "SIGHUP reloads the rules file" grep -q "backend add $V4 198.18.0.15 weight 9" < <(ctl save)
cp "$T/rules.keep" "$RULES"
check "restore back" ctl restore
check "restore back: same configuration" test "$(ctl save)" = "$save_before"

# A second xlbd on the same interface is refused with a clear message.
out=$(innet "$XLBD" -i "$IFA" -S "$T/other.sock" -r "$T/other.rules" 2>&1)
rc=$?
check "second xlbd on $IFA: exit 1" test $rc = 1
check "second xlbd on $IFA: says another xlbd manages it" grep -q "another xlbd.*manages $IFA" <<<"$out"
# A live socket is refused, also for another interface.
out=$(innet "$XLBD" -i "$IFB" -S "$SOCK" -r "$T/other.rules" 2>&1)
rc=$?
check "socket in use: exit 1 and message" test $rc = 1 -a -n "$(grep 'in use' <<<"$out")"
check "socket in use: nothing left on $IFB" test -z "$(pin_of "$IFB")$(lock_of "$IFB")"
check "socket in use: first xlbd still serves" ctl list
out=$(innet "$XLBD" -i "nosuch${ID:0:6}" -S "$T/other.sock" 2>&1)
check "no such interface: exit 1 and message" test $? = 1 -a -n "$(grep 'no such interface' <<<"$out")"
out=$(innet "$XLBD" -i "$IFB" --ring-size 100 2>&1)
check "bad option value: exit 2" test $? = 2 -a -n "$(grep '^Error: bad --ring-size' <<<"$out")"
out=$(innet "$XLBD" -i "$IFB" --frob 2>&1)
check "unknown option: exit 2" test $? = 2
out=$(innet setpriv --reuid=65534 "$XLBD" -i "$IFB" 2>&1)
check "not root: exit 1 and message" test $? = 1 -a -n "$(grep 'must run as root' <<<"$out")"

# SIGTERM leaves xlb forwarding; other sizes cannot adopt the pinned maps.
kill -TERM "$XLBD_PID"
wait "$XLBD_PID"
check "SIGTERM: exit 0" test $? = 0
check "SIGTERM: program stays attached" attached
check "SIGTERM: socket removed" test ! -e "$SOCK"
out=$(innet "$XLBD" -i "$IFA" -S "$SOCK" -r "$RULES" --max-vips 8 --max-backends 6 \
	--ring-size 251 --conns 1024 2>&1)
check "incompatible pinned maps: exit 1" test $? = 1
check "incompatible pinned maps: clear message" grep -q "incompatible layout" <<<"$out"
check "incompatible pinned maps: still attached" attached
if start_daemon -m native; then ok "restart after SIGTERM"; else fail "restart after SIGTERM"; fi
check "restart after SIGTERM: same configuration" test "$(ctl save)" = "$save_before"

# ---- no IPv6 outer source: IPv6 backends are refused ------------------------------
# Their tunnels would leave from ::. At start (the rules file) and at runtime.
check "an IPv6 backend for what follows" ctl backend add $V4 2001:db8::13
save_before=$(ctl save)
kill -TERM "$XLBD_PID"
wait "$XLBD_PID"
ip -n "$NS" addr del 2001:db8:7::1/64 dev "$IFA"
# Bounded: an xlbd that wrongly starts would serve in the foreground.
out=$(innet timeout 20 "$XLBD" -i "$IFA" -S "$SOCK" -r "$RULES" "${SIZES[@]}" 2>&1)
check "no IPv6 source: a rules file with IPv6 backends is refused at start (exit 1)" test $? = 1
check "no IPv6 source: the error names the line and --src6" grep -q \
	"^Error: $RULES:[0-9]*: backend 2001:db8::[0-9]* needs an IPv6 outer source and this xlbd has none.*--src6" <<<"$out"
check "no IPv6 source: still attached, rules file kept" test "$(attached && cat "$RULES")" = "$save_before"
grep -v 2001:db8 "$RULES" >"$T/v4.rules"
if RULES=$T/v4.rules start_daemon; then ok "no IPv6 source: starts from IPv4-only rules"; else
	fail "no IPv6 source: starts from IPv4-only rules"
fi
expect_fail 1 backend add $V4 2001:db8::99
check "no IPv6 source: says how to give one" grep -q "expected xlbd started with --src6 ADDR\$" \
	< <(ctl backend add $V4 2001:db8::99 2>&1)
kill -TERM "$XLBD_PID"
wait "$XLBD_PID"
if start_daemon --src6 2001:db8:7::1; then ok "--src6 given: the IPv6 backends are back"; else
	fail "--src6 given: the IPv6 backends are back"
fi
check "--src6 given: same configuration" test "$(ctl save)" = "$save_before"
expect_fail 1 backend add $V4 2001:db8:7::1
kill -TERM "$XLBD_PID"
wait "$XLBD_PID"
ip -n "$NS" addr add 2001:db8:7::1/64 dev "$IFA" nodad
if start_daemon; then ok "IPv6 address back: restart"; else fail "IPv6 address back: restart"; fi

# ---- detach ---------------------------------------------------------------------
check "detach" ctl detach
for _ in $(seq 50); do alive "$XLBD_PID" || break; sleep 0.1; done
check "detach stops xlbd" test -z "$(alive "$XLBD_PID" && echo alive)"
wait "$XLBD_PID"
check "detach: xlbd exit 0" test $? = 0
check "detach: program removed" test -z "$(attached && echo yes)"
check "detach: pins removed" test -z "$(pin_of "$IFA")"
check "detach: rules file kept" test "$(cat "$RULES")" = "$save_before"
if start_daemon -m generic; then ok "start again (generic mode) from the kept rules"; else
	fail "start again (generic mode)"
fi
check "generic mode attached" grep -q "xdpgeneric" < <(ip -n "$NS" link show "$IFA")
check "configuration restored from the rules file" test "$(ctl save)" = "$save_before"
check "-j detach prints {}" test "$(ctl -j detach)" = "{}"
wait "$XLBD_PID"
check "xlbd --detach with nothing attached" innet "$XLBD" -i "$IFA" --detach

summary test_cli
