#!/bin/bash
# The benchmarks (README.md, docs/bench-results.md): criu-guard against
# stock CRIU 4.2.1 built from the same tarball, side by side. Needs root.
#
#   scripts/bench.sh            full run (~30 min), writes docs/bench-results.md
#                               and docs/bench-overhead.png
#   scripts/bench.sh --quick    sanity check: fewer sizes and runs, results
#                               under build/bench/
#
# Not part of `meson test` or CI. See tests/bench/bench.sh for options.
set -euo pipefail
exec bash "$(dirname "$0")/../tests/bench/bench.sh" "$@"
