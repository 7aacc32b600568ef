#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/suites/40-guest-debug.sh, run after every other guest
# test: (1) the checkers were on for the whole run, (2) a kmemleak scan finds
# no leak attributable to mlu.ko.
#
# Attribution: a leak is ours when a frame of its allocation backtrace is in
# mlu.ko ("... [mlu]") or is an unresolved address in the x86-64 module area
# (>= 0xffffffffa0000000): the debug kernel has its DRM chain built in, so
# mlu.ko is the only module it ever loads, and the frames of an instance
# that mlu_reload_test unloaded no longer resolve to a symbol.
# The first ten reports are printed, ours or not.

kmemleak=/sys/kernel/debug/kmemleak
echo "1..2"

# A kernel without its checkers would pass everything: make sure they are
# there, and that lockdep did not switch itself off during the run.
missing=
for f in /proc/lockdep /sys/kernel/debug/kmemleak /sys/kernel/debug/dma-api \
	 /sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
	[ -e "$f" ] || missing="$missing $f"
done
grep -q ' kasan_report$' /proc/kallsyms || missing="$missing KASAN"
if ! grep -qE '^ *debug_locks: +1$' /proc/lockdep_stats 2>/dev/null; then
	missing="$missing lockdep(debug_locks=0)"
fi
if [ -z "$missing" ]; then
	echo "ok 1 debug kernel: KASAN, lockdep, kmemleak, DMA-API debug, fault injection active"
else
	echo "not ok 1 debug kernel: missing or switched off:$missing"
fi

if [ ! -w "$kmemleak" ]; then
	echo "ok 2 kmemleak: no leak from mlu.ko # SKIP $kmemleak not available"
	exit 0
fi

# kmemleak ignores objects younger than 5 s; two scans let pointers that
# were only in flight during the first one be found by the second.
sleep 6
echo scan >"$kmemleak"
echo scan >"$kmemleak"
report=$(cat "$kmemleak")

echo "$report" | awk '
/^unreferenced object/ {
	total++
	ours_now = 0
	in_trace = 0
}
# Frames follow "backtrace:", as "sym+off/len [mod]" or "[<addr>] sym...".
in_trace && NF > 0 {
	sym = ($1 ~ /^\[</) ? $2 : $1
	if ($NF == "[mlu]" || (sym ~ /^0x/ && length(sym) == 18 &&
			       sym >= "0xffffffffa0000000"))
		ours_now = 1
}
/^ +backtrace/ { in_trace = 1 }
# The first reports in full; the count says how many there were.
total <= 10 { print "# " $0 }
ours_now && !counted[total] { counted[total] = 1; ours++ }
END {
	printf "# kmemleak: %d suspected leaks, %d from mlu.ko\n", total, ours
	if (ours)
		printf "not ok 2 kmemleak: %d leaks from mlu.ko\n", ours
	else
		printf "ok 2 kmemleak: no leak from mlu.ko (%d elsewhere)\n", total
}'
