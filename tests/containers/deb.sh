#!/bin/bash
# The package (scripts/deb.sh) on a "second machine": a copy-on-write
# overlay of this machine's root file system in a mount namespace of its
# own, where `apt install ./criu-guard_*.deb` runs exactly as on another
# host (it replaces Debian's criu there, not here) and the packaged criu
# then checkpoints and restores a guarded tree with no flags. Nothing on
# this machine changes: the overlay's upper layer is a tmpfs that goes away
# with the namespace.
CT_PORT=17490
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require unshare chroot dpkg-deb apt
ct_require_installed

deb=$(ct_run 900 bash "$CT_SRC/scripts/deb.sh" "$CT_BUILD/deb") || ct_fail "scripts/deb.sh failed"
ct_log "package: $deb ($(du -k "$deb" | cut -f1) KiB)"
cp "$deb" "$CT_WORK/criu-guard.deb"
cp "$CT_SERVICE" "$CT_WORK/guard-service"

cat >"$CT_WORK/host.sh" <<'HOST'
set -euo pipefail
trap 'tail -n 15 "$r"/tmp/images/*.log >&2 2>/dev/null || true' ERR
w=$1 port=$2
r=$w/root
mount --make-rprivate /
mount -t tmpfs tmpfs "$w/layer"
mkdir -p "$w/layer/upper" "$w/layer/work" "$r"
mount -t overlay overlay -o "lowerdir=/,upperdir=$w/layer/upper,workdir=$w/layer/work" "$r"
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount --rbind /sys "$r/sys"
mount -t tmpfs tmpfs "$r/tmp"
mount -t tmpfs tmpfs "$r/run"
cp "$w/criu-guard.deb" "$w/guard-service" "$r/tmp/"
cd "$r/tmp"
echo "# apt install ./criu-guard.deb"
chroot "$r" sh -c 'cd /tmp && DEBIAN_FRONTEND=noninteractive apt install -y -q ./criu-guard.deb' >"$w/apt.log" 2>&1
chroot "$r" dpkg-query -W -f='${Package} ${Version} ${Status}\n' criu-guard
chroot "$r" sh -c '! dpkg-query -W -f="\${Status}" criu 2>/dev/null | grep -q "install ok installed"'
help=$(chroot "$r" /usr/sbin/criu --help)
[[ $help == *"by default /usr/lib/criu-guard"* ]]
echo "# the packaged criu, no flags"
mkdir "$r/tmp/images"
chroot "$r" sh -c "exec setsid /tmp/guard-service serve $port </dev/null >/tmp/service.log 2>&1" &
pid=$!
for i in $(seq 100); do chroot "$r" /tmp/guard-service ask "$port" >/dev/null 2>&1 && break; sleep 0.2; done
chroot "$r" /tmp/guard-service ask "$port"
chroot "$r" /tmp/guard-service scan "$pid" >"$w/before"
timeout 60 chroot "$r" criu dump -t "$pid" -D /tmp/images -o dump.log
compgen -G "$r/tmp/images/guard-regions-*.img" >/dev/null
timeout 60 chroot "$r" criu restore -d -D /tmp/images -o restore.log
chroot "$r" /tmp/guard-service ask "$port"
chroot "$r" /tmp/guard-service scan "$pid" >"$w/after"
cmp "$w/before" "$w/after"
pkill -9 -s "$pid" || true
HOST
mkdir -p "$CT_WORK/layer"
ct_run 300 unshare --mount --pid --fork "$CT_SERVICE" reap bash "$CT_WORK/host.sh" "$CT_WORK" "$CT_PORT" ||
	ct_fail "the package did not install or work on the second machine: $(tail -n 5 "$CT_WORK/apt.log" 2>/dev/null)"
ct_log "apt install ./criu-guard.deb replaced Debian's criu on the second machine; its criu restored the guards exactly"
