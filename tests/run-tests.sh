#!/usr/bin/env bash
# Runs every test: the CUnit unit tests (pure logic and the BPF programs
# through BPF_PROG_TEST_RUN), a short round of differential fuzzing
# (tests/fuzz), then each end-to-end script in tests/e2e/.
# Prints one closing line "tests: N passed, M failed" and exits non-zero if
# anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
run() {
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		echo "=== $name FAILED"
		failed=$((failed + 1))
	fi
}

run "unit tests (CUnit)" timeout 300 build/xlb-unit
# A short fixed-seed round of differential fuzzing (make fuzz runs 10M).
run "differential fuzzing (seed 1, 20000 frames)" timeout 300 build/xlb-fuzz -q -s 1 -n 20000
for t in tests/e2e/test_*.sh; do
	[ -e "$t" ] || continue
	run "$(basename "$t")" timeout 900 bash "$t"
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
