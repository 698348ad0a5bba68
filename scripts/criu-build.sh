#!/bin/bash
# Build CRIU in a prepared source tree and place the binary.
#
#   criu-build.sh TREE OUTDIR
#
# `make` is incremental; the binary is copied to OUTDIR/criu only when it
# changed.
set -euo pipefail

tree=$1
outdir=$2

make -C "$tree" -j"$(nproc)" criu >"$tree/.criu-guard-build.log" 2>&1 || {
	tail -n 40 "$tree/.criu-guard-build.log" >&2
	echo "criu-build: make failed, full log in $tree/.criu-guard-build.log" >&2
	exit 1
}
mkdir -p "$outdir"
cmp -s "$tree/criu/criu" "$outdir/criu" || cp "$tree/criu/criu" "$outdir/criu"
