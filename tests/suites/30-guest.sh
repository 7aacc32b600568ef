#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Guest tests: build QEMU, mlu.ko, libmlu, the guest tests and an initramfs,
# boot a q35 guest with two MLU cards under TCG and report every guest test
# case as a TAP line (see scripts/guest/run.sh and Documentation/testing.rst).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build_tap=$(mktemp)
trap 'rm -f "$build_tap"' EXIT

"$top/scripts/guest/build.sh" | tee "$build_tap"
built=${PIPESTATUS[0]}
next=$(($(grep -c '^not ok ' "$build_tap") + 1))

"$top/scripts/guest/run.sh" --cards 2 --name 30-guest --tap-start "$next"
ran=$?
[ "$built" = 0 ] && [ "$ran" = 0 ]
