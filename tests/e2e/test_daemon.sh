#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_daemon.sh: xlbd as a daemon under load and at its edges, in two private
# namespaces (lb, be) joined by a veth: a full connection table under churn
# while stats is polled, with control requests and health checks timed
# meanwhile. Run as root; prints "test_daemon: N passed, M failed".
# CONNS=N sizes the connection table (default 262144; 1048576 is the default
# of xlbd, too slow to fill in CI); KEEP=1 keeps the temporary directory.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XLB_BUILD:-$ROOT/build}
P=xd$((RANDOM % 10000))
T=$(mktemp -d /tmp/xlb-daemon.XXXXXX)
SOCK=$T/xlbd.sock
RULES=$T/rules
LOG=$T/xlbd.log
IF=$P
IF2=${P}b
# xlbd's default rules directory for the lb namespace (user/netns.c).
STATE_DIR=/var/lib/xlb/netns/$P-lb
CONNS=${CONNS:-262144}
XLBD_PID=
BG_PIDS=()

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
ctl() { nx lb "$BUILD/xlbctl" -S "$SOCK" "$@"; }
alive() { kill -0 "$1" 2>/dev/null; }
quiet() { "$@" >/dev/null 2>&1; }
# json FILE EXPR: a Python expression over a JSON file (as j)
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# The namespace's cookie, which names its pin and lock directories.
COOKIE="python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); print(int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), \"little\"))'"
# The pins live under a netns-ID directory (user/netns.c).
pin_dir() { find /sys/fs/bpf/xlb -mindepth 1 -maxdepth 2 -type d -name "$IF" 2>/dev/null | head -1; }

if [ "$(id -u)" != 0 ]; then
	echo "test_daemon: must run as root (namespaces, XDP)"
	exit 1
fi
for b in xlbd xlbctl xlb-connfill; do
	[ -x "$BUILD/$b" ] || { echo "test_daemon: $BUILD/$b missing, run make first"; exit 1; }
done

cleanup() {
	set +e
	for pid in "${BG_PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null; done
	[ -n "$XLBD_PID" ] && kill -KILL -- "-$XLBD_PID" 2>/dev/null
	wait 2>/dev/null
	if [ -e "/run/netns/$P-lb" ]; then
		nx lb sh -c "$COOKIE" >"$T/lb.cookie"
		nx lb "$BUILD/xlbd" -i "$IF" --detach >/dev/null 2>&1
		nx lb "$BUILD/xlbd" -i "$IF2" --detach >/dev/null 2>&1
		ip netns del "$P-lb"
	fi
	rm -f "$STATE_DIR/$IF.rules" "$STATE_DIR/$IF.rules.lock" "/var/lib/xlb/$IF.rules" \
		"/var/lib/xlb/$IF.rules.lock"
	rmdir "$STATE_DIR" /var/lib/xlb/netns 2>/dev/null
	# The unnamed namespace is gone: whatever it left is ours to remove.
	c=$(cat "$T/unnamed.cookie" 2>/dev/null)
	[ -n "$c" ] && rm -rf "/sys/fs/bpf/xlb/netns-$c/lo" && rm -f "/run/xlb/netns-$c/lo.lock"
	for c in $(cat "$T/lb.cookie" "$T/unnamed.cookie" 2>/dev/null); do
		rmdir "/run/xlb/netns-$c" "/sys/fs/bpf/xlb/netns-$c" 2>/dev/null
	done
	[ -e "/run/netns/$P-be" ] && ip netns del "$P-be"
	if [ "$failed" != 0 ] && [ -s "$LOG" ]; then
		echo "--- xlbd log (last 30 lines)"
		tail -n 30 "$LOG"
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start_xlbd [OPTIONS]: xlbd in lb, in its own process group; sets XLBD_PID.
start_xlbd() {
	setsid nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i "$IF" -S "$SOCK" -r "$RULES" \
		--conns "$CONNS" --ring-size 251 "$@" >>"$LOG" 2>&1 &
	XLBD_PID=$!
	for _ in $(seq 100); do
		ctl list >/dev/null 2>&1 && return 0
		alive "$XLBD_PID" || return 1
		sleep 0.1
	done
	return 1
}
stop_xlbd() {
	kill -TERM "$XLBD_PID" 2>/dev/null
	wait "$XLBD_PID" 2>/dev/null
	XLBD_PID=
}

echo "== namespaces and daemon"
ip netns add "$P-lb" && ip netns add "$P-be" || exit 1
ip -n "$P-lb" link add "$IF" type veth peer name xd1 netns "$P-be" || exit 1
for n in lb be; do ip -n "$P-$n" link set lo up; done
ip -n "$P-lb" link set "$IF" up && ip -n "$P-be" link set xd1 up
ip -n "$P-lb" addr add 198.18.7.1/24 dev "$IF"
ip -n "$P-be" addr add 198.18.7.2/24 dev xd1
if start_xlbd; then ok "xlbd starts on $IF"; else
	fail "xlbd starts on $IF"
	exit 1
fi

echo "== a full connection table under churn, stats polled"
# The backend answers TCP checks and notes when each one arrived.
cat >"$T/hc_server.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.7.2", 8080))
s.listen(64)
out = open(sys.argv[1], "w", buffering=1)
while True:
    c, _ = s.accept()
    out.write("%.3f\n" % time.time())
    c.close()
