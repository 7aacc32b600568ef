#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Extract the few files the project uses from Debian's linux-source-6.12
# tarball (kselftest harness headers, checkpatch.pl and its data files)
# into the cache and print the directory.  Cheap on a second run.
set -euo pipefail

cache=${MLU_CACHE_DIR:-$HOME/.cache/mlu-stack}
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1)
if [ -z "$tarball" ]; then
	echo "linux-tools: linux-source-6.12 is not installed (run scripts/setup-host.sh)" >&2
	exit 1
fi
out=$cache/linux-tools
stamp=$out/.stamp
key=$(stat -c '%n %s %Y' "$tarball")
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then
	echo "$out"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
top=$(basename "$tarball" | sed "s/\.tar\..*//")
files=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
)
tar -xf "$tarball" -C "$out" --strip-components=1 \
	"${files[@]/#/$top/}"
echo "$key" >"$stamp"
echo "$out"
