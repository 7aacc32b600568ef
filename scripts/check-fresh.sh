#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The newcomer lane: run `make check` in a minimal Debian 12 root that holds
# nothing a used machine may have collected (hand-installed packages, caches,
# headers from elsewhere, extra apt sources).
#
#  1. A base root (debootstrap --variant=minbase bookworm, plus build-essential,
#     git, python3, ninja-build, pkgconf, ca-certificates and the machine's own
#     debian.sources) is built once and cached as a tarball in
#     $MLU_CACHE_DIR/check-fresh/, keyed by this script's content and the
#     machine's apt sources.
#  2. Every run unpacks it into a new $MLU_CACHE_DIR/check-fresh/root, so
#     nothing a previous run installed survives.  That root is kept until the
#     next run for inspection (`check-fresh.sh --clean` removes it).
#  3. The committed tree (HEAD, not the working tree's files) is cloned into
#     /src/mlu of the root.
#  4. `make setup`, then `make check`, run there through chroot with an empty
#     environment; the root's own MLU_CACHE_DIR (/root/.cache/mlu-stack)
#     starts empty.
#
# Mounts (/proc, /sys, /dev, /dev/pts, /dev/shm) exist only in a private mount
# and PID namespace (unshare), so they vanish with it even if this script is
# killed, and no process started inside outlives the run.  They are also
# unmounted explicitly on every exit path, and no directory is deleted while
# anything is mounted below it.
#
# Usage: check-fresh.sh            the full `make check`
#        CHECK_FRESH_SUITES="10-core 15-runtime" check-fresh.sh
#                                  `make setup`, then `scripts/check.sh NAMES`
#        check-fresh.sh --clean    remove the kept root (the cache stays)
set -euo pipefail

self=$(readlink -f "$0")
top=$(cd "$(dirname "$self")/.." && pwd)
cache=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}/check-fresh
run_root=$cache/root
host_sources=/etc/apt/sources.list.d/debian.sources
base_packages=(build-essential git python3 ninja-build pkgconf ca-certificates)

log() { echo "check-fresh: $*"; }
die() { echo "check-fresh: $*" >&2; exit 1; }

# "1 min 05 s" from a number of seconds.
fmt_time() {
	local s=$1
	if [ "$s" -ge 60 ]; then
		printf '%d min %02d s' $((s / 60)) $((s % 60))
	else
		printf '%d s' "$s"
	fi
}

# --- mounts (run inside the private namespace only) -------------------------

mounted=()

# Mount and remember it, so that cleanup undoes exactly what was done.
mount_in_root() {
	local target=$1
	shift
	mount "$@" "$target"
	mounted+=("$target")
}

mount_chroot_fs() {
	local root=$1
	mount_in_root "$root/proc" -t proc proc
	mount_in_root "$root/sys" -t sysfs -o ro sysfs
	# QEMU under TCG needs no /dev/kvm, but /dev/null, urandom, ptys and
	# /dev/shm must behave as on the host.  A non-recursive bind: the
	# host's /dev/pts and /dev/shm are mounted on top separately.
	mount_in_root "$root/dev" --bind /dev
	mount_in_root "$root/dev/pts" --bind /dev/pts
	mount_in_root "$root/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev tmpfs
}

# Unmount in reverse order; a lazy unmount when something still holds a
# mount (the PID namespace kills stragglers, but only once we exit).
umount_chroot_fs() {
	local i target
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		target=${mounted[i]}
		if mountpoint -q "$target"; then
			umount "$target" 2>/dev/null || umount -l "$target" ||
				echo "check-fresh: could not unmount $target" >&2
		fi
	done
	mounted=()
}

# Anything still mounted at or below $1 (in this mount namespace)?
mounts_below() {
	local dir
	dir=$(readlink -f "$1")
	findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1'
}

# Delete a root directory, but never through a mount: refuse if anything is
# mounted below it, and stay on its file system in any case.
remove_root() {
	local dir=$1 left
	[ -e "$dir" ] || return 0
	left=$(mounts_below "$dir")
	if [ -n "$left" ]; then
		die "refusing to delete $dir: still mounted: $left"
	fi
	rm -rf --one-file-system "$dir"
}

