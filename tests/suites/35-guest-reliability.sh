#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Guest reliability tests (stock kernel): the ioctl fuzzer, allocation
# failures (skipped without fault injection in the kernel), unbind/rebind
# and rmmod/insmod under load, and PCIe hot unplug/re-add through the QMP
# agent (run.sh --hotplug).  Prints TAP and the line
#   fuzz: ioctl <calls> calls, <reports> kernel reports
# where reports counts WARNING/BUG/Oops/KASAN/lockdep lines in the guest's
# kernel log.  MLU_FUZZ_CALLS (100000) and MLU_FUZZ_SEED (from the clock)
# set the fuzzer's budget and seed, MLU_RELIABILITY_TIMEOUT (900) and
# MLU_RELIABILITY_TEST_TIMEOUT (600) the guest's and each test's time limit
# in seconds; `make fuzz` runs a larger budget.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/scripts/guest/common.sh"
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"
name=35-guest-reliability
logs=$top/build/logs
out=$top/build/tests/guest
initrd=$guest_build/reliability.cpio.gz
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT

# QEMU, mlu.ko, libmlu and the functional tests' helpers.  Its exit
# status is the number of its failing results, numbered from 1.
"$top/scripts/guest/build.sh"
built=$?
tap_count=$built

fail_build() {
	tap_fail_log "build: $1" "$2"
	tap_end
	echo "fuzz: ioctl 0 calls, 0 kernel reports"
	exit 1
}

mkdir -p "$logs"
nice make -C "$top/tests/guest" -f reliability.mk O="$out" reliability \
	>"$logs/$name-build.log" 2>&1 || fail_build "reliability tests" "$logs/$name-build.log"
module=$(find "$guest_build/kmod" -name mlu.ko 2>/dev/null | head -n 1)
[ -n "$module" ] || fail_build "mlu.ko missing" "$logs/guest-build-mlu.ko.log"

printf 'calls %s\nseed %s\n' "${MLU_FUZZ_CALLS:-100000}" "${MLU_FUZZ_SEED:-0}" >"$conf"
tests=()
while read -r t; do
	tests+=(-t "$out/$t")
done <"$out/reliability.list"
"$top/scripts/guest/mkinitramfs.sh" -o "$initrd" -m "$module" "${tests[@]}" \
	-f "$conf:/etc/mlu/fuzz.conf" 2>"$logs/$name-initramfs.log" ||
	fail_build "initramfs" "$logs/$name-initramfs.log"

"$top/scripts/guest/run.sh" --cards 2 --hotplug --initrd "$initrd" --name "$name" \
	--tap-start $((tap_count + 1)) --timeout "${MLU_RELIABILITY_TIMEOUT:-900}" \
	--test-timeout "${MLU_RELIABILITY_TEST_TIMEOUT:-600}"
ran=$?

# The figure: fuzzer calls (its own count) and kernel reports in the guest
# log (the dmesg dump, or the console if the guest died before the dump).
calls=$(grep -a '^# fuzz-calls: ' "$logs/$name.tap.log" 2>/dev/null | tail -n 1 | awk '{print $3}')
klog=$logs/$name.dmesg.log
[ -s "$klog" ] || klog=$logs/$name.console.log
reports=$(grep -acE 'WARNING:|BUG:|Oops|KASAN|lockdep|INFO: possible|general protection' \
	"$klog" 2>/dev/null)
echo "fuzz: ioctl ${calls:-0} calls, ${reports:-0} kernel reports"
[ "$built" = 0 ] && [ "$ran" = 0 ]
