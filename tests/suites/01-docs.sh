#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Every reStructuredText page under Documentation/ must parse without
# warnings (broken tables and references are how documentation rots).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
mapfile -t pages < <(cd "$top" && find Documentation -name '*.rst' | sort)
echo "TAP version 13"
echo "1..${#pages[@]}"
n=0
rc=0
for page in "${pages[@]}"; do
	n=$((n + 1))
	out=$(/usr/bin/python3 - "$top/$page" <<'PY' 2>&1
import io
import sys

import docutils.core

warnings = io.StringIO()
with open(sys.argv[1], encoding="utf-8") as f:
    docutils.core.publish_doctree(
        f.read(), source_path=sys.argv[1],
        settings_overrides={"warning_stream": warnings, "report_level": 2})
sys.stdout.write(warnings.getvalue())
PY
)
	if [ -z "$out" ]; then
		echo "ok $n docs: $page parses"
	else
		echo "$out" | sed 's/^/# /'
		echo "not ok $n docs: $page parses"
		rc=1
	fi
done
exit $rc
