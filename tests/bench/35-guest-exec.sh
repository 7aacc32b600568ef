#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The job execution path, measured in one guest run with one card
# (tests/guest/mlu_exec_bench.c):
#   bench: doorbell_irq_rtt_us <v> us       one register write answered by one
#                                           interrupt, no job: the floor
#   bench: empty_job_rtt_p50_us <v> us      submit to completion of a job
#   bench: empty_job_rtt_p99_us <v> us      without packets
#   bench: empty_jobs_per_s_q1 <v> jobs/s   throughput of one queue
#   bench: empty_jobs_per_s_q4 <v> jobs/s   and of four queues
# Build output goes to stderr; the guest's logs to build/logs/bench-exec.*.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/guest/common.sh"
initrd=$guest_build/bench-exec.cpio.gz
out=$top/build/tests/guest
mkdir -p "$top/build/logs"

"$top/scripts/guest/build.sh" >&2
nice make -C "$top/tests/guest" O="$out" bench >&2 || exit 1
module=$(find "$guest_build/kmod" -name mlu.ko 2>/dev/null | head -n 1)
if [ -z "$module" ]; then
	echo "35-guest-exec: mlu.ko did not build" >&2
	exit 1
fi
"$top/scripts/guest/mkinitramfs.sh" -o "$initrd" -m "$module" -t "$out/mlu_exec_bench" \
	2>/dev/null || exit 1
"$top/scripts/guest/run.sh" --cards 1 --initrd "$initrd" --name bench-exec --timeout 300 \
	>"$top/build/logs/bench-exec.result" 2>&1
rc=$?
lines=$(tr -d '\r' <"$top/build/logs/bench-exec.tap.log" | grep -a '^bench: ' || true)
echo "$lines"
if [ "$rc" != 0 ] || [ "$(echo "$lines" | grep -c '^bench: ')" != 5 ]; then
	echo "35-guest-exec: guest run failed (build/logs/bench-exec.*)" >&2
	exit 1
fi
