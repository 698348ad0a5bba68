#!/bin/bash
# runc checkpoint / restore of a container whose init holds guards in a
# locked VMA. runc runs the first criu on PATH: the installed criu-guard
# (docs/containers.md, "runc").
. "$(dirname "$0")/lib.sh"

ct_init "$@"
ct_require runc nsenter
ct_require_installed

id=$CT_NAME-$$
bundle=$CT_WORK/bundle
ct_netns "$id"
ct_runc_bundle "$bundle" "$id"

ct_defer runc delete -f "$id"
# stdio are pipes: runc hands them back to the restored container
ct_run 30 runc run -d -b "$bundle" "$id" </dev/null > >(cat >"$CT_WORK/container.log") 2>&1
pid=$(ct_runc_pid "$id")
ct_wait 20 "the guard workload to listen" ct_ask "$pid"
ct_service_ok "$pid"
ct_guards "$pid" >"$CT_WORK/guards"

ct_runc_checkpoint_restore "$id" "$bundle"
pid=$CT_PID
ct_service_ok "$pid"
ct_same_guards "$CT_WORK/guards" "$pid"
