#!/bin/bash
# One program of the real-program suite (meson suite `real`).
#
#   run.sh PROGRAM PORT CRIU LIBDIR STOCK_CRIU OUTDIR
#
# Builds (once, cached) the Debian sid rootfs, then runs real.py as PID 1 of
# a fresh PID, mount and network namespace: it reaps the orphans a dump
# leaves (this machine's PID 1 does not), and whatever the test started dies
# with it. Exit 77 (SKIP) with the reason when the archive is unreachable.
# OUTDIR (images, logs, result.json) is kept when the test fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
program=$1 port=$2 criu=$3 libdir=$4 stock=$5 out=$6

[ "$(id -u)" = 0 ] || { echo "real: needs root (SKIP)"; exit 77; }
rc=0
rootfs=$(bash "$here/../../scripts/rootfs.sh") || rc=$?
if [ $rc = 77 ]; then
	echo "real: SKIP: no rootfs: the Debian archive cannot be reached (see above)"
	exit 77
fi
[ $rc = 0 ] || exit $rc

# keep the rootfs from being replaced while we use it
exec 8>"$rootfs.lock"
flock -s 8

rm -rf "$out"
mkdir -p "$out"
rc=0
unshare --pid --fork --mount-proc --net --kill-child \
	/usr/bin/python3 -B "$here/real.py" --program "$program" --port "$port" \
	--rootfs "$rootfs" --criu "$criu" --libdir "$libdir" --stock "$stock" \
	--out "$out" || rc=$?
[ $rc != 0 ] || rm -rf "$out"
exit $rc
