#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Compute core benchmark: builds tests/core and prints "bench:" lines
# (matmul 2048^3 in f32/f16/bf16/int8 against plain OpenBLAS, and the
# ResNet-50 3x3 conv against oneDNN) with MLU_BENCH_THREADS threads.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
export MLU_BENCH_THREADS=${MLU_BENCH_THREADS:-$(nproc)}
make -s -C "$top/tests/core" "$top/build/bench/bench_core" >&2
exec "$top/build/bench/bench_core"
