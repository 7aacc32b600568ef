#!/bin/bash
# SPDX-License-Identifier: MIT
#
# libmlu on the host: build the library (shared and static, pkg-config file)
# and run the unit tests of its device-independent logic.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"
out=$top/build/runtime
log=$top/build/logs/runtime-build.log
mkdir -p "$top/build/logs"
if ! nice make -C "$top/runtime" O="$out" all >"$log" 2>&1 ||
   ! nice make -C "$top/runtime" O="$out" host-tests >"$log.tests" 2>&1; then
	cat "$log.tests" >>"$log" 2>/dev/null
	tap_fail_log "build: libmlu and its host tests" "$log"
	tap_end
	exit 1
fi
if grep -q 'warning:' "$log"; then
	tap_not_ok "build: libmlu has compiler warnings (log: $log)"
	grep 'warning:' "$log" | head -n 20 | sed 's/^/#   /'
	tap_end
	exit 1
fi
tap_ok "build: libmlu without warnings"
# The library exports its API and nothing else, under the right soname.
soname=$(objdump -p "$out/libmlu.so" | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = libmlu.so.0 ]; then
	tap_ok "libmlu: soname $soname"
else
	tap_not_ok "libmlu: soname '$soname', expected libmlu.so.0"
fi
leaked=$(nm -D --defined-only "$out/libmlu.so" | awk '{ print $3 }' | grep -v '^mlu_' || true)
internal=$(nm -D --defined-only "$out/libmlu.so" | awk '{ print $3 }' |
	grep -E '^mlu_(pack|enumerate|status_from)' || true)
if [ -z "$leaked$internal" ]; then
	tap_ok "libmlu: exports only the public mlu_ API"
else
	tap_not_ok "libmlu: exports internal symbols: $leaked $internal"
fi
if PKG_CONFIG_PATH=$out pkg-config --exists --print-errors mlu &&
   [ "$(PKG_CONFIG_PATH=$out pkg-config --modversion mlu)" = \
     "$(sed -n 's/^#define MLU_VERSION_\(MAJOR\|MINOR\|PATCH\)[[:space:]]*//p' \
	"$top/runtime/include/mlu/mlu.h" | paste -sd.)" ]; then
	tap_ok "libmlu: mlu.pc matches the header's version"
else
	tap_not_ok "libmlu: mlu.pc missing or version differs from mlu.h"
fi
# The unit tests' results, numbered on from here.
tap_run "" "$out/tests/runtime_host_test"
tap_end
