// SPDX-License-Identifier: MIT
/*
 * Feature probe for the kernel guard-region ABI (see guard-probe.h).
 *
 * The probe runs inside the criu process, so each check maps its own
 * scratch memory, unmaps it before returning, installs no signal handler
 * and prints nothing. Results are cached per process.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "guard-probe-int.h"
#include "guard-procfs.h"

struct feature {
	const char *name;
	const char *desc;
	enum guard_probe_result (*probe)(void); /* NULL: not in this build */
};

/*
 * The plugin asks for four features only. The others' probes (one forks,
 * one times 64 MiB of scans) stay out of it: guard-probe-extra.c is linked
 * into the guard-probe command and the test suites only.
 */
#ifdef GUARD_PROBE_EXTRA
#define EXTRA_PROBE(fn) fn
#else
#define EXTRA_PROBE(fn) NULL
#endif

static enum guard_probe_result probe_madv_guard(void)
{
	enum guard_probe_result res = GUARD_PROBE_ERROR;
	char *p = scratch_map();

	if (!p)
		return GUARD_PROBE_ERROR;
	if (!madvise(scratch_guard_page(p), page_size(), MADV_GUARD_INSTALL))
		res = GUARD_PROBE_YES;
	else if (errno == EINVAL) /* unknown advice */
		res = GUARD_PROBE_NO;
	scratch_unmap(p);
	return res;
}

static enum guard_probe_result scan_result(long nr, struct page_region *r,
					   unsigned long guard)
{
	/* No PAGEMAP_SCAN at all, or a PAGEMAP_SCAN without PAGE_IS_GUARD. */
	if (nr == -ENOTTY || nr == -EINVAL)
		return GUARD_PROBE_NO;
	if (nr < 0)
		return GUARD_PROBE_ERROR;
	if (nr == 1 && r->start == guard && r->end == guard + page_size() &&
	    (r->categories & PAGE_IS_GUARD))
		return GUARD_PROBE_YES;
	return GUARD_PROBE_NO;
}

static enum guard_probe_result probe_pagemap_scan_guard(void)
{
	struct page_region regions[2];
	enum guard_probe_result res;
	unsigned long start;
	char *p;
	long nr;
	int fd;

	res = scratch_and_file("/proc/self/pagemap", &p, &fd);
	if (res != GUARD_PROBE_YES)
		return res;

	start = (unsigned long)p;
	nr = guard_pagemap_scan_guards(fd, start, start + SCRATCH_PAGES * page_size(),
				       regions, 2, 0, NULL);
	res = scan_result(nr, regions, (unsigned long)scratch_guard_page(p));

	scratch_and_file_done(p, fd);
	return res;
}

static enum guard_probe_result probe_smaps_gu(void)
{
	enum guard_probe_result res = require_madv_guard();
	char *p;
	int ret;

	if (res != GUARD_PROBE_YES)
		return res;
	p = scratch_map_guarded();
	if (!p)
		return GUARD_PROBE_ERROR;

	ret = guard_smaps_has_flag((unsigned long)scratch_guard_page(p), "gu");
	res = ret < 0 ? GUARD_PROBE_ERROR : ret ? GUARD_PROBE_YES
						: GUARD_PROBE_NO;

	scratch_unmap(p);
	return res;
}

static enum guard_probe_result probe_process_madvise_self(void)
{
	enum guard_probe_result res = require_madv_guard();
	struct iovec iov;
	int pidfd;
	long ret;
	char *p;

