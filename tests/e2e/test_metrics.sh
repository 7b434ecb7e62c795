#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_metrics.sh: xlbd --metrics in the veth lab. After real TCP traffic a
# scrape's VIP and backend counters equal `xlbctl -j list`'s, the scrape
# passes `promtool check metrics`, a stopped backend's xlb_backend_up goes
# to 0, only GET /metrics is served (405, 404), a client that stalls mid
# request holds up neither the control socket nor other scrapes, and the
# cost of a scrape of 512 VIPs x 8 backends is printed. Run as root.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
P=xm$((RANDOM % 10000))
NB=4
LAB_DIR=/run/xlb-lab/$P
LAB_PORTS="80 443 8080 9000"
MADDR=198.18.0.2:9469
URL=http://$MADDR/metrics
STALL_PID=

# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"
e2e_init metrics
command -v promtool >/dev/null || { echo "metrics: promtool missing (Debian: prometheus)"; exit 1; }
command -v curl >/dev/null || { echo "metrics: curl missing"; exit 1; }

cleanup() {
	set +e
	[ -n "$STALL_PID" ] && kill "$STALL_PID" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

stop_echo() { kill -- "-$(cat "$LAB_DIR/$1.pid")" 2>/dev/null; }
# scrape FILE: GET /metrics from inside the lb's namespace, within 10 s.
scrape() { nx lb curl -sS -f -m 10 -o "$1" "$URL"; }
# status METHOD PATH: the HTTP status of one request.
status() { nx lb curl -s -m 10 -o /dev/null -w '%{http_code}' -X "$1" "http://$MADDR$2"; }

# compare SCRAPE LIST: every VIP and backend counter of the scrape equals the
# list's, and each of them appears in both; prints the mismatches.
compare() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
text, lst = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
got = {}
for line in text.splitlines():
    m = re.match(r'(xlb_(?:vip|backend)_(?:packets|bytes)_total)\{(.*)\} (\d+)$', line)
    if m:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        got[(m.group(1), labels["vip"], labels.get("backend"))] = int(m.group(3))
want = {}
for v in lst["vips"]:
    for k in ("packets", "bytes"):
        want[("xlb_vip_%s_total" % k, v["vip"], None)] = v[k]
    for b in v["backends"]:
        for k in ("packets", "bytes"):
            want[("xlb_backend_%s_total" % k, v["vip"], b["address"])] = b[k]
bad = [(k, want.get(k), got.get(k)) for k in set(want) | set(got) if want.get(k) != got.get(k)]
for b in bad:
    print("mismatch", b)
traffic = sum(n for k, n in want.items() if k[0] == "xlb_vip_packets_total")
print("samples", len(got), "traffic packets", traffic)
sys.exit(1 if bad or not traffic else 0)
PY
}
# up_of FILE VIP BACKEND: the xlb_backend_up sample of one backend.
up_of() {
	grep -F "xlb_backend_up{vip=\"$2\",backend=\"$3\"} " "$1" | awk '{print $2}'
}

echo "== lab and daemon with --metrics $MADDR"
lab_up --metrics "$MADDR"
V4=198.18.100.1:80/tcp
V6='[2001:db8:100::1]:80/tcp'
CHECK="check tcp interval 200 timeout 200 rise 2 fall 2"
ctl vip add $V4 $CHECK >/dev/null && ctl vip add "$V6" $CHECK >/dev/null || fail "vip add"
for i in $(seq "$NB"); do
	ctl backend add $V4 "198.18.0.$((10 + i))" >/dev/null &&
		ctl backend add "$V6" "2001:db8::$((10 + i))" >/dev/null || fail "backend add be$i"
done
sleep 1 # the checks' rise

echo "== counters after traffic equal xlbctl list's"
probe -n 200 -b 20000 198.18.100.1 80 >"$T/v4.json"
probe -n 100 -b 21000 2001:db8:100::1 80 >"$T/v6.json"
check "300 TCP connections answered" \
	test "$(($(json "$T/v4.json" 'j["ok"]') + $(json "$T/v6.json" 'j["ok"]')))" = 300
