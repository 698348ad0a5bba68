#!/bin/bash
# Build CRIU in a prepared source tree and place the binary.
#
#   criu-build.sh TREE OUTDIR PLUGINDIR
#   criu-build.sh TREE OUTDIR            CRIU's own default (stock, criu-stock.sh)
#
# PLUGINDIR is compiled in as CRIU's default plugin directory
# (CR_PLUGIN_DEFAULT, CRIU's own PLUGINDIR make variable): the installed
# criu loads guard_plugin.so from there with no --libdir and no
# CRIU_LIBS_DIR. CRIU's make does not track compiler flags, so the two files
# that use the define are touched when it changes. `make` is incremental; the
# binary is copied to OUTDIR/criu only when it changed. crit-build.sh
# then makes the tree's crit runnable as OUTDIR/crit.
set -euo pipefail

tree=$1
outdir=$2
plugindir=${3-}
stamp=$tree/.criu-guard-plugindir
make_vars=()

if [ "$(cat "$stamp" 2>/dev/null)" != "$plugindir" ]; then
	touch "$tree/criu/plugin.c" "$tree/criu/crtools.c"
	echo "$plugindir" >"$stamp"
fi
[ -z "$plugindir" ] || make_vars=(PLUGINDIR="$plugindir")
make -C "$tree" -j"$(nproc)" "${make_vars[@]}" criu >"$tree/.criu-guard-build.log" 2>&1 || {
	tail -n 40 "$tree/.criu-guard-build.log" >&2
	echo "criu-build: make failed, full log in $tree/.criu-guard-build.log" >&2
	exit 1
}
mkdir -p "$outdir"
cmp -s "$tree/criu/criu" "$outdir/criu" || cp "$tree/criu/criu" "$outdir/criu"
"$(dirname "$0")/crit-build.sh" "$tree" "$outdir"
