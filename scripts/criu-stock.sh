#!/bin/bash
# Build stock CRIU 4.2.1 (no patches) from the same verified tarball as the
# patched build, for side-by-side runs (benchmarks, the real-program suite).
#
#   criu-stock.sh OUTDIR
#
# Extracts the tarball to OUTDIR/criu-4.2.1 once (fetching it into the cache
# if needed, see criu-source.sh), runs an incremental `make criu` there and
# places the binary at OUTDIR/criu, then prints that path. Concurrent callers
# with the same OUTDIR wait for each other.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
outdir=$(realpath -m "$1")

mkdir -p "$outdir"
exec 9>"$outdir/.criu-stock.lock"
flock 9
echo "criu-stock: stock CRIU 4.2.1 in $outdir (incremental)" >&2
"$here/criu-source.sh" "$outdir"
"$here/criu-build.sh" "$outdir/criu-4.2.1" "$outdir"
echo "$outdir/criu"
