#!/bin/bash
# SPDX-License-Identifier: MIT
#
# `make fuzz`: the fuzzers with a large budget (FUZZ_OPS operations each,
# default 1000000; FUZZ_SEED replays a run).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
MLU_FUZZ_OPS=${FUZZ_OPS:-1000000} MLU_FUZZ_SEED=${FUZZ_SEED:-} \
	"$top/tests/suites/25-device-fuzz.sh"
