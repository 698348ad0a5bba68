#!/bin/bash
# The demo (README.md): build, then checkpoint and restore a process tree
# that uses guard regions with the patched criu and the plugin, and show
# that every guard came back in every process. Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d build ] || meson setup build
meson compile -C build
work=$(mktemp -d /tmp/criu-guard-demo.XXXXXX)
mkdir "$work/images"
exec build/tests/demo/guard-demo "$PWD/build/criu/criu" "$PWD/build/plugin" "$work"
