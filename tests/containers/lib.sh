# shellcheck shell=bash
# Shared steps of the containers suite (sourced by each flow's script).
#
# Every flow drives the *installed* criu-guard (meson install), configured
# the way users configure it: no --libdir, no CRIU_LIBS_DIR, the runtimes
# find criu on PATH. Every wait is bounded (timeout), and whatever a flow
# creates (containers, namespaces, veths, sysctls) is undone by its EXIT
# trap, also on failure.
#
# Environment from tests/containers/meson.build: CT_SRC (source root),
# CT_BUILD (build root), CT_CRIU / CT_PLUGIN_DIR (installed paths),
# CT_SERVICE (the static guard workload), CT_STOCK_CRIU (optional: run the
# flow with that criu instead, for timings; then failures are expected).
set -euo pipefail

CT_NAME=${CT_NAME:-containers-$(basename "$0" .sh)}
CT_T0=$(date +%s%N)
CT_PORT=${CT_PORT:-17400}
CT_TIMEOUT=${CT_TIMEOUT:-60}
ct_undo=()

ct_log()
{
	printf '# [%5.1fs] %s\n' "$(($(date +%s%N) - CT_T0))e-9" "$*" >&2
}

ct_fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

ct_skip()
{
	echo "SKIP: $*" >&2
	exit 77
}

# ct_defer CMD...: run CMD at exit (last deferred first), even on failure
ct_defer()
{
	ct_undo+=("$(printf '%q ' "$@")")
}

