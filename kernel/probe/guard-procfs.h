/* SPDX-License-Identifier: MIT */
/*
 * Small readers of /proc/self/smaps and /proc/self/pagemap. Shared by the
 * feature probe, the conformance suite and the plugin so that all of them
 * interpret the kernel's output the same way.
 *
 * Every function returns a negative errno on failure and never prints.
 */
#ifndef GUARD_PROCFS_H
#define GUARD_PROCFS_H

#include <stddef.h>
#include <stdint.h>

#include "guard-uapi.h"

/*
 * Copy the VmFlags of the VMA of /proc/self/smaps that contains @addr into
 * @buf (space separated two-letter mnemonics). Returns 0, -ENOENT when no
 * VMA contains @addr or it has no VmFlags line, or another -errno.
 */
int guard_smaps_vmflags(unsigned long addr, char *buf, size_t len);

/* 1 if the VMA containing @addr shows VmFlags @flag, 0 if not, or -errno. */
int guard_smaps_has_flag(unsigned long addr, const char *flag);

/* Read the /proc/self/pagemap entry of the page at @addr. */
int guard_pagemap_entry(int pagemap_fd, unsigned long addr, uint64_t *entry);

/*
 * PAGEMAP_SCAN for guard pages in [@start, @end) into @vec. @max_pages of
 * 0 means no limit. On return *@walk_end (if not NULL) holds the address
 * where the kernel stopped. Returns the number of regions or -errno.
 */
long guard_pagemap_scan_guards(int pagemap_fd, unsigned long start,
			       unsigned long end, struct page_region *vec,
			       size_t vec_len, unsigned long max_pages,
			       unsigned long *walk_end);

#endif /* GUARD_PROCFS_H */
