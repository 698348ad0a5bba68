// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "guard-scan.h"

/*
 * Regions per PAGEMAP_SCAN call: 96 KiB of buffer, few calls per VMA. One
 * buffer for the process, as CRIU scans one task at a time (and a
 * restoring task only itself): no allocation per task, and its pages are
 * faulted in once.
 */
#define GUARD_SCAN_VEC_LEN 4096

static struct page_region scan_vec[GUARD_SCAN_VEC_LEN];
static bool scan_vec_busy;

int guard_scanner_open(struct guard_scanner *sc, int pid)
{
	char path[64];

	if (scan_vec_busy)
		return -EBUSY;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");

	sc->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sc->pagemap_fd < 0)
		return -errno;
	sc->vec_len = GUARD_SCAN_VEC_LEN;
	sc->vec = scan_vec;
	scan_vec_busy = true;
	return 0;
}

void guard_scanner_close(struct guard_scanner *sc)
{
	if (sc->pagemap_fd >= 0)
		close(sc->pagemap_fd);
	sc->pagemap_fd = -1;
	if (sc->vec)
		scan_vec_busy = false;
	sc->vec = NULL;
}

int guard_scan(struct guard_scanner *sc, uint64_t start, uint64_t end, guard_scan_cb cb, void *arg)
{
	struct pm_scan_arg scan = {
		.size = sizeof(scan),
		.start = start,
		.end = end,
		.vec = (uintptr_t)sc->vec,
		.vec_len = sc->vec_len,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	uint64_t reported = start; /* everything below was reported already */
	long i, m, n;
	int ret;

	while (scan.start < end) {
		n = ioctl(sc->pagemap_fd, PAGEMAP_SCAN, &scan);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/*
		 * A call whose first walk fills the kernel's 512-range bounce
		 * buffer and whose last walk reaches the end returns the first
		 * walk's walk_end, and the next call reports those ranges
		 * again: skip what was reported already, in place. Every
		 * kernel with PAGEMAP_SCAN (6.7 on) has this, 6.12.107, 6.18.44,
		 * 7.1.8 and 7.2.8 included; kernel/patches/0001
		 * ("fs/proc/task_mmu: fix PAGEMAP_SCAN walk_end after a full
		 * bounce buffer") fixes it.
		 */
		for (i = 0, m = 0; i < n; i++) {
			uint64_t s = sc->vec[i].start, e = sc->vec[i].end;

			if (s < reported)
				s = reported;
			if (s >= e)
				continue;
			sc->vec[m].start = s;
			sc->vec[m++].end = e;
			reported = e;
		}
		if (m) {
			ret = cb(arg, sc->vec, m);
			if (ret)
				return ret;
		}
		/* A full buffer stops the walk early: go on from where it stopped */
		if (scan.walk_end <= scan.start)
			return -EIO;
		scan.start = scan.walk_end > reported ? scan.walk_end : reported;
	}
	return 0;
}
