#!/bin/bash
# The shipped plugin carries no test knob and none of the probes it never
# asks for; the test build of the same sources carries all of them, which
# shows that the checks below can see what they look for.
#
#   check-shipped.sh SHIPPED_SO TEST_SO
set -euo pipefail

shipped=$1
test_so=$2
fail=0

# What only a test build may have: the knob's name, the forking and timed
# probes (exported symbols), and fork() itself (only file_guard_cow forks).
has_knob() { strings "$1" | grep -c 'CRIU_GUARD_PROBE_DISABLE' >/dev/null; }
has_probe() { nm -D --defined-only "$1" | grep -cw "$2" >/dev/null; }
calls_fork() { nm -D --undefined-only "$1" | grep -cE '\b(fork|vfork|clone)(@|$)' >/dev/null; }

check()
{
	local want=$1 what=$2
	shift 2

	if "$@"; then
		[ "$want" = yes ] && return 0
		echo "FAIL: $what"
	else
		[ "$want" = no ] && return 0
		echo "FAIL: $what (the check cannot see it: broken check)"
	fi
	fail=1
}

check no "$shipped has the CRIU_GUARD_PROBE_DISABLE knob" has_knob "$shipped"
check no "$shipped links the forking probe" has_probe "$shipped" probe_file_guard_cow
check no "$shipped links the timed probe" has_probe "$shipped" probe_pagemap_scan_skip
check no "$shipped imports fork()" calls_fork "$shipped"
check yes "$test_so lacks the CRIU_GUARD_PROBE_DISABLE knob" has_knob "$test_so"
check yes "$test_so lacks the forking probe" has_probe "$test_so" probe_file_guard_cow
check yes "$test_so lacks the timed probe" has_probe "$test_so" probe_pagemap_scan_skip
check yes "$test_so does not import fork()" calls_fork "$test_so"
# A user-facing option, not a test knob: it must stay
check yes "$shipped lost CRIU_GUARD_ALLOW_NO_GUARDS" sh -c "strings '$shipped' | grep -c CRIU_GUARD_ALLOW_NO_GUARDS >/dev/null"

[ $fail -eq 0 ] && echo "ok: $shipped has no test knob and no test-only probe"
exit $fail
