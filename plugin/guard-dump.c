// SPDX-License-Identifier: MIT
/*
 * Dump side: find the guard markers of a frozen task and write its image.
 */
#include <errno.h>
#include <inttypes.h>

#include "guard-image.h"
#include "guard-log.h"
#include "guard-plugin.h"
#include "guard-probe.h"
#include "guard-scan.h"

static bool inventoried;

/*
 * With VM_MAYBE_GUARD ("gu" in smaps) only marked VMAs can hold guards.
 * Without it, any VMA whose page tables can hold a guard marker may.
 */
static bool vma_may_hold_guards(const struct cr_plugin_vma *v, bool have_gu)
{
	if (have_gu)
		return v->attrs & CR_PLUGIN_VMA_MAYBE_GUARD;
	if (v->attrs & CR_PLUGIN_VMA_HUGETLB)
		return false;
	return v->kind != CR_PLUGIN_VMA_OTHER;
}

/* Can this kernel have guards at all, and can a dump see them? */
static int check_kernel(int pid)
{
	if (guard_probe(GUARD_FEAT_MADV_GUARD) != GUARD_PROBE_YES)
		return -ENOTSUP; /* no guard can exist: nothing to take over */

	if (guard_probe(GUARD_FEAT_PAGEMAP_SCAN_GUARD) != GUARD_PROBE_YES) {
		pr_err("pid %d: this kernel has guard regions but PAGEMAP_SCAN cannot report them (PAGE_IS_GUARD); "
		       "refusing a dump that would lose them\n",
		       pid);
		return -1;
	}
	return 0;
}

/* -ENOMEM, or -EINVAL when the kernel reports ranges out of order */
static int add_scanned(void *arg, uint64_t start, uint64_t end)
{
	return guard_set_add(arg, start, end);
}

static int scan_vmas(int pid, const struct cr_plugin_vma *vmas, unsigned int nr_vmas, bool have_gu,
		     struct guard_set *s, unsigned int *scanned)
{
	struct guard_scanner sc;
	unsigned int i;
	int ret;

	ret = guard_scanner_open(&sc, pid);
	if (ret) {
		errno = -ret;
		pr_perror("pid %d: can't open its pagemap", pid);
		return -1;
	}

	for (i = 0; i < nr_vmas; i++) {
		const struct cr_plugin_vma *v = &vmas[i];

		if (!vma_may_hold_guards(v, have_gu))
			continue;
		(*scanned)++;
		ret = guard_set_begin_vma(s, v->start);
		if (!ret)
			ret = guard_scan(&sc, v->start, v->end, add_scanned, s);
		if (ret) {
			errno = -ret;
			pr_perror("pid %d: PAGEMAP_SCAN of %#" PRIx64 "-%#" PRIx64 " failed", pid, v->start, v->end);
			break;
		}
		guard_set_end_vma(s);
	}

	guard_scanner_close(&sc);
	return ret ? -1 : 0;
}

int guard_dump_task(int pid, int vpid, const struct cr_plugin_vma *vmas, unsigned int nr_vmas)
{
	struct guard_set s = {};
	struct timespec t0;
	unsigned int scanned = 0;
	long discovery_us;
	bool have_gu;
	size_t bytes = 0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = check_kernel(pid);
	if (ret)
		return ret;

	have_gu = guard_probe(GUARD_FEAT_SMAPS_GU) == GUARD_PROBE_YES;
	s.pid = vpid;
	ret = scan_vmas(pid, vmas, nr_vmas, have_gu, &s, &scanned);
	/* Discovery: from the hook's entry to the guard list being ready */
	discovery_us = guard_elapsed_us(&t0);
	if (!ret)
		ret = guard_image_write(criu_get_image_dir(), vpid, &s, guard_page_shift(), &bytes);

	/* A restore without the plugin must refuse instead of dropping guards */
	if (!ret && s.ranges.nr && !inventoried) {
		ret = add_inventory_plugin(GUARD_PLUGIN_NAME);
		inventoried = !ret;
	}

	if (!ret)
		pr_summary("pid %d (vpid %d): scanned %u of %u VMAs (%s) in %ld us, %zu guard ranges, %" PRIu64
			   " pages, %zu image bytes, %ld us\n",
			   pid, vpid, scanned, nr_vmas, have_gu ? "smaps gu" : "no gu flag: every VMA that can hold guards",
			   discovery_us, s.ranges.nr, guard_ranges_pages(&s.ranges, guard_page_shift()), bytes, guard_elapsed_us(&t0));
	guard_set_free(&s);
	return ret ? -1 : 0;
}