EOF
# Polls stats back to back and times list every 50 ms, for a few seconds.
cat >"$T/poll.py" <<'EOF'
import json, socket, sys, threading, time
path, secs = sys.argv[1], float(sys.argv[2])
def req(words):
    t = time.time()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall((json.dumps(words) + "\n").encode())
    b = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        b += d
    s.close()
    return time.time() - t, json.loads(b)
res = {"start": time.time(), "stats": [], "list": [], "conntrack": None}
end = res["start"] + secs
def stats():
    while time.time() < end:
        dt, r = req(["stats"])
        res["stats"].append(dt)
        res["conntrack"] = r["result"]["conntrack"]
def lst():
    while time.time() < end:
        res["list"].append(req(["list"])[0])
        time.sleep(0.05)
ts = [threading.Thread(target=f) for f in (stats, lst)]
for t in ts: t.start()
for t in ts: t.join()
res["end"] = time.time()
print(json.dumps({"start": res["start"], "end": res["end"], "stats_n": len(res["stats"]),
                  "stats_max": max(res["stats"]), "list_n": len(res["list"]),
                  "list_max": max(res["list"]), "conntrack": res["conntrack"]}))
EOF
setsid nsenter --net="/run/netns/$P-be" timeout 80 python3 "$T/hc_server.py" "$T/checks" \
	>"$T/hc_server.log" 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 100); do
	nx be bash -c 'exec 3<>/dev/tcp/198.18.7.2/8080' 2>/dev/null && break
	sleep 0.1
done
check "backend's check server listens" nx be bash -c 'exec 3<>/dev/tcp/198.18.7.2/8080'
V=198.18.100.1:80/tcp
INTERVAL=250
check "vip add with a tcp check every $INTERVAL ms" \
	quiet ctl vip add $V check tcp port 8080 interval $INTERVAL timeout 200 rise 1 fall 5
check "backend add" quiet ctl backend add $V 198.18.7.2
for _ in $(seq 50); do
	[ "$(ctl -j list | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["backends"][0]["health"]["last"])' 2>/dev/null)" = ok ] && break
	sleep 0.1
done
MAP=$(pin_dir)/xlb_conns
out=$(timeout 60 "$BUILD/xlb-connfill" "$MAP" --fill $((CONNS + CONNS / 8)) 2>&1)
check "connection table filled ($out)" test $? = 0
setsid timeout 30 "$BUILD/xlb-connfill" "$MAP" --fill 1 --churn 14 --rate 50000 \
	>"$T/churn.log" 2>&1 &
BG_PIDS+=($!)
sleep 1
timeout 40 python3 "$T/poll.py" "$SOCK" 10 >"$T/poll.json"
check "poller ran" test -s "$T/poll.json"
read -r stats_n stats_max list_n list_max < <(json "$T/poll.json" \
	'j["stats_n"], "%.3f" % j["stats_max"], j["list_n"], "%.3f" % j["list_max"]')
