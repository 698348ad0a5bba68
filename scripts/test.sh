#!/bin/bash
# The project's test command (README.md): build everything, then run every
# test suite with meson. Needs root (criu dump/restore, mlock).
set -euo pipefail

[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"
cd "$(dirname "$0")/.."

[ -d build ] || meson setup build
meson compile -C build
rc=0
meson test -C build --print-errorlogs "$@" || rc=$?

# One closing line over all suites, from meson's own log
log=build/meson-logs/testlog.json
passed=$(grep -c '"result": "OK"' "$log" || true)
failed=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
skipped=$(grep -c '"result": "SKIP"' "$log" || true)
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
