#!/bin/bash
# Install everything criu-guard needs on Debian bookworm: build tools, CRIU's
# build dependencies, the container runtimes of the `containers` suite, and
# the deb-src entries that CRIU's pinned source package (criu=4.2.1-1, from
# trixie/sid) is fetched from (scripts/deb-src.sh takes their URIs and
# Signed-By from the machine's own deb entries). Needs root: run it as root,
# or as a user with sudo, which it then uses.
set -euo pipefail

[ "$(id -u)" = 0 ] || exec sudo -E bash "$0" "$@"
cd "$(dirname "$0")/.."

APT=(apt-get -o DPkg::Lock::Timeout=900 -q)

packages=(
	build-essential meson ninja-build pkg-config clang-format
	libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev protobuf-compiler
	python3-protobuf python3-yaml
	libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev
	libnl-3-dev libnl-route-3-dev uuid-dev libaio-dev
	asciidoc-base xmlto iptables gnuplot-nox
	# tests: valgrind (plugin-exit-frees); nm and strings (binutils) check the shipped .so
	valgrind binutils
	# tests/fuzz: libFuzzer (clang -fsanitize=fuzzer)
	clang libclang-rt-14-dev
	# the containers suite: runtimes, a static rootfs, a second "host"
	runc podman containerd lxc busybox-static iproute2
	# the containers and real suites: a Debian sid rootfs (scripts/rootfs.sh)
	mmdebstrap
	# what `apt install podman` pulls in with its recommends (runc
	# recommends criu): the suite checks it stays out of the way
	criu
)

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

	bash scripts/deb-src.sh >/dev/null
	need=$(missing)
	# apt-get source needs fresh deb-src lists even when no package is missing
	DEBIAN_FRONTEND=noninteractive "${APT[@]}" update >/dev/null
	if [ -n "$need" ]; then
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y --no-install-recommends $need >/dev/null
	fi
	echo "install-deps: done"
}

main "$@"
