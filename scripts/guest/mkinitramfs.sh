#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the guest's initramfs: busybox-static, an /init (scripts/guest/init),
# kernel modules with their dependency chain, test binaries and extra files.
#
# Usage: mkinitramfs.sh [options]
#   -o, --out FILE        cpio.gz to write (default build/guest/initramfs.cpio.gz)
#   -k, --kver VERSION    guest kernel release (default: newest 6.12 installed)
#   -m, --module FILE.ko  out-of-tree module to load last, after its dependencies
#                         (repeatable; resolved with modinfo against VERSION)
#   -t, --test FILE       test binary, run by /init in the order given (repeatable)
#   -f, --file SRC:DEST   extra file copied to DEST inside the guest (repeatable)
#
# Modules are loaded in dependency order; Debian's .ko.xz/.ko.zst files are
# decompressed here so the guest's busybox insmod loads them quickly.
# Dynamically linked binaries get their ldd libraries and the loader.
set -euo pipefail

. "$(dirname "$0")/common.sh"

out=$guest_build/initramfs.cpio.gz
kver=
modules=()
tests=()
files=()
while [ $# -gt 0 ]; do
	case "$1" in
	-o|--out) out=$2; shift 2 ;;
	-k|--kver) kver=$2; shift 2 ;;
	-m|--module) modules+=("$2"); shift 2 ;;
	-t|--test) tests+=("$2"); shift 2 ;;
	-f|--file) files+=("$2"); shift 2 ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "mkinitramfs: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -n "$kver" ] || kver=$(guest_kver)

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" | grep -q 'statically linked'; then
	echo "mkinitramfs: a statically linked busybox is needed (busybox-static)" >&2
	exit 1
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/mlu-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
# mktemp makes it 0700: the guest's / must be searchable by every user.
chmod 755 "$root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc/mlu,lib/modules,tests}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
# The kernel opens /dev/console before /init runs (and before devtmpfs).
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3
install -m 755 "$(dirname "$0")/init" "$root/init"

# Copy a binary and, if dynamically linked, the libraries ldd finds.
copy_binary() {
	local src=$1 dst=$2 lib
	install -D -m 755 "$src" "$root$dst"
	if ! file -L "$src" | grep -q 'dynamically linked'; then
		return 0
	fi
	for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
	done
}

# Modules: depth-first over modinfo's "depends", dependencies first.
declare -A seen=()
order=()
add_module() {
	local path=$1 name dep deps
	name=$(modinfo -F name "$path" 2>/dev/null || true)
	[ -n "$name" ] || name=$(basename "${path%%.ko*}")
	[ -z "${seen[$name]:-}" ] || return 0
	seen[$name]=1
	deps=$(modinfo -F depends "$path" | tr ',' ' ')
	for dep in $deps; do
		add_module "$(modinfo -k "$kver" -n "$dep")"
	done
	case "$path" in
	*.ko.xz) xz -dc "$path" >"$root/lib/modules/$name.ko" ;;
	*.ko.zst) zstd -qdc "$path" >"$root/lib/modules/$name.ko" ;;
	*.ko.gz) gzip -dc "$path" >"$root/lib/modules/$name.ko" ;;
	*) cp "$path" "$root/lib/modules/$name.ko" ;;
	esac
	order+=("$name")
}
for m in "${modules[@]}"; do
	if [ ! -f "$m" ]; then
		echo "mkinitramfs: module $m not found" >&2
		exit 1
	fi
	add_module "$m"
done
printf '%s\n' "${order[@]}" >"$root/etc/mlu/modules"

: >"$root/etc/mlu/tests"
for t in "${tests[@]}"; do
	copy_binary "$t" "/tests/$(basename "$t")"
	basename "$t" >>"$root/etc/mlu/tests"
done
for f in "${files[@]}"; do
	copy_binary "${f%%:*}" "${f#*:}"
done
echo "$kver" >"$root/etc/mlu/kernel-release"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
echo "mkinitramfs: $out (kernel $kver; modules: ${order[*]:-none}; tests: ${#tests[@]})" >&2
