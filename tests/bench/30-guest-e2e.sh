#!/bin/bash
# SPDX-License-Identifier: MIT
#
# End-to-end figures from inside the guest, through libmlu -> mlu.ko -> the
# emulated card (runtime/examples/mlu_bench.c):
#   bench: e2e_matmul_f32_2048 <v> GFLOPS           (operands in device memory)
#   bench: e2e_matmul_f32_2048_hostmem <v> GFLOPS   (in host memory)
#   bench: e2e_empty_job_rtt_us <v> us
# Build output goes to stderr; the guest's logs to build/logs/bench-e2e.*.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/guest/common.sh"

"$top/scripts/guest/build.sh" >&2
# The card computes with as many threads as the host-side figures use, so
# e2e_matmul_f32_2048 compares with openblas_sgemm_f32_2048 of the same run.
guest_bench 30-guest-e2e bench-e2e "$top/build/runtime/examples/mlu_bench" 3 \
	--card-opts "compute-threads=${MLU_BENCH_THREADS:-$(nproc)}"
