#!/bin/bash
# Under valgrind, the plugin's hooks driven by plugin-leak-check leave no
# block of the plugin's allocated, lost or still reachable; without the
# plugin's exit they do (so the check can see what it looks for).
#
#   check-leaks.sh LEAK_CHECK PLUGIN_SO
set -euo pipefail

prog=$1
plugin=$2
tmp=$(mktemp -d /tmp/plugin-leaks.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v valgrind >/dev/null; then
	echo "valgrind is not installed (scripts/install-deps.sh installs it)"
	exit 77
fi

# Run under valgrind; count the loss records (valgrind prints one
# paragraph each) whose stack runs through the plugin into $tmp/$1.count
plugin_records()
{
	local name=$1

	shift
	if ! valgrind --leak-check=full --show-leak-kinds=all --log-file="$tmp/$name.vg" "$prog" "$plugin" "$@" \
		2>"$tmp/$name.log"; then
		cat "$tmp/$name.log"
		echo "FAIL: plugin-leak-check $* failed"
		exit 1
	fi
	# Frames of the plugin are those in its sources, plugin/guard-*.c
	sed 's/^==[0-9]*== \{0,1\}//' "$tmp/$name.vg" |
		awk 'BEGIN { RS = "" } /(lost|reachable) in loss record/ && /\(guard-[a-z-]+\.c:[0-9]+\)/ { n++; print }
		     END { print n + 0 > "'"$tmp/$name.count"'" }'
}

plugin_records with_exit
plugin_records without_exit --skip-exit >/dev/null
with_exit=$(cat "$tmp/with_exit.count")
without_exit=$(cat "$tmp/without_exit.count")
echo "loss records through guard_plugin.so: $with_exit with the plugin's exit, $without_exit without"
[ "$without_exit" -gt 0 ] || { echo "FAIL: without the exit the check sees nothing: broken check"; exit 1; }
[ "$with_exit" -eq 0 ] || { echo "FAIL: the plugin's exit leaves memory behind"; exit 1; }
echo "ok: guard_plugin_exit frees everything the plugin kept"
