// SPDX-License-Identifier: MIT
/*
 * Readers of /proc/self/smaps and /proc/self/pagemap (see guard-procfs.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard-procfs.h"

#define VMFLAGS_TAG "VmFlags:"

/* A VMA header line looks like "7f00-7f10 rw-p 00000000 00:00 0 ...". */
static int parse_vma_header(const char *line, unsigned long *start,
			    unsigned long *end)
{
	char sep;

	if (sscanf(line, "%lx-%lx%c", start, end, &sep) != 3)
		return 0;
	return sep == ' ';
}

static void copy_vmflags(const char *line, char *buf, size_t len)
{
	const char *p = line + strlen(VMFLAGS_TAG);
	size_t n;

	p += strspn(p, " \t");
	n = strcspn(p, "\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

int guard_smaps_vmflags(unsigned long addr, char *buf, size_t len)
{
	unsigned long start, end;
	bool inside = false;
	char *line = NULL;
	size_t cap = 0;
	int ret = -ENOENT;
	FILE *f;

	if (!len)
		return -EINVAL;
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -errno;

	while (getline(&line, &cap, f) > 0) {
		if (parse_vma_header(line, &start, &end)) {
			/* smaps lists VMAs in address order: stop once past. */
			if (inside || start > addr)
				break;
			inside = addr < end;
			continue;
		}
		if (inside && !strncmp(line, VMFLAGS_TAG, strlen(VMFLAGS_TAG))) {
			copy_vmflags(line, buf, len);
			ret = 0;
			break;
		}
	}

	free(line);
	fclose(f);
	return ret;
}

int guard_smaps_has_flag(unsigned long addr, const char *flag)
{
	char flags[256], *tok, *save = NULL;
	int ret;

	ret = guard_smaps_vmflags(addr, flags, sizeof(flags));
	if (ret)
		return ret;

	for (tok = strtok_r(flags, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		if (!strcmp(tok, flag))
			return 1;
	return 0;
}

int guard_pagemap_entry(int pagemap_fd, unsigned long addr, uint64_t *entry)
{
	off_t off = (off_t)(addr / (unsigned long)getpagesize()) * sizeof(*entry);
	ssize_t n;

	n = pread(pagemap_fd, entry, sizeof(*entry), off);
	if (n < 0)
		return -errno;
	return n == sizeof(*entry) ? 0 : -EIO;
}

long guard_pagemap_scan_guards(int pagemap_fd, unsigned long start,
			       unsigned long end, struct page_region *vec,
			       size_t vec_len, unsigned long max_pages,
			       unsigned long *walk_end)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.max_pages = max_pages,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	long ret;

	ret = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
	if (ret < 0)
		return -errno;
	if (walk_end)
		*walk_end = arg.walk_end;
	return ret;
}
