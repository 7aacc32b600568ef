# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# TAP for suites and scripts written in shell (sourced, not executed).  A
# suite prints one TAP stream: sequential numbers and exactly one plan,
# which tap_end prints last.  Results of a test program (a kselftest
# harness binary, with its own plan and numbers) join that stream through
# tap_run, renumbered and flattened, so scripts/check.sh (TAP::Parser)
# sees every test case under its own name.
#
#   tap_result STATUS DESCRIPTION   "ok N DESCRIPTION" when STATUS is 0, else
#                                   "not ok N DESCRIPTION"; returns STATUS != 0
#   tap_ok DESCRIPTION, tap_not_ok DESCRIPTION
#   tap_skip DESCRIPTION REASON     "ok N DESCRIPTION # SKIP REASON"
#   tap_fail_log DESCRIPTION LOG    "not ok N DESCRIPTION (log: LOG)" and the
#                                   end of LOG as comments
#   tap_check LOG DESCRIPTION COMMAND...
#                                   run COMMAND (niced) with its output in LOG:
#                                   one result, the end of LOG when it failed
#   tap_step NAME COMMAND...        a build step: run COMMAND (niced) with its
#                                   output in ${tap_step_logs}NAME.log; nothing
#                                   when it passes, "not ok N build: NAME" and
#                                   the end of the log when it fails
#   tap_run PREFIX COMMAND...       run a TAP producer, its results renumbered
#                                   into this stream as "PREFIXname"
#   tap_end                         the plan line "1..N"; fails if any failed
#
# tap_count is the number of the last result (set tap_count=N-1 to number
# from N, as scripts/guest/build.sh --tap-start does); tap_failures counts
# the "not ok" lines.

tap_count=0
tap_failures=0
tap_step_logs=${tap_step_logs:-}

tap_ok() {
	tap_count=$((tap_count + 1))
	echo "ok $tap_count $1"
}

tap_not_ok() {
	tap_count=$((tap_count + 1))
	tap_failures=$((tap_failures + 1))
	echo "not ok $tap_count $1"
}

tap_skip() {
	tap_ok "$1 # SKIP $2"
}

tap_result() {
	if [ "$1" = 0 ]; then
		tap_ok "$2"
		return 0
	fi
	tap_not_ok "$2"
	return 1
}

_tap_log_tail() {
	tail -n 40 "$1" | sed 's/^/#   /'
}

tap_fail_log() {
	tap_not_ok "$1 (log: $2)"
	_tap_log_tail "$2"
}

# _tap_logged QUIET LOG DESCRIPTION COMMAND...
_tap_logged() {
	local quiet=$1 log=$2 what=$3
	shift 3
	if nice "$@" >"$log" 2>&1; then
		[ "$quiet" = 1 ] || tap_ok "$what"
		return 0
	fi
	if [ "$quiet" = 1 ]; then
		tap_fail_log "$what" "$log"
	else
		tap_not_ok "$what"
		_tap_log_tail "$log"
	fi
	return 1
}

tap_check() {
	_tap_logged "" "$@"
}

tap_step() {
	local name=$1
	shift
	_tap_logged 1 "${tap_step_logs}${name//[^a-zA-Z0-9.]/_}.log" "build: $name" "$@"
}

# tap_run PREFIX COMMAND...: COMMAND's own plan and "TAP version" line are
# dropped, its results renumbered; its other lines become TAP comments, a
# "Bail out!" a failing result (the suite goes on).  A run that ends short
# of its plan, or fails without a failing result, adds a failing result;
# a program that prints no result is one (exit status 4, KSFT_SKIP: skipped).
# Its stderr is left alone.  Returns non-zero when COMMAND failed.
tap_run() {
	local prefix=$1 who line rc plan=0 results=0 fails=0 lastpipe=0
	shift
	who=${prefix%:}
	who=${who:-$(basename "$1")}
	shopt -q lastpipe && lastpipe=1
	shopt -s lastpipe
	"$@" | while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		case "$line" in
		"TAP version "*) ;;
		1..*) plan=${line#1..}; plan=${plan%%[!0-9]*} ;;
		"ok "* | "not ok "*)
			results=$((results + 1))
			[[ $line =~ ^(not\ )?ok\ *[0-9]*\ *(-\ )?(.*)$ ]]
			if [ -n "${BASH_REMATCH[1]}" ]; then
				fails=$((fails + 1))
				tap_not_ok "$prefix${BASH_REMATCH[3]}"
			else
				tap_ok "$prefix${BASH_REMATCH[3]}"
			fi
			;;
		"Bail out!"*)
			results=$((results + 1))
			fails=$((fails + 1))
			tap_not_ok "$who: bailed out:${line#Bail out!}"
			;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done
	rc=${PIPESTATUS[0]}
	[ "$lastpipe" = 1 ] || shopt -u lastpipe
	if [ "$results" -lt "${plan:-0}" ]; then
		tap_not_ok "$who: only $results of $plan planned results (status $rc)"
	elif [ "$results" = 0 ]; then
		case "$rc" in
		0) tap_ok "$who" ;;
		4) tap_skip "$who" "exited with KSFT_SKIP" ;;
		*) tap_not_ok "$who: exited with status $rc" ;;
		esac
	elif [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$fails" = 0 ]; then
		tap_not_ok "$who: exited with status $rc"
	fi
	[ "$rc" = 0 ] || [ "$rc" = 4 ]
}

tap_end() {
	echo "1..$tap_count"
	[ "$tap_failures" = 0 ]
}
