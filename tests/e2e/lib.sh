# SPDX-License-Identifier: GPL-2.0
# tests/e2e/lib.sh: what the end-to-end tests share, sourced (not a test
# itself): pass/fail bookkeeping, the test's temporary directory, starting
# and stopping xlbd, xlbctl and JSON queries, and the veth lab's namespaces.
# A script sets ROOT (the repository), sources this file and calls e2e_init;
# the lab's helpers also need P (the lab's prefix) and NB (its backends).

BUILD=${XLB_BUILD:-$ROOT/build}
XLBD=$BUILD/xlbd
XLBCTL=$BUILD/xlbctl

# The tests start python3 for every JSON query, hundreds of times a script.
# Debian's interpreter starts in ~60 ms; a version-manager shim earlier in a
# developer's PATH (pyenv) costs ~0.5 s a start, which took test_traffic past
# its time limit. Use the system one when it is there.
if [ -x /usr/bin/python3 ]; then
	python3() { /usr/bin/python3 "$@"; }
fi

# ---- pass/fail ----------------------------------------------------------------
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
# check DESCRIPTION CMD...: passes when CMD succeeds. CMD runs in this shell
# (it may set variables); its output is shown only when it fails.
check() {
	local what=$1
	shift
	if [ -z "${T:-}" ]; then
		if "$@"; then ok "$what"; else fail "$what"; fi
		return
	fi
	if "$@" >"$T/check.out" 2>&1; then
		ok "$what"
	else
		fail "$what"
		tail -n 20 "$T/check.out" | sed 's/^/    | /'
	fi
}
# summary NAME: the closing line every test prints; fails when a check did.
summary() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# e2e_init NAME: refuses to run without root or the binaries, makes the
# temporary directory T with the places of xlbd's socket, rules and log.
e2e_init() {
	local b
	if [ "$(id -u)" != 0 ]; then
		echo "$1: must run as root (namespaces, XDP)"
		exit 1
	fi
	for b in "$XLBD" "$XLBCTL"; do
		[ -x "$b" ] || { echo "$1: $b missing, run make first"; exit 1; }
	done
	T=$(mktemp -d "/tmp/xlb-$1.XXXXXX") || exit 1
	SOCK=$T/xlbd.sock
	RULES=$T/rules
	LOG=$T/xlbd.log
	XLBD_PID=
	XLBD_PIDS=()
}

# ---- xlbd and xlbctl ------------------------------------------------------------
# The control socket is a path, reachable from any network namespace.
ctl() { "$XLBCTL" -S "$SOCK" "$@"; }
alive() { kill -0 "$1" 2>/dev/null; }

# start_xlbd NETNS IFACE [OPTION...]: xlbd on IFACE inside NETNS, in its own
# process group, logging to LOG; sets XLBD_PID and returns once it answers.
start_xlbd() {
	local netns=$1 iface=$2
	shift 2
	setsid nsenter --net="/run/netns/$netns" "$XLBD" -i "$iface" -S "$SOCK" -r "$RULES" \
		"$@" >>"$LOG" 2>&1 &
	XLBD_PID=$!
	XLBD_PIDS+=("$XLBD_PID")
	for _ in $(seq 100); do
		ctl list >/dev/null 2>&1 && return 0
		alive "$XLBD_PID" || break
		sleep 0.1
	done
	echo "xlbd did not come up; the end of its log:"
	tail -n 40 "$LOG"
	return 1
}

# stop_xlbds: kills every xlbd that start_xlbd started, with its group.
stop_xlbds() {
	local pid
	for pid in "${XLBD_PIDS[@]}"; do
		alive "$pid" && kill -KILL -- "-$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

# ---- JSON -------------------------------------------------------------------------
is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; }
# json_get EXPR: prints Python's print(EXPR) over the JSON on stdin (as d).
json_get() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# json FILE EXPR: the same over a file (as j).
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- held connections (xlb-probe --hold) ------------------------------------------
# hold_start N SPORT_BASE SECONDS ADDR PORT: N TCP connections from the client
# (source ports from SPORT_BASE), held for at most SECONDS; sets HOLD_PID and
# returns once they are up. hold_check asks each again. Closing fd 7 ends them.
hold_start() {
	local n=$1 base=$2 secs=$3 addr=$4 port=$5
	HOLD_IN=$T/hold.in
	HOLD_OUT=$T/hold.out
	rm -f "$HOLD_IN"
	mkfifo "$HOLD_IN"
	nx client timeout "$secs" "$BUILD/xlb-probe" --hold -v -n "$n" -b "$base" \
		-T $((secs - 10)) "$addr" "$port" <"$HOLD_IN" >"$HOLD_OUT" 2>&1 &
	HOLD_PID=$!
	exec 7>"$HOLD_IN"
	for _ in $(seq 100); do grep -q '^ready' "$HOLD_OUT" && break; sleep 0.1; done
}
# hold_check: asks every held connection again, waits (HOLD_WAIT_S, 10 s by
# default) for the summary line "check N: kept K, moved M, broken B" and
# prints it. The per-connection lines of that check ("SPORT BEFORE AFTER
# VERDICT", with xlb-probe -v) are left in $T/last_check.
hold_check() {
	local n before lines
	before=$(grep -c '^check ' "$HOLD_OUT")
	lines=$(wc -l <"$HOLD_OUT")
	echo check >&7
	for _ in $(seq $((${HOLD_WAIT_S:-10} * 10))); do
		n=$(grep -c '^check ' "$HOLD_OUT")
		[ "$n" -gt "$before" ] && break
		sleep 0.1
	done
	tail -n +"$((lines + 1))" "$HOLD_OUT" | grep -E '^[0-9]+ ' >"$T/last_check"
	grep '^check ' "$HOLD_OUT" | tail -n 1
}

