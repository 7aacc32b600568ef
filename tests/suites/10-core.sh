#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Compute core host tests: build tests/core and run test_core (TAP) once
# per ISA level this host can be capped down to, so that an AVX-512 host
# also runs the paths an AVX2-only or SSE4.1-only host takes.  Each level
# caps oneDNN and the core's own kernels (ONEDNN_MAX_CPU_ISA) and picks
# OpenBLAS's kernel family for it (OPENBLAS_CORETYPE).  Test names carry
# the level: "ok 12 avx2:global.matmul_int8_extremes_exact", numbered on
# through the levels in one TAP stream (scripts/lib/tap.sh, tap_run).  The
# line "isa: ..." says which levels ran and which this CPU cannot.
#
# MLU_CORE_TEST_SEED=<n> replays a randomised run; MLU_CORE_ISA_LEVELS
# ("SSE41 AVX2", say) runs only those levels.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"
bin=$top/build/tests/core
if ! make -s -C "$top/tests/core" "$bin/test_core" "$bin/core_isa" >&2; then
	tap_not_ok "core: build of test_core failed"
	tap_end
	exit 1
fi

# oneDNN's ISA names, lowest first, each with the OpenBLAS family of a
# CPU of that level (OpenBLAS 0.3.21 has none newer than Cooperlake).
levels=(
	SSE41:Penryn
	AVX:Sandybridge
	AVX2:Haswell
	AVX2_VNNI:Haswell
	AVX512_CORE:SkylakeX
	AVX512_CORE_VNNI:SkylakeX
	AVX512_CORE_BF16:Cooperlake
	AVX512_CORE_AMX:Cooperlake
)
wanted=${MLU_CORE_ISA_LEVELS:-}
# Every level runs with the same seed, so a failure replays as one.
export MLU_CORE_TEST_SEED=${MLU_CORE_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

covered=()
missing=()
for entry in "${levels[@]}"; do
	level=${entry%%:*}
	coretype=${entry#*:}
	if [ -n "$wanted" ] && ! [[ " $wanted " == *" $level "* ]]; then
		continue
	fi
	name=${level,,}
	# A cap above what the CPU has leaves the CPU's own level.
	read -r got backend < <(ONEDNN_MAX_CPU_ISA=$level "$bin/core_isa")
	if [ "$got" != "$name" ]; then
		missing+=("$name")
		continue
	fi
	covered+=("$name($backend)")
	echo "# core: ISA level $name, int8 backend $backend, OpenBLAS $coretype"
	tap_run "$name:" env ONEDNN_MAX_CPU_ISA="$level" OPENBLAS_CORETYPE="$coretype" \
		"$bin/test_core" || true
done
if [ ${#covered[@]} = 0 ]; then
	tap_not_ok "core: no ISA level ran (host: $("$bin/core_isa"))"
fi
echo "isa: compute core tested at ${covered[*]}${missing:+; this CPU lacks ${missing[*]}}"
tap_end
