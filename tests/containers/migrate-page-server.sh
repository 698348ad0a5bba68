#!/bin/bash
# Migration of a bare guarded tree between two hosts with a page server:
# the destination runs `criu page-server`, the source `criu dump
# --page-server`, the rest of the images (guard images included) travel
# afterwards, and the destination restores in its own PID namespace.
CT_PORT=17420
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require ip nsenter unshare ss
ct_require_installed
ps_port=17421

ct_hosts
src=$CT_WORK/src-images dst=$CT_WORK/dst-images
mkdir -p "$src" "$dst"

# the destination host: receive the pages, wait for the other images,
# restore, stay up until the test is done
ct_dst "
	set -e
	timeout $CT_TIMEOUT criu page-server -D $dst --address $CT_DST_IP --port $ps_port -o page-server.log -v4
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/go ]; do sleep 0.1; done'
	criu restore -d -D $dst -o restore.log -v4 && echo 0 >$CT_WORK/restored || echo \$? >$CT_WORK/restored
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/quit ]; do sleep 0.2; done'
"
ct_defer ct_dst_quit

# the source host: the service, then the dump to the page server
nsenter --net="/run/netns/$CT_SRC_NS" setsid "$CT_SERVICE" serve "$CT_PORT" </dev/null >"$CT_WORK/service.log" 2>&1 &
pid=$!
disown
ct_defer ct_kill_session "$pid"
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_guard_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"
ct_wait 20 "the page server" ct_port_open "$CT_DST_NS" "$ps_port"
ct_run "$CT_TIMEOUT" nsenter --net="/run/netns/$CT_SRC_NS" criu dump -t "$pid" -D "$src" -o dump.log -v4 \
	--page-server --address "$CT_DST_IP" --port "$ps_port" || ct_fail "criu dump --page-server failed"
ct_guard_images "$src"
# only pagemap/pages went to the page server: move every other image
cp -n "$src"/*.img "$dst"/
touch "$CT_WORK/go"
ct_wait "$CT_TIMEOUT" "the restore on the destination" test -e "$CT_WORK/restored"
[ "$(cat "$CT_WORK/restored")" = 0 ] || ct_fail "criu restore on the destination failed"

# the restored tree: in the destination's PID and network namespaces
ct_guard_ok "$CT_DST_PID"
ct_same_guards "$CT_WORK/guards" "$CT_DST_PID"
