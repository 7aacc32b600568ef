#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Write vmlinux.h (the guest kernel's types, for the BPF program) from the
# BTF of kernel release KVER.  Sources, in order: the BTF-carrying vmlinux
# of the kernel's headers package, the running kernel's /sys/kernel/btf when
# it is that release, and the ELF extracted from /boot/vmlinuz-KVER (Debian
# kernels embed BTF) with linux-source's scripts/extract-vmlinux.
#
# Usage: gen-vmlinux-h.sh KVER OUT
set -euo pipefail

kver=$1
out=$2
bpftool=${BPFTOOL:-bpftool}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlu-vmlinux.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

btf=
if [ -f "/lib/modules/$kver/build/vmlinux" ]; then
	btf=/lib/modules/$kver/build/vmlinux
elif [ "$(uname -r)" = "$kver" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	btf=/sys/kernel/btf/vmlinux
elif [ -r "/boot/vmlinuz-$kver" ]; then
	# "|| true": no match must reach the message below (pipefail).
	src=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$src" ]; then
		echo "gen-vmlinux-h: no headers for $kver and no linux-source to extract /boot/vmlinuz-$kver" >&2
		exit 1
	fi
	tar -xJf "$src" -C "$tmp" --wildcards '*/scripts/extract-vmlinux'
	sh "$tmp"/*/scripts/extract-vmlinux "/boot/vmlinuz-$kver" >"$tmp/vmlinux"
	btf=$tmp/vmlinux
else
	echo "gen-vmlinux-h: no BTF source for kernel $kver" >&2
	exit 1
fi

"$bpftool" btf dump file "$btf" format c >"$tmp/vmlinux.h"
mv "$tmp/vmlinux.h" "$out"
