#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test_docs.sh: the man pages say what --help says. Every command line of
# `xlbctl help` and `xlb-decap --help`, every usage line of `xlbd --help` and
# every long option the three list must appear in man/xlbctl.8, man/xlb-decap.8
# and man/xlbd.8 (rendered by groff, spacing ignored): a usage line as a
# command's tag or at the end of a synopsis line, an option anywhere. Needs
# neither root nor a daemon. Prints "test_docs: N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib.sh
. "$ROOT/tests/e2e/lib.sh"

for b in "$XLBD" "$XLBCTL" "$BUILD/xlb-decap"; do
	[ -x "$b" ] || { echo "test_docs: $b missing, run make first"; exit 1; }
done
command -v groff >/dev/null || { echo "test_docs: needs groff (make deps)"; exit 1; }
T=$(mktemp -d /tmp/xlb-docs.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

# squeeze: runs of blanks as one space, none at either end.
squeeze() { tr '\t' ' ' | tr -s ' ' | sed 's/^ //; s/ $//'; }

# render PAGE: PAGE as plain text without hyphenation, one line per synopsis
# line, command tag or paragraph (none reaches 2000 columns), into
# $T/PAGE.txt; the lines of its SYNOPSIS and COMMANDS sections that start at
# the left margin (synopsis lines, command tags) into $T/PAGE.usage.
render() {
	LC_ALL=C groff -man -Tascii -P-cbou -rLL=2000n -rHY=0 "$ROOT/man/$1" 2>/dev/null >"$T/$1.raw"
	squeeze <"$T/$1.raw" >"$T/$1.txt"
	awk '/^[A-Z][A-Z ]*$/ { sec = $0; next }
		(sec == "SYNOPSIS" || sec == "COMMANDS") && /^       [^ ]/' "$T/$1.raw" |
		squeeze >"$T/$1.usage"
}

# man_has_usage PAGE TEXT: a synopsis line or command tag of PAGE is TEXT,
# begins with it (a short tag, followed by its description) or ends with it
# (a synopsis line, after the global options); spacing ignored.
man_has_usage() {
	awk -v w="$(squeeze <<<"$2")" '
		$0 == w || index($0, w " ") == 1 { found = 1; exit }
		length($0) > length(w) && substr($0, length($0) - length(w)) == " " w { found = 1; exit }
		END { exit !found }' "$T/$1.usage"
}

# man_mentions PAGE WORD: WORD is somewhere in PAGE.
man_mentions() { grep -qF -- "$2" "$T/$1.txt"; }

# help_section HELP HEADING: the indented lines after HEADING up to the first
# line that is not indented, with a description (after 2+ spaces) cut off.
help_section() {
	# Lines indented deeper than two spaces continue the description above.
	awk -v h="$2" '$0 == h { on = 1; next } on && !/^  / { exit } on && !/^   / ' <<<"$1" |
		sed 's/^ *//; s/   *.*//' | squeeze
}

# long_options HELP: every --option that HELP mentions.
long_options() { grep -oE -- '--[a-z][a-z0-9-]*' <<<"$1" | sort -u; }

for page in xlbctl.8 xlbd.8 xlb-decap.8; do
	render "$page"
	check "man/$page renders with a synopsis" test -s "$T/$page.usage"
done

# xlbctl: the grammar's command lines and the global options.
help=$("$XLBCTL" help)
n=0
while read -r line; do
	n=$((n + 1))
	check "xlbctl.8 has '$line'" man_has_usage xlbctl.8 "$line"
done < <(help_section "$help" "Commands:")
check "xlbctl help lists its commands ($n lines)" test "$n" -ge 10
while read -r opt; do
	check "xlbctl.8 has $opt" man_mentions xlbctl.8 "$opt"
done < <(long_options "$(sed -n '1,/^Commands:/p' <<<"$help")")

# xlbd: each usage line (continuations joined) and every option.
help=$("$XLBD" --help)
n=0
while read -r line; do
	n=$((n + 1))
	check "xlbd.8 has '$line'" man_has_usage xlbd.8 "$line"
done < <(awk '/^Usage: / { sub(/^Usage: /, ""); if (u) print u; u = $0; next }
	/^ +xlbd / { if (u) print u; u = $0; next }
	/^ +\[/ && u { u = u " " $0; next }
	{ exit } END { if (u) print u }' <<<"$help" | squeeze)
check "xlbd --help has usage lines ($n)" test "$n" -ge 2
while read -r opt; do
	check "xlbd.8 has $opt" man_mentions xlbd.8 "$opt"
done < <(long_options "$help")

# xlb-decap: the command lines and every option.
help=$("$BUILD/xlb-decap" --help)
n=0
while read -r line; do
	n=$((n + 1))
	check "xlb-decap.8 has '$line'" man_has_usage xlb-decap.8 "$line"
done < <(help_section "$help" "Commands:")
check "xlb-decap --help lists its commands ($n lines)" test "$n" -ge 3
while read -r opt; do
	check "xlb-decap.8 has $opt" man_mentions xlb-decap.8 "$opt"
done < <(long_options "$help")

summary test_docs
