# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# TAP lines for suites written in shell (sourced, not executed):
#
#   tap_result STATUS DESCRIPTION   "ok N DESCRIPTION" when STATUS is 0, else
#                                   "not ok N DESCRIPTION"; returns STATUS != 0
#   tap_end                         the plan line "1..N"; fails if any failed

tap_count=0
tap_failures=0

tap_result() {
	tap_count=$((tap_count + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_count $2"
		return 0
	fi
	echo "not ok $tap_count $2"
	tap_failures=$((tap_failures + 1))
	return 1
}

tap_end() {
	echo "1..$tap_count"
	[ "$tap_failures" = 0 ]
}
