#!/bin/bash
# The guard image's messages exist twice: proto/guard.proto, which the
# plugin is built from, and images/guard-regions.proto of the patched CRIU
# tree, which crit reads. They must be the same file.
#
#   check-proto.sh PROTO TREE_PROTO
set -euo pipefail

if ! cmp -s "$1" "$2"; then
	diff -u "$2" "$1" || true
	echo "FAIL: $2 (from criu-patches/) is not $1: run scripts/crit-proto-sync.sh"
	exit 1
fi
echo "ok: the series' images/guard-regions.proto is proto/guard.proto"