sleep 0.5 # the last FINs and ACKs
ctl -j list >"$T/list.json"
check "GET /metrics answers 200" scrape "$T/m1.txt"
check "scrape's VIP and backend counters equal xlbctl -j list's" compare "$T/m1.txt" "$T/list.json"
check "promtool check metrics passes on the scrape" bash -c "promtool check metrics <'$T/m1.txt'"
ctype=$(nx lb curl -s -m 10 -o /dev/null -w '%{content_type}' "$URL")
check "content type is the 0.0.4 text format ($ctype)" \
	test "$ctype" = "text/plain; version=0.0.4; charset=utf-8"
for fam in xlb_vip_packets_total xlb_vip_bytes_total xlb_backend_packets_total \
	xlb_backend_bytes_total xlb_backend_up xlb_backend_weight xlb_datapath_packets_total \
	xlb_conntrack_entries xlb_conntrack_max xlb_health_checks_total; do
	check "$fam has HELP and TYPE" bash -c "grep -q '^# HELP $fam ' '$T/m1.txt' &&
		grep -q '^# TYPE $fam ' '$T/m1.txt'"
done
nreasons=$(grep -c '^xlb_datapath_packets_total{reason="' "$T/m1.txt")
want=$(ctl -j stats | json_get 'len(d["counters"])')
check "xlb_datapath_packets_total has every counter of stats ($nreasons of $want)" \
	test "$nreasons" = "$want"
tx=$(grep '^xlb_datapath_packets_total{reason="tx"} ' "$T/m1.txt" | awk '{print $2}')
check "the tx reason counted the traffic ($tx)" test "${tx:-0}" -gt 0
hc_ok=$(grep '^xlb_health_checks_total{result="ok"} ' "$T/m1.txt" | awk '{print $2}')
check "health checks counted ($hc_ok ok)" test "${hc_ok:-0}" -gt 0
check "xlb_conntrack_max is --conns' default" grep -qx 'xlb_conntrack_max 1048576' "$T/m1.txt"
scrape "$T/m2.txt"
ct=$(grep '^xlb_conntrack_entries ' "$T/m2.txt" | awk '{print $2}')
check "xlb_conntrack_entries counts the 300 flows ($ct)" test "${ct:-0}" -ge 300
check "an IPv6 VIP's label is [ADDR]:PORT/PROTO" \
	test "$(up_of "$T/m1.txt" "$V6" 2001:db8::12)" = 1

echo "== a stopped backend's xlb_backend_up goes to 0"
check "be2 is up before" test "$(up_of "$T/m1.txt" $V4 198.18.0.12)" = 1
stop_echo be2
down=
for _ in $(seq 50); do
	scrape "$T/m3.txt" && [ "$(up_of "$T/m3.txt" $V4 198.18.0.12)" = 0 ] && { down=1; break; }
	sleep 0.1
done
check "be2's xlb_backend_up is 0 within 5 s of its server stopping" test -n "$down"
check "be1's xlb_backend_up stays 1" test "$(up_of "$T/m3.txt" $V4 198.18.0.11)" = 1
ctl backend set $V4 198.18.0.13 weight 0 >/dev/null
scrape "$T/m4.txt"
check "a drained backend's xlb_backend_up is 0" test "$(up_of "$T/m4.txt" $V4 198.18.0.13)" = 0
check "and its xlb_backend_weight is 0" \
	grep -qF "xlb_backend_weight{vip=\"$V4\",backend=\"198.18.0.13\"} 0" "$T/m4.txt"

echo "== only GET /metrics"
check "POST /metrics answers 405" test "$(status POST /metrics)" = 405
check "PUT /metrics answers 405" test "$(status PUT /metrics)" = 405
allow=$(nx lb curl -s -m 10 -o /dev/null -D - -X POST "$URL" | tr -d '\r' |
	awk -F': ' 'tolower($1) == "allow" {print $2}')
