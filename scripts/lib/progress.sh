# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Progress lines for long steps (sourced by the scripts, not executed).  A
# first run on a fresh machine installs packages and builds QEMU and a debug
# kernel, and is silent for minutes otherwise: one line before such a step
# says what it does and about how long it takes, one line after it gives
# the time it took, so a newcomer can tell a long first run from a hung one.
#
#   progress_begin WHO WHAT ESTIMATE   "WHO: WHAT, about ESTIMATE"
#   progress_end                       "WHO: WHAT done in 1 min 52 s"
#   progress_note WHO MESSAGE          one line, e.g. "waiting for a lock"
#   progress_share                     let children reach this stderr
#
# The lines go to the file descriptor named by MLU_PROGRESS_FD when it is
# set (and open), else to stderr.  A script that hides its children's stderr
# in a log (scripts/check.sh, scripts/guest/build.sh, the suites) calls
# progress_share first: it exports its own stderr as MLU_PROGRESS_FD, so the
# lines of a build deep below still reach the user's terminal.  Steps
# should only call progress_begin when they really are about to do the long
# work, not on a cached or incremental run.

_progress_who=
_progress_what=
_progress_start=

# progress_share: export this shell's stderr for the progress lines of
# every child, unless an outer script already did.
progress_share() {
	if [ -n "${MLU_PROGRESS_FD:-}" ] && { true >&"$MLU_PROGRESS_FD"; } 2>/dev/null; then
		return 0
	fi
	exec {MLU_PROGRESS_FD}>&2
	export MLU_PROGRESS_FD
}

_progress_say() {
	if [ -n "${MLU_PROGRESS_FD:-}" ] && { true >&"$MLU_PROGRESS_FD"; } 2>/dev/null; then
		echo "$*" >&"$MLU_PROGRESS_FD"
	else
		echo "$*" >&2
	fi
}

progress_note() {
	_progress_say "$1: $2"
}

progress_begin() {
	_progress_who=$1
	_progress_what=$2
	_progress_start=$(date +%s)
	_progress_say "$1: $2, about $3"
}

progress_end() {
	local s=$(($(date +%s) - ${_progress_start:-$(date +%s)}))
	if [ "$s" -ge 60 ]; then
		s="$((s / 60)) min $((s % 60)) s"
	else
		s="$s s"
	fi
	_progress_say "$_progress_who: $_progress_what done in $s"
}
