#!/bin/bash
# containerd: `ctr containers checkpoint --task` / `ctr containers restore
# --live` of a guarded container. containerd's runc shim runs runc, and runc
# the first criu on the daemon's PATH: the installed criu-guard. The flow
# runs a containerd of its own (its config.toml: root, state, socket), as
# systemd would run the system's. `ctr task checkpoint` writes the same
# CRIU images, but containerd 1.6's ctr cannot restore the image it makes
# (upstream containerd PR #8406): the container checkpoint is the one ctr
# restores. The image comes from podman (docker-archive: ctr 1.6 restores
# checkpoints of such images only).
CT_PORT=17460
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require containerd ctr runc podman nsenter tar
ct_require_installed

# the shim leaves its (empty) cgroups when a restore fails half way
ct_defer sh -c "find /sys/fs/cgroup/*/$CT_NAME -depth -type d -exec rmdir {} + 2>/dev/null"
state=/run/$CT_NAME-$$
export CONTAINERD_ADDRESS=$state/containerd.sock CONTAINERD_NAMESPACE=$CT_NAME
cat >"$CT_WORK/config.toml" <<-EOF
	version = 2
	root = "$CT_WORK/root"
	state = "$state"
	[grpc]
	  address = "$CONTAINERD_ADDRESS"
EOF
containerd --config "$CT_WORK/config.toml" >"$CT_WORK/containerd.log" 2>&1 &
ctrd=$!
ct_defer rm -rf "$state"
ct_defer kill "$ctrd"
ct_wait 30 "containerd to serve" ctr version

# the image: the suite's rootfs, imported by podman and saved for ctr
id=$CT_NAME-$$
image=localhost/$CT_NAME:$$
ct_rootfs "$CT_WORK/rootfs"
tar -C "$CT_WORK/rootfs" -cf "$CT_WORK/rootfs.tar" .
ct_defer podman rmi -f "$image"
ct_run 60 podman import -q "$CT_WORK/rootfs.tar" "$image" >/dev/null
ct_run 60 podman save -q --format docker-archive -o "$CT_WORK/image.tar" "$image"
ct_run 60 ctr images import "$CT_WORK/image.tar" >/dev/null

ct_netns "$id"
ct_defer ctr containers rm "$id"
ct_defer ctr task delete -f "$id"
ct_run 30 ctr run -d --with-ns "network:/run/netns/$id" "$image" "$id" sh -c "$CT_INIT_CMD"
pid=$(ctr task ls | awk -v id="$id" '$1 == id {print $2}')
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_service_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"

ct_run "$CT_TIMEOUT" ctr containers checkpoint --rw --task --image "$id" "checkpoint/$id:1" ||
	ct_fail "ctr containers checkpoint failed"
# the CRIU images are a tar blob in containerd's content store
n=0
for blob in "$CT_WORK"/root/io.containerd.content.v1.content/blobs/sha256/*; do
	n=$((n + $(tar -tf "$blob" 2>/dev/null | grep -c 'guard-regions-.*\.img$' || true)))
done
[ "$n" -gt 0 ] || ct_stock || ct_fail "no guard-regions-*.img in the checkpoint's content"
ct_log "$n guard images in the checkpoint's content"
ct_run 30 ctr task kill -s SIGKILL "$id"
ct_wait 20 "the task to stop" sh -c "ctr task ls | grep -q '^$id .*STOPPED'"
ct_run 30 ctr task delete "$id" >/dev/null
ct_run 30 ctr containers rm "$id"

ct_run "$CT_TIMEOUT" ctr containers restore --rw --live "$id" "checkpoint/$id:1" ||
	ct_fail "ctr containers restore failed"
pid=$(ctr task ls | awk -v id="$id" '$1 == id && $3 == "RUNNING" {print $2}')
[ -n "$pid" ] || ct_fail "the restored task is not running"
ct_service_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
