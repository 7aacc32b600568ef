#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Device fuzzer: drive the emulated MLU card through qtest with random and
# mutated registers, rings, packets and page tables (tests/fuzz/), against
# a QEMU built with AddressSanitizer and UBSan.  Prints TAP and one line
# "fuzz: device <ops> ops, <failures> qemu failures".
#
# MLU_FUZZ_OPS sets the budget (default 40000 operations, about 10 s),
# MLU_FUZZ_SEED replays a run (the seed is printed).  Test 1 is a directed
# race (tests/fuzz/reset_dma_race.c, MLU_RACE_ROUNDS rounds, default 1000).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/fuzz
mkdir -p "$out"

# The sanitizer build; the release one only when it cannot be built.
if qemu=$("$top/scripts/build-qemu.sh" --asan | tail -n 1) && [ -x "$qemu" ]; then
	echo "# fuzzing QEMU built with AddressSanitizer and UBSan: $qemu"
else
	qemu=$("$top/scripts/build-qemu.sh" | tail -n 1)
	echo "# the ASan/UBSan build of QEMU failed: fuzzing the release build $qemu"
fi

# The fuzzer keeps its own qtest client (tests/fuzz/qtest_client.c), which
# survives QEMU's crashes where libqtest would abort.
cc -O2 -g -Wall -DMLU_TESTDEV_QTEST_CLIENT \
	-I"$top/include" -I"$top/core" -I"$top/tests/device" -I"$top/tests/fuzz" \
	$(pkg-config --cflags glib-2.0) \
	-o "$out/device_fuzz" \
	"$top"/tests/fuzz/device_fuzz.c \
	"$top"/tests/device/mlu_testdev.c \
	"$top"/tests/fuzz/qtest_client.c \
	"$top/build/core/libmlucore.a" $(pkg-config --libs glib-2.0) -lm

cc -O2 -g -Wall -DMLU_TESTDEV_QTEST_CLIENT \
	-I"$top/include" -I"$top/tests/device" -I"$top/tests/fuzz" \
	$(pkg-config --cflags glib-2.0) \
	-o "$out/reset_dma_race" \
	"$top"/tests/fuzz/reset_dma_race.c \
	"$top"/tests/device/mlu_testdev.c \
	"$top"/tests/fuzz/qtest_client.c \
	$(pkg-config --libs glib-2.0)

# Sanitizer reports go to QEMU's stderr logs, which are scanned.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
sanitizer_re='ERROR: (Address|Leak)Sanitizer|runtime error:'

# No "TAP version" line: it must come first, and the line above may not.
echo "1..6"

# A machine reset racing with DMA into a BAR that vanishes (a deadlock).
race_log=$out/reset-dma-race-qemu.log
race_rounds=${MLU_RACE_ROUNDS:-1000}
if MLU_QEMU=$qemu "$out/reset_dma_race" "$race_rounds" 2>"$race_log" |
	sed 's/^/# /' && ! grep -qE "$sanitizer_re" "$race_log"; then
	echo "ok 1 machine reset during DMA into a vanishing BAR2 ($race_rounds rounds)"
else
	grep -E -A 40 "$sanitizer_re" "$race_log" | sed 's/^/# qemu: /' || true
	echo "not ok 1 machine reset during DMA into a vanishing BAR2 (log: $race_log)"
fi

MLU_QEMU=$qemu MLU_FUZZ_OPS=${MLU_FUZZ_OPS:-40000} \
	exec "$out/device_fuzz" --stderr-log "$out/device-fuzz-qemu.log" \
	--tap-first 2
