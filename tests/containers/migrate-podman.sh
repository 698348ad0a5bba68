#!/bin/bash
# Migration of a podman container between two hosts: `podman container
# checkpoint --export` on the source, the archive copied, `podman container
# restore --import` on the destination. The destination host has its own
# network, mount and PID namespaces, and in its mount namespace its own
# container storage and state (/var/lib/containers, /run/containers,
# /run/libpod, /run/runc, CNI's state): a podman that has never seen the
# container. It gets the image as any host does (here: podman import of the
# same rootfs).
CT_PORT=17450
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require podman runc ip nsenter unshare tar zstd
ct_require_installed

ct_podman_setup
ct_hosts
name=$CT_NAME-$$
image=localhost/$CT_NAME:$$
archive=$CT_WORK/checkpoint.tar.zst
ct_rootfs "$CT_WORK/rootfs"
tar -C "$CT_WORK/rootfs" -cf "$CT_WORK/rootfs.tar" .

# the destination host
ct_dst "
	for d in /var/lib/containers /run/containers /run/libpod /run/runc /var/lib/cni /run/cni; do
		mkdir -p \$d && mount -t tmpfs tmpfs \$d
	done
	podman import -q $CT_WORK/rootfs.tar $image >/dev/null
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/go ]; do sleep 0.1; done'
	timeout $CT_TIMEOUT podman container restore --import $archive --name $name >$CT_WORK/dst-restore.log 2>&1 &&
		echo 0 >$CT_WORK/restored || echo \$? >$CT_WORK/restored
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/quit ]; do sleep 0.2; done'
	podman rm -f -t 0 $name
	podman rmi -f $image
"
ct_defer ct_dst_quit

# the source host
ct_defer podman rmi -f "$image"
ct_run 60 podman import -q "$CT_WORK/rootfs.tar" "$image" >/dev/null
ct_defer podman rm -f -t 0 "$name"
ct_run 60 nsenter --net="/run/netns/$CT_SRC_NS" podman run -d --name "$name" "$image" sh -c "$CT_INIT_CMD" >/dev/null
pid=$(podman inspect -f '{{.State.Pid}}' "$name")
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_service_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"
ct_run "$CT_TIMEOUT" nsenter --net="/run/netns/$CT_SRC_NS" podman container checkpoint --export "$archive" "$name" >/dev/null ||
	ct_fail "podman container checkpoint --export failed"
tar -tf "$archive" >"$CT_WORK/archive.list"
ct_stock || grep -q '^checkpoint/guard-regions-.*\.img$' "$CT_WORK/archive.list" ||
	ct_fail "no guard images in the exported archive"
ct_run 30 podman rm -f -t 0 "$name" >/dev/null

touch "$CT_WORK/go"
ct_wait "$CT_TIMEOUT" "the restore on the destination" test -e "$CT_WORK/restored"
[ "$(cat "$CT_WORK/restored")" = 0 ] || ct_fail "podman container restore --import on the destination failed: $(tail -n 3 "$CT_WORK/dst-restore.log")"

# the restored container's init: PID 1 of a PID namespace below the destination's
pid=
for p in $(pgrep -f -x "guard-service serve $CT_PORT"); do
	[ "$(awk '/^NSpid:/ {print NF, $NF}' "/proc/$p/status")" = "4 1" ] && pid=$p
done
[ -n "$pid" ] || ct_fail "no restored container on the destination"
ct_service_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
