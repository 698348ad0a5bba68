#!/bin/bash
# meson install step: install crit of the patched CRIU tree with the criu,
# as BINDIR/crit, its Python packages (pycriu with the images' modules,
# crit) in DATADIR/criu-guard/python, apart from any other crit's. Paths
# are relative to the prefix, or absolute; $DESTDIR is honoured.
#
#   install-crit.sh TREE BINDIR DATADIR
set -euo pipefail

tree=$1
bindir=$2
datadir=$3

# Where a path ends up (final) and where we write it now (staged)
final() { case $1 in /*) echo "$1" ;; *) echo "$MESON_INSTALL_PREFIX/$1" ;; esac; }
staged() { case $1 in /*) echo "${DESTDIR:-}$1" ;; *) echo "$MESON_INSTALL_DESTDIR_PREFIX/$1" ;; esac; }

pydir=$datadir/criu-guard/python
dest=$(staged "$pydir")
rm -rf "$dest/pycriu" "$dest/crit"
(cd "$tree/lib" && find pycriu -name '*.py') | while read -r f; do
	install -D -m 0644 "$tree/lib/$f" "$dest/$f"
done
(cd "$tree/crit" && find crit -name '*.py') | while read -r f; do
	install -D -m 0644 "$tree/crit/$f" "$dest/$f"
done

mkdir -p "$(staged "$bindir")"
cat >"$(staged "$bindir")/crit" <<-LAUNCHER
	#!/bin/sh
	# crit of criu-guard's patched CRIU (decodes guard-regions-*.img too)
	PYTHONPATH="$(final "$pydir")\${PYTHONPATH:+:\$PYTHONPATH}" exec /usr/bin/python3 -m crit "\$@"
LAUNCHER
chmod 0755 "$(staged "$bindir")/crit"
echo "Installing crit to $(staged "$bindir")/crit, its modules to $dest"
