#!/bin/bash
# Migration of a runc container between two hosts with a page server. The
# container uses its host's network namespace (host networking): on the
# source that is the source host's, after the move the destination's. The
# destination host has its own mount namespace (with its own /run/runc) and
# PID namespace, and restores from a copy of the bundle.
CT_PORT=17440
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require runc ip nsenter unshare ss
ct_require_installed
ps_port=17441

ct_hosts
id=$CT_NAME-$$
src=$CT_WORK/src-images dst=$CT_WORK/dst-images
mkdir -p "$src" "$dst"
ct_runc_bundle "$CT_WORK/bundle" "$CT_SRC_NS"

# the destination host: its own /run/runc; receive the pages, wait for
# the other images, restore the container from its copy of the bundle
ct_dst "
	mount -t tmpfs tmpfs /run/runc
	timeout $CT_TIMEOUT criu page-server -D $dst --address $CT_DST_IP --port $ps_port -o page-server.log -v4
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/go ]; do sleep 0.1; done'
	runc restore -d --image-path $dst --work-path $dst -b $CT_WORK/dst-bundle $id \\
		</dev/null >$CT_WORK/dst-container.log 2>&1 && echo 0 >$CT_WORK/restored || echo \$? >$CT_WORK/restored
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/quit ]; do sleep 0.2; done'
	runc delete -f $id
"
ct_defer ct_dst_quit

# the source host: the container, then the checkpoint to the page server
ct_defer runc delete -f "$id"
ct_run 30 nsenter --net="/run/netns/$CT_SRC_NS" runc run -d -b "$CT_WORK/bundle" "$id" \
	</dev/null > >(cat >"$CT_WORK/container.log") 2>&1
pid=$(ct_runc_pid "$id")
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_service_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"
ct_wait 20 "the page server" ct_port_open "$CT_DST_NS" "$ps_port"
ct_run "$CT_TIMEOUT" nsenter --net="/run/netns/$CT_SRC_NS" runc checkpoint --image-path "$src" --work-path "$src" \
	--page-server "$CT_DST_IP:$ps_port" "$id" || ct_fail "runc checkpoint --page-server failed"
ct_guard_images "$src"
# only pagemap/pages went to the page server: move every other image and
# runc's descriptors.json; the destination's bundle joins its own network
cp -n "$src"/*.img "$src"/descriptors.json "$dst"/
cp -a "$CT_WORK/bundle" "$CT_WORK/dst-bundle"
ct_json "$CT_WORK/dst-bundle/config.json" \
	"[n.update(path='/run/netns/$CT_DST_NS') for n in c['linux']['namespaces'] if n['type'] == 'network']"
touch "$CT_WORK/go"
ct_wait "$CT_TIMEOUT" "the restore on the destination" test -e "$CT_WORK/restored"
[ "$(cat "$CT_WORK/restored")" = 0 ] || ct_fail "runc restore on the destination failed"

# the restored container: its init in the destination's PID namespace
pid=$(pgrep -P "$CT_DST_PID" -x guard-service || true)
[ -n "$pid" ] || ct_fail "no restored container init below the destination's init"
ct_service_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
