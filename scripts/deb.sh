#!/bin/bash
# Build a Debian package of criu-guard for machines without a compiler (the
# other end of a migration needs the same criu and plugin):
#
#   bash scripts/deb.sh [OUTDIR]      (default: build-deb/)
#   apt install ./OUTDIR/criu-guard_VERSION_ARCH.deb
#
# The package has the install layout of docs/containers.md with prefix
# /usr: /usr/sbin/criu (the patched CRIU 4.2.1, default plugin directory
# /usr/lib/criu-guard), /usr/lib/criu-guard/guard_plugin.so,
# /usr/bin/guard-probe. It replaces Debian's criu package (Provides,
# Conflicts and Replaces criu: both ship /usr/sbin/criu; runc only
# recommends criu), and leaves /usr/lib/criu alone. Dependencies come from
# dpkg-shlibdeps (plus python3-protobuf for crit). The build uses a meson
# build directory of its own (OUTDIR/build), seeded with build/'s CRIU tree
# when there is one (no second extraction). Needs the build dependencies
# (scripts/install-deps.sh), not root.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(realpath -m "${1:-build-deb}")
bld=$out/build
stage=$out/stage
log() { echo "deb: $*" >&2; }

setup()
{
	local tree=criu-patches/criu-4.2.1

	if [ ! -d "$bld" ]; then
		meson setup "$bld" --prefix=/usr --buildtype=debugoptimized >/dev/null
	fi
	if [ ! -d "$bld/$tree" ] && [ -f "build/$tree/.criu-guard-series" ]; then
		log "seeding the CRIU tree from build/"
		cp -a "build/$tree" "$bld/$tree"
	fi
}

build()
{
	log "building (prefix /usr)"
	meson compile -C "$bld" criu plugin/guard_plugin:shared_module kernel/guard-probe:executable >"$out/build.log" 2>&1 || {
		tail -n 30 "$out/build.log" >&2
		exit 1
	}
	rm -rf "$stage"
	DESTDIR=$stage meson install -C "$bld" --no-rebuild --quiet >>"$out/build.log" 2>&1
	strip --strip-unneeded "$stage/usr/sbin/criu" "$stage/usr/lib/criu-guard/guard_plugin.so" \
		"$stage/usr/bin/guard-probe"
}

# shlibs:Depends of the staged binaries
depends()
{
	local tmp

	tmp=$(mktemp -d)
	mkdir "$tmp/debian"
	touch "$tmp/debian/control"
	(cd "$tmp" && dpkg-shlibdeps -O -l"$stage/usr/lib" \
		"$stage/usr/sbin/criu" "$stage/usr/lib/criu-guard/guard_plugin.so" "$stage/usr/bin/guard-probe" \
		2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
	rm -rf "$tmp"
}

control()
{
	local version arch

	version=$(meson introspect --projectinfo "$bld" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
	arch=$(dpkg --print-architecture)
	mkdir -p "$stage/DEBIAN"
	cat >"$stage/DEBIAN/control" <<-EOF
		Package: criu-guard
		Version: $version
		Architecture: $arch
		Maintainer: criu-guard <criu-guard@localhost>
		Installed-Size: $(du -sk "$stage/usr" | cut -f1)
		Depends: $(depends)$([ ! -e "$stage/usr/bin/crit" ] || echo ", python3, python3-protobuf")
		Recommends: iptables
		Provides: criu
		Conflicts: criu
		Replaces: criu
		Section: admin
		Priority: optional
		Description: CRIU 4.2.1 with checkpoint/restore of guard regions
		 CRIU 4.2.1 with the criu-guard patch series and plugin: checkpoint and
		 restore of MADV_GUARD_INSTALL guard regions, also in locked VMAs.
		 The plugin lives in /usr/lib/criu-guard, this criu's default plugin
		 directory; other CRIUs never load it.
	EOF
	echo "$arch" "$version"
}

main()
{
	local arch version deb

	mkdir -p "$out"
	setup
	build
	read -r arch version < <(control)
	deb=$out/criu-guard_${version}_${arch}.deb
	dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
	log "wrote $deb"
	echo "$deb"
}

main "$@"
