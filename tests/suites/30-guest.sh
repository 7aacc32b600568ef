#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Guest tests: build QEMU, mlu.ko, libmlu, the guest tests and an initramfs,
# boot a q35 guest with two MLU cards under TCG and report every guest test
# case as a TAP line (see scripts/guest/run.sh and Documentation/testing.rst).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)

# build.sh's exit status is the number of its failing results (numbered
# from 1); run.sh numbers on from there and prints the plan.
"$top/scripts/guest/build.sh"
built=$?
"$top/scripts/guest/run.sh" --cards 2 --name 30-guest --tap-start $((built + 1))
ran=$?
[ "$built" = 0 ] && [ "$ran" = 0 ]
