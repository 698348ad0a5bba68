#!/bin/bash
# meson install step: put the patched criu into SBINDIR (relative to the
# prefix, or absolute), under $DESTDIR when meson has one.
#
#   install-criu.sh BUILT_CRIU SBINDIR
set -euo pipefail

built=$1
sbindir=$2
case $sbindir in
/*) dest=${DESTDIR:-}$sbindir ;;
*) dest=$MESON_INSTALL_DESTDIR_PREFIX/$sbindir ;;
esac
install -D -m 0755 "$built" "$dest/criu"
echo "Installing $built to $dest"