ct_cleanup()
{
	local rc=$? i

	trap - EXIT
	# each step is bounded too: a cleanup that hangs (a runtime whose
	# container is half restored) must not hang the flow
	for ((i = ${#ct_undo[@]} - 1; i >= 0; i--)); do
		ct_bounded 30 "${ct_undo[i]}"
	done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -n "${CT_WORK:-}" ]; then
		ct_show_logs
		echo "# work directory kept: $CT_WORK" >&2
	elif [ -n "${CT_WORK:-}" ] && [ -z "${CT_KEEP:-}" ]; then
		rm -rf "$CT_WORK"
	fi
	ct_log "done (exit $rc)"
	exit $rc
}

# ct_bounded SECONDS CMDLINE: eval CMDLINE, killed after SECONDS
ct_bounded()
{
	local p n

	(eval "$2") >/dev/null 2>&1 &
	p=$!
	for ((n = 0; n < $1 * 10; n++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	pkill -9 -P "$p" 2>/dev/null || true
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

ct_show_logs()
{
	local f

	for f in $(find "$CT_WORK" -name '*.log' -size +0 2>/dev/null | head -n 8); do
		echo "# --- tail of $f" >&2
		tail -n 15 "$f" | sed 's/^/#   /' >&2
	done
}

# ct_run SECONDS CMD...: run CMD bounded by a timeout, logging it
ct_run()
{
	local t=$1 rc=0

	shift
	ct_log "\$ $*"
	timeout --kill-after=10 "$t" "$@" || rc=$?
	[ $rc -ne 124 ] && [ $rc -ne 137 ] || echo "# timed out after ${t}s: $*" >&2
	return $rc
}

# ct_wait SECONDS WHAT CMD...: poll CMD until it succeeds
ct_wait()
{
	local t=$1 what=$2 end

	shift 2
	end=$(($(date +%s) + t))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || ct_fail "timed out after ${t}s waiting for $what"
		sleep 0.2
	done
}

# ct_init "$@": root; run the flow under a reaping subreaper; the work
# directory and the cleanup trap
ct_init()
{
	[ "$(id -u)" = 0 ] || ct_skip "needs root"
	if [ -z "${CT_REAPED:-}" ]; then
		export CT_REAPED=1
		exec "$CT_SERVICE" reap bash "$0" "$@"
	fi
	trap ct_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	CT_WORK=$(mktemp -d "/var/tmp/criu-guard-$CT_NAME.XXXXXX")
	ct_log "work directory $CT_WORK"
	if [ -n "${CT_STOCK_CRIU:-}" ]; then
		# benchmarks only (bench.sh): the same flow with another criu
		# first on PATH
		mkdir "$CT_WORK/criu-bin"
		ln -s "$CT_STOCK_CRIU" "$CT_WORK/criu-bin/criu"
		export PATH=$CT_WORK/criu-bin:$PATH
		ct_log "criu on PATH: $CT_STOCK_CRIU"
	fi
}

# The installed criu-guard, the same as this build tree's: the flows test
# what meson install put on the machine.
ct_require_installed()
{
	[ -n "${CT_STOCK_CRIU:-}" ] && return 0
	[ -x "$CT_CRIU" ] || ct_skip "$CT_CRIU not installed: run meson install -C $CT_BUILD"
	cmp -s "$CT_CRIU" "$CT_BUILD/criu/criu" ||
		ct_skip "$CT_CRIU differs from $CT_BUILD/criu/criu: run meson install -C $CT_BUILD"
	cmp -s "$CT_PLUGIN_DIR/guard_plugin.so" "$CT_BUILD/plugin/guard_plugin.so" ||
		ct_skip "$CT_PLUGIN_DIR/guard_plugin.so differs from the build's: run meson install -C $CT_BUILD"
	[ "$(command -v criu)" = "$CT_CRIU" ] ||
		ct_fail "the first criu on PATH is $(command -v criu), not $CT_CRIU (PATH=$PATH)"
}

ct_require()
{
	local c

	for c in "$@"; do
		command -v "$c" >/dev/null || ct_skip "$c is not installed (scripts/install-deps.sh installs it)"
	done
}

# ct_rootfs DIR: busybox-static and the guard workload, enough for a
# container (or a stand-in for a real program: busybox httpd)
ct_rootfs()
{
	local dir=$1

	mkdir -p "$dir"/{bin,proc,sys,dev,tmp,www,etc}
	cp /bin/busybox "$dir/bin/busybox"
	chroot "$dir" /bin/busybox --install -s /bin
	cp "$CT_SERVICE" "$dir/bin/guard-service"
	echo "criu-guard $CT_NAME" >"$dir/www/index.html"
	echo "root:x:0:0:root:/:/bin/sh" >"$dir/etc/passwd"
}

# ct_netns NAME: a named network namespace (/run/netns/NAME) with lo up,
# deleted at exit. Containers join it by path, as CNI networks do: runc then
# tells CRIU it is external, and the restored container joins it again.
ct_netns()
{
	ip netns add "$1"
	ct_defer ip netns delete "$1"
	ip -n "$1" link set lo up
}

# ct_raise_pipe_max_size BYTES: raise fs.pipe-max-size for the rest of the
# flow and put the old value back at exit. The sysctl is global: other runs
# on the machine (zdtm's lazy flavour) toggle it too, so the flow holds
# /run/lock/criu-guard-pipe-max-size.lock meanwhile (flock; whoever
# changes the value takes the same lock).
ct_raise_pipe_max_size()
{
	local old

	ct_hold_lock -x /run/lock/criu-guard-pipe-max-size.lock
	old=$(cat /proc/sys/fs/pipe-max-size)
	[ "$old" -lt "$1" ] || return 0
	ct_defer sh -c "echo $old >/proc/sys/fs/pipe-max-size"
	echo "$1" >/proc/sys/fs/pipe-max-size
	ct_log "fs.pipe-max-size: $old -> $1 for this flow"
}

# ct_hold_lock -x|-s FILE: hold a flock on FILE until the flow exits. A
# holder process keeps it, so that no dumped task inherits the lock (CRIU
# refuses to dump tasks that hold file locks).
ct_hold_lock()
{
	local holder fifo line

	fifo=$(mktemp -u "$CT_WORK/lock.XXXXXX")
	mkfifo "$fifo"
	flock "$1" -w 300 "$2" sh -c "echo locked >$fifo; exec sleep 900" &
	holder=$!
	ct_defer pkill -P "$holder"
	read -r -t 310 line <>"$fifo" || ct_fail "cannot lock $2"
}

# ct_hosts: two "hosts" on this machine: network namespaces $CT_SRC_NS
# (10.174.0.1) and $CT_DST_NS (10.174.0.2) joined by a veth pair. The
# destination side runs in its own mount and PID namespace too (ct_dst).
CT_SRC_IP=10.174.0.1
CT_DST_IP=10.174.0.2
ct_hosts()
{
	CT_SRC_NS=${CT_NAME}-src
	CT_DST_NS=${CT_NAME}-dst
	ct_netns "$CT_SRC_NS"
	ct_netns "$CT_DST_NS"
	ip link add "${CT_NAME:0:10}-s" netns "$CT_SRC_NS" type veth peer name "${CT_NAME:0:10}-d" netns "$CT_DST_NS"
	ip -n "$CT_SRC_NS" addr add "$CT_SRC_IP/24" dev "${CT_NAME:0:10}-s"
	ip -n "$CT_DST_NS" addr add "$CT_DST_IP/24" dev "${CT_NAME:0:10}-d"
	ip -n "$CT_SRC_NS" link set "${CT_NAME:0:10}-s" up
	ip -n "$CT_DST_NS" link set "${CT_NAME:0:10}-d" up
	timeout 10 nsenter --net="/run/netns/$CT_SRC_NS" busybox ping -c1 -W5 "$CT_DST_IP" >/dev/null || ct_fail "the two hosts cannot reach each other"
}

# ct_dst SCRIPT: start the destination host: SCRIPT runs with bash in the
# destination's network namespace and in a new mount and PID namespace,
# whose init reaps orphans; the host lives until SCRIPT returns (bounded).
# Sets CT_DST_PID, the host pid of that init.
ct_dst()
{
	local unshare

	nsenter --net="/run/netns/$CT_DST_NS" unshare --pid --fork --mount --mount-proc \
		"$CT_SERVICE" reap timeout 300 bash -c "$1" >"$CT_WORK/dst.log" 2>&1 &
	unshare=$!
	ct_defer kill -9 "$unshare"
	ct_wait 10 "the destination host" pgrep -P "$unshare"
	CT_DST_PID=$(pgrep -P "$unshare")
	ct_defer kill -9 "$CT_DST_PID"
}

# ct_dst_quit: tell the destination host's script to finish (it waits for
# $CT_WORK/quit), give it 30 s to clean up
ct_dst_quit()
{
	local i

	touch "$CT_WORK/quit"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$CT_DST_PID" 2>/dev/null || return 0
		sleep 0.2
	done
}

# ct_port_open NETNS PORT: something listens on TCP PORT in /run/netns/NETNS
ct_port_open()
{
	nsenter --net="/run/netns/$1" ss -Hltn "sport = :$2" | grep -q LISTEN
}

# ct_runc_bundle DIR NETNS: an OCI bundle (runc spec) around ct_rootfs, in
# the network namespace /run/netns/NETNS
ct_runc_bundle()
{
	local dir=$1 netns=$2

	ct_rootfs "$dir/rootfs"
	(cd "$dir" && runc spec)
	# no terminal; the container's command; its network
	ct_json "$dir/config.json" "c['process']['terminal'] = False" \
		"c['process']['args'] = ['sh', '-c', '$CT_INIT_CMD']" \
		"[n.update(path='/run/netns/$netns') for n in c['linux']['namespaces'] if n['type'] == 'network']"
}

# ct_runc_pid ID: the host pid of a runc container's init
ct_runc_pid()
{
	runc state "$1" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p'
}

# ct_no_sys_resource: CAP_SYS_RESOURCE is missing from the bounding set
# (this machine): nobody can raise a hard rlimit, so a container must start
# with limits its restore can set again
ct_no_sys_resource()
{
	local bnd

	bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
	((((0x$bnd >> 24) & 1) == 0))
}

# ct_runc_checkpoint_restore ID BUNDLE: runc checkpoint (the guard images
# written), then runc restore; sets CT_PID to the restored init's host pid
ct_runc_checkpoint_restore()
{
	ct_run "$CT_TIMEOUT" runc checkpoint --image-path "$CT_WORK/images" --work-path "$CT_WORK/work" "$1" ||
		ct_fail "runc checkpoint failed"
	ct_guard_images "$CT_WORK/images"
	ct_run "$CT_TIMEOUT" runc restore -d --image-path "$CT_WORK/images" --work-path "$CT_WORK/work" \
		-b "$2" "$1" </dev/null > >(cat >>"$CT_WORK/container.log") 2>&1 ||
		ct_fail "runc restore failed"
	CT_PID=$(ct_runc_pid "$1")
}

# ct_podman_setup: podman's configuration for checkpointing, as a
# containers.conf drop-in (removed at exit): the runtime is runc (Debian's
# crun cannot checkpoint), and, on a machine whose bounding set lacks
# CAP_SYS_RESOURCE (this one), explicit default ulimits, since runc cannot
# raise the container's limits to the host's there and the restore fails.
CT_PODMAN_CONF=/etc/containers/containers.conf.d/containers-criu-guard-test.conf
ct_podman_setup()
{
	mkdir -p "$(dirname "$CT_PODMAN_CONF")"
	ct_defer rm -f "$CT_PODMAN_CONF"
	{
		echo '[engine]'
		echo 'runtime = "runc"'
		[ -z "${CT_STOCK_CRIU:-}" ] ||
			echo "conmon_env_vars = [\"PATH=$CT_WORK/criu-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]"
		if ct_no_sys_resource; then
			echo '[containers]'
			echo 'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]'
		fi
	} >"$CT_PODMAN_CONF"
}

# ct_json FILE PY...: edit a JSON file (c is its content) with Debian's python3
ct_json()
{
	local f=$1

	shift
	/usr/bin/python3 - "$f" "$@" <<-'PY'
		import json, sys
		f = sys.argv[1]
		c = json.load(open(f))
		for stmt in sys.argv[2:]:
		    exec(stmt)
		json.dump(c, open(f, "w"), indent=2)
	PY
}

# The container's command: a real server (busybox httpd on 8080) and the
# guard workload as PID 1 (it reaps).
CT_INIT_CMD="httpd -p 127.0.0.1:8080 -h /www && exec guard-service serve $CT_PORT"

# ct_ask NETNS_PID: the guard workload's answer, from inside its network
# namespace; fails unless it starts with "ok"
ct_ask()
{
	timeout 30 nsenter --net="/proc/$1/ns/net" "$CT_SERVICE" ask "$CT_PORT"
}

# ct_http NETNS_PID: the web server's page
ct_http()
{
	timeout 30 nsenter --net="/proc/$1/ns/net" busybox wget -q -O - http://127.0.0.1:8080/
}

# ct_guard_ok NETNS_PID: the guard workload answers and its check passes
ct_guard_ok()
{
	local out

	out=$(ct_ask "$1") || ct_fail "guard workload: ${out:-no answer}"
	ct_log "guard workload: $out"
}

# ct_service_ok NETNS_PID: both services of a container answer, the guard
# check passes
ct_service_ok()
{
	local pid=$1 out

	ct_guard_ok "$pid"
	out=$(ct_http "$pid") || ct_fail "httpd does not answer"
	[ "$out" = "criu-guard $CT_NAME" ] || ct_fail "httpd answered '$out'"
	ct_log "httpd: $out"
}

# ct_guards PID: every guard range of every process of PID's tree, keyed by
# the PID inside its PID namespace: "NSPID START-END" lines, sorted. The
# tree is PID's PID namespace when it has its own (a container), else its
# session (a bare tree started with setsid).
ct_guards()
{
	local ns sid p nspid

	ns=$(readlink "/proc/$1/ns/pid")
	sid=
	[ "$ns" != "$(readlink /proc/self/ns/pid)" ] || sid=$(awk '{print $6}' "/proc/$1/stat")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
		[ -z "$sid" ] || [ "$(awk '{print $6}' "$p/stat" 2>/dev/null)" = "$sid" ] || continue
		nspid=$(awk '/^NSpid:/ {print $NF}' "$p/status" 2>/dev/null) || continue
		[ -n "$nspid" ] || continue
		"$CT_SERVICE" scan "${p#/proc/}" 2>/dev/null | sed "s/^/$nspid /" || true
	done | sort
}

# ct_same_guards BEFORE_FILE PID: the restored tree has exactly the guards
# the dumped one had
ct_same_guards()
{
	ct_guards "$2" >"$1.after"
	[ -s "$1" ] || ct_fail "no guards recorded before the dump"
	if ! diff -u "$1" "$1.after" >&2; then
		ct_fail "the restored tree's guards differ from the dumped tree's"
	fi
	ct_log "guards exact: $(wc -l <"$1") ranges in $(cut -d' ' -f1 "$1" | sort -u | wc -l) processes"
}

# ct_bare_service LOG: start the guard workload as a session of its own (a
# bare process tree, no container); sets CT_PID once it answers
ct_bare_service()
{
	setsid "$CT_SERVICE" serve "$CT_PORT" </dev/null >"$1" 2>&1 &
	CT_PID=$!
	ct_defer ct_kill_session "$CT_PID"
	ct_wait 20 "the guard workload to listen" ct_ask "$CT_PID"
}

# ct_kill_session SID: kill every process of a session (a bare tree, also
# once restored)
ct_kill_session()
{
	pkill -9 -s "$1" 2>/dev/null || true
}

# ct_stock: the flow runs stock CRIU (bench.sh), which writes no guard
# images of ours (it keeps guards in mm.img)
ct_stock()
{
	[ -n "${CT_STOCK_CRIU:-}" ]
}

# ct_guard_images DIR: the dump wrote the plugin's images
ct_guard_images()
{
	local n

	ct_stock && return 0
	n=$(find "$1" -name 'guard-regions-*.img' | wc -l)
	[ "$n" -gt 0 ] || ct_fail "no guard-regions-*.img in $1"
	ct_log "$n guard images in $1"
}
