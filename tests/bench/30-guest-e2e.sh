#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end figures from inside the guest, through libmlu -> mlu.ko -> the
# emulated card (runtime/examples/mlu_bench.c):
#   bench: e2e_matmul_f32_2048 <v> GFLOPS
#   bench: e2e_empty_job_rtt_us <v> us
# Build output goes to stderr; the guest's logs to build/logs/bench-e2e.*.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
initrd=$top/build/guest/bench.cpio.gz

"$top/scripts/guest/build.sh" >&2
module=$(find "$top/build/guest/kmod" -name mlu.ko 2>/dev/null | head -n 1)
bench=$top/build/runtime/examples/mlu_bench
if [ -z "$module" ] || [ ! -x "$bench" ]; then
	echo "30-guest-e2e: mlu.ko or mlu_bench did not build" >&2
	exit 1
fi
"$top/scripts/guest/mkinitramfs.sh" -o "$initrd" -m "$module" -t "$bench" 2>/dev/null || exit 1
# The card computes with as many threads as the host-side figures use, so
# e2e_matmul_f32_2048 compares with openblas_sgemm_f32_2048 of the same run.
"$top/scripts/guest/run.sh" --cards 1 --initrd "$initrd" --name bench-e2e \
	--card-opts "compute-threads=${MLU_BENCH_THREADS:-$(nproc)}" --timeout 300 >"$top/build/logs/bench-e2e.result" 2>&1
rc=$?
lines=$(tr -d '\r' <"$top/build/logs/bench-e2e.tap.log" | grep -a '^bench: ' || true)
echo "$lines"
if [ "$rc" != 0 ] || [ "$(echo "$lines" | grep -c '^bench: ')" != 2 ]; then
	echo "30-guest-e2e: guest run failed (build/logs/bench-e2e.*)" >&2
	exit 1
fi
