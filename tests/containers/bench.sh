#!/bin/bash
# Time every flow of the containers suite with the installed criu-guard and
# with stock CRIU 4.2.1 (first on PATH instead), side by side. A benchmark,
# not a test: stock is expected to fail where a locked VMA holds guards (the
# workload has one), and the table says where and how.
#
#   bash tests/containers/bench.sh [BUILD_DIR] [FLOW...]
#
# Needs root and `meson install -C BUILD_DIR` (default build/).
set -uo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath "${1:-$src/build}")
shift || true
flows=("$@")
[ ${#flows[@]} -gt 0 ] || flows=(install noplugin runc runc-real podman containerd lxc migrate-page-server migrate-runc migrate-lazy migrate-podman)

export CT_SRC=$src CT_BUILD=$build CT_CRIU=/usr/local/sbin/criu CT_PLUGIN_DIR=/usr/local/lib/criu-guard
export CT_SERVICE=$build/tests/containers/guard-service CT_STOCK_DIR=$build/tests/real/criu-stock
stock=$(bash "$src/scripts/criu-stock.sh" "$CT_STOCK_DIR") || exit 1

# run FLOW [STOCK]: "SECONDS RESULT"
run()
{
	local t0 t1 rc out why

	t0=$(date +%s%N)
	out=$(CT_STOCK_CRIU=${2:-} bash "$src/tests/containers/$1.sh" 2>&1)
	rc=$?
	t1=$(date +%s%N)
	case $rc in
	0) why=ok ;;
	77) why="skip: $(grep -m1 '^SKIP' <<<"$out" | cut -c7-)" ;;
	*)
		why=$(grep -m1 '^FAIL' <<<"$out" | cut -c7-)
		grep -q 'restorer.c:.*madvise.*failed with -22' <<<"$out" && why="$why (restorer: madvise -22)"
		[ -z "${2:-}" ] || why="fails: $why"
		;;
	esac
	printf '%.1f\t%s\n' "$(((t1 - t0) / 1000000))e-3" "$why"
}

printf '| flow | criu-guard (s) | result | stock 4.2.1 (s) | result |\n|---|---|---|---|---|\n'
for f in "${flows[@]}"; do
	IFS=$'\t' read -r tg rg < <(run "$f")
	if [ "$f" = install ] || [ "$f" = noplugin ] || [ "$f" = deb ]; then
		ts=- rs="n/a (tests the patched criu itself)"
	else
		IFS=$'\t' read -r ts rs < <(run "$f" "$stock")
	fi
	printf '| %s | %s | %s | %s | %s |\n' "$f" "$tg" "$rg" "$ts" "$rs"
done
