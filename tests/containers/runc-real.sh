#!/bin/bash
# runc with a real program: redis-server from the Debian sid rootfs
# (scripts/rootfs.sh; glibc >= 2.42 puts a guard under every thread stack,
# and redis with --io-threads has threads) as the container's service, next
# to the guard workload. A key set before the checkpoint must be there
# after the restore, and every guard of every process must be exact. The
# cached rootfs is shared and read-only: the container gets it read-only,
# with a tmpfs on /tmp for the guard workload and redis' directory.
CT_PORT=17500
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require runc nsenter chroot
ct_require_installed

rootfs=$(bash "$CT_SRC/scripts/rootfs.sh") || ct_skip "no Debian sid rootfs (scripts/rootfs.sh)"
[ -x "$rootfs/usr/bin/redis-server" ] || ct_skip "$rootfs has no redis-server"
ct_hold_lock -s "$rootfs.lock"

id=$CT_NAME-$$
bundle=$CT_WORK/bundle
mkdir -p "$bundle"
(cd "$bundle" && runc spec)
ct_netns "$id"
ct_json "$bundle/config.json" "c['process']['terminal'] = False" \
	"c['root'] = {'path': '$rootfs', 'readonly': True}" \
	"c['mounts'] += [{'destination': '/tmp', 'type': 'tmpfs', 'source': 'tmpfs', 'options': ['nosuid', 'nodev']}, {'destination': '/tmp/guard-service', 'type': 'bind', 'source': '$CT_SERVICE', 'options': ['bind', 'ro']}]" \
	"c['process']['args'] = ['sh', '-c', 'redis-server --bind 127.0.0.1 --port 6379 --io-threads 4 --save \"\" --appendonly no --dir /tmp --daemonize yes && exec /tmp/guard-service serve $CT_PORT']" \
	"[n.update(path='/run/netns/$id') for n in c['linux']['namespaces'] if n['type'] == 'network']"

redis()
{
	timeout 20 nsenter --net="/proc/$pid/ns/net" chroot "$rootfs" redis-cli -h 127.0.0.1 -p 6379 "$@"
}

ct_defer runc delete -f "$id"
ct_run 30 runc run -d -b "$bundle" "$id" </dev/null > >(cat >"$CT_WORK/container.log") 2>&1
pid=$(ct_runc_pid "$id")
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_wait 20 "redis to answer" redis PING
ct_guard_ok "$pid"
[ "$(redis SET criu-guard "$id")" = OK ] || ct_fail "redis SET failed"
ct_guards "$pid" >"$CT_WORK/guards"
threads=$(ls "/proc/$(pgrep -P "$pid" -x redis-server)/task" | wc -l)
ct_log "redis-server runs $threads threads; $(wc -l <"$CT_WORK/guards") guard ranges in the container"

ct_runc_checkpoint_restore "$id" "$bundle"
pid=$CT_PID
ct_guard_ok "$pid"
got=$(redis GET criu-guard) || ct_fail "redis does not answer after the restore"
[ "$got" = "$id" ] || ct_fail "redis lost its data: GET criu-guard = '$got'"
ct_log "redis: GET criu-guard = $got"
ct_same_guards "$CT_WORK/guards" "$pid"
