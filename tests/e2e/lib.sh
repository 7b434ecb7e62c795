# SPDX-License-Identifier: GPL-2.0
# tests/e2e/lib.sh: what the lab tests share, sourced (not a test itself):
# pass/fail bookkeeping and running commands in the lab's namespaces.
# Expects P (the lab's prefix) to be set before nx is used.

passed=0
failed=0
ok() {
	echo "  ok: $*"
	passed=$((passed + 1))
}
fail() {
	echo "  FAIL: $*"
	failed=$((failed + 1))
}
check() { # check DESCRIPTION CMD...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

nx() { # nx NODE CMD...: run in a lab namespace, keeping /sys/fs/bpf visible
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}
