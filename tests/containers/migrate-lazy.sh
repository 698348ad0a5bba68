#!/bin/bash
# Lazy (post-copy) migration of a bare guarded tree between two hosts: the
# source `criu dump --lazy-pages` keeps the memory and serves it, every
# other image (guard images included) travels first, the destination
# restores with `criu lazy-pages` pulling the pages on demand, in its own
# PID namespace (the frozen source tree still holds its PIDs). CRIU asks for
# pipes larger than fs.pipe-max-size (1 MiB) allows without
# CAP_SYS_RESOURCE: the flow raises it to 8 MiB and puts it back.
CT_PORT=17430
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require ip nsenter unshare ss
ct_require_installed
criu check --feature uffd-noncoop >/dev/null 2>&1 || ct_skip "no userfaultfd (criu check --feature uffd-noncoop)"
lazy_port=17431

ct_raise_pipe_max_size 8388608

ct_hosts
src=$CT_WORK/src-images dst=$CT_WORK/dst-images
mkdir -p "$src" "$dst"

nsenter --net="/run/netns/$CT_SRC_NS" setsid "$CT_SERVICE" serve "$CT_PORT" </dev/null >"$CT_WORK/service.log" 2>&1 &
pid=$!
disown
ct_defer ct_kill_session "$pid"
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_guard_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"

# the source: dump everything but the memory, then serve the pages
timeout "$CT_TIMEOUT" nsenter --net="/run/netns/$CT_SRC_NS" criu dump -t "$pid" -D "$src" -o dump.log -v4 \
	--lazy-pages --address "$CT_SRC_IP" --port "$lazy_port" &
dump=$!
ct_defer pkill -9 -P "$dump"
ct_wait 30 "the lazy dump to serve its pages" ct_port_open "$CT_SRC_NS" "$lazy_port"
ct_guard_images "$src"
cp "$src"/*.img "$dst"/

# the destination: the lazy-pages daemon pulls from the source, the restore
# faults the pages in through it
ct_dst "
	timeout $CT_TIMEOUT criu lazy-pages --page-server --address $CT_SRC_IP --port $lazy_port -D $dst -o lazy-pages.log -v4 &
	timeout 20 bash -c 'until [ -S $dst/lazy-pages.socket ]; do sleep 0.1; done'
	criu restore --lazy-pages -d -D $dst -o restore.log -v4 && echo 0 >$CT_WORK/restored || echo \$? >$CT_WORK/restored
	wait
	timeout $CT_TIMEOUT bash -c 'until [ -e $CT_WORK/quit ]; do sleep 0.2; done'
"
ct_defer ct_dst_quit
ct_wait "$CT_TIMEOUT" "the restore on the destination" test -e "$CT_WORK/restored"
[ "$(cat "$CT_WORK/restored")" = 0 ] || ct_fail "criu restore --lazy-pages on the destination failed"
# the check touches every page: the pages come over from the source
ct_guard_ok "$CT_DST_PID"
wait "$dump" || ct_fail "the lazy dump failed (exit $?)"
ct_same_guards "$CT_WORK/guards" "$CT_DST_PID"
