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
#   size and no hidden padding on 64- and 32-bit ABIs.
#
# The module is built from a copy under build/driver-check so that this
# never races a developer's own in-tree build.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/driver-check
logs=$top/build/logs
mkdir -p "$out" "$logs"

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n $* # SKIP"; }
# check NAME LOG COMMAND...: one TAP line; the end of LOG on failure.
check() {
	local name=$1 log=$2
	shift 2
	if "$@" >"$log" 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		tail -n 30 "$log" | sed 's/^/#   /'
	fi
}

headers=$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V | tail -n 1)
tools=$("$top/scripts/linux-tools.sh" 2>/dev/null) || tools=

# --- module build -----------------------------------------------------------
build_log=$logs/driver-build.log
if [ -z "$headers" ]; then
	not_ok "driver: 6.12 kernel headers installed (run scripts/setup-host.sh)"
else
	rm -rf "$out/src"
	mkdir -p "$out/src"
	cp -r "$top/Kbuild" "$top/driver" "$top/include" "$top/uapi" "$out/src/"
	# Only sources: a developer's in-tree objects must not leak in.
	find "$out/src" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o \
		-name '.*.cmd' -o -name modules.order \) -delete
	# The debug-only code is built and checked with the rest.
	bench=CONFIG_DRM_ACCEL_MLU_BENCH=y
	check "driver: mlu.ko builds with W=1 against $(basename "$headers")" \
		"$build_log" nice make -C "$headers" M="$out/src" W=1 "$bench" modules
	warnings=$(grep -cE 'warning:|error:' "$build_log")
	if [ -f "$out/src/driver/mlu.ko" ] && [ "$warnings" = 0 ]; then
		ok "driver: no compiler warnings"
	else
		not_ok "driver: no compiler warnings ($warnings found)"
		grep -E 'warning:|error:' "$build_log" | head -n 20 | sed 's/^/#   /'
	fi
	# sparse: endianness (__le64 page tables and packets), address spaces.
	if command -v sparse >/dev/null; then
		sparse_log=$logs/driver-sparse.log
		touch "$out"/src/driver/*.c
		nice make -C "$headers" M="$out/src" C=1 W=1 "$bench" modules >"$sparse_log" 2>&1
		if grep -qE 'warning:|error:' "$sparse_log"; then
			not_ok "driver: sparse (C=1) clean"
			grep -E 'warning:|error:' "$sparse_log" | head -n 20 | sed 's/^/#   /'
		else
			ok "driver: sparse (C=1) clean"
		fi
	else
		skip "driver: sparse (C=1) clean (sparse not installed)"
	fi
	ko=$out/src/driver/mlu.ko
	if [ -f "$ko" ] &&
	   [ "$(modinfo -F name "$ko")" = mlu ] &&
	   [ "$(modinfo -F license "$ko")" = GPL ] &&
	   modinfo -F alias "$ko" | grep -q '^pci:v00001AF4d000010FA' &&
	   modinfo -F import_ns "$ko" | grep -qx DMA_BUF; then
		ok "driver: module metadata (name, license, PCI alias, DMA_BUF namespace)"
	else
		not_ok "driver: module metadata (name, license, PCI alias, DMA_BUF namespace)"
	fi
	# Without the option (Kbuild rebuilds what its flags change): no
	# warning either, and no debug-only code in the module.
	plain_log=$logs/driver-build-plain.log
	if nice make -C "$headers" M="$out/src" W=1 modules >"$plain_log" 2>&1 &&
	   ! grep -qE 'warning:|error:' "$plain_log" && [ -f "$ko" ] &&
	   ! nm "$ko" | grep -qE 'mlu_bench_|mlu_job_kernel_'; then
		ok "driver: builds with W=1 without CONFIG_DRM_ACCEL_MLU_BENCH, no debug-only code"
	else
		not_ok "driver: builds with W=1 without CONFIG_DRM_ACCEL_MLU_BENCH, no debug-only code"
		grep -E 'warning:|error:' "$plain_log" | head -n 20 | sed 's/^/#   /'
	fi
fi

# --- checkpatch -------------------------------------------------------------
files=$(cd "$top" && ls driver/mlu_*.c driver/mlu_*.h uapi/drm/*.h)
if [ -z "$tools" ] || [ ! -f "$tools/scripts/checkpatch.pl" ]; then
	not_ok "checkpatch: available (scripts/linux-tools.sh failed)"
else
	for f in $files; do
		log=$logs/checkpatch-$(basename "$f").log
		# Clean means no ERROR, WARNING or CHECK at all: empty output.
		(cd "$top" && perl "$tools/scripts/checkpatch.pl" --strict --no-tree \
			--quiet --show-types -f "$f") >"$log" 2>&1
		if [ -s "$log" ]; then
			not_ok "checkpatch --strict: $f"
			head -n 20 "$log" | sed 's/^/#   /'
		else
			ok "checkpatch --strict: $f"
		fi
	done
fi

# --- kernel-doc of the UAPI header -------------------------------------------
if [ -n "$tools" ] && [ -x "$tools/scripts/kernel-doc" ]; then
	log=$logs/kernel-doc-uapi.log
	"$tools/scripts/kernel-doc" -none -Wall "$top/uapi/drm/mlu_accel.h" >"$log" 2>&1
	if [ -s "$log" ]; then
		not_ok "kernel-doc -Wall: uapi/drm/mlu_accel.h"
		head -n 20 "$log" | sed 's/^/#   /'
	else
		ok "kernel-doc -Wall: uapi/drm/mlu_accel.h"
	fi
else
	not_ok "kernel-doc -Wall: uapi/drm/mlu_accel.h (scripts/linux-tools.sh failed)"
fi

# --- UAPI header in userspace ------------------------------------------------
cat >"$out/uapi_test.c" <<'EOF'
/* Every structure of the UAPI: a multiple of 8 bytes, no hidden padding. */
#include <stddef.h>
#include <drm/mlu_accel.h>
#ifdef __cplusplus
#define ASSERT(c) static_assert(c, #c)
#else
#define ASSERT(c) _Static_assert(c, #c)
#endif
#define SIZE(s, sz) ASSERT(sizeof(struct s) == (sz)); ASSERT(sizeof(struct s) % 8 == 0)
SIZE(drm_mlu_dev_query, 24);
SIZE(drm_mlu_device_info, 96);
SIZE(drm_mlu_bo_create, 24);
SIZE(drm_mlu_bo_info, 40);
SIZE(drm_mlu_sync, 16);
SIZE(drm_mlu_submit, 64);
SIZE(drm_mlu_queue_create, 16);
SIZE(drm_mlu_queue_destroy, 8);
SIZE(drm_mlu_context_status, DRM_MLU_CONTEXT_STATUS_SIZE_V1);
ASSERT(offsetof(struct drm_mlu_device_info, va_start) == 64);
/* Fields of later driver versions follow the first version's layout. */
ASSERT(offsetof(struct drm_mlu_device_info, devmem_free) == DRM_MLU_DEVICE_INFO_SIZE_V1);
ASSERT(offsetof(struct drm_mlu_submit, out_sync_point) == 56);
int main(void)
{
	return 0;
}
EOF
drm_inc=/usr/include/libdrm
[ -f $drm_inc/drm.h ] || drm_inc=/usr/include/drm
cflags=(-Wall -Wextra -Werror -pedantic -I"$top/uapi" -I"$drm_inc")
check "uapi: mlu_accel.h compiles standalone as C11 (-Wall -Wextra -Werror -pedantic)" \
	"$logs/uapi-c.log" gcc -std=c11 "${cflags[@]}" -c "$out/uapi_test.c" -o "$out/uapi_test.o"
if command -v g++ >/dev/null; then
	cp "$out/uapi_test.c" "$out/uapi_test.cc"
	check "uapi: mlu_accel.h compiles standalone as C++17" "$logs/uapi-cxx.log" \
		g++ -std=c++17 "${cflags[@]}" -c "$out/uapi_test.cc" -o "$out/uapi_test_cxx.o"
else
	skip "uapi: mlu_accel.h compiles standalone as C++17 (no g++)"
fi
# The 32-bit ABI (a compat ioctl caller) needs multilib headers.
if echo 'int main(void){return 0;}' | gcc -m32 -x c - -o /dev/null 2>/dev/null; then
	check "uapi: same layout on the 32-bit ABI" "$logs/uapi-m32.log" \
		gcc -m32 -std=c11 "${cflags[@]}" -c "$out/uapi_test.c" -o "$out/uapi_test32.o"
else
	skip "uapi: same layout on the 32-bit ABI (no gcc -m32 multilib)"
fi

echo "1..$n"
[ "$failed" = 0 ]
