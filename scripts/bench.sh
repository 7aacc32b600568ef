#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Run every benchmark tests/bench/NN-name.sh; each prints lines
# "bench: <name> <value> <unit>".  All run in one invocation so that the
# figures come from the same machine state and thread count.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export MLU_BENCH_THREADS=${MLU_BENCH_THREADS:-$(nproc)}
echo "bench: threads $MLU_BENCH_THREADS threads"
rc=0
for b in "$top"/tests/bench/*.sh; do
	"$b" || { echo "bench: $(basename "$b" .sh) failed" >&2; rc=1; }
done
exit $rc
