#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# sweep_cost.sh: what xlbd's sweep of the connection tables costs on a full
# table (sweep.h), measured, never asserted: two private namespaces joined
# by a veth, xlbd with a table of CONNS entries (default 1048576, xlbd's
# default) filled by xlb-connfill with flows of the one backend, first live
# (the sweep counts them), then all expired (one pass deletes them all).
# Meanwhile stats and list are polled back to back and the backend notes
# when each health check (every 250 ms) arrived. Prints each pass's figures
# from `xlbctl -j stats` and the slowest replies and longest check gap.
# Run as root; about a minute. Not part of the suite (its figures depend on
# the machine); README and xlbd.8 quote one run.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${XLB_BUILD:-$ROOT/build}
P=${P:-cv$((RANDOM % 1000))}
CONNS=${CONNS:-1048576}
T=$(mktemp -d /tmp/xlb-sweep.XXXXXX)
SOCK=$T/xlbd.sock
IF=$P
PIDS=()

cleanup() {
	set +e
	for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
	# nsenter, not ip netns exec: the pins are on the host's bpffs.
	nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i "$IF" --detach >/dev/null 2>&1
	[ -n "${PINS:-}" ] && rm -rf "$PINS" && rmdir "$(dirname "$PINS")" 2>/dev/null
	ip netns del "$P-lb" 2>/dev/null
	ip netns del "$P-be" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ctl() { "$BUILD/xlbctl" -S "$SOCK" "$@"; }
nx() { local n=$1; shift; nsenter --net="/run/netns/$P-$n" "$@"; }

ip netns add "$P-lb" && ip netns add "$P-be" || exit 1
ip -n "$P-lb" link add "$IF" type veth peer name "${P}b" netns "$P-be" || exit 1
for n in lb be; do ip -n "$P-$n" link set lo up; done
ip -n "$P-lb" link set "$IF" up && ip -n "$P-be" link set "${P}b" up
ip -n "$P-lb" addr add 198.18.7.1/24 dev "$IF"
ip -n "$P-be" addr add 198.18.7.2/24 dev "${P}b"
setsid nsenter --net="/run/netns/$P-lb" "$BUILD/xlbd" -i "$IF" -S "$SOCK" -r "$T/rules" \
	--conns "$CONNS" --ring-size 251 >"$T/xlbd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do ctl list >/dev/null 2>&1 && break; sleep 0.1; done
ctl list >/dev/null || { tail "$T/xlbd.log"; exit 1; }

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
# Polls stats back to back and list every 50 ms for SECS; notes every
# sweep pass stats reports (by its completion age).
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
res = {"start": time.time(), "stats": [], "list": [], "passes": {}}
end = res["start"] + secs
def stats():
    while time.time() < end:
        dt, r = req(["stats"])
        res["stats"].append(dt)
        sw = r["result"].get("sweep")
        if sw:
            done = round(time.time() - sw["age_ms"] / 1000.0, 1)
            res["passes"][done] = {k: sw[k] for k in ("scanned", "expired", "duration_ms", "cpu_ms", "slices", "max_slice_us", "corrected")}
def lst():
    while time.time() < end:
        res["list"].append(req(["list"])[0])
        time.sleep(0.05)
ts = [threading.Thread(target=f) for f in (stats, lst)]
for t in ts: t.start()
for t in ts: t.join()
res["end"] = time.time()
# one pass may be seen from several replies with a slightly different age
passes, last = [], None
for k in sorted(res["passes"]):
    p = res["passes"][k]
    if p != last:
        passes.append(p)
    last = p
print(json.dumps({"start": res["start"], "end": res["end"], "stats_n": len(res["stats"]),
                  "stats_max": max(res["stats"]), "list_n": len(res["list"]),
                  "list_max": max(res["list"]), "passes": passes}))
EOF
setsid nsenter --net="/run/netns/$P-be" timeout 200 python3 "$T/hc_server.py" "$T/checks" \
	>"$T/hc.log" 2>&1 &
PIDS+=($!)
sleep 0.5
V=198.18.100.1:80/tcp
ctl vip add $V check tcp port 8080 interval 250 timeout 200 rise 1 fall 5 >/dev/null || exit 1
ctl backend add $V 198.18.7.2 >/dev/null || exit 1
id=$(ctl -j list | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["backends"][0]["id"])')
cookie=$(nx lb python3 -c 'import socket, struct
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])')
PINS=/sys/fs/bpf/xlb/netns-$cookie/$IF
# The backend's generation: bytes 16-19 of its xlb_backends value.
gen=$(bpftool -j map lookup pinned "$PINS/xlb_backends" key $((id & 255)) $((id >> 8 & 255)) 0 0 |
	python3 -c 'import json,sys; v=json.load(sys.stdin)["value"]; print(int.from_bytes(bytes(int(x, 16) for x in v[16:20]), "little"))')