gap=$(python3 -c '
import sys
start, end = float(sys.argv[1]), float(sys.argv[2])
t = [float(l) for l in open(sys.argv[3]) if start - 1 <= float(l) <= end + 1]
print("%.3f" % max(b - a for a, b in zip(t, t[1:])) if len(t) > 1 else 99)' \
	"$(json "$T/poll.json" 'j["start"]')" "$(json "$T/poll.json" 'j["end"]')" "$T/checks")
echo "  $CONNS entries under churn ($(tail -n 1 "$T/churn.log")): $stats_n stats calls, slowest" \
	"$stats_max s; $list_n list calls, slowest $list_max s; longest gap between health" \
	"checks $gap s (interval $INTERVAL ms)"
check "stats answered at least 20 times in 10 s" test "$stats_n" -ge 20
check "slowest stats under 0.5 s" quiet python3 -c "assert $stats_max < 0.5"
check "slowest list while stats runs under 0.5 s" quiet python3 -c "assert $list_max < 0.5"
check "health checks kept their interval (gap under $INTERVAL ms + 0.4 s)" \
	quiet python3 -c "assert $gap < $INTERVAL / 1000 + 0.4"
check "-j stats: entries labelled an estimate, at most the table's size, near full" \
	quiet json "$T/poll.json" 'j["conntrack"]["entries_estimate"] is True and
	j["conntrack"]["max"] == '"$CONNS"' and 0.9 * '"$CONNS"' <= j["conntrack"]["entries"] <= '"$CONNS"' or exit(1)'
check "stats: the estimate says so" grep -Eq "^conntrack: ~[0-9]+ entries \(estimate, counted" < <(ctl stats)
kill -- "-${BG_PIDS[-1]}" 2>/dev/null

echo "== more control clients than slots wait their turn"
# 64 clients that say nothing take every slot for a while; meanwhile 200
# xlbctl calls start at once and must all be answered after it.
cat >"$T/hold.py" <<'EOF'
import socket, sys, time
held = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    held.append(s)
print("holding", flush=True)
time.sleep(float(sys.argv[3]))
EOF
timeout 20 python3 "$T/hold.py" "$SOCK" 64 3 >"$T/hold.log" 2>&1 &
hold=$!
for _ in $(seq 50); do grep -q holding "$T/hold.log" && break; sleep 0.1; done
mkdir "$T/par"
pids=()
for i in $(seq 200); do
	timeout 30 "$BUILD/xlbctl" -S "$SOCK" list >/dev/null 2>"$T/par/$i.err" &
	pids+=($!)
done
good=0
for pid in "${pids[@]}"; do
	wait "$pid" && good=$((good + 1))
done
wait "$hold"
echo "  $good of 200 parallel xlbctl calls answered$(cat "$T"/par/*.err | sort | uniq -c | head -2 | sed 's/^ */; /' | tr -d '\n')"
check "200 parallel xlbctl calls all answered while 64 slots were held" test "$good" = 200
check "xlbd still serves" quiet ctl list

echo "== a missing or empty rules file does not drop the pinned VIPs"
# run_xlbd [OPTIONS]: xlbd in the foreground, bounded, output in $out.
run_xlbd() {
	out=$(nx lb timeout 10 "$BUILD/xlbd" -i "$IF" -S "$SOCK" -r "$RULES" --conns "$CONNS" \
		--ring-size 251 "$@" 2>&1)
	rc=$?
}
saved=$(ctl save)
stop_xlbd
mv "$RULES" "$T/rules.keep"
run_xlbd
check "missing rules file, VIPs pinned: exit 1" test "$rc" = 1
check "missing rules file: the error names the file and --reset" \
	grep -q "^Error: rules file $RULES is missing.*hold 1 VIPs.*--reset" <<<"$out"
check "missing rules file: not created" test ! -e "$RULES"
: >"$RULES"
run_xlbd
check "empty rules file, VIPs pinned: exit 1" test "$rc" = 1
check "empty rules file: the error says it holds no VIPs" \
	grep -q "^Error: rules file $RULES holds no VIPs.*--reset" <<<"$out"
check "empty rules file: left as it was" test ! -s "$RULES"
echo "# only a comment" >"$RULES"
run_xlbd
check "rules file of comments only: exit 1" test "$rc" = 1
mv "$T/rules.keep" "$RULES"
check "with its rules file xlbd starts again" start_xlbd
check "the pinned VIPs were kept" test "$(ctl save)" = "$saved"
stop_xlbd
: >"$RULES"
check "--reset starts with the empty rules file" start_xlbd --reset
check "--reset: the VIPs are dropped" test -z "$(ctl save)"
check "--reset: the log says what was dropped" grep -q "reset drops the 1 VIPs" "$LOG"

echo "== one xlbd per rules file; defaults per network namespace"
ip -n "$P-lb" link add "$IF2" type veth peer name xd3 netns "$P-be"
ip -n "$P-lb" link set "$IF2" up && ip -n "$P-be" link set xd3 up
before=$(cat "$RULES")
out=$(nx lb timeout 10 "$BUILD/xlbd" -i "$IF2" -S "$T/other.sock" -r "$RULES" 2>&1)
rc=$?
check "a second xlbd on the same rules file: exit 1" test "$rc" = 1
check "a second xlbd on the same rules file: the error names the file and the holder" \
	grep -q "^Error: rules file $RULES is in use by another xlbd with pid $XLBD_PID (lock $RULES.lock)" <<<"$out"
check "a second xlbd on the same rules file: not attached to $IF2" \
	quiet test -z "$(ip -n "$P-lb" link show "$IF2" | grep prog/xdp)"
check "a second xlbd on the same rules file: the file unchanged" test "$(cat "$RULES")" = "$before"
check "the first xlbd still serves" quiet ctl list
stop_xlbd
check "the lock file goes with its xlbd" test ! -e "$RULES.lock"

# Without -S and -r, in this named namespace.
setsid nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i "$IF" --conns "$CONNS" --ring-size 251 \
	>>"$LOG" 2>&1 &
XLBD_PID=$!
for _ in $(seq 100); do nx lb "$BUILD/xlbctl" list >/dev/null 2>&1 && break; sleep 0.1; done
check "xlbctl without -S finds the namespace's xlbd" quiet nx lb "$BUILD/xlbctl" list
sock=$(sed -n "s/.*interface $IF: ready, control socket \([^,]*\),.*/\1/p" "$LOG" | tail -n 1)
check "default socket under /run/xlb/netns-ID ($sock)" \
	quiet grep -Eq "^/run/xlb/netns-[a-z0-9]+/xlbd.sock\$" <<<"$sock"
check "default socket exists" test -S "$sock"
check "no socket at the host's default" test ! -e /run/xlb/xlbd.sock -o "$sock" = /run/xlb/xlbd.sock
check "default rules file under /var/lib/xlb/netns/$P-lb" test -f "$STATE_DIR/$IF.rules"
check "the default rules file is locked" test -f "$STATE_DIR/$IF.rules.lock"
stop_xlbd
check "default socket removed on exit" test ! -e "$sock"
# A namespace without a name has no default rules file to come back to.
out=$(unshare -n sh -c "$COOKIE >'$T/unnamed.cookie'; ip link set lo up
	exec timeout 10 '$BUILD/xlbd' -i lo" 2>&1)
rc=$?
check "unnamed namespace without -r: exit 1" test "$rc" = 1
check "unnamed namespace without -r: says to give -r" \
	grep -q "^Error: this network namespace has no name.*give one with -r" <<<"$out"

echo "== the control socket's mode comes from the umask, never from a chmod"
# Under strace: every chmod-like call xlbd makes is logged. Started with
# umask 0, so the socket is 0600 only thanks to xlbd's own umask at bind.
if command -v strace >/dev/null; then
	(umask 0; exec nsenter --net="/run/netns/$P-lb" timeout 20 strace -f -qq -e trace=/chmod \
		-o "$T/strace" "$BUILD/xlbd" -i "$IF" -S "$T/s14/xlbd.sock" -r "$RULES" \
		--conns "$CONNS" --ring-size 251 >>"$LOG" 2>&1) &
	tracer=$!
	for _ in $(seq 100); do
		"$BUILD/xlbctl" -S "$T/s14/xlbd.sock" list >/dev/null 2>&1 && break
		sleep 0.1
	done
	check "xlbd runs under strace" quiet "$BUILD/xlbctl" -S "$T/s14/xlbd.sock" list
	check "socket is 0600 under umask 0" test "$(stat -c %a "$T/s14/xlbd.sock")" = 600
	check "the socket's new directory is 0750" test "$(stat -c %a "$T/s14")" = 750
	kill -TERM "$(cat "$(find /run/xlb -name "$IF.lock" | head -1)")"
	wait "$tracer"
	check "no chmod of the socket path" test -z "$(grep xlbd.sock "$T/strace")"
else
	fail "strace is missing (make deps installs it): cannot check for chmod"
fi
# The default directory, new in this namespace, is root-only too.
setsid nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i "$IF" --conns "$CONNS" --ring-size 251 \
	>>"$LOG" 2>&1 &
XLBD_PID=$!
for _ in $(seq 100); do nx lb "$BUILD/xlbctl" list >/dev/null 2>&1 && break; sleep 0.1; done
sock=$(sed -n "s/.*interface $IF: ready, control socket \([^,]*\),.*/\1/p" "$LOG" | tail -n 1)
check "default socket's directory ${sock%/*} is 0750" test "$(stat -c %a "${sock%/*}")" = 750
stop_xlbd

echo "test_daemon: $passed passed, $failed failed"
[ "$failed" = 0 ]
