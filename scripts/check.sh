#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run every test suite and print one summary line "N passed, M failed".
#
# A suite is an executable tests/suites/NN-name.sh that builds what it needs
# and prints one TAP stream on stdout (scripts/lib/tap.sh).  Each suite runs
# under TAP::Parser, the parser of prove (scripts/lib/run-suite.pl): "ok"
# results count as passed ("# SKIP" ones as skipped), "not ok" results as
# failed, and so does every error in the stream itself (a missing or wrong
# plan, numbers out of sequence); a suite that exits non-zero without
# reporting any failure counts as one failure, so a crash can never look
# like a pass.  Logs go to build/logs/<suite>.log.  One suite alone runs as
# well under prove itself: prove -v tests/suites/10-core.sh.
# Long first-run steps (package installs, QEMU and kernel builds) print a
# progress line on this script's stderr before and after they run.
#
# Usage: check.sh [suite-name-substring...]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/logs
mkdir -p "$logs"
# Suites' stderr goes to their logs; the progress lines of long builds
# (scripts/lib/progress.sh) come straight to this terminal instead.
# shellcheck source=scripts/lib/progress.sh
. "$top/scripts/lib/progress.sh"
progress_share

passed=0
failed=0
skipped=0
failed_names=()
counts=$(mktemp)
trap 'rm -f "$counts"' EXIT

for suite in "$top"/tests/suites/*.sh; do
	name=$(basename "$suite" .sh)
	if [ $# -gt 0 ]; then
		match=0
		for want in "$@"; do
			case "$name" in *"$want"*) match=1 ;; esac
		done
		[ $match = 1 ] || continue
	fi
	log=$logs/$name.log
	echo "=== $name"
	start=$(date +%s)
	: >"$counts"
	"$top/scripts/lib/run-suite.pl" "$suite" "$log" "$counts"
	read -r p f s <"$counts" 2>/dev/null || {
		echo "not ok - $name: the TAP harness did not run (see $log)"
		p=0 f=1 s=0
	}
	if [ "$f" != 0 ]; then
		failed_names+=("$name")
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	echo "=== $name: $p passed, $f failed, $s skipped ($(( $(date +%s) - start )) s)"
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed suites: ${failed_names[*]} (logs in $logs)"
fi
if [ "$skipped" != 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
