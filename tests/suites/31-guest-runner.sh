#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The guest runner itself (scripts/guest/run.sh): a guest that has ended its
# tests but does not power off is stopped by the runner's watchdog within
# --poweroff-grace seconds, with the reason as a failing TAP line, instead
# of after the --timeout; and a guest that powers off is not touched.  Two
# boots of an initramfs with no module and no test (about 10 s each); the
# stuck guest is made with init's mlu_poweroff=0 knob.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/guest/common.sh
. "$top/scripts/guest/common.sh"
logs=$top/build/logs
initrd=$guest_build/runner-test.cpio.gz
mkdir -p "$logs"
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"

fail_setup() {
	tap_fail_log "build: $1" "$2"
	tap_end
	exit 1
}
"$top/scripts/build-qemu.sh" >/dev/null 2>"$logs/31-guest-runner-qemu.log" ||
	fail_setup "QEMU" "$logs/31-guest-runner-qemu.log"
"$top/scripts/guest/mkinitramfs.sh" -o "$initrd" 2>"$logs/31-guest-runner-initramfs.log" ||
	fail_setup "initramfs" "$logs/31-guest-runner-initramfs.log"

# boot NAME RUN.SH-OPTIONS...: sets $out (run.sh's TAP), $rc and $secs.
# The outer timeout only matters when the watchdog is broken: without it a
# stuck guest would hang this suite for good.
boot() {
	local name=$1 t0
	shift
	t0=$SECONDS
	out=$(timeout -k 5 150 "$top/scripts/guest/run.sh" --cards 0 --initrd "$initrd" \
		--name "$name" --timeout 90 "$@" 2>&1)
	rc=$?
	secs=$((SECONDS - t0))
	printf '%s\n' "$out" >"$logs/$name.run.log"
}
# result STATUS DESCRIPTION: a TAP line, run.sh's output when it failed.
result() {
	tap_result "$1" "$2" || printf '%s\n' "$out" | sed 's/^/#   run.sh: /'
}

# A guest that hangs after its last marker, as one stuck after a kernel
# warning would.  3 s of grace keep this cheap; the default is 10 s.
boot 31-guest-runner-stuck --append mlu_poweroff=0 --poweroff-grace 3
r=1
if [ "$rc" != 0 ] && printf '%s\n' "$out" |
	grep -qE '^not ok [0-9]+ guest: did not power off within 3 s after its tests ended'; then
	r=0
fi
result $r "runner: a guest that does not power off fails with the reason (status $rc)"
# Well under run.sh's --timeout 90: the boot itself takes about 5 s.
[ "$secs" -lt 60 ]
result $? "runner: and is stopped within seconds of its last marker ($secs s)"

boot 31-guest-runner-clean --poweroff-grace 3
r=1
if [ "$rc" = 0 ] && printf '%s\n' "$out" |
	grep -qE '^ok [0-9]+ guest: ran to completion and powered off'; then
	r=0
fi
result $r "runner: a guest that powers off passes, untouched by the watchdog (status $rc)"

tap_end