# Run a command in the chroot with an empty environment: nothing of the
# caller's shell (PATH, MAKEFLAGS, ccache or pyenv settings) leaks in.
chroot_run() {
	local root=$1
	shift
	local envs=(HOME=/root TERM="${TERM:-dumb}"
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		MLU_CACHE_DIR=/root/.cache/mlu-stack)
	if [ -n "${CI:-}" ]; then
		envs+=(CI=true)
	fi
	env -i "${envs[@]}" chroot "$root" "$@"
}

# Entry point inside `unshare`: mount, run the command, always unmount.
in_namespace() {
	local root=$1
	shift
	trap umount_chroot_fs EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mount_chroot_fs "$root"
	local rc=0
	chroot_run "$root" "$@" || rc=$?
	umount_chroot_fs
	exit "$rc"
}

# Run a command in the root within a fresh mount and PID namespace.
in_root() {
	local root=$1
	shift
	unshare --mount --pid --fork --propagation private --kill-child \
		-- "$self" --in-namespace "$root" "$@"
}

# --- the cached base root ---------------------------------------------------

ensure_debootstrap() {
	command -v debootstrap >/dev/null && return 0
	log "installing debootstrap on the host (about 20 s)"
	# A machine whose package lists were never fetched needs an update first.
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -q debootstrap >"$cache/host-apt.log" 2>&1; then
		{ apt-get update -q && apt-get install -y -q debootstrap; } \
			>>"$cache/host-apt.log" 2>&1 ||
			die "could not install debootstrap (see $cache/host-apt.log)"
	fi
}

# The archive behind the host's bookworm suite, read at run time so that no
# host name is written down anywhere.
host_mirror() {
	local uri
	uri=$(awk '
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }
		/^$/ { uri = "" }' "$host_sources")
	[ -n "$uri" ] || die "no bookworm URIs: line in $host_sources"
	echo "$uri"
}

# A new base whenever this script or the machine's apt sources change.
base_key() {
	cat "$self" "$host_sources" | sha256sum | cut -c1-16
}

# The machine's apt view, and nothing of the project's: its debian.sources
# (not mlu-stack.sources, which `make setup` must create itself), and the
# host's settings for accepting the archive's Release files (a snapshot
# archive's Release files are past their Valid-Until date).
configure_apt() {
	local root=$1 opt val
	rm -f "$root/etc/apt/sources.list"
	cp "$host_sources" "$root/etc/apt/sources.list.d/debian.sources"
	for opt in Acquire::Check-Valid-Until Acquire::Check-Date; do
		val=$(apt-config dump "$opt" | awk -v o="$opt" '$1 == o { print $2 }')
		if [ -n "$val" ]; then
			echo "$opt $val" >>"$root/etc/apt/apt.conf.d/99check-fresh"
		fi
	done
	# No init runs in a chroot: packages must not start daemons there.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
}

install_base_packages() {
	local root=$1
	in_root "$root" sh -c "
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q &&
		apt-get upgrade -y -q &&
		apt-get install -y -q --no-install-recommends ${base_packages[*]} &&
		apt-get clean" >"$cache/base.log" 2>&1 ||
		die "installing the base packages failed (see $cache/base.log)"
}

build_base() {
	local tar=$1 dir=$cache/base.tmp
	remove_root "$dir"
	log "debootstrap of a minimal bookworm root (about 2 min)"
	debootstrap --variant=minbase bookworm "$dir" "$(host_mirror)" \
		>"$cache/debootstrap.log" 2>&1 ||
		die "debootstrap failed (see $cache/debootstrap.log)"
	configure_apt "$dir"
	log "installing ${base_packages[*]} in it (about 2 min)"
	install_base_packages "$dir"
	tar -C "$dir" --numeric-owner -cf "$tar.tmp" .
	mv "$tar.tmp" "$tar"
	remove_root "$dir"
}

