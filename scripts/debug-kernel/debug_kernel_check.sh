#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Guest side of tests/suites/40-guest-debug.sh, run after every other guest
# test: ask kmemleak for a scan and fail on any leak attributable to mlu.ko.
#
# Attribution: a leak is ours when a frame of its allocation backtrace is in
# mlu.ko ("... [mlu]") or is an unresolved address in the x86-64 module area
# (>= 0xffffffffa0000000): the debug kernel has its DRM chain built in, so
# mlu.ko is the only module it ever loads, and the frames of an instance
# that mlu_reload_test unloaded no longer resolve to a symbol.
# The first ten reports are printed, ours or not.

kmemleak=/sys/kernel/debug/kmemleak
echo "1..1"
if [ ! -w "$kmemleak" ]; then
	echo "ok 1 kmemleak: no leak from mlu.ko # SKIP $kmemleak not available"
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
		printf "not ok 1 kmemleak: %d leaks from mlu.ko\n", ours
	else
		printf "ok 1 kmemleak: no leak from mlu.ko (%d elsewhere)\n", total
}'
