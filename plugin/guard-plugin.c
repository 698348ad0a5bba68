// SPDX-License-Identifier: MIT
/*
 * criu-guard: checkpoint/restore of MADV_GUARD_INSTALL guard regions.
 *
 * Dump: per task, scan only the VMAs that smaps marks "gu" for guard
 * markers and write them to guard-regions-<vpid>.img. Restore: install
 * them into the premapped private VMAs before the task forks its
 * children (who inherit them), and hand the rest to the restorer.
 */
#include <errno.h>
#include <unistd.h>

#include "guard-log.h"
#include "guard-plugin.h"
#include "guard-probe.h"

unsigned int guard_page_shift(void)
{
	static unsigned int shift;

	if (!shift)
		shift = __builtin_ctzl(sysconf(_SC_PAGESIZE));
	return shift;
}

static int guard_plugin_init(int stage)
{
	if (stage == CR_PLUGIN_STAGE__RESTORE)
		return guard_restore_init();
	/*
	 * Probe the kernel now, before the tree is frozen, rather than in the
	 * first task's DUMP_VMAS hook: the results are cached for the whole
	 * dump, and the probes (smaps of criu itself, test mappings) would
	 * otherwise cost the first task a few hundred microseconds of freeze
	 * time. The hook asks again and gets the cached answers.
	 */
	if (stage == CR_PLUGIN_STAGE__DUMP) {
		guard_probe(GUARD_FEAT_MADV_GUARD);
		guard_probe(GUARD_FEAT_PAGEMAP_SCAN_GUARD);
		guard_probe(GUARD_FEAT_SMAPS_GU);
	}
	return 0;
}

/*
 * The only state that outlives a hook is the guard set a restoring task
 * keeps for the children it forks (guard-restore.c). Tasks that become the
 * restored program drop it with criu's memory; criu itself frees it here.
 */
static void guard_plugin_exit(int stage, int ret)
{
	guard_dump_fini();
	guard_restore_fini();
}

CR_PLUGIN_REGISTER(GUARD_PLUGIN_NAME, guard_plugin_init, guard_plugin_exit)

/* The hooks themselves live in guard-dump.c and guard-restore.c */
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__DUMP_VMAS, guard_dump_task)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__RESTORE_VMAS, guard_restore_task)
