#!/bin/bash
# The project's test command (README.md): build everything, then run every
# test suite with meson. Needs root (criu dump/restore, mlock).
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d build ] || meson setup build
meson compile -C build
meson test -C build --print-errorlogs "$@"
