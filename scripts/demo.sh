#!/bin/bash
# The demo (README.md): build, then checkpoint and restore a process tree
# that uses guard regions with the patched criu and the plugin, and show
# that every guard came back in every process. Needs root.
set -euo pipefail

[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"
cd "$(dirname "$0")/.."
# Output redirected to a file: the restored process keeps its file offset
# and would write there, over (and, with a hole, NULs before) what was
# written after the dump. Append instead, as a log is written.
[ ! -f /proc/self/fd/1 ] || exec >>/proc/self/fd/1
[ ! -f /proc/self/fd/2 ] || exec 2>>/proc/self/fd/2

[ -d build ] || meson setup build
meson compile -C build
work=$(mktemp -d /tmp/criu-guard-demo.XXXXXX)
mkdir "$work/images"
exec build/tests/demo/guard-demo "$PWD/build/criu/criu" "$PWD/build/plugin" "$work"
