#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build everything the guest runs: QEMU with the card, the guest kernel's
# UAPI headers, mlu.ko against the guest kernel's headers, libmlu, the
# guest tests, tools/mlu-trace and the initramfs.
#
# A failing step prints a "not ok" TAP line (numbered from --tap-start)
# with the end of its log, and the build goes on without that part, so the
# guest still boots and the tests that need it fail or skip.  Successful
# steps print nothing on stdout.  Exit status: the number of failed steps.
#
# Usage: build.sh [--tap-start N] [--initrd FILE] [--test-list FILE]
set -uo pipefail

# shellcheck source=scripts/guest/common.sh
. "$(dirname "$0")/common.sh"
# shellcheck source=scripts/lib/tap.sh
. "$guest_top/scripts/lib/tap.sh"
# tap_step keeps each part's stderr in a log: progress lines skip it.
# shellcheck source=scripts/lib/progress.sh
. "$guest_top/scripts/lib/progress.sh"
progress_share

initrd=$guest_build/initramfs.cpio.gz
while [ $# -gt 0 ]; do
	case "$1" in
	--tap-start) tap_count=$(($2 - 1)); shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	*) echo "build.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

logs=$guest_top/build/logs
mkdir -p "$logs" "$guest_build"
# tap_step NAME COMMAND...: COMMAND's output in build/logs/guest-build-NAME.log.
tap_step_logs=$logs/guest-build-

if ! kver=$(guest_kver); then
	tap_not_ok "build: no guest kernel (run scripts/setup-host.sh)"
	exit "$tap_failures"
fi
tap_step qemu "$guest_top/scripts/build-qemu.sh"
# Every program built below for the guest compiles against the guest
# kernel's UAPI headers (scripts/lib/linux-uapi.mk): install them once here
# and hand the directory to the makes, which then skip the script.
if tap_step linux-uapi "$guest_top/scripts/linux-uapi.sh"; then
	MLU_UAPI_INCLUDE=$("$guest_top/scripts/linux-uapi.sh")
	export MLU_UAPI_INCLUDE
fi

# mlu.ko, built from a copy of the sources so that this build never races a
# developer's own build of the same tree; with the debugfs benchmarks
# (CONFIG_DRM_ACCEL_MLU_BENCH), which the guest tests and benchmarks read.
module=
kmod=$guest_build/kmod
headers=/lib/modules/$kver/build
if [ ! -f "$guest_top/Kbuild" ]; then
	tap_not_ok "build: mlu.ko (no top-level Kbuild: driver not present)"
elif tap_step mlu.ko sh -c "mkdir -p '$kmod' &&
	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '*.mod*' \
		--exclude '.*.cmd' --exclude Module.symvers --exclude modules.order \
		--exclude '*.a' '$guest_top/Kbuild' \
		\$(cd '$guest_top' && ls -d driver include uapi 2>/dev/null | sed 's|^|$guest_top/|') '$kmod/' &&
	make -C '$headers' M='$kmod' CONFIG_DRM_ACCEL_MLU_BENCH=y modules"; then
	module=$(find "$kmod" -name mlu.ko | head -n 1)
fi

tests=()
if [ -f "$guest_top/runtime/Makefile" ] &&
   tap_step libmlu make -C "$guest_top/runtime" O="$guest_top/build/runtime" all examples; then
	tests+=(-t "$guest_top/build/runtime/examples/mlu_demo")
fi

# Tools the guest tests run, in the guest's /bin.
files=()
if tap_step mlu-smi make -C "$guest_top/tools/mlu-smi" O="$guest_top/build/tools"; then
	files+=(-f "$guest_top/build/tools/mlu-smi:/bin/mlu-smi")
fi
if tap_step mlu-trace make -C "$guest_top/tools/mlu-trace" O="$guest_top/build/tools/mlu-trace" \
	KVER="$kver"; then
	files+=(-f "$guest_top/build/tools/mlu-trace/mlu-trace:/bin/mlu-trace")
fi

if tap_step guest-tests make -C "$guest_top/tests/guest" O="$guest_top/build/tests/guest"; then
	while read -r t; do
		tests+=(-t "$guest_top/build/tests/guest/$t")
	done <"$guest_top/build/tests/guest/tests.list"
fi

# vgem, when the kernel has it: the implicit sync tests' foreign fences.
vgem=$(modinfo -k "$kver" -n vgem 2>/dev/null || true)
case "$vgem" in /*) ;; *) vgem= ;; esac

tap_step initramfs "$guest_top/scripts/guest/mkinitramfs.sh" -o "$initrd" -k "$kver" \
	${vgem:+-m "$vgem"} ${module:+-m "$module"} "${tests[@]}" "${files[@]}"
exit "$tap_failures"
