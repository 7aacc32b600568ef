#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The guest tests on a debug kernel: KASAN, lockdep (with the driver's
# dma-fence signalling annotations), kmemleak, DMA-API debugging, atomic
# sleep checks and the fault-injection framework (scripts/build-debug-kernel.sh,
# cached, with the kernel fixes of scripts/debug-kernel/patches/).  mlu.ko is
# built against that kernel (its vermagic differs from Debian's).  Two boots,
# each ending with scripts/debug-kernel/debug_kernel_check.sh (checkers still
# on, kmemleak scan):
#  1. the tests of 30-guest (with tools/mlu-smi and tools/mlu-trace in the
#     guest's /bin), then what needs this kernel: the failslab test
#     (host and device memory BOs) and the ioctl fuzzer with syncobj counts
#     up to 2^32-1 (MLU_DEBUG_FUZZ_CALLS calls, default 100000), which prints
#       fuzz: ioctl <calls> calls, <reports> kernel reports (debug kernel, ...)
#  2. PCIe hot unplug and re-add (mlu_hotplug_test, run.sh --hotplug), in a
#     boot of its own so that a report there cannot switch lockdep off for
#     the other tests.
# Any KASAN, lockdep, kmemleak, WARNING or BUG report in the kernel log fails
# the run (scripts/guest/run.sh prints it).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
# The kernel build's stderr goes to a log: its progress lines skip it.
# shellcheck source=scripts/lib/progress.sh
. "$top/scripts/lib/progress.sh"
progress_share
out=$top/build/guest-debug
logs=$top/build/logs
mkdir -p "$out" "$logs"
# shellcheck source=scripts/lib/tap.sh
. "$top/scripts/lib/tap.sh"
# tap_step NAME COMMAND...: a "not ok" line with the end of
# build/logs/40-guest-debug-NAME.log on failure, nothing on success.
tap_step_logs=$logs/40-guest-debug-

start=$(date +%s)
kdir=$("$top/scripts/build-debug-kernel.sh" 2>"$logs/40-guest-debug-kernel.log")
if [ -z "$kdir" ] || [ ! -f "$kdir/bzImage" ]; then
	tap_not_ok "build: debug kernel (log: $logs/40-guest-debug-kernel.log)"
	tail -n 40 "$logs/40-guest-debug-kernel.log" | sed 's/^/#   /'
	tap_end
	exit 1
fi
release=$(cat "$kdir/release")
echo "# debug kernel $release ready in $(($(date +%s) - start)) s: $kdir"

# mlu.ko from a copy of the sources, as scripts/guest/build.sh does (with
# the debugfs benchmarks, which mlu_exec_test reads).
module=
kmod=$out/kmod
if tap_step mlu.ko sh -c "mkdir -p '$kmod' &&
	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '*.mod*' \
		--exclude '.*.cmd' --exclude Module.symvers --exclude modules.order \
		--exclude '*.a' '$top/Kbuild' '$top/driver' '$top/include' '$top/uapi' '$kmod/' &&
	make -C '$kdir/linux' M='$kmod' CONFIG_DRM_ACCEL_MLU_BENCH=y modules"; then
	module=$kmod/driver/mlu.ko
	[ -f "$module" ] || module=$(find "$kmod" -name mlu.ko | head -n 1)
fi

tests=()
if tap_step guest-tests make -C "$top/tests/guest" O="$out/tests" RUNTIME_O="$top/build/runtime"; then
	while read -r t; do
		tests+=(-t "$out/tests/$t")
	done <"$out/tests/tests.list"
fi
# The tools the tests run, as scripts/guest/build.sh builds them.  mlu-trace
# is built against the Debian kernel's BTF (its vmlinux.h only supplies
# types): its BPF object reads nothing but tracepoint arguments, so it has
# no CO-RE relocation and the same binary runs on this kernel, which has
# BPF on tracepoints but no BTF.
tools=()
if tap_step mlu-smi make -C "$top/tools/mlu-smi" O="$top/build/tools"; then
	tools+=(-f "$top/build/tools/mlu-smi:/bin/mlu-smi")
