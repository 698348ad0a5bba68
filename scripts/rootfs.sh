#!/bin/bash
# Build once and cache a Debian sid root file system with real programs.
#
#   rootfs.sh              build it if needed, print its path
#   rootfs.sh --packages   print the package list
#
# The rootfs (glibc >= 2.42, which puts a guard region under every thread
# stack) holds the programs the real-program suite (tests/real) runs chrooted.
# It is built with mmdebstrap from the Debian archive this machine's apt is
# configured for, into $CRIU_GUARD_CACHE (default /var/cache/criu-guard) as
# rootfs/sid-<id>, where <id> hashes the package list and build options: a
# changed list builds a new tree. Concurrent callers wait on a lock. Callers
# must not modify the tree; write into a directory of your own under it
# (e.g. mktemp -d "$ROOTFS/tmp/NAME.XXXXXX") and remove it afterwards.
# Hold `flock -s "$ROOTFS.lock"` while the tree is in use: a build with a new
# package list removes only stale trees nobody holds.
#
# Exit status 77 (with the reason on stderr) when the archive cannot be
# reached, so a meson test using it reports SKIP, never a pass.
set -euo pipefail

SUITE=sid
PACKAGES=(
	python3-minimal procps curl
	redis-server redis-tools memcached apache2
	mariadb-server-core mariadb-client-core
	nodejs
)
MMDEBSTRAP_OPTS=(
	--variant=minbase
	# the archive's sid Release file may be served expired
	--aptopt='Acquire::Check-Valid-Until "false"'
	--include="$(
		IFS=,
		echo "${PACKAGES[*]}"
	)"
)

log() { echo "rootfs: $*" >&2; }

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

tree_id()
{
	printf '%s\n' "$SUITE" "${MMDEBSTRAP_OPTS[@]}" | sha256sum | cut -c1-16
}

# The Debian archive this machine's apt uses (not its security archive)
archive_uri()
{
	apt-get indextargets --format '$(REPO_URI) $(ORIGIN) $(LABEL) $(IDENTIFIER)' |
		awk '$2 == "Debian" && $3 == "Debian" && $4 == "Packages" { print $1; exit }'
}

# Fetched with apt's own transport, so apt's proxy settings apply
reachable()
{
	local tmp rc=0

	tmp=$(mktemp)
	/usr/lib/apt/apt-helper download-file "${1%/}/dists/$SUITE/InRelease" "$tmp" >/dev/null 2>&1 || rc=1
	rm -f "$tmp"
	return $rc
}

remove_stale()
{
	local base=$1 keep=$2 dir

	for dir in "$base"/sid-*; do
		[ -d "$dir" ] && [ "$dir" != "$keep" ] || continue
		# a tree someone holds the shared lock on stays
		if flock -n -x "$dir.lock" rm -rf "$dir"; then
			log "removed stale $dir"
			rm -f "$dir.lock" "$dir.log"
		fi
	done
}

build()
{
	local dir=$1 uri start

	command -v mmdebstrap >/dev/null || {
		log "mmdebstrap missing: run scripts/install-deps.sh"
		exit 1
	}
	uri=$(archive_uri)
	[ -n "$uri" ] || {
		log "no Debian archive in this machine's apt sources"
		exit 77
	}
	if ! reachable "$uri"; then
		log "SKIP: Debian archive $uri unreachable (dists/$SUITE/InRelease cannot be fetched)"
		exit 77
	fi
	log "building $SUITE rootfs from $uri into $dir (once; takes a few minutes)"
	start=$(date +%s)
	rm -rf "$dir.tmp"
	if ! mmdebstrap "${MMDEBSTRAP_OPTS[@]}" "$SUITE" "$dir.tmp" \
		"deb $uri $SUITE main" >"$dir.log" 2>&1; then
		rm -rf "$dir.tmp"
		tail -n 20 "$dir.log" >&2
		log "mmdebstrap failed (log: $dir.log)"
		exit 1
	fi
	mv "$dir.tmp" "$dir"
	log "built in $(($(date +%s) - start)) s, $(du -sm "$dir" | cut -f1) MiB"
}

main()
{
	local base dir

	if [ "${1:-}" = --packages ]; then
		printf '%s\n' "${PACKAGES[@]}"
		return 0
	fi
	base=$(cache_dir)/rootfs
	mkdir -p "$base"
	dir=$base/$SUITE-$(tree_id)
	exec 9>"$base/.build.lock"
	flock 9
	if [ ! -d "$dir" ]; then
		remove_stale "$base" "$dir"
		build "$dir"
	fi
	exec 9>&-
	echo "$dir"
}

main "$@"
