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
initrd=$top/build/guest/bench-copy.cpio.gz

"$top/scripts/guest/build.sh" >&2
module=$(find "$top/build/guest/kmod" -name mlu.ko 2>/dev/null | head -n 1)
bench=$top/build/runtime/examples/mlu_copy_bench
if [ -z "$module" ] || [ ! -x "$bench" ]; then
	echo "31-guest-copy: mlu.ko or mlu_copy_bench did not build" >&2
	exit 1
fi
"$top/scripts/guest/mkinitramfs.sh" -o "$initrd" -m "$module" -t "$bench" 2>/dev/null || exit 1
"$top/scripts/guest/run.sh" --cards 1 --initrd "$initrd" --name bench-copy \
	--timeout 300 >"$top/build/logs/bench-copy.result" 2>&1
rc=$?
lines=$(tr -d '\r' <"$top/build/logs/bench-copy.tap.log" | grep -a '^bench: ' || true)
echo "$lines"
if [ "$rc" != 0 ] || [ "$(echo "$lines" | grep -c '^bench: ')" != 4 ]; then
	echo "31-guest-copy: guest run failed (build/logs/bench-copy.*)" >&2
	exit 1
fi