check "405 names the allowed method (Allow: $allow)" test "$allow" = GET
check "GET /other answers 404" test "$(status GET /other)" = 404
check "GET / answers 404" test "$(status GET /)" = 404
check "GET /metrics/x answers 404" test "$(status GET /metrics/x)" = 404

echo "== a stalled client holds up nothing"
# Half a request, then silence: MHD waits for the rest in its own epoll set.
nx lb bash -c "exec 3<>/dev/tcp/198.18.0.2/9469; printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&3;
	sleep 8" &
STALL_PID=$!
sleep 0.3
t0=$(date +%s%N)
check "xlbctl list answers while a client stalls" ctl list
check "another scrape answers while a client stalls" scrape "$T/m5.txt"
ms=$((($(date +%s%N) - t0) / 1000000))
check "both within 2 s ($ms ms)" test "$ms" -lt 2000
kill "$STALL_PID" 2>/dev/null
wait "$STALL_PID" 2>/dev/null
STALL_PID=

echo "== xlbctl top: rates once a second"
probe -n 300 -i 8 -b 40000 198.18.100.1 80 >/dev/null &
ppid=$!
sleep 0.3
ctl -j top count 2 >"$T/top.jsonl"
code=$?
wait "$ppid"
check "top -j count 2 ends by itself (exit $code)" test "$code" = 0
check "and prints two JSON lines" test "$(wc -l <"$T/top.jsonl")" = 2
pps=$(python3 -c 'import json,sys
print(max([v["packets_per_s"] for l in open(sys.argv[1]) for v in json.loads(l)["vips"]
           if v["vip"] == "198.18.100.1:80/tcp"] or [0]))' "$T/top.jsonl")
check "the IPv4 VIP's packets/s while flows run ($pps)" python3 -c "import sys; sys.exit(not $pps > 10)"
nf=$(python3 -c 'import json,sys
print(max(json.loads(l)["new_flows_per_s"] for l in open(sys.argv[1])))' "$T/top.jsonl")
check "new flows/s while flows run ($nf)" python3 -c "import sys; sys.exit(not $nf > 5)"
check "backends sorted by traffic" python3 -c 'import json,sys
for l in open(sys.argv[1]):
    for v in json.loads(l)["vips"]:
        b = [x["bits_per_s"] for x in v["backends"]]
        assert b == sorted(b, reverse=True), b' "$T/top.jsonl"
ctl top count 1 >"$T/top.txt"
check "plain top prints a table" grep -q "^VIP / backend" "$T/top.txt"
ctl top >/dev/null 2>"$T/top.err"
code=$?
check "top to a pipe without a count is refused, exit 2 ($(cat "$T/top.err"))" test "$code" = 2

echo "== the cost of a scrape of 512 VIPs x 8 backends"
python3 - "$T/big.rules" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(512):
        vip = "198.18.%d.%d:80/tcp" % (100 + i // 250, 1 + i % 250)
        f.write("vip add %s check none\n" % vip)
        for j in range(8):
            n = i * 8 + j + 1
            f.write("backend add %s 198.19.%d.%d\n" % (vip, n // 256, n % 256))
PY
t0=$(date +%s%N)
check "restore of 512 VIPs x 8 backends" ctl restore "$T/big.rules"
echo "  restore took $((($(date +%s%N) - t0) / 1000000)) ms"
scrape "$T/big.txt"
check "promtool check metrics passes on the big scrape" bash -c "promtool check metrics <'$T/big.txt'"
check "the big scrape has 4096 backend samples a family" \
	test "$(grep -c '^xlb_backend_up{' "$T/big.txt")" = 4096
times=()
for _ in 1 2 3 4 5; do
	times+=("$(nx lb curl -sS -m 10 -o /dev/null -w '%{time_total}' "$URL")")
done
echo "  scrape of 512 VIPs x 8 backends: $(wc -c <"$T/big.txt") bytes, curl time_total (s): ${times[*]}"
check "xlbd is still running" alive "$XLBD_PID"

summary metrics
