#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Install everything the project needs on a Debian 12 host.  Idempotent: when
# every package is already installed it returns without touching apt.
#
# Extra apt sources (bookworm-backports, trixie deb-src for QEMU's source) are
# derived from the machine's own debian.sources so that no archive host name
# is written down anywhere in this project.
set -euo pipefail

# shellcheck source=scripts/lib/progress.sh
. "$(dirname "$0")/lib/progress.sh"

PACKAGES_BOOKWORM=(
	build-essential dpkg-dev pkgconf git xz-utils cpio ccache
	# scripts/guest/mkinitramfs.sh (not in a minimal Debian install)
	file
	ninja-build python3-venv libglib2.0-dev zlib1g-dev
	seabios qemu-system-data
	libopenblas-dev libdnnl-dev
	busybox-static libdrm-dev linux-source-6.12 sparse python3-docutils kmod
	gcc-multilib libjson-c-dev
	# scripts/check.sh: TAP::Parser and prove (perl-modules-*, a dependency)
	perl
	# building the debug guest kernel
	bc bison flex libelf-dev libssl-dev dwarves rsync gawk
	# tools/mlu-trace (BPF programs, skeleton, libbpf) and its guest test
	clang llvm bpftool libbpf-dev
)
PACKAGES_BACKPORTS=(meson python3-pycotap)

missing=()
for p in "${PACKAGES_BOOKWORM[@]}" "${PACKAGES_BACKPORTS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
# The guest kernel (6.12 image + headers) is resolved at run time: the
# security archive replaces old builds, so no version is pinned.
if ! ls /boot/vmlinuz-6.12.*-amd64 >/dev/null 2>&1; then
	missing+=(linux-kernel-6.12)
fi
# The extra sources are part of the set-up too: scripts/build-qemu.sh
# fetches QEMU's source from trixie's deb-src, which only they provide, and
# a machine whose packages were all installed by other means lacks them.
extra=/etc/apt/sources.list.d/mlu-stack.sources
if [ ${#missing[@]} -eq 0 ] && [ -f "$extra" ]; then
	exit 0
fi
echo "setup-host: installing: ${missing[*]:-(nothing; adding the apt sources)}"

if [ "$(id -u)" != 0 ]; then
	echo "setup-host: must run as root to install packages" >&2
	exit 1
fi

src=/etc/apt/sources.list.d/debian.sources
uri=$(awk '/^URIs:/ { print $2; exit }' "$src")
if [ -z "$uri" ]; then
	echo "setup-host: no URIs: line in $src" >&2
	exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
if [ ! -f "$extra" ]; then
	cat >"$extra" <<SRC
Types: deb deb-src
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: $keyring

Types: deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: $keyring
SRC
fi

export DEBIAN_FRONTEND=noninteractive
progress_begin setup-host "installing ${#missing[@]} package(s) with apt-get" \
	"4 min on a fresh machine"
apt-get update -q
apt-get install -y -q --no-install-recommends "${PACKAGES_BOOKWORM[@]}"
apt-get install -y -q --no-install-recommends -t bookworm-backports \
	"${PACKAGES_BACKPORTS[@]}"

if ! ls /boot/vmlinuz-6.12.*-amd64 >/dev/null 2>&1; then
	# Newest 6.12 image that has a matching headers package.
	# "|| true": no match must reach the message below (pipefail).
	img=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9.+~a-z]*-amd64$' |
		awk '{ print $1 }' | grep -v -- '-dbg' | sort -V | tail -n 1 || true)
	if [ -z "$img" ]; then
		echo "setup-host: no linux-image-6.12 package in the archive" >&2
		exit 1
	fi
	ver=${img#linux-image-}
	apt-get install -y -q --no-install-recommends "$img" "linux-headers-$ver"
fi
progress_end
