#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the debug guest kernel (KASAN, lockdep, kmemleak, DMA-API debug,
# fault injection) from Debian's linux-source-6.12 and print the directory
# that holds it:
#   <dir>/bzImage      the kernel
#   <dir>/linux/       the built tree (Module.symvers): make -C <dir>/linux M=...
#   <dir>/release      its kernel release (uname -r)
#   <dir>/build.log    the build's output
#
# The kernel is the source package plus the fixes in scripts/debug-kernel/
# patches/*.patch (git format-patch files, applied in name order; see
# Documentation/testing.rst), which the checks need and Linux 6.12 lacks.
#
# The build is cached in $MLU_CACHE_DIR/debug-kernel-<source version>-<hash>,
# the hash covering this script, the config fragment, the Kconfig entry and
# the patches (names and contents), and is redone only when one of them or
# the source package changes.  Each build is about 2 GB: after one, the
# caches of other keys are deleted except the most recently used one (which
# another checkout may still want), unless a build holds them.  Compiles go
# through ccache (cache in
# $MLU_CACHE_DIR/ccache-debug-kernel).  The DRM chain mlu.ko needs is built
# in, so mlu.ko is the only module the guest loads.
#
# Usage: build-debug-kernel.sh [--force | --prune]
#   --force  rebuild even when the cache is complete
#   --prune  build nothing: only delete the stale caches (as after a build)
#            and print the directory the current sources would use
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/progress.sh
. "$here/lib/progress.sh"
cache=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}
tarball=/usr/src/linux-source-6.12.tar.xz
fragment=$here/debug-kernel/debug.config
kconfig_entry=$here/debug-kernel/Kconfig.mlu
patches=("$here"/debug-kernel/patches/*.patch)
[ -e "${patches[0]}" ] || patches=()
force=0
prune_only=0
case "${1:-}" in
--force) force=1 ;;
--prune) prune_only=1 ;;
"") ;;
*) echo "build-debug-kernel: unknown option $1" >&2; exit 2 ;;
esac

die() {
	echo "build-debug-kernel: $*" >&2
	exit 1
}

[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.12)"
version=$(dpkg-query -W -f '${Version}' linux-source-6.12) ||
	die "linux-source-6.12 is not installed"
# Patch names count too: they set the order the patches apply in.
key=$( (cat "$0" "$fragment" "$kconfig_entry" ${patches[@]+"${patches[@]}"}
	printf '%s\n' ${patches[@]+"${patches[@]##*/}"}) | sha256sum | cut -c1-12)
# Debian's "~" has no place in a path that make and Kbuild handle.
out=$cache/debug-kernel-${version//[^A-Za-z0-9.+-]/_}-$key
tree=$out/linux

# Delete the caches of other keys but the most recently used one ("done"
# is touched on every use), skipping any that a build holds locked.  On a
# fresh machine the only cache is the one just built, and there may be no
# other: nothing here may fail on an empty match (set -e, pipefail), which
# is why it loops over the directories instead of piping ls into grep.
prune_stale_caches() {
	local dir keep=
	for dir in "$cache"/debug-kernel-*/; do
		dir=${dir%/}
		if [ "$dir" != "$out" ] && [ -f "$dir/done" ] &&
		   { [ -z "$keep" ] || [ "$dir/done" -nt "$keep/done" ]; }; then
			keep=$dir
		fi
	done
	for dir in "$cache"/debug-kernel-*/; do
		dir=${dir%/}
		# An unmatched glob stays literal: no such directory to prune.
		if [ ! -d "$dir" ] || [ "$dir" = "$out" ] || [ "$dir" = "$keep" ]; then
			continue
		fi
		(
			flock -n 9 || exit 0
			echo "build-debug-kernel: removing stale cache $dir" >&2
			rm -rf "$dir"
		) 9>>"$dir/lock"
	done
}

if [ "$prune_only" = 1 ]; then
	prune_stale_caches
	echo "$out"
	exit 0
fi

if [ "$force" = 0 ] && [ -f "$out/done" ]; then
	touch "$out/done"
	echo "$out"
	exit 0
fi

mkdir -p "$out"
# One build per cache directory at a time (parallel suites wait here).
exec 9>"$out/lock"
if ! flock -n 9; then
	progress_note build-debug-kernel "waiting for another build of the same debug kernel to finish"
	flock 9
fi
if [ "$force" = 0 ] && [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi
rm -f "$out/done"

log=$out/build.log
: >"$log"
echo "build-debug-kernel: building $version ($key) in $out; log $log" >&2
export CCACHE_DIR=$cache/ccache-debug-kernel
# Figures from 2 cores: the estimate tells a newcomer what to expect.
if [ -n "$(ls -A "$CCACHE_DIR" 2>/dev/null)" ]; then
	estimate="1 min on 2 cores with this warm ccache"
else
	estimate="17 min on 2 cores (a first build; 1 min once ccache is warm)"
fi
progress_begin build-debug-kernel \
	"building the debug guest kernel (KASAN, lockdep, kmemleak), log $log" "$estimate"

# An interrupted build resumes in the same tree; a half-extracted one does not.
if [ ! -f "$tree/.mlu-extracted" ]; then
	rm -rf "$tree"
	mkdir -p "$tree"
	tar -xJf "$tarball" -C "$tree" --strip-components=1
	for p in ${patches[@]+"${patches[@]}"}; do
		echo "build-debug-kernel: applying ${p##*/}" >&2
		patch -d "$tree" -p1 --batch --forward --quiet <"$p" >>"$log" 2>&1 ||
			die "${p##*/} does not apply to $version (see $log)"
	done
	cat "$kconfig_entry" >>"$tree/drivers/accel/Kconfig"
	touch "$tree/.mlu-extracted"
fi

export CCACHE_BASEDIR=$cache
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=2G
kmake=(nice -n 19 make -C "$tree" ARCH=x86_64 CC="ccache gcc" HOSTCC=gcc)
jobs=$(nproc)

{
	"${kmake[@]}" tinyconfig
	"${kmake[@]}" kvm_guest.config
	(cd "$tree" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config "$fragment")
	"${kmake[@]}" olddefconfig
} >>"$log" 2>&1 || die "configuration failed (see $log)"

# Every option the fragment asks for must survive olddefconfig: a symbol
# with an unmet dependency is dropped silently.
missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) want=$line ;;
	"# CONFIG_"*" is not set") want=$line ;;
	*) continue ;;
	esac
	sym=${want#\# }
	sym=${sym%%[= ]*}
	if ! grep -qxF "$want" "$tree/.config"; then
		# An invisible symbol is as good as "not set".
		if [ "${want:0:1}" = "#" ] && ! grep -qE "^$sym=" "$tree/.config"; then
			continue
		fi
		got=$(grep -E "^(# )?${sym}[= ]" "$tree/.config" || echo "$sym absent")
		echo "build-debug-kernel: wanted '$want', .config has '$got'" >&2
		missing=$((missing + 1))
	fi
done <"$fragment"
[ "$missing" = 0 ] || die "$missing option(s) of $fragment did not make it into .config"

start=$(date +%s)
"${kmake[@]}" -j"$jobs" bzImage modules >>"$log" 2>&1 ||
	die "kernel build failed (see the end of $log)"
echo "build-debug-kernel: compiled in $(($(date +%s) - start)) s" >&2

cp "$tree/arch/x86/boot/bzImage" "$out/bzImage"
"${kmake[@]}" -s kernelrelease >"$out/release"
touch "$out/done"
progress_end
prune_stale_caches
echo "$out"
