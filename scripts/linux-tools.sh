#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Extract the few files the project uses from Debian's linux-source-6.12
# tarball (kselftest harness headers, checkpatch.pl and its data files,
# kernel-doc) into the cache and print the directory.  Cheap on a second
# run.
set -euo pipefail

cache=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}
# No match must reach the message below, not end the script (pipefail).
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1 || true)
if [ -z "$tarball" ]; then
	echo "linux-tools: linux-source-6.12 is not installed (run scripts/setup-host.sh)" >&2
	exit 1
fi
files=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	scripts/kernel-doc
)
# Named after the list of files, so that a file added here is extracted on
# the next run, not only on a fresh machine, and clones with an older list
# keep their own directory; the stamp follows the tarball.
out=$cache/linux-tools-$(printf '%s\n' "${files[@]}" | sha256sum | cut -c1-8)
stamp=$out/.stamp
key=$(stat -c '%n %s %Y' "$tarball")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
# Clones share the cache, and every suite's first run lands here: one
# extraction at a time, into a scratch directory renamed into place, so no
# caller ever sees a half-extracted tree.
exec 9>"$out.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
	echo "$out"
	exit 0
fi
tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
top=$(basename "$tarball" | sed "s/\.tar\..*//")
tar -xf "$tarball" -C "$tmp" --strip-components=1 "${files[@]/#/$top/}"
echo "$key" >"$tmp/.stamp"
rm -rf "$out"
mv "$tmp" "$out"
echo "$out"