# ---- the veth lab (tests/lab/lab.sh) -------------------------------------------------
nx() { # nx NODE CMD...: run in a lab namespace, keeping /sys/fs/bpf visible
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}
# probe ARGS...: xlb-probe from the client, JSON to stdout
probe() { nx client timeout 60 "$BUILD/xlb-probe" -j "$@"; }

# The lb's outer source addresses (its eth0 in tests/lab/lab.sh; xlbd runs
# without --src4/--src6): the only sources the backends take tunnels from.
LAB_LB_FROM=198.18.0.2,2001:db8::2

# lab_up [XLBD_OPTION...]: the lab with NB backends (echo servers on
# LAB_PORTS, if set), xlbd on the lb (with those options, and those in
# LAB_XLBD_OPTS, if set) and xlb-decap on
# every backend.
lab_up() {
	local i
	LAB_PORTS=${LAB_PORTS:-} bash "$ROOT/tests/lab/lab.sh" up "$P" "$NB" || exit 1
	# shellcheck disable=SC2086 # LAB_XLBD_OPTS: options, split on purpose
	start_xlbd "$P-lb" eth0 ${LAB_XLBD_OPTS:-} "$@" || exit 1
	for i in $(seq "$NB"); do
		nx "be$i" "$BUILD/xlb-decap" attach eth0 --from "$LAB_LB_FROM" >/dev/null ||
			fail "xlb-decap attach be$i"
	done
}

# lab_cleanup: takes xlb off the lb and the backends, tears the lab down and
# removes T; works whatever state a failed test left behind.
lab_cleanup() {
	local i
	if [ -S "$SOCK" ]; then ctl detach >/dev/null 2>&1; fi
	stop_xlbds
	# A daemon killed on purpose leaves xlb attached: detach without it.
	nx lb "$XLBD" -i eth0 --detach >/dev/null 2>&1
	for i in $(seq "$NB"); do nx "be$i" "$BUILD/xlb-decap" detach eth0 >/dev/null 2>&1; done
	bash "$ROOT/tests/lab/lab.sh" down "$P" >/dev/null 2>&1
	rm -rf "$T"
}

# ---- the scale-out lab (LAB_LBS=N: lb1..lbN behind a router) ---------------
# The scripts set TABLE (the announcement table) and declare -A LB_PID.

lctl() { # lctl I ARGS...: xlbctl of instance I
	local i=$1
	shift
	"$XLBCTL" -S "$T/lb$i.sock" "$@"
}
# start_lb I [XLBD OPTIONS]: xlbd on lbI with its own socket, rules file (a
# copy of the common rules: the same rings everywhere) and the announcement
# table.
start_lb() {
	local i=$1
	shift
	setsid nsenter --net="/run/netns/$P-lb$i" "$XLBD" -i eth0 -S "$T/lb$i.sock" \
		-r "$T/lb$i.rules" --announce-table "$TABLE" "$@" >>"$T/lb$i.log" 2>&1 &
	LB_PID[$i]=$!
	XLBD_PIDS+=("$!")
	disown # killed on purpose by the tests: no job notices
}
gone() { # gone PID: waits up to 5 s for PID to exit
	for _ in $(seq 100); do alive "$1" || return 0; sleep 0.05; done
	return 1
}
wait_lb() { # wait_lb I: until lbI's xlbd answers, 15 s at most
	local i=$1
	for _ in $(seq 150); do
		lctl "$i" list >/dev/null 2>&1 && return 0
		alive "${LB_PID[$i]}" || break
		sleep 0.1
	done
	echo "xlbd on lb$i did not come up:"
	tail -n 20 "$T/lb$i.log"
	return 1
}
# scaleout_teardown: takes xlb off every lb and backend, tears the lab down
# and removes T; works whatever state a failed test left behind (the
# script stops its own traffic first).
scaleout_teardown() {
	local i
	for i in $(seq "$NL"); do
		[ -S "$T/lb$i.sock" ] && lctl "$i" detach >/dev/null 2>&1
	done
	stop_xlbds
	for i in $(seq "$NL"); do nx "lb$i" "$XLBD" -i eth0 --detach >/dev/null 2>&1; done
	for i in $(seq "$NB"); do nx "be$i" "$BUILD/xlb-decap" detach eth0 >/dev/null 2>&1; done
	bash "$ROOT/tests/lab/lab.sh" down "$P" >/dev/null 2>&1
	rm -rf "$T"
}
# nexthops ADDR: the router's next hops for ADDR, one per line, sorted.
nexthops() {
	local ip=(ip)
	[[ $1 == *:* ]] && ip=(ip -6)
	nx router "${ip[@]}" route show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "via") print $(i + 1)}' | sort
}
# wait_nexthops ADDR WANT SECONDS: until the router's next hops of ADDR are
# WANT (space separated), polled every 20 ms.
wait_nexthops() {
	local addr=$1 want=$2 end=$(($(date +%s%N) + $3 * 1000000000)) got
	while (($(date +%s%N) < end)); do
		got=$(nexthops "$addr" | tr '\n' ' ')
		[ "${got% }" = "$want" ] && return 0
		sleep 0.02
	done
	echo "router's next hops for $addr: '${got% }', expected '$want'"
	nx router ip route show "$addr"
	return 1
}
