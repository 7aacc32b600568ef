#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run every test suite and print one summary line "N passed, M failed".
#
# A suite is an executable tests/suites/NN-name.sh that builds what it needs
# and prints TAP (the kselftest harness format) on stdout.  Its "ok" and
# "not ok" lines are counted ("# SKIP" lines count as skipped); a suite that
# exits non-zero without reporting any failure counts as one failure, so a
# crash can never look like a pass.  Logs go to build/logs/<suite>.log.
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
	"$suite" 2>&1 | tee "$log" | grep -aE '^(not )?ok |^# (SKIP|FAIL)|^Bail out!|^fuzz: |^isa: ' || true
	rc=${PIPESTATUS[0]}
	# Count top-level and nested TAP results alike: the harness indents
	# nothing, our runners prefix nothing.
	p=$(grep -acE '^ok [0-9]+ ' "$log" | tr -d ' ')
	s=$(grep -acE '^ok [0-9]+ .*# SKIP' "$log" | tr -d ' ')
	f=$(grep -acE '^not ok [0-9]+ ' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name: suite exited with status $rc without a TAP failure (see $log)"
		f=1
	fi
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
