#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The job execution path, measured in one guest run with one card
# (tests/guest/mlu_exec_bench.c):
#   bench: doorbell_irq_rtt_us <v> us       one doorbell write for a kernel job
#                                           without packets, answered by its
#                                           interrupt and hardware fence: the
#                                           floor, the job path minus the
#                                           scheduler
#   bench: irq_raise_rtt_us <v> us          one IRQ_RAISE write answered the
#                                           same way, the card's ring engine
#                                           left out
#   bench: empty_job_rtt_p50_us <v> us      submit to completion of a job
#   bench: empty_job_rtt_p99_us <v> us      without packets
#   bench: empty_jobs_per_s_q1 <v> jobs/s   throughput of one queue
#   bench: empty_jobs_per_s_q4 <v> jobs/s   and of four queues
# The floor and the round trip run on ring 0, pinned to the CPU that takes
# its interrupt; the throughputs use every ring and CPU.
# Both floors are debugfs files of a module built with
# CONFIG_DRM_ACCEL_MLU_BENCH=y, as scripts/guest/build.sh builds it.
# Build output goes to stderr; the guest's logs to build/logs/bench-exec.*.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/guest/common.sh"
out=$top/build/tests/guest

"$top/scripts/guest/build.sh" >&2
nice make -C "$top/tests/guest" O="$out" bench >&2 || exit 1
guest_bench 35-guest-exec bench-exec "$out/mlu_exec_bench" 6