	if (res != GUARD_PROBE_YES)
		return res;
	pidfd = syscall(__NR_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return errno == ENOSYS ? GUARD_PROBE_NO : GUARD_PROBE_ERROR;
	p = scratch_map();
	if (!p) {
		close(pidfd);
		return GUARD_PROBE_ERROR;
	}

	iov.iov_base = scratch_guard_page(p);
	iov.iov_len = page_size();
	ret = syscall(__NR_process_madvise, pidfd, &iov, 1, MADV_GUARD_INSTALL, 0);
	if (ret == (long)page_size())
		res = GUARD_PROBE_YES;
	else if (ret < 0 && (errno == EINVAL || errno == ENOSYS))
		res = GUARD_PROBE_NO;
	else
		res = GUARD_PROBE_ERROR;

	scratch_unmap(p);
	close(pidfd);
	return res;
}

static const struct feature features[GUARD_FEAT_NR] = {
	[GUARD_FEAT_MADV_GUARD] = {
		"madv_guard",
		"madvise(MADV_GUARD_INSTALL/REMOVE) on private anonymous memory",
		probe_madv_guard,
	},
	[GUARD_FEAT_PAGEMAP_SCAN_GUARD] = {
		"pagemap_scan_guard",
		"ioctl(PAGEMAP_SCAN) reports guard pages as PAGE_IS_GUARD",
		probe_pagemap_scan_guard,
	},
	[GUARD_FEAT_PAGEMAP_GUARD_BIT] = {
		"pagemap_guard_bit",
		"/proc/PID/pagemap entries of guard pages have bit 58 set",
		EXTRA_PROBE(probe_pagemap_guard_bit),
	},
	[GUARD_FEAT_SMAPS_GU] = {
		"smaps_gu",
		"smaps VmFlags shows \"gu\" on VMAs that may hold guards (VM_MAYBE_GUARD)",
		probe_smaps_gu,
	},
	[GUARD_FEAT_FILE_GUARD_COW] = {
		"file_guard_cow",
		"fork copies guards of file-backed private VMAs to the child",
		EXTRA_PROBE(probe_file_guard_cow),
	},
	[GUARD_FEAT_PROCESS_MADVISE_SELF] = {
		"process_madvise_self",
		"process_madvise(pidfd of self, MADV_GUARD_INSTALL) installs guards",
		probe_process_madvise_self,
	},
	[GUARD_FEAT_FILE_GUARD] = {
		"file_guard",
		"MADV_GUARD_INSTALL on file-backed and shmem mappings",
		EXTRA_PROBE(probe_file_guard),
	},
	[GUARD_FEAT_PROCMAP_QUERY_GUARD] = {
		"procmap_query_guard",
		"PROCMAP_QUERY reports and filters VM_MAYBE_GUARD (kernel/patches 0005)",
		EXTRA_PROBE(probe_procmap_query_guard),
	},
	[GUARD_FEAT_PAGEMAP_SCAN_SKIP] = {
		"pagemap_scan_skip",
		"guard-only PAGEMAP_SCAN skips VMAs without VM_MAYBE_GUARD (kernel/patches 0003; timed)",
		EXTRA_PROBE(probe_pagemap_scan_skip),
	},
};

static bool probed[GUARD_FEAT_NR];
static enum guard_probe_result results[GUARD_FEAT_NR];

#ifdef GUARD_PROBE_TESTING
/*
 * Test builds only: CRIU_GUARD_PROBE_DISABLE="name,name..." (or "all")
 * reports features as missing without probing them, so that fallbacks can
 * be exercised on a kernel that has everything. The shipped plugin and
 * command do not read it.
 */
static bool disabled_by_env(enum guard_feature feat)
{
	const char *list = getenv(GUARD_PROBE_DISABLE_ENV);
	const char *name = features[feat].name, *p;
	size_t len = strlen(name);

	if (!list)
		return false;
	if (!strcmp(list, "all"))
		return true;
	for (p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') && (p[len] == ',' || !p[len]))
			return true;
	return false;
}

void guard_probe_forget(void)
{
	int i;

	for (i = 0; i < GUARD_FEAT_NR; i++)
		probed[i] = false;
}
#else
static bool disabled_by_env(enum guard_feature feat)
{
	return false;
}
#endif

enum guard_probe_result guard_probe(enum guard_feature feat)
{
	int saved_errno = errno;

	if ((unsigned int)feat >= GUARD_FEAT_NR)
		return GUARD_PROBE_ERROR;
	if (!probed[feat]) {
		if (disabled_by_env(feat))
			results[feat] = GUARD_PROBE_NO;
		else if (!features[feat].probe)
			results[feat] = GUARD_PROBE_ERROR;
		else
			results[feat] = features[feat].probe();
		probed[feat] = true;
	}
	/* Callers may be in the middle of reporting their own error. */
	errno = saved_errno;
	return results[feat];
}

const char *guard_feature_name(enum guard_feature feat)
{
	if ((unsigned int)feat >= GUARD_FEAT_NR)
		return "unknown";
	return features[feat].name;
}

const char *guard_feature_desc(enum guard_feature feat)
{
	if ((unsigned int)feat >= GUARD_FEAT_NR)
		return "unknown feature";
	return features[feat].desc;
}

const char *guard_probe_result_name(enum guard_probe_result res)
{
	switch (res) {
	case GUARD_PROBE_YES:
		return "yes";
	case GUARD_PROBE_NO:
		return "no";
	default:
		return "error";
	}
}
