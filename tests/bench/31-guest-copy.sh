#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Copy bandwidth inside the guest through libmlu -> mlu.ko -> the emulated
# card's COPY engine, next to the guest's own memcpy in the same run
# (runtime/examples/mlu_copy_bench.c):
#   bench: copy_h2d_64m <v> MB/s
#   bench: copy_d2h_64m <v> MB/s
#   bench: copy_d2d_64m <v> MB/s
#   bench: guest_memcpy_64m <v> MB/s
# Build output goes to stderr; the guest's logs to build/logs/bench-copy.*.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/guest/common.sh"

"$top/scripts/guest/build.sh" >&2
guest_bench 31-guest-copy bench-copy "$top/build/runtime/examples/mlu_copy_bench" 4
