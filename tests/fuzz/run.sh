#!/bin/bash
# SPDX-License-Identifier: MIT
#
# `make fuzz`: the fuzzers with a large budget (FUZZ_OPS operations each,
# default 1000000; FUZZ_SEED replays a run): the device fuzzer (qtest), then
# the ioctl fuzzer in the guest with the other reliability tests
# (35-guest-reliability, stock kernel, two cards).  Both always run.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
ops=${FUZZ_OPS:-1000000}
status=0

MLU_FUZZ_OPS=$ops MLU_FUZZ_SEED=${FUZZ_SEED:-} \
	"$top/tests/suites/25-device-fuzz.sh" || status=1

# The guest runs some 10000 calls a second; leave it time for slow hosts.
MLU_FUZZ_CALLS=$ops MLU_FUZZ_SEED=${FUZZ_SEED:-0} \
	MLU_RELIABILITY_TIMEOUT=$((900 + ops / 1000)) \
	MLU_RELIABILITY_TEST_TIMEOUT=$((600 + ops / 1000)) \
	"$top/tests/suites/35-guest-reliability.sh" || status=1
exit $status
