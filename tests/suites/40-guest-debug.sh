#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The guest tests on a debug kernel: KASAN, lockdep (with the driver's
# dma-fence signalling annotations), kmemleak, DMA-API debugging, atomic
# sleep checks and the fault-injection framework (scripts/build-debug-kernel.sh,
# cached).  mlu.ko is built against that kernel (its vermagic differs from
# Debian's), the initramfs holds the same test binaries as 30-guest plus a
# final kmemleak scan (scripts/debug-kernel/debug_kernel_check.sh), and any
# KASAN, lockdep, kmemleak, WARNING or BUG report in the kernel log fails
# the run (scripts/guest/run.sh prints it).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/guest-debug
logs=$top/build/logs
mkdir -p "$out" "$logs"
tap=1
failures=0

# step NAME COMMAND...: a "not ok" line with the end of the log on failure.
step() {
	local what=$1 log=$logs/40-guest-debug-${1//[^a-zA-Z0-9.]/_}.log
	shift
	if nice "$@" >"$log" 2>&1; then
		return 0
	fi
	echo "not ok $tap build: $what (log: $log)"
	tail -n 40 "$log" | sed 's/^/#   /'
	tap=$((tap + 1))
	failures=$((failures + 1))
	return 1
}

start=$(date +%s)
kdir=$("$top/scripts/build-debug-kernel.sh" 2>"$logs/40-guest-debug-kernel.log")
if [ -z "$kdir" ] || [ ! -f "$kdir/bzImage" ]; then
	echo "not ok 1 build: debug kernel (log: $logs/40-guest-debug-kernel.log)"
	tail -n 40 "$logs/40-guest-debug-kernel.log" | sed 's/^/#   /'
	echo "1..1"
	exit 1
fi
release=$(cat "$kdir/release")
echo "# debug kernel $release ready in $(($(date +%s) - start)) s: $kdir"

# mlu.ko from a copy of the sources, as scripts/guest/build.sh does.
module=
kmod=$out/kmod
if step mlu.ko sh -c "mkdir -p '$kmod' &&
	rsync -a --delete --exclude '*.o' --exclude '*.ko' --exclude '*.mod*' \
		--exclude '.*.cmd' --exclude Module.symvers --exclude modules.order \
		--exclude '*.a' '$top/Kbuild' '$top/driver' '$top/include' '$top/uapi' '$kmod/' &&
	make -C '$kdir/linux' M='$kmod' modules"; then
	module=$kmod/driver/mlu.ko
	[ -f "$module" ] || module=$(find "$kmod" -name mlu.ko | head -n 1)
fi

tests=()
if step guest-tests make -C "$top/tests/guest" O="$out/tests" RUNTIME_O="$top/build/runtime"; then
	while read -r t; do
		tests+=(-t "$out/tests/$t")
	done <"$out/tests/tests.list"
fi
# Fault injection exists only on this kernel: run the failslab test's
# host-memory case here (the binary rides along, the wrapper runs it).
failslab=()
if step failslab-test make -C "$top/tests/guest" -f reliability.mk O="$out/tests" \
	RUNTIME_O="$top/build/runtime" "$out/tests/mlu_failslab_test"; then
	failslab=(-f "$out/tests/mlu_failslab_test:/tests/mlu_failslab_test"
		  -t "$top/scripts/debug-kernel/failslab_host.sh")
fi
tests+=("${failslab[@]}")
tests+=(-t "$top/scripts/debug-kernel/debug_kernel_check.sh")

step initramfs "$top/scripts/guest/mkinitramfs.sh" -o "$out/initramfs.cpio.gz" \
	-k "$release" ${module:+-m "$module"} "${tests[@]}"

# TCG runs the debug kernel several times slower than Debian's.
"$top/scripts/guest/run.sh" --kernel "$kdir/bzImage" --initrd "$out/initramfs.cpio.gz" \
	--cards 2 --name 40-guest-debug --tap-start "$tap" \
	--timeout 2400 --test-timeout 1200
ran=$?
echo "# 40-guest-debug: $(($(date +%s) - start)) s in all"
[ "$failures" = 0 ] && [ "$ran" = 0 ]
