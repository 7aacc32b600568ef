#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Install the UAPI headers of the guest kernel (Linux 6.12, from Debian's
# linux-source-6.12 tarball) with `make headers_install` into the cache and
# print their include directory.
#
# Guest programs must compile against the UAPI of the kernel they run on.
# The host's /usr/include/linux comes from linux-libc-dev, 6.1 on Debian 12,
# which lacks newer UAPI the tests use (SYNC_IOC_SET_DEADLINE, for one).
# Every build of a program for the guest puts this directory first with
# -isystem (scripts/lib/linux-uapi.mk), so a fresh machine builds the same
# programs as one where newer headers happen to be installed.
#
# Cached in $MLU_CACHE_DIR/linux-uapi-<source package version>: about 40 s
# on a first run (most of it decompressing the tarball), nothing after.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/progress.sh
. "$here/lib/progress.sh"
cache=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}
tarball=/usr/src/linux-source-6.12.tar.xz

die() {
	echo "linux-uapi: $*" >&2
	exit 1
}

[ -r "$tarball" ] || die "$tarball missing (run scripts/setup-host.sh)"
version=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed (run scripts/setup-host.sh)"
out=$cache/linux-uapi-${version//[^A-Za-z0-9.+-]/_}
if [ -f "$out/done" ]; then
	echo "$out/include"
	exit 0
fi

mkdir -p "$cache"
# One install at a time: clones share the cache.
exec 9>"$out.lock"
if ! flock -n 9; then
	progress_note linux-uapi "waiting for another install of the UAPI headers to finish"
	flock 9
fi
if [ -f "$out/done" ]; then
	echo "$out/include"
	exit 0
fi

# Built in a scratch directory and renamed into place: an interrupted run
# leaves no half-installed tree behind that a later run would take as done.
tmp=$out.tmp
rm -rf "$out" "$tmp"
mkdir -p "$tmp/src"
trap 'rm -rf "$tmp"' EXIT
progress_begin linux-uapi "installing the UAPI headers of linux-source-6.12 $version" "40 s"
top=$(basename "$tarball" .tar.xz)
# headers_install needs the top Makefile and scripts/ for Kbuild, include/
# and arch/x86/ for the headers and the generated syscall tables, and
# tools/include for the x86 host tools it builds on the way.
tar -xJf "$tarball" -C "$tmp/src" --strip-components=1 \
	"$top/Makefile" "$top/scripts" "$top/include" "$top/arch/x86" "$top/tools/include" ||
	die "cannot extract the kernel sources from $tarball"
make -s -C "$tmp/src" ARCH=x86_64 HOSTCC=gcc headers_install INSTALL_HDR_PATH="$tmp/usr" \
	>"$tmp/install.log" 2>&1 || {
	tail -n 20 "$tmp/install.log" >&2
	die "make headers_install failed"
}
mv "$tmp/usr" "$out"
echo "$version" >"$out/done"
progress_end
echo "$out/include"
