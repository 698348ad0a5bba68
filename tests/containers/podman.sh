#!/bin/bash
# podman container checkpoint --export / restore --import of a guarded
# container (runtime runc, default network). podman runs runc, and runc the
# first criu on conmon's PATH (containers.conf conmon_env_vars, /usr/local/sbin
# first): the installed criu-guard. The guard images must be inside the
# exported archive.
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require podman runc nsenter tar zstd
ct_require_installed

ct_podman_setup
name=$CT_NAME-$$
image=localhost/$CT_NAME:$$
archive=$CT_WORK/checkpoint.tar.zst

ct_rootfs "$CT_WORK/rootfs"
tar -C "$CT_WORK/rootfs" -cf "$CT_WORK/rootfs.tar" .
ct_defer podman rmi -f "$image"
ct_run 60 podman import -q "$CT_WORK/rootfs.tar" "$image" >/dev/null
ct_defer podman rm -f -t 0 "$name"
ct_run 60 podman run -d --name "$name" "$image" sh -c "$CT_INIT_CMD" >/dev/null
pid=$(podman inspect -f '{{.State.Pid}}' "$name")
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_service_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"

ct_run "$CT_TIMEOUT" podman container checkpoint --export "$archive" "$name" >/dev/null ||
	ct_fail "podman container checkpoint failed"
tar -tf "$archive" >"$CT_WORK/archive.list"
if ! ct_stock; then
	n=$(grep -c '^checkpoint/guard-regions-.*\.img$' "$CT_WORK/archive.list") ||
		ct_fail "no checkpoint/guard-regions-*.img in the exported archive"
	ct_log "$n guard images in the exported archive"
fi
ct_run 30 podman rm -f -t 0 "$name" >/dev/null

ct_run "$CT_TIMEOUT" podman container restore --import "$archive" --name "$name" >/dev/null ||
	ct_fail "podman container restore failed"
pid=$(podman inspect -f '{{.State.Pid}}' "$name")
ct_service_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
