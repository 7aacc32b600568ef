#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The project's own scripts, on the paths that only a fresh machine takes:
# a first run sees empty caches and unmatched globs, which later runs never
# see again, so nothing else would catch a regression there.  Everything
# runs against a temporary MLU_CACHE_DIR and takes well under a second.
# The TAP plumbing of check.sh (scripts/lib/tap.sh, run-suite.pl) is tested
# here too.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"

# --- scripts/lib/progress.sh -------------------------------------------------
# A build whose stderr a suite keeps in a log must still show its progress
# lines on the stderr of the script that shared it (check.sh's terminal).
# MLU_PROGRESS_FD is unset first: check.sh, which runs this suite, has
# shared one of its own.
progress=$top/scripts/lib/progress.sh
# The inner scripts expand their own arguments: single quotes on purpose.
# shellcheck disable=SC2016
got=$(env -u MLU_PROGRESS_FD bash -c '. "$1"; progress_share
	bash -c ". \"\$1\"; progress_begin demo \"doing a thing\" \"1 s\"
		progress_end" - "$1" 2>"$2"' - "$progress" "$tmp/hidden.log" 2>&1)
printf '%s\n' "$got" | grep -qx 'demo: doing a thing, about 1 s' &&
	printf '%s\n' "$got" | grep -qxE 'demo: doing a thing done in [0-9]+ s'
r=$?
[ "$r" = 0 ] || printf '%s\n' "$got" | sed 's/^/# got: /'
tap_result $r "progress: lines reach the sharing script's stderr past a child's log"
# shellcheck disable=SC2016
got=$(env -u MLU_PROGRESS_FD bash -c '. "$1"; progress_note demo "waiting"' - "$progress" 2>&1)
[ "$got" = "demo: waiting" ]
tap_result $? "progress: without a shared descriptor, lines go to stderr"

# --- scripts/lib/tap.sh tap_run and scripts/lib/run-suite.pl ----------------
# A program's TAP (own plan and numbers) flattened into the stream, and the
# harness's counts: what check.sh sums into its summary line.
cat >"$tmp/prog.sh" <<'SH'
#!/bin/sh
echo "TAP version 13"; echo "1..3"; echo "# note"; echo "ok 1 a"
echo "not ok 2 - b"; echo "ok 3 c # SKIP why"; exit 1
SH
chmod +x "$tmp/prog.sh"
# The tap_run under test runs in a shell of its own: its counters are not
# this suite's.
# shellcheck disable=SC2016
got=$(bash -c '. "$1"; tap_ok first; tap_run "x:" "$2"; tap_run "y:" true; tap_end' \
	- "$top/scripts/lib/tap.sh" "$tmp/prog.sh" | tr '\n' '|')
want='ok 1 first|# note|ok 2 x:a|not ok 3 x:b|ok 4 x:c # SKIP why|ok 5 y|1..5|'
[ "$got" = "$want" ]
r=$?
[ "$r" = 0 ] || echo "# got: $got"
tap_result $r "tap_run: a program's results renumbered into one stream, one plan"
# shellcheck disable=SC2016
got=$(bash -c '. "$1"; tap_step_logs=$2/step-; tap_step pass echo hidden
	tap_step "fail 1" sh -c "echo shown; exit 1"; tap_end' - "$top/scripts/lib/tap.sh" "$tmp" |
	tr '\n' '|')
want="not ok 1 build: fail 1 (log: $tmp/step-fail_1.log)|#   shown|1..1|"
[ "$got" = "$want" ] && [ "$(cat "$tmp/step-pass.log")" = hidden ]
r=$?
[ "$r" = 0 ] || echo "# got: $got"
tap_result $r "tap_step: silent when the step passes, a failure with its log when it fails"
# suite BODY: a suite script; prints run-suite.pl's counts "P F S".
suite() {
	printf '#!/bin/sh\n%s\n' "$1" >"$tmp/suite.sh"
	chmod +x "$tmp/suite.sh"
	"$top/scripts/lib/run-suite.pl" "$tmp/suite.sh" "$tmp/suite.log" "$tmp/counts" >/dev/null
	cat "$tmp/counts"
}
[ "$(suite 'echo "ok 1 a"; echo "ok 2 b # SKIP no"; echo "not ok 3 c"; echo 1..3')" = "1 1 1" ]
tap_result $? "run-suite: ok, skipped and failed results counted"
[ "$(suite 'echo "ok 1 a"; echo "ok 3 b"; echo 1..2')" = "2 1 0" ]
tap_result $? "run-suite: numbers out of sequence count as a failure"
[ "$(suite 'echo 1..3; echo "ok 1 a"')" = "1 1 0" ] &&
	[ "$(suite 'echo "ok 1 a"')" = "1 1 0" ]
tap_result $? "run-suite: a plan the results do not match, or none, counts as a failure"
[ "$(suite 'echo "ok 1 a"; echo 1..1; exit 3')" = "1 1 0" ] &&
	grep -q 'exited with status 3 without a TAP failure' "$tmp/suite.log"
tap_result $? "run-suite: a suite that fails without a failing result counts as one failure"

# --- build-debug-kernel.sh: pruning the caches of other keys -----------------
# --prune runs the same pruning a finished build runs, without building.
bdk=$top/scripts/build-debug-kernel.sh
if ! dpkg-query -W linux-source-6.12 >/dev/null 2>&1; then
	tap_result 0 "build-debug-kernel: pruning # SKIP linux-source-6.12 not installed"
	tap_end
	exit
fi
prune() { MLU_CACHE_DIR=$tmp/cache "$bdk" --prune 2>>"$tmp/prune.log"; }

# No cache at all (not even the cache directory).
cur=$(prune)
tap_result $? "build-debug-kernel --prune: no cache directory at all"
case "$cur" in
"$tmp/cache/debug-kernel-"*) r=0 ;;
*) r=1; echo "# printed '$cur'" ;;
esac
tap_result $r "build-debug-kernel --prune: prints the current key's directory"

# The first build on a fresh machine: its cache is the only one.
mkdir -p "$cur"
touch "$cur/done"
prune >/dev/null
tap_result $? "build-debug-kernel --prune: the just-built cache is the only one"
[ -f "$cur/done" ]
tap_result $? "build-debug-kernel --prune: keeps the current cache"

# Later: older keys, one in use by a build (locked), one half-built.
c=$tmp/cache
mkdir -p "$c/debug-kernel-old" "$c/debug-kernel-recent" "$c/debug-kernel-partial" \
	"$c/debug-kernel-busy"
touch -d '-3 hours' "$c/debug-kernel-old/done"
touch -d '-1 hour' "$c/debug-kernel-recent/done"
touch -d '-2 hours' "$c/debug-kernel-busy/done"
exec 8>>"$c/debug-kernel-busy/lock"
flock 8
prune >/dev/null
tap_result $? "build-debug-kernel --prune: several caches"
exec 8>&-
[ -d "$cur" ] && [ -d "$c/debug-kernel-recent" ] && [ -d "$c/debug-kernel-busy" ]
tap_result $? "build-debug-kernel --prune: keeps the current, the most recently used and a locked cache"
[ ! -e "$c/debug-kernel-old" ] && [ ! -e "$c/debug-kernel-partial" ]
tap_result $? "build-debug-kernel --prune: removes the older and the half-built caches"
if [ "$tap_failures" != 0 ]; then
	sed 's/^/# /' "$tmp/prune.log"
fi
tap_end
