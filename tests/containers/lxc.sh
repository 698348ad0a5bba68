#!/bin/bash
# LXC: lxc-checkpoint / lxc-checkpoint -r of a guarded container. LXC runs
# the first criu on PATH: the installed criu-guard. The container is an
# ordinary one in the default lxcpath (/var/lib/lxc/NAME/config), in a
# named network namespace (lxc.namespace.share.net), no console and no ttys
# (CRIU cannot dump LXC's console pty otherwise). No lxc.apparmor.profile:
# LXC would hand it to criu restore as --lsm-profile, which fails on a
# kernel without AppArmor (this one).
CT_PORT=17470
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require lxc-start lxc-checkpoint lxc-info lxc-stop nsenter
ct_require_installed

name=$CT_NAME-$$
rootfs=$CT_WORK/rootfs
ct_rootfs "$rootfs"
printf '#!/bin/sh\n%s\n' "$CT_INIT_CMD" >"$rootfs/bin/ct-init"
chmod +x "$rootfs/bin/ct-init"
ct_netns "$name"

ct_defer rm -rf "/var/lib/lxc/$name"
mkdir -p "/var/lib/lxc/$name"
cat >"/var/lib/lxc/$name/config" <<-CONFIG
	lxc.uts.name = $name
	lxc.rootfs.path = dir:$rootfs
	lxc.init.cmd = /bin/ct-init
	lxc.net.0.type = none
	lxc.namespace.share.net = /run/netns/$name
	lxc.console.path = none
	lxc.tty.max = 0
	lxc.mount.auto = proc:mixed sys:ro cgroup:mixed
	lxc.autodev = 1
CONFIG
if ct_no_sys_resource; then
	echo "lxc.prlimit.nofile = 1024" >>"/var/lib/lxc/$name/config"
fi

ct_defer lxc-stop -n "$name" -k
ct_run 30 lxc-start -n "$name" -d -o "$CT_WORK/lxc-start.log" -l INFO </dev/null >/dev/null 2>&1 ||
	ct_fail "lxc-start failed"
pid=$(lxc-info -n "$name" -p -H)
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_service_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"

ct_run "$CT_TIMEOUT" lxc-checkpoint -n "$name" -D "$CT_WORK/images" -s -o "$CT_WORK/lxc-checkpoint.log" \
	</dev/null >/dev/null 2>&1 || ct_fail "lxc-checkpoint failed"
ct_guard_images "$CT_WORK/images"
[ "$(lxc-info -n "$name" -s -H)" = STOPPED ] || ct_fail "the container still runs after lxc-checkpoint -s"
# -r daemonizes LXC's monitor: its stdio must not hold ours
ct_run "$CT_TIMEOUT" lxc-checkpoint -r -n "$name" -D "$CT_WORK/images" -o "$CT_WORK/lxc-restore.log" \
	</dev/null >/dev/null 2>&1 || ct_fail "lxc-checkpoint -r failed"
pid=$(lxc-info -n "$name" -p -H)
ct_service_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
