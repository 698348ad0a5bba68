#!/bin/sh
# SPDX-License-Identifier: MIT
#
# criu-in-vm: the "criu" group of the kernel/check VM. Runs the project's
# patched criu with the guard plugin on the booted kernel: `criu check`, then
# the integration harness (tests/integration) with the scenarios kernel/check
# put on the kernel command line. Prints TAP lines ("ok - NAME" and the
# harness's own); kernel/check judges them.
#
# Parameters (kernel command line, handed to /init as environment):
#   cg_scenarios=a,b,...  harness scenarios to run
#   cg_export=1           after the scenarios, send the dump that the
#                         "export" scenario left in $XFER as a tar over
#                         /dev/ttyS1 (kernel/check writes that port to a file)
#   cg_import=1           before the scenarios, unpack /xfer.tar (appended
#                         to the initramfs by kernel/check) for "import-*"
set -u

C=/criu
XFER=/tmp/criu-guard-xfer

tap()
{
	if [ "$1" -eq 0 ]; then
		echo "ok - $2"
	else
		echo "not ok - $2"
	fi
}

# criu's kerndat binds TCP sockets to 127.0.0.1
ip link set lo up

out=$($C/criu check 2>&1)
rc=$?
echo "$out" | sed 's/^/# criu check: /'
tap $rc criu-check

if $C/criu check --feature mem_dirty_track >/dev/null 2>&1; then
	echo "# soft-dirty tracking: yes"
else
	echo "# soft-dirty tracking: no"
fi

if [ -n "${cg_import:-}" ]; then
	if [ -f /xfer.tar ]; then
		tar -xf /xfer.tar -C /
		tap $? unpack-export
	else
		tap 1 "unpack-export # /xfer.tar is missing"
	fi
fi

# shellcheck disable=SC2046 # one word per scenario
$C/it-harness --criu $C/criu --libdir $C/plugin --workload $C/it-workload \
	--dir $XFER $(echo "${cg_scenarios:-}" | tr , ' ')
rc=$?

if [ -n "${cg_export:-}" ] && [ -d $XFER/img ]; then
	tar -cf /tmp/xfer.tar -C / "${XFER#/}"
	bytes=$(wc -c </tmp/xfer.tar)
	sum=$(sha256sum /tmp/xfer.tar | cut -d' ' -f1)
	stty -F /dev/ttyS1 raw -echo
	cat /tmp/xfer.tar >/dev/ttyS1
	tap $? export-sent
	echo "@@cg xfer bytes=$bytes sha256=$sum"
fi
exit $rc
