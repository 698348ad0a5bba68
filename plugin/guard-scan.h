/* SPDX-License-Identifier: MIT */
/*
 * Finding guard markers with PAGEMAP_SCAN.
 */
#ifndef GUARD_SCAN_H
#define GUARD_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "guard-uapi.h"

struct guard_scanner {
	int pagemap_fd;
	struct page_region *vec;
	size_t vec_len;
};

/* Gets @n ranges in address order, none reported before; 0 or -errno */
typedef int (*guard_scan_cb)(void *arg, const struct page_region *r, size_t n);

/* Open /proc/@pid/pagemap (@pid 0: self). */
int guard_scanner_open(struct guard_scanner *sc, int pid);
void guard_scanner_close(struct guard_scanner *sc);

/*
 * Report every guard range in [start, end) to @cb in address order, a
 * batch per PAGEMAP_SCAN call, following walk_end until the whole span
 * is walked. Returns 0 or -errno.
 */
int guard_scan(struct guard_scanner *sc, uint64_t start, uint64_t end, guard_scan_cb cb, void *arg);

#endif /* GUARD_SCAN_H */
