#!/usr/bin/env bash
# test_bench.sh: smoke test of xlb-bench. Runs it once with tiny counts and
# checks that it exits 0 and that its JSON holds every case with a positive
# figure and the path counters the case claims. Never judges speed.
# Prints "test_bench: N passed, M failed"; exits non-zero on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

BENCH=build/xlb-bench
passed=0
failed=0
json=$(mktemp /tmp/xlb-bench.XXXXXX.json)
log=$(mktemp /tmp/xlb-bench.XXXXXX.log)
trap 'rm -f "$json" "$log"' EXIT

check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		passed=$((passed + 1))
	else
		echo "FAIL: $what"
		failed=$((failed + 1))
	fi
}

# jq -e exits 0 only when the filter yields true.
q() {
	jq -e "$1" "$json"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "test_bench: needs root (private network namespaces, BPF)"
	echo "test_bench: 0 passed, 1 failed"
	exit 1
fi
if ! command -v jq >/dev/null; then
	echo "test_bench: needs jq"
	echo "test_bench: 0 passed, 1 failed"
	exit 1
fi

if timeout 300 "$BENCH" --quick --json "$json" >"$log" 2>&1; then
	passed=$((passed + 1))
else
	echo "FAIL: xlb-bench --quick exited $?; its output:"
	cat "$log"
	failed=$((failed + 1))
fi

check "JSON written and valid" q '.tool == "xlb-bench" and .quick == true and .valid == true'
check "machine described" \
	q '.machine | (.kernel | length > 0) and (.cpu | length > 0) and .nproc > 0 and (.clang | length > 0)'

# Per-packet: every baseline and every case, a positive figure, and the
# counters of the path each one names (exactly one per packet).
for b in tx macswap pushpop restore; do
	check "baseline $b" q ".per_packet.baselines | map(select(.name == \"$b\" and .ns_median > 0)) | length == 1"
done
declare -A want=(
	[v4_hit]="conn_hit tx"
	[v6_hit]="conn_hit tx"
	[v4_syn_write]="conn_stale conn_miss tx"
	[v4_1m_hits]="conn_hit tx"
	[v4_insert_room]="conn_miss conn_insert conn_hit conn_promote tx"
	[v4_new_flow]="conn_miss conn_insert tx"
	[v4_unknown_ack]="conn_miss conn_insert tx"
	[v4_syn_over_budget]="conn_miss conn_skip tx"
	[v4_ack_over_budget]="conn_miss conn_skip tx"
	[v4_acl_hit]="conn_hit tx"
	[v4_acl_deny]="drop_acl"
	[v4_limit_hit]="conn_hit tx"
	[v4_limit_new_flow]="conn_miss conn_insert tx"
	[v4_nolimit_new_flow]="conn_miss conn_insert tx"
	[v4_limit_over]="conn_miss drop_limit"
	[v4_not_vip]="pass_not_vip"
)
for c in "${!want[@]}"; do
	sel=".per_packet.cases[] | select(.name == \"$c\")"
	check "case $c present, positive, path_ok" q "[$sel] | length == 1 and (.[0].ns_median > 0) and .[0].path_ok"
	for k in ${want[$c]}; do
		check "case $c counter $k == packets" q "$sel | .counters.$k == .packets"
	done
	# No counter beyond the claimed ones moved.
	# (nexthop_miss: the next-hop cache's refills, a few per run.)
	check "case $c moved only its counters" \
		q "$sel | (.counters | keys - [\"nexthop_miss\"] | sort) == ([\"${want[$c]// /\",\"}\"] | sort)"
done
check "1M-flow case established all its flows" \
	q '.per_packet.cases[] | select(.name == "v4_1m_hits") | .conn_entries >= .flows'
check "breakdown of v4_hit" q '.per_packet.breakdown | length == 7 and all(.ns_median > 0)'

# Control plane and Maglev.
check "ring build for 10/100/1000 backends" \
	q '[.control_plane.ring_build.sizes[] | select(.us_median > 0) | .backends] == [10, 100, 1000]'
check "backend add reaches the data plane" q '.control_plane.apply | .path_ok and .add_ms_median > 0'
check "memory per VIP" q '.control_plane.memory | .ring_map_bytes > 0 and .vip_total_bytes >= .ring_map_bytes'
check "Maglev balance" q '[.maglev.balance[] | select(.max_over_mean >= 1)] | length == 3'
check "Maglev disruption" q '[.maglev.disruption[] | select(.moved_mean > 0 and .ratio_ideal > 0)] | length == 4'

# Throughput: xlb forwarded (IPIP at the receiver), the reflector too.
check "throughput measured" \
	q '.throughput | .path_ok and ([.modes[] | select(.pps_median > 0)] | length == 4)'
check "throughput: xlb frames arrive encapsulated" \
	q '[.throughput.modes[] | select(.mode == "xlb" or .mode == "xlb-1flow") |
	    select(.received > 0 and .received_ipip == .received)] | length == 2'
check "throughput: xlb's frames hit the connection table" \
	q '.throughput.xlb_counters | .conn_hit > 0 and .tx >= .conn_hit'
# Two CPUs where the machine has them: every mode measured on both, and
# its scaling factor given.
check "throughput: two-CPU mode where a second CPU is allowed" \
	q '.throughput | if .cpu2 < 0 then [.modes[] | select(.scaling_2cpu == null)] | length == 4
	   else [.modes[] | select(.scaling_2cpu > 0 and (.by_cpus | length == 2) and
	         .by_cpus[1].pps_median > 0)] | length == 4 end'
check "--tput-flows refuses a flow count that is not a power of 2" \
	bash -c "! $BENCH --throughput-only --tput-flows 3"

# Paired comparison (--against): this build against its own object, the
# cases of section 1 timed alternately; the same code, so the same actions.
if timeout 300 "$BENCH" --quick --no-throughput --against build/xlb_bench.bpf.o \
	--json "$json" >"$log" 2>&1; then
	passed=$((passed + 1))
else
	echo "FAIL: xlb-bench --quick --against exited $?; its output:"
	cat "$log"
	failed=$((failed + 1))
fi
check "paired: every case of section 1, positive, valid" \
	q '.valid and ((.per_packet.cases | map(select(.name != "v4_insert_room")) | length) as $n | .paired.cases | (length == $n) and all(.net_ns_median > 0 and .ratio_paired > 0 and .ratio_of_means > 0))'
check "paired: a missing object is refused" \
	bash -c "! timeout 60 $BENCH --quick --no-throughput --against /nonexistent.o"
check "paired: an unknown --pair-case is refused" \
	bash -c "! $BENCH --pair-case no_such_case --against build/xlb_bench.bpf.o"
check "paired: --paired-only without --against is refused" \
	bash -c "! $BENCH --paired-only"
check "paired: --pair-copies outside 1-8 is refused, naming the range" \
	bash -c "$BENCH --pair-copies 9 --against build/xlb_bench.bpf.o 2>&1 | grep -q \"bad --pair-copies '9', expected 1-8\""

echo "test_bench: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
