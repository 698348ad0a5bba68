/* SPDX-License-Identifier: MIT */
/*
 * Feature probe for the kernel guard-region ABI. Shared by the CRIU plugin,
 * the conformance suite and the guard-probe command.
 *
 * Each feature is probed lazily on first use and cached for the life of the
 * process. A probe leaves the caller's address space as it found it.
 */
#ifndef GUARD_PROBE_H
#define GUARD_PROBE_H

#include <stdbool.h>

enum guard_feature {
	GUARD_FEAT_MADV_GUARD,		 /* MADV_GUARD_INSTALL/REMOVE on private anon */
	GUARD_FEAT_PAGEMAP_SCAN_GUARD,	 /* PAGEMAP_SCAN reports PAGE_IS_GUARD */
	GUARD_FEAT_PAGEMAP_GUARD_BIT,	 /* /proc/PID/pagemap bit 58 on guard pages */
	GUARD_FEAT_SMAPS_GU,		 /* smaps VmFlags shows "gu" (VM_MAYBE_GUARD) */
	GUARD_FEAT_FILE_GUARD_COW,	 /* fork copies guards of file-backed private VMAs (forks a child) */
	GUARD_FEAT_PROCESS_MADVISE_SELF, /* process_madvise(self, MADV_GUARD_INSTALL) */
	GUARD_FEAT_FILE_GUARD,		 /* MADV_GUARD_INSTALL on file-backed and shmem VMAs */
	GUARD_FEAT_PROCMAP_QUERY_GUARD,	 /* PROCMAP_QUERY reports/filters VM_MAYBE_GUARD (kernel/patches) */
	GUARD_FEAT_PAGEMAP_SCAN_SKIP,	 /* guard-only PAGEMAP_SCAN skips VMAs without VM_MAYBE_GUARD (kernel/patches; timed) */
	GUARD_FEAT_NR,
};

enum guard_probe_result {
	GUARD_PROBE_NO = 0,
	GUARD_PROBE_YES = 1,
	GUARD_PROBE_ERROR = -1, /* the probe itself could not run */
};

/*
 * Environment variable listing feature names (comma separated, or "all")
 * that guard_probe() reports as missing, to test fallbacks. Read only by
 * test builds (GUARD_PROBE_TESTING): never by the shipped plugin.
 */
#define GUARD_PROBE_DISABLE_ENV "CRIU_GUARD_PROBE_DISABLE"

/*
 * Probe (once) and return whether the running kernel has @feat. A build
 * without GUARD_PROBE_EXTRA (the plugin's) answers GUARD_PROBE_ERROR for
 * the features whose probes it leaves out (see guard-probe.c).
 */
enum guard_probe_result guard_probe(enum guard_feature feat);

/* Short stable name of @feat, e.g. "madv_guard". */
const char *guard_feature_name(enum guard_feature feat);

/* One-line human description of @feat for tables and messages. */
const char *guard_feature_desc(enum guard_feature feat);

/*
 * Forget every cached result so that the next guard_probe() probes the
 * kernel again. For tests of the probe itself: test builds only.
 */
void guard_probe_forget(void);

/* "yes", "no" or "error", for tables and messages. */
const char *guard_probe_result_name(enum guard_probe_result res);

#endif /* GUARD_PROBE_H */