fi
if tap_step mlu-trace make -C "$top/tools/mlu-trace" O="$top/build/tools/mlu-trace"; then
	tools+=(-f "$top/build/tools/mlu-trace/mlu-trace:/bin/mlu-trace")
fi
# Reliability tests that need this kernel: fault injection exists only
# here, and only here are the fuzzer's huge syncobj counts a fair test.
hotplug=()
if tap_step reliability-tests make -C "$top/tests/guest" -f reliability.mk O="$out/tests" \
	RUNTIME_O="$top/build/runtime" "$out/tests/mlu_failslab_test" \
	"$out/tests/mlu_fuzz_ioctl" "$out/tests/mlu_hotplug_test"; then
	printf 'calls %s\nseed %s\nhuge_counts 1\n' "${MLU_DEBUG_FUZZ_CALLS:-100000}" \
		"${MLU_FUZZ_SEED:-0}" >"$out/fuzz.conf"
	tests+=(-t "$out/tests/mlu_failslab_test" -t "$out/tests/mlu_fuzz_ioctl"
		-f "$out/fuzz.conf:/etc/mlu/fuzz.conf")
	hotplug=(-t "$out/tests/mlu_hotplug_test")
fi
check=(-t "$top/scripts/debug-kernel/debug_kernel_check.sh")

tap_step initramfs "$top/scripts/guest/mkinitramfs.sh" -o "$out/initramfs.cpio.gz" \
	-k "$release" ${module:+-m "$module"} "${tests[@]}" "${tools[@]}" "${check[@]}"
tap_step hotplug-initramfs "$top/scripts/guest/mkinitramfs.sh" -o "$out/hotplug.cpio.gz" \
	-k "$release" ${module:+-m "$module"} "${hotplug[@]}" "${check[@]}"

# guest NAME RUN.SH-OPTIONS...: one boot of the debug kernel with 2 cards,
# its TAP numbered on from tap_count, which is then set to its last number
# (run.sh's own plan line is left out: tap_end prints the suite's).
# TCG runs the debug kernel several times slower than Debian's.
ran=0
guest() {
	local name=$1 plan
	shift
	"$top/scripts/guest/run.sh" --kernel "$kdir/bzImage" --cards 2 --name "$name" \
		--tap-start $((tap_count + 1)) --timeout 2400 --test-timeout 1200 "$@" |
		tee "$logs/$name.run.log" | grep -v '^1\.\.[0-9]*$'
	[ "${PIPESTATUS[0]}" = 0 ] || ran=1
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$logs/$name.run.log")
	tap_count=${plan:-$tap_count}
}

guest 40-guest-debug --initrd "$out/initramfs.cpio.gz"
# The fuzzer's figure: its own call count and the kernel reports of the boot
# (the dmesg dump, or the console if the guest died before the dump).
calls=$(grep -a '^# fuzz-calls: ' "$logs/40-guest-debug.tap.log" 2>/dev/null | tail -n 1 |
	awk '{print $3}')
klog=$logs/40-guest-debug.dmesg.log
[ -s "$klog" ] || klog=$logs/40-guest-debug.console.log
reports=$(grep -av 'RCU lockdep checking is enabled' "$klog" 2>/dev/null |
	grep -acE 'WARNING:|BUG:|Oops|KASAN|lockdep|INFO: possible|general protection')
echo "fuzz: ioctl ${calls:-0} calls, ${reports:-0} kernel reports" \
	"(debug kernel, syncobj counts up to 2^32-1)"

guest 40-guest-debug-hotplug --initrd "$out/hotplug.cpio.gz" --hotplug
echo "# 40-guest-debug: $(($(date +%s) - start)) s in all"
tap_end && [ "$ran" = 0 ]
