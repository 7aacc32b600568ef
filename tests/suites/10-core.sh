#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Compute core host tests: build tests/core and run test_core (TAP).
# MLU_CORE_TEST_SEED=<n> replays a randomised run.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if ! make -s -C "$top/tests/core" "$top/build/tests/core/test_core" >&2; then
	echo "not ok 1 core: build of test_core failed"
	exit 1
fi
exec "$top/build/tests/core/test_core"
