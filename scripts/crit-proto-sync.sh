#!/bin/bash
# proto/guard.proto is the source of the guard image's messages: the plugin
# is built from it. The series carries the same file as CRIU's
# images/guard-regions.proto, where crit reads it. After editing
# proto/guard.proto, run this to rewrite the patch that adds
# images/guard-regions.proto (the meson test crit-proto-in-sync fails until
# then). The patch keeps its author, date, message and number.
#
#   scripts/crit-proto-sync.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tarball=${CRIU_GUARD_CACHE:-/var/cache/criu-guard}/criu_4.2.1.orig.tar.xz
patch=$(grep -l '^+++ b/images/guard-regions.proto$' criu-patches/*.patch)
[ -f "$tarball" ] || { echo "crit-proto-sync: no $tarball (build once first)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_COMMITTER_NAME=criu-guard GIT_COMMITTER_EMAIL=dev@criu-guard.invalid
tar -xf "$tarball" -C "$tmp" --strip-components=1
git -C "$tmp" init -q
git -C "$tmp" add -A
git -C "$tmp" -c user.name=base -c user.email=base@invalid commit -q -m base
for p in criu-patches/*.patch; do
	git -C "$tmp" am -q "$PWD/$p"
	[ "$p" = "$patch" ] && break
done

cp proto/guard.proto "$tmp/images/guard-regions.proto"
git -C "$tmp" commit -q -a --amend --no-edit
prefix=$(sed -n 's/^Subject: \(\[PATCH[^]]*\]\).*/\1/p' "$patch")
git -C "$tmp" format-patch -1 --stdout | sed "s|^Subject: \\[PATCH\\]|Subject: $prefix|" >"$patch.new"
mv "$patch.new" "$patch"
echo "crit-proto-sync: $patch now carries proto/guard.proto"
