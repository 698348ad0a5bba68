#!/bin/bash
# Make crit of a prepared and built CRIU tree runnable, and place a
# launcher for it.
#
#   crit-build.sh TREE OUTDIR
#
# crit runs from the tree's crit/ and lib/ (pycriu) directories, as CRIU's
# own tests run it (test/others/env.sh). It needs files that only CRIU's
# make generates: the images' Python modules (lib/pycriu/images/*_pb2.py,
# pb.py), magic.py from criu/include/magic.h, and lib/pycriu/version.py and
# crit/crit/version.py. `make lib crit` makes them as CRIU's `make all`
# does. OUTDIR/crit runs that crit with Debian's python3, which has
# python3-protobuf (a python3 first on PATH may not).
set -euo pipefail

tree=$(realpath "$1")
outdir=$2
log=$tree/.criu-guard-crit.log

make -C "$tree" -j"$(nproc)" lib crit >"$log" 2>&1 || {
	tail -n 40 "$log" >&2
	echo "crit-build: make lib crit failed, full log in $log" >&2
	exit 1
}

mkdir -p "$outdir"
cat >"$outdir/crit.new" <<-LAUNCHER
	#!/bin/sh
	# crit of $tree (scripts/crit-build.sh)
	PYTHONPATH="$tree/lib:$tree/crit\${PYTHONPATH:+:\$PYTHONPATH}" exec /usr/bin/python3 -m crit "\$@"
LAUNCHER
chmod 0755 "$outdir/crit.new"
if cmp -s "$outdir/crit.new" "$outdir/crit"; then
	rm "$outdir/crit.new"
else
	mv "$outdir/crit.new" "$outdir/crit"
fi
