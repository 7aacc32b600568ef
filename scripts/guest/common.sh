# SPDX-License-Identifier: MIT
#
# Helpers shared by the guest scripts (sourced, not executed).

guest_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
guest_build=$guest_top/build/guest

# Release of the guest kernel: the newest installed Debian 6.12 image that
# also has its modules (and, for building mlu.ko, its headers).
guest_kver() {
	local img ver
	for img in $(ls /boot/vmlinuz-6.12.*-amd64 2>/dev/null | sort -rV); do
		ver=${img#/boot/vmlinuz-}
		if [ -d "/lib/modules/$ver/kernel" ]; then
			echo "$ver"
			return 0
		fi
	done
	echo "guest: no /boot/vmlinuz-6.12.*-amd64 with modules (run scripts/setup-host.sh)" >&2
	return 1
}

# guest_bench SUITE NAME PROGRAM LINES [run.sh options...]: boot a guest with
# one card, mlu.ko and PROGRAM, and print the `bench:` lines PROGRAM printed
# there.  Fails (with a message naming SUITE) unless the guest ran cleanly
# and exactly LINES such lines came out.  Logs: build/logs/NAME.*.
guest_bench() {
	local suite=$1 name=$2 program=$3 want=$4 module lines rc
	shift 4
	local initrd=$guest_build/$name.cpio.gz logs=$guest_top/build/logs

	module=$(find "$guest_build/kmod" -name mlu.ko 2>/dev/null | head -n 1)
	if [ -z "$module" ] || [ ! -x "$program" ]; then
		echo "$suite: mlu.ko or $(basename "$program") did not build" >&2
		return 1
	fi
	mkdir -p "$logs"
	"$guest_top/scripts/guest/mkinitramfs.sh" -o "$initrd" -m "$module" -t "$program" \
		2>/dev/null || return 1
	"$guest_top/scripts/guest/run.sh" --cards 1 --initrd "$initrd" --name "$name" \
		--timeout 300 "$@" >"$logs/$name.result" 2>&1
	rc=$?
	lines=$(tr -d '\r' <"$logs/$name.tap.log" | grep -a '^bench: ' || true)
	echo "$lines"
	if [ "$rc" != 0 ] || [ "$(echo "$lines" | grep -c '^bench: ')" != "$want" ]; then
		echo "$suite: guest run failed (build/logs/$name.*)" >&2
		return 1
	fi
}
