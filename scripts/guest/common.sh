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