# Build the base tarball unless it exists (its path goes to $base_tar); one
# builder at a time.  Stale bases (other keys) are removed only after the
# new one is in place.
base_tar=
ensure_base() {
	local key tar old lock
	key=$(base_key)
	tar=$cache/base-$key.tar
	exec {lock}>"$cache/base.lock"
	flock "$lock"
	if [ ! -f "$tar" ]; then
		build_base "$tar"
	fi
	for old in "$cache"/base-*.tar; do
		[ "$old" = "$tar" ] || rm -f "$old"
	done
	exec {lock}>&-
	base_tar=$tar
}

# --- one run ----------------------------------------------------------------

# A pristine copy of the base: the previous run's root goes first.
make_run_root() {
	local tar=$1
	if [ -e "$run_root" ]; then
		log "removing the previous run's root (up to a minute after a full run)"
		remove_root "$run_root"
	fi
	log "unpacking a pristine root into $run_root (about 20 s)"
	mkdir -p "$run_root"
	tar -C "$run_root" --numeric-owner -xf "$tar"
}

# The committed tree only: uncommitted edits are not what a newcomer gets.
clone_tree() {
	local sha
	sha=$(git -C "$top" rev-parse HEAD)
	if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
		log "note: uncommitted changes in $top are not part of this run"
	fi
	git clone -q --no-hardlinks --no-checkout "$top" "$run_root/src/mlu"
	git -C "$run_root/src/mlu" fetch -q "$top" "$sha"
	git -C "$run_root/src/mlu" -c advice.detachedHead=false checkout -q "$sha"
	log "testing commit $(git -C "$top" log -1 --format='%h %s' "$sha")"
}

# The project's own set-up from nothing, timed on its own: packages, the
# 6.12 kernel and headers (their postinst hooks run in the chroot).
run_setup() {
	log "running 'make setup' in the root (about 4 min)"
	in_root "$run_root" sh -c 'cd /src/mlu && make setup' 2>&1 |
		tee "$cache/setup.log"
	return "${PIPESTATUS[0]}"
}

# `make check` (its own setup step is then a no-op), or the named suites
# only; output goes to the terminal and to $cache/run.log.
run_check() {
	local cmd
	if [ -n "${CHECK_FRESH_SUITES:-}" ]; then
		cmd="scripts/check.sh $CHECK_FRESH_SUITES"
	else
		cmd="make check"
	fi
	log "running '$cmd' in the root (full make check: 35 min or more on 2 cores)"
	in_root "$run_root" sh -c "cd /src/mlu && $cmd" 2>&1 | tee "$cache/run.log"
	return "${PIPESTATUS[0]}"
}

main() {
	[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"
	[ -f "$host_sources" ] || die "no $host_sources on this machine"
	mkdir -p "$cache"
	# One run at a time: they would share the root.
	exec {run_lock}>"$cache/run.lock"
	if ! flock -n "$run_lock"; then
		log "waiting for another check-fresh run to finish"
		flock "$run_lock"
	fi

	local t0 t1 t2 t3 t4 rc=0 summary
	t0=$(date +%s)
	ensure_debootstrap
	ensure_base
	make_run_root "$base_tar"
	t1=$(date +%s)
	log "root ready in $(fmt_time $((t1 - t0)))"
	clone_tree
	t2=$(date +%s)
	log "clone done in $(fmt_time $((t2 - t1)))"
	: >"$cache/run.log"
	run_setup || rc=$?
	t3=$(date +%s)
	log "setup done in $(fmt_time $((t3 - t2)))"
	if [ "$rc" = 0 ]; then
		run_check || rc=$?
	fi
	t4=$(date +%s)
	summary=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$cache/run.log" | tail -n 1) || true
	log "times: root $(fmt_time $((t1 - t0))), clone $(fmt_time $((t2 - t1))), setup $(fmt_time $((t3 - t2))), check $(fmt_time $((t4 - t3))), total $(fmt_time $((t4 - t0)))"
	log "root kept in $run_root until the next run"
	echo "${summary:-no summary line (exit status $rc)}"
	return "$rc"
}

case "${1:-}" in
--in-namespace)
	shift
	in_namespace "$@"
	;;
--clean)
	# Never under a running check-fresh.
	exec {run_lock}>"$cache/run.lock"
	flock -n "$run_lock" || die "a check-fresh run is using $run_root"
	remove_root "$run_root"
	;;
*)
	main
	;;
esac