# measure WHAT: polls for 12 s and prints the figures
measure() {
	timeout 60 python3 "$T/poll.py" "$SOCK" 12 >"$T/poll.json" || return 1
	python3 - "$T/poll.json" "$T/checks" "$1" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
t = [float(l) for l in open(sys.argv[2]) if j["start"] - 1 <= float(l) <= j["end"] + 1]
gap = max(b - a for a, b in zip(t, t[1:])) if len(t) > 1 else 99
print("%s: %d stats replies (slowest %.1f ms), %d list replies (slowest %.1f ms), longest gap "
      "between health checks %.0f ms (interval 250 ms)" % (sys.argv[3], j["stats_n"],
      j["stats_max"] * 1000, j["list_n"], j["list_max"] * 1000, gap * 1000))
for p in j["passes"]:
    print("  pass: %(scanned)d entries, %(expired)d expired, %(duration_ms)d ms, %(cpu_ms)d ms CPU, "
          "%(slices)d slices, longest %(max_slice_us)d us, %(corrected)d backends corrected" % p)
EOF
}

echo "== $CONNS live flows of backend $id (gen $gen): counted"
out=$(timeout 120 "$BUILD/xlb-connfill" "$PINS/xlb_conns" --fill "$CONNS" --backend "$id" \
	--gen "$gen" 2>&1) || { echo "fill: $out"; exit 1; }
echo "  $out"
measure "live table"
echo "  list: $(ctl -j list | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["backends"][0]["connections"])')"

# timed CMD...: CMD's wall time in ms
timed() {
	local t0
	t0=$(date +%s%N)
	"$@" >"$T/timed.out" 2>&1
	echo $((($(date +%s%N) - t0) / 1000000))
}
echo "== conns and conns flush on the full table"
ms=$(timed ctl -j conns limit 100)
echo "  conns limit 100: $ms ms ($(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%d shown, %d matched of %d scanned, complete %s" % (j["shown"], j["matched"], j["scanned"], j["complete"]))' "$T/timed.out"))"
ms=$(timed ctl -j conns $V backend 198.18.7.9)
echo "  conns $V backend 198.18.7.9 (matches none): $ms ms ($(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%d scanned, complete %s" % (j["scanned"], j["complete"]))' "$T/timed.out"))"
ms=$(timed ctl -j conns flush $V)
echo "  conns flush $V: $ms ms ($(cat "$T/timed.out"))"
echo "  list: $(ctl -j list | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["backends"][0]["connections"])')"

echo "== $CONNS expired flows: one pass deletes them"
out=$(timeout 120 "$BUILD/xlb-connfill" "$PINS/xlb_conns" --fill "$CONNS" --backend "$id" \
	--gen "$gen" --idle 1000 2>&1) || { echo "fill: $out"; exit 1; }
echo "  $out"
measure "expired table"
echo "  list: $(ctl -j list | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["backends"][0]["connections"])')"
echo "  xlbd CPU time in all: $(ps -o times= -p "${PIDS[0]}" 2>/dev/null) s"
