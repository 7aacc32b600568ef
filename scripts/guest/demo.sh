#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make demo: build everything, boot a guest with one MLU card and run
# mlu_demo (runtime/examples/mlu_demo.c) in it: a matmul and a convolution
# through libmlu -> mlu.ko -> the emulated card, checked against the compute
# core's reference.  Prints the demo's own output; exit status 0 when the
# demo verified both results and the guest's kernel log is clean.
set -uo pipefail

. "$(dirname "$0")/common.sh"

echo "demo: building QEMU with the MLU card, mlu.ko, libmlu and the guest initramfs"
if ! "$guest_top/scripts/guest/build.sh"; then
	echo "demo: some parts failed to build (see above); booting anyway"
fi
echo "demo: booting a q35 guest (TCG) with one MLU card, running mlu_demo"
results=$("$guest_top/scripts/guest/run.sh" --cards 1 --tests mlu_demo --name demo)
rc=$?
# The demo's output as it printed it, then the verdicts.
sed -n '/^# mlu-guest: begin mlu_demo/,/^# mlu-guest: end mlu_demo/p' \
	"$guest_top/build/logs/demo.tap.log" | tr -d '\r' | grep -v '^# mlu-guest:' |
	sed 's/^/  guest> /'
echo "$results" | grep -E '^(not )?ok '
if [ "$rc" = 0 ]; then
	echo "demo: OK (guest logs in build/logs/demo.*.log)"
else
	echo "demo: FAILED (guest logs in build/logs/demo.*.log)"
fi
exit "$rc"
