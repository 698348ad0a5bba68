#!/bin/bash
# No silent loss: the installed (patched) criu dumps a guarded tree with the
# plugin not loaded (an empty --libdir, as when a runtime's environment
# points CRIU_LIBS_DIR elsewhere). Then CRIU's own guard support records
# the guards, and the same criu must restore them exactly, the locked VMA
# that holds guards included.
CT_PORT=17410
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require_installed

empty=$CT_WORK/no-plugins
mkdir -p "$empty" "$CT_WORK/images"
ct_bare_service "$CT_WORK/service.log"
pid=$CT_PID
ct_guard_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"

ct_run "$CT_TIMEOUT" criu dump -t "$pid" -D "$CT_WORK/images" -o dump.log -v4 --libdir "$empty" ||
	ct_fail "criu dump without the plugin failed"
[ -z "$(find "$CT_WORK/images" -name 'guard-regions-*.img')" ] || ct_fail "the plugin ran although --libdir is empty"
ct_run "$CT_TIMEOUT" criu restore -d -D "$CT_WORK/images" -o restore.log -v4 --libdir "$empty" ||
	ct_fail "criu restore of the plugin-less dump failed: $(grep Error "$CT_WORK/images/restore.log" | grep -v RLIMIT_NOFILE | head -n 1)"
ct_guard_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
