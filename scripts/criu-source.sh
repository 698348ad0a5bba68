#!/bin/bash
# Prepare the pinned, patched CRIU source tree.
#
#   criu-source.sh OUTDIR PATCHDIR
#   criu-source.sh OUTDIR          stock CRIU: no patches (scripts/criu-stock.sh)
#
# Fetches CRIU's upstream tarball from Debian's source package once into a
# cache (never again while the cache holds it), verifies its checksum,
# extracts it to OUTDIR/criu-$CRIU_VERSION and applies PATCHDIR/*.patch in
# order. The tree is re-extracted only when the patch series changes, so
# `make` inside it stays incremental. The plugin API headers and magic.h are
# copied to OUTDIR for the plugin build.
set -euo pipefail

CRIU_VERSION=4.2.1
CRIU_DEB_VERSION=4.2.1-1
CRIU_SHA256=29ec0ee09e296479fe7048c80980e8ef1d0684d0b0204c2b101dfea19f6725b9

outdir=$(realpath -m "$1")
patchdir=${2:+$(realpath "$2")}
patches=()
[ -z "$patchdir" ] || patches=("$patchdir"/*.patch)
tarball=criu_${CRIU_VERSION}.orig.tar.xz
tree=$outdir/criu-$CRIU_VERSION

cache_dir()
{
	local dir=${CRIU_GUARD_CACHE:-/var/cache/criu-guard}

	if mkdir -p "$dir" 2>/dev/null && [ -w "$dir" ]; then
		echo "$dir"
	else
		dir=${XDG_CACHE_HOME:-$HOME/.cache}/criu-guard
		mkdir -p "$dir"
		echo "$dir"
	fi
}

fetch_tarball()
{
	local cache=$1

	[ -f "$cache/$tarball" ] && return 0
	echo "criu-source: fetching $tarball (Debian source package criu=$CRIU_DEB_VERSION)" >&2
	if ! (cd "$cache" && apt-get -o DPkg::Lock::Timeout=900 source --download-only --tar-only "criu=$CRIU_DEB_VERSION" >&2); then
		echo "criu-source: cannot fetch criu=$CRIU_DEB_VERSION; run scripts/install-deps.sh (it adds the deb-src entries)" >&2
		return 1
	fi
}

verify_tarball()
{
	local sum

	sum=$(sha256sum "$1" | cut -d' ' -f1)
	if [ "$sum" != "$CRIU_SHA256" ]; then
		echo "criu-source: $1: sha256 $sum, expected $CRIU_SHA256; removing it" >&2
		rm -f "$1"
		return 1
	fi
}

series_id()
{
	(echo "$CRIU_SHA256"; cat /dev/null "${patches[@]}") | sha256sum | cut -d' ' -f1
}

extract_and_patch()
{
	local patch

	rm -rf "$tree" "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -xf "$1" -C "$tree.tmp" --strip-components=1
	for patch in "${patches[@]}"; do
		echo "criu-source: applying $(basename "$patch")" >&2
		patch -d "$tree.tmp" -p1 --quiet --forward <"$patch"
	done
	mv "$tree.tmp" "$tree"
}

copy_if_changed()
{
	cmp -s "$1" "$2" || cp "$1" "$2"
}

main()
{
	local cache id

	mkdir -p "$outdir"
	id=$(series_id)
	if [ "$(cat "$tree/.criu-guard-series" 2>/dev/null)" != "$id" ]; then
		cache=$(cache_dir)
		fetch_tarball "$cache"
		verify_tarball "$cache/$tarball"
		extract_and_patch "$cache/$tarball"
		echo "$id" >"$tree/.criu-guard-series"
	fi

	for h in criu-plugin.h criu-log.h log.h magic.h; do
		copy_if_changed "$tree/criu/include/$h" "$outdir/$h"
	done
}

main
