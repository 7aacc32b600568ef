#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Fetch QEMU 10.0 from Debian's trixie source package, hook qemu-device/ into
# hw/misc with a single meson line (and its trace-events into QEMU's list of
# trace directories), hook the device tests (tests/device/) into
# tests/qtest, and build a minimal qemu-system-x86_64 and the tests.
#
# Everything lives outside the git tree in $MLU_CACHE_DIR (default
# ~/.cache/mlu-stack) so that a second run, from this or any other clone,
# is incremental.  The device sources are copied into QEMU's tree only when
# their content changed, so ninja rebuilds exactly what changed.
#
# Usage: build-qemu.sh [--asan]   (prints the path of the built binary last;
# the device tests are in tests/qtest/mlu/ beside it)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}
variant=release
if [ "${1:-}" = "--asan" ]; then
	variant=asan
fi

log() { echo "build-qemu: $*" >&2; }
# shellcheck source=scripts/lib/progress.sh
. "$top/scripts/lib/progress.sh"

mkdir -p "$cache"
# One build at a time: clones and worktrees share the source tree and the
# build directories, and two overlapping meson/ninja runs corrupt them.
exec 9>"$cache/qemu-build.lock"
if ! flock -n 9; then
	progress_note build-qemu "waiting for another build of QEMU to finish"
	flock 9
