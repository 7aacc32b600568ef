#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Device tests of the emulated MLU card: QEMU qtests (tests/device/) that
# scripts/build-qemu.sh builds with libqtest in QEMU's tree, beside a QEMU
# with the card.  Each test binary prints TAP (GLib's --tap).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)

# MLU_DEVICE_ASAN=1 tests an ASan/UBSan build of QEMU instead.
if [ "${MLU_DEVICE_ASAN:-0}" = 1 ]; then
	qemu=$("$top/scripts/build-qemu.sh" --asan | tail -n 1)
else
	qemu=$("$top/scripts/build-qemu.sh" | tail -n 1)
fi
tests=$(dirname "$qemu")/tests/qtest/mlu

# QEMU's guest-error log goes to the suite log, not to the TAP stream.
# Both programs' results in one TAP stream, numbered on.
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"
export QTEST_QEMU_BINARY=$qemu
tap_run "" "$tests/mlu_device_test" --tap || true
tap_run "" "$tests/mlu_sensor_test" --tap || true
tap_end
