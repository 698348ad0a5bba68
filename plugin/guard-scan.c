// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "guard-scan.h"

/* Regions per PAGEMAP_SCAN call: 96 KiB of buffer, few calls per VMA */
#define GUARD_SCAN_VEC_LEN 4096

int guard_scanner_open(struct guard_scanner *sc, int pid)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/pagemap");

	sc->ioctls = 0;
	sc->vec_len = GUARD_SCAN_VEC_LEN;
	sc->vec = malloc(sc->vec_len * sizeof(*sc->vec));
	if (!sc->vec)
		return -ENOMEM;

	sc->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sc->pagemap_fd < 0) {
		int err = -errno;

		free(sc->vec);
		sc->vec = NULL;
		return err;
	}
	return 0;
}

void guard_scanner_close(struct guard_scanner *sc)
{
	if (sc->pagemap_fd >= 0)
		close(sc->pagemap_fd);
	sc->pagemap_fd = -1;
	free(sc->vec);
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
	uint64_t next;
	long i, n;
	int ret;

	while (scan.start < end) {
		n = ioctl(sc->pagemap_fd, PAGEMAP_SCAN, &scan);
		sc->ioctls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			ret = cb(arg, sc->vec[i].start, sc->vec[i].end);
			if (ret)
				return ret;
		}
		/*
		 * A full buffer stops the walk early: go on from where it
		 * stopped. walk_end can lag behind what was returned, though:
		 * when the kernel (6.18, 7.1) flushes its internal buffer of
		 * 512 regions during a call and then finishes the walk, it
		 * leaves walk_end at the flush, and the regions after it would
		 * be returned twice.
		 */
		next = scan.walk_end;
		if (n > 0 && sc->vec[n - 1].end > next)
			next = sc->vec[n - 1].end;
		if (next <= scan.start)
			return -EIO;
		scan.start = next;
	}
	return 0;
}