fi
srcdir=$(ls -d "$cache"/qemu-src/qemu-10.0*/ 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$srcdir" ]; then
	progress_begin build-qemu "fetching QEMU's source (apt-get source qemu/trixie)" "20 s"
	rm -rf "$cache/qemu-src.tmp"
	mkdir -p "$cache/qemu-src.tmp"
	(cd "$cache/qemu-src.tmp" && apt-get source -q qemu/trixie >&2)
	rm -rf "$cache/qemu-src"
	mv "$cache/qemu-src.tmp" "$cache/qemu-src"
	srcdir=$(ls -d "$cache"/qemu-src/qemu-10.0*/ | sort -V | tail -n 1)
	progress_end
fi
srcdir=${srcdir%/}

# The one-line hooks into QEMU's tree: the device, its trace points (the
# top-level meson.build lists every folder with a trace-events file), and
# its qtests.
if ! grep -q "^subdir('mlu')" "$srcdir/hw/misc/meson.build"; then
	echo "subdir('mlu')" >>"$srcdir/hw/misc/meson.build"
fi
if ! grep -q "^    'hw/misc/mlu',\$" "$srcdir/meson.build"; then
	sed -i "s|^    'hw/misc',\$|&\n    'hw/misc/mlu',|" "$srcdir/meson.build"
	grep -q "^    'hw/misc/mlu',\$" "$srcdir/meson.build"
fi
if ! grep -q "^subdir('mlu')" "$srcdir/tests/qtest/meson.build"; then
	echo "subdir('mlu')" >>"$srcdir/tests/qtest/meson.build"
fi
# Sync qemu-device/ (and the shared hardware header) into hw/misc/mlu.
dst=$srcdir/hw/misc/mlu
mkdir -p "$dst"
sync_file() {
	local from=$1 to=$2
	mkdir -p "$(dirname "$to")"
	if ! cmp -s "$from" "$to"; then
		cp "$from" "$to"
	fi
}
wanted=$(mktemp)
(cd "$top/qemu-device" && find . -type f \( -name '*.c' -o -name '*.h' -o -name 'meson.build' -o -name trace-events \) -print) |
	sed 's|^\./||' | sort >"$wanted"
while read -r f; do
	sync_file "$top/qemu-device/$f" "$dst/$f"
done <"$wanted"
sync_file "$top/include/mlu_hw.h" "$dst/mlu_hw.h"
echo mlu_hw.h >>"$wanted"
# The compute core's one build: QEMU links the library, never its sources.
make -s -C "$top/core" >&2
sync_file "$top/core/mlu_core.h" "$dst/core/mlu_core.h"
if ! cmp -s "$top/build/core/libmlucore.a" "$dst/core/libmlucore.a"; then
	cp "$top/build/core/libmlucore.a" "$dst/core/libmlucore.a"
	# ninja does not track a library found by find_library(): relink.
	rm -f "$cache"/qemu-build-*/qemu-system-x86_64 \
		"$cache"/qemu-build-*/tests/qtest/mlu/mlu_*_test
fi
printf '%s\n' core/mlu_core.h core/libmlucore.a >>"$wanted"
(cd "$dst" && find . -type f -print) | sed 's|^\./||' | sort |
	comm -23 - <(sort "$wanted") | while read -r f; do rm -f "$dst/$f"; done
rm -f "$wanted"
# The device tests, into tests/qtest/mlu.
tdst=$srcdir/tests/qtest/mlu
mkdir -p "$tdst"
for f in "$top"/tests/device/*.[ch] "$top"/tests/device/meson.build; do
	sync_file "$f" "$tdst/$(basename "$f")"
done
(cd "$tdst" && ls) | while read -r f; do
	[ -e "$top/tests/device/$f" ] || rm -f "$tdst/$f"
done

build=$cache/qemu-build-$variant
# A device set of our own: configure only looks for it in QEMU's configs tree.
devices=$srcdir/configs/devices/x86_64-softmmu/mlu.mak
cat >"$devices.new" <<MAK
# Minimal x86 machine set for the MLU card: q35 with PCIe root ports.
CONFIG_Q35=y
CONFIG_PCIE_PORT=y
CONFIG_PCI_DEVICES=n
CONFIG_ISA_DEBUG=y
CONFIG_SERIAL_ISA=y
MAK
if ! cmp -s "$devices.new" "$devices"; then
	mv "$devices.new" "$devices"
else
	rm -f "$devices.new"
fi

# A build from scratch is long, later runs only rebuild what changed.
if [ "$variant" = asan ]; then
	estimate="6 min on 2 cores (1 min with a warm ccache)"
else
	estimate="3 min on 2 cores (30 s with a warm ccache)"
fi
long=0
if [ ! -f "$build/build.ninja" ]; then
	long=1
	progress_begin build-qemu "configuring and building QEMU ($variant) in $build" "$estimate"
	log "configuring ($variant) in $build"
	rm -rf "$build"
	mkdir -p "$build"
	extra=()
	if [ "$variant" = asan ]; then
		extra+=(--enable-asan --enable-ubsan --enable-debug)
	fi
	cc=cc
	if command -v ccache >/dev/null; then
		cc="ccache cc"
	fi
	(cd "$build" && "$srcdir/configure" \
		--python=/usr/bin/python3 --cc="$cc" \
		--target-list=x86_64-softmmu \
		--without-default-devices --with-devices-x86_64=mlu \
		--disable-download --disable-fdt --disable-install-blobs --disable-docs --disable-tools \
		--disable-guest-agent --disable-user --disable-werror \
		--disable-gtk --disable-sdl --disable-vnc --disable-opengl \
		--disable-slirp --disable-curl --disable-capstone \
		--disable-libusb --disable-usb-redir --disable-spice \
		--disable-xen --disable-kvm --enable-tcg \
		"${extra[@]}" >&2)
fi
log "building ($variant)"
# The device tests, beside the binary: tests/qtest/mlu/ of the build.
tests=(tests/qtest/mlu/mlu_device_test tests/qtest/mlu/mlu_sensor_test)
# An interrupted first build has a build.ninja too: count what is left.
if [ "$long" = 0 ]; then
	steps=$(ninja -C "$build" -n qemu-system-x86_64 "${tests[@]}" | grep -c '^\[' || true)
	if [ "$steps" -gt 300 ]; then
		long=1
		progress_begin build-qemu "building QEMU ($variant), $steps steps" "$estimate"
	fi
fi
ninja -C "$build" qemu-system-x86_64 "${tests[@]}" >&2
[ "$long" = 0 ] || progress_end
echo "$build/qemu-system-x86_64"
