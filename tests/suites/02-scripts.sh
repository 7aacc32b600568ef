#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The project's own scripts, on the paths that only a fresh machine takes:
# a first run sees empty caches and unmatched globs, which later runs never
# see again, so nothing else would catch a regression there.  Everything
# runs against a temporary MLU_CACHE_DIR and takes well under a second.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}

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
check $r "progress: lines reach the sharing script's stderr past a child's log"
# shellcheck disable=SC2016
got=$(env -u MLU_PROGRESS_FD bash -c '. "$1"; progress_note demo "waiting"' - "$progress" 2>&1)
[ "$got" = "demo: waiting" ]
check $? "progress: without a shared descriptor, lines go to stderr"

# --- build-debug-kernel.sh: pruning the caches of other keys -----------------
# --prune runs the same pruning a finished build runs, without building.
bdk=$top/scripts/build-debug-kernel.sh
if ! dpkg-query -W linux-source-6.12 >/dev/null 2>&1; then
	echo "ok $((n + 1)) build-debug-kernel: pruning # SKIP linux-source-6.12 not installed"
	echo "1..$((n + 1))"
	[ "$failed" = 0 ]
	exit
fi
prune() { MLU_CACHE_DIR=$tmp/cache "$bdk" --prune 2>>"$tmp/prune.log"; }

# No cache at all (not even the cache directory).
cur=$(prune)
check $? "build-debug-kernel --prune: no cache directory at all"
case "$cur" in
"$tmp/cache/debug-kernel-"*) r=0 ;;
*) r=1; echo "# printed '$cur'" ;;
esac
check $r "build-debug-kernel --prune: prints the current key's directory"

# The first build on a fresh machine: its cache is the only one.
mkdir -p "$cur"
touch "$cur/done"
prune >/dev/null
check $? "build-debug-kernel --prune: the just-built cache is the only one"
[ -f "$cur/done" ]
check $? "build-debug-kernel --prune: keeps the current cache"

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
check $? "build-debug-kernel --prune: several caches"
exec 8>&-
[ -d "$cur" ] && [ -d "$c/debug-kernel-recent" ] && [ -d "$c/debug-kernel-busy" ]
check $? "build-debug-kernel --prune: keeps the current, the most recently used and a locked cache"
[ ! -e "$c/debug-kernel-old" ] && [ ! -e "$c/debug-kernel-partial" ]
check $? "build-debug-kernel --prune: removes the older and the half-built caches"
if [ "$failed" != 0 ]; then
	sed 's/^/# /' "$tmp/prune.log"
fi

echo "1..$n"
[ "$failed" = 0 ]
