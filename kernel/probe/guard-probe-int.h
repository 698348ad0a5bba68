/* SPDX-License-Identifier: MIT */
/*
 * What the probes of guard-probe.c and guard-probe-extra.c share: scratch
 * memory that cannot merge with the caller's VMAs, and the probes that only
 * the full build (the guard-probe command and the test suites) links.
 */
#ifndef GUARD_PROBE_INT_H
#define GUARD_PROBE_INT_H

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard-probe.h"
#include "guard-uapi.h"

/* Scratch pages: [fence][before][guard][after][fence]. */
#define SCRATCH_PAGES 5
#define GUARD_PAGE    2

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Map scratch memory that cannot merge with the caller's VMAs: the outer
 * pages stay PROT_NONE, so the read-write middle is a VMA of its own. A
 * merge would otherwise leave the caller's neighbour VMA with the sticky
 * VM_MAYBE_GUARD flag after we unmap.
 */
static inline char *scratch_map(void)
{
	size_t ps = page_size();
	char *p;

	p = mmap(NULL, SCRATCH_PAGES * ps, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + ps, (SCRATCH_PAGES - 2) * ps, PROT_READ | PROT_WRITE)) {
		munmap(p, SCRATCH_PAGES * ps);
		return NULL;
	}
	return p;
}

static inline void scratch_unmap(char *p)
{
	munmap(p, SCRATCH_PAGES * page_size());
}

static inline char *scratch_guard_page(char *p)
{
	return p + GUARD_PAGE * page_size();
}

/* Map scratch memory with one guard page installed, or NULL. */
static inline char *scratch_map_guarded(void)
{
	char *p = scratch_map();

	if (!p)
		return NULL;
	if (madvise(scratch_guard_page(p), page_size(), MADV_GUARD_INSTALL)) {
		scratch_unmap(p);
		return NULL;
	}
	return p;
}

/* Every other feature is about guards: without them it cannot be present. */
static inline enum guard_probe_result require_madv_guard(void)
{
	return guard_probe(GUARD_FEAT_MADV_GUARD);
}

/*
 * Guarded scratch memory and @path of our own opened for reading. Returns
 * GUARD_PROBE_YES when both are there; anything else is the result.
 */
static inline enum guard_probe_result scratch_and_file(const char *path, char **p, int *fd)
{
	enum guard_probe_result res = require_madv_guard();

	if (res != GUARD_PROBE_YES)
		return res;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return GUARD_PROBE_ERROR;
	*p = scratch_map_guarded();
	if (!*p) {
		close(*fd);
		return GUARD_PROBE_ERROR;
	}
	return GUARD_PROBE_YES;
}

static inline void scratch_and_file_done(char *p, int fd)
{
	scratch_unmap(p);
	close(fd);
}

/*
 * guard-probe-extra.c: probes the plugin never asks for. Some fork or time
 * the kernel, so the plugin build (without GUARD_PROBE_EXTRA) leaves them
 * out and reports them as errors.
 */
enum guard_probe_result probe_pagemap_guard_bit(void);
enum guard_probe_result probe_file_guard(void);
enum guard_probe_result probe_file_guard_cow(void);
enum guard_probe_result probe_procmap_query_guard(void);
enum guard_probe_result probe_pagemap_scan_skip(void);

#endif /* GUARD_PROBE_INT_H */
