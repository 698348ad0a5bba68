#!/bin/bash
# Install everything criu-guard needs on Debian bookworm: build tools, CRIU's
# build dependencies, and the deb-src entries that CRIU's pinned source
# package (criu=4.2.1-1, from trixie/sid) is fetched from.
set -euo pipefail

SRC_LIST=/etc/apt/sources.list.d/criu-guard-src.sources

packages=(
	build-essential meson ninja-build pkg-config clang-format
	libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
	python3-protobuf python3-yaml
	libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev
	libnl-3-dev libnl-route-3-dev uuid-dev libaio-dev
	asciidoc-base xmlto iptables gnuplot-nox
)

add_deb_src()
{
	[ -f "$SRC_LIST" ] && return 0
	cat >"$SRC_LIST" <<-'SRC'
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: sid trixie
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SRC
}

missing()
{
	local p

	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
	done
}

main()
{
	local need

	add_deb_src
	need=$(missing)
	# apt-get source needs fresh deb-src lists even when no package is missing
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	if [ -n "$need" ]; then
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null
	fi
	echo "install-deps: done"
}

main "$@"
