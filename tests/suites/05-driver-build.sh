#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The mlu driver and its UAPI header, checked on the host (TAP):
# - mlu.ko builds with W=1 against the guest kernel's headers (the newest
#   installed 6.12 Debian headers) without a single compiler warning, with
#   the debug-only code (CONFIG_DRM_ACCEL_MLU_BENCH=y) so that it is checked
#   too, and without it, when none of it is in the module;
# - sparse finds nothing (endianness of the card's in-memory structures);
# - checkpatch --strict is clean on every driver and UAPI file;
# - kernel-doc finds no problem in the UAPI header;
# - the UAPI header compiles on its own in userspace with -Wall -Werror
#   (C, and C++ when g++ is installed) and its structures have the same
#   size and no hidden padding on 64- and 32-bit ABIs (tests/uapi/).
#
# The module is built from a copy under build/driver-check so that this
# never races a developer's own in-tree build.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/driver-check
logs=$top/build/logs
mkdir -p "$out" "$logs"

# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"

headers=$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)
tools=$("$top/scripts/linux-tools.sh" 2>/dev/null) || tools=

# --- module build -----------------------------------------------------------
build_log=$logs/driver-build.log
if [ -z "$headers" ]; then
	tap_not_ok "driver: 6.12 kernel headers installed (run scripts/setup-host.sh)"
else
	rm -rf "$out/src"
	mkdir -p "$out/src"
	cp -r "$top/Kbuild" "$top/driver" "$top/include" "$top/uapi" "$out/src/"
	# Only sources: a developer's in-tree objects must not leak in.
	find "$out/src" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o \
		-name '.*.cmd' -o -name modules.order \) -delete
	# The debug-only code is built and checked with the rest.
	bench=CONFIG_DRM_ACCEL_MLU_BENCH=y
	tap_check "$build_log" "driver: mlu.ko builds with W=1 against $(basename "$headers")" \
		make -C "$headers" M="$out/src" W=1 "$bench" modules
	warnings=$(grep -cE 'warning:|error:' "$build_log")
	if [ -f "$out/src/driver/mlu.ko" ] && [ "$warnings" = 0 ]; then
		tap_ok "driver: no compiler warnings"
	else
		tap_not_ok "driver: no compiler warnings ($warnings found)"
		grep -E 'warning:|error:' "$build_log" | head -n 20 | sed 's/^/#   /'
	fi
	# sparse: endianness (__le64 page tables and packets), address spaces.
	if command -v sparse >/dev/null; then
		sparse_log=$logs/driver-sparse.log
		touch "$out"/src/driver/*.c
		nice make -C "$headers" M="$out/src" C=1 W=1 "$bench" modules >"$sparse_log" 2>&1
		if grep -qE 'warning:|error:' "$sparse_log"; then
			tap_not_ok "driver: sparse (C=1) clean"
			grep -E 'warning:|error:' "$sparse_log" | head -n 20 | sed 's/^/#   /'
		else
			tap_ok "driver: sparse (C=1) clean"
		fi
	else
		tap_skip "driver: sparse (C=1) clean" "sparse not installed"
	fi
	ko=$out/src/driver/mlu.ko
	if [ -f "$ko" ] &&
	   [ "$(modinfo -F name "$ko")" = mlu ] &&
	   [ "$(modinfo -F license "$ko")" = GPL ] &&
	   modinfo -F alias "$ko" | grep -q '^pci:v00001AF4d000010FA' &&
	   modinfo -F import_ns "$ko" | grep -qx DMA_BUF; then
		tap_ok "driver: module metadata (name, license, PCI alias, DMA_BUF namespace)"
	else
		tap_not_ok "driver: module metadata (name, license, PCI alias, DMA_BUF namespace)"
	fi
	# Without the option (Kbuild rebuilds what its flags change): no
	# warning either, and no debug-only code in the module.
	plain_log=$logs/driver-build-plain.log
	if nice make -C "$headers" M="$out/src" W=1 modules >"$plain_log" 2>&1 &&
	   ! grep -qE 'warning:|error:' "$plain_log" && [ -f "$ko" ] &&
	   ! nm "$ko" | grep -qE 'mlu_bench_|mlu_job_kernel_'; then
		tap_ok "driver: builds with W=1 without CONFIG_DRM_ACCEL_MLU_BENCH, no debug-only code"
	else
		tap_not_ok "driver: builds with W=1 without CONFIG_DRM_ACCEL_MLU_BENCH, no debug-only code"
		grep -E 'warning:|error:' "$plain_log" | head -n 20 | sed 's/^/#   /'
	fi
fi

# --- checkpatch -------------------------------------------------------------
files=$(cd "$top" && ls driver/mlu_*.c driver/mlu_*.h uapi/drm/*.h)
if [ -z "$tools" ] || [ ! -f "$tools/scripts/checkpatch.pl" ]; then
	tap_not_ok "checkpatch: available (scripts/linux-tools.sh failed)"
else
	for f in $files; do
		log=$logs/checkpatch-$(basename "$f").log
		# Clean means no ERROR, WARNING or CHECK at all: empty output.
		(cd "$top" && perl "$tools/scripts/checkpatch.pl" --strict --no-tree \
			--quiet --show-types -f "$f") >"$log" 2>&1
		if [ -s "$log" ]; then
			tap_not_ok "checkpatch --strict: $f"
			head -n 20 "$log" | sed 's/^/#   /'
		else
			tap_ok "checkpatch --strict: $f"
		fi
	done
fi

# --- kernel-doc of the UAPI header -------------------------------------------
if [ -n "$tools" ] && [ -x "$tools/scripts/kernel-doc" ]; then
	log=$logs/kernel-doc-uapi.log
	"$tools/scripts/kernel-doc" -none -Wall "$top/uapi/drm/mlu_accel.h" >"$log" 2>&1
	if [ -s "$log" ]; then
		tap_not_ok "kernel-doc -Wall: uapi/drm/mlu_accel.h"
		head -n 20 "$log" | sed 's/^/#   /'
	else
		tap_ok "kernel-doc -Wall: uapi/drm/mlu_accel.h"
	fi
else
	tap_not_ok "kernel-doc -Wall: uapi/drm/mlu_accel.h (scripts/linux-tools.sh failed)"
fi

# --- UAPI header in userspace ------------------------------------------------
# tests/uapi: the header alone, its structures' sizes asserted at compile time.
uapi=(make -C "$top/tests/uapi")
tap_check "$logs/uapi-c.log" \
	"uapi: mlu_accel.h compiles standalone as C11 (-Wall -Wextra -Werror -pedantic)" \
	"${uapi[@]}" c
if "${uapi[@]}" -s have-cxx 2>/dev/null; then
	tap_check "$logs/uapi-cxx.log" "uapi: mlu_accel.h compiles standalone as C++17" \
		"${uapi[@]}" cxx
else
	tap_skip "uapi: mlu_accel.h compiles standalone as C++17" "no g++"
fi
# The 32-bit ABI (a compat ioctl caller) needs multilib headers.
if "${uapi[@]}" -s have-m32 2>/dev/null; then
	tap_check "$logs/uapi-m32.log" "uapi: same layout on the 32-bit ABI" "${uapi[@]}" m32
else
	tap_skip "uapi: same layout on the 32-bit ABI" "no gcc -m32 multilib"
fi

tap_end
