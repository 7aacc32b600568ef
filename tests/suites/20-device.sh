#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Device tests of the emulated MLU card: build QEMU with the card and the
# qtest-driven tests (tests/device/), run them, print TAP.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/device
mkdir -p "$out"

# MLU_DEVICE_ASAN=1 tests an ASan/UBSan build of QEMU instead.
if [ "${MLU_DEVICE_ASAN:-0}" = 1 ]; then
	qemu=$("$top/scripts/build-qemu.sh" --asan | tail -n 1)
else
	qemu=$("$top/scripts/build-qemu.sh" | tail -n 1)
fi
selftests=$("$top/scripts/linux-tools.sh")/tools/testing/selftests

# test_binary NAME SOURCES...: a qtest-driven harness program.  The compute
# core's reference implementation is the oracle.
test_binary() {
	local name=$1
	shift
	cc -O2 -g -Wall \
		-I"$top/include" -I"$top/core" -I"$selftests" \
		$(pkg-config --cflags glib-2.0) \
		-o "$out/$name" "$@" \
		"$top"/tests/device/mlu_testdev.c \
		"$top"/tests/device/qtest_client.c \
		"$top/build/core/libmlucore.a" $(pkg-config --libs glib-2.0) -lm
}
test_binary mlu_device_test "$top"/tests/device/mlu_device_test.c
test_binary mlu_sensor_test "$top"/tests/device/mlu_sensor_test.c

# QEMU's guest-error log goes to the suite log, not to the TAP stream.
# Both programs' results in one TAP stream, numbered on.
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"
export MLU_QEMU=$qemu
tap_run "" "$out/mlu_device_test" || true
tap_run "" "$out/mlu_sensor_test" || true
tap_end
