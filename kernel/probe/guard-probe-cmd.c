// SPDX-License-Identifier: MIT
/*
 * guard-probe: print what the running kernel supports of the guard-region
 * ABI, as a table to paste into a bug report.
 *
 * Exit status: 0 when every probe ran, 1 when a probe could not run.
 */
#include <stdio.h>
#include <sys/utsname.h>

#include "guard-probe.h"

static void print_kernel(void)
{
	struct utsname u;

	if (uname(&u)) {
		printf("kernel: unknown\n");
		return;
	}
	printf("kernel: %s %s %s %s\n", u.sysname, u.release, u.version,
	       u.machine);
}

int main(void)
{
	enum guard_probe_result res;
	int i, errors = 0;

	printf("criu-guard kernel probe\n");
	print_kernel();
	printf("\n%-22s %-6s %s\n", "feature", "result", "description");

	for (i = 0; i < GUARD_FEAT_NR; i++) {
		res = guard_probe(i);
		if (res == GUARD_PROBE_ERROR)
			errors++;
		printf("%-22s %-6s %s\n", guard_feature_name(i),
		       guard_probe_result_name(res), guard_feature_desc(i));
	}
	return errors ? 1 : 0;
}
