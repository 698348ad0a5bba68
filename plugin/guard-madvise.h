/* SPDX-License-Identifier: MIT */
/*
 * Installing and removing guards in the calling process, many ranges per
 * system call where the kernel allows it.
 */
#ifndef GUARD_MADVISE_H
#define GUARD_MADVISE_H

#include <stddef.h>
#include <stdint.h>

#include "guard-ranges.h"

/*
 * Apply @advice (MADV_GUARD_INSTALL or MADV_GUARD_REMOVE) to @nr ranges of
 * @r, each moved by @delta bytes (the distance from where the VMA was
 * dumped to where it is premapped). Uses process_madvise() on self in
 * batches and falls back to madvise(). Returns 0 or -errno, with the
 * failing range in *@bad.
 */
int guard_madvise(const struct guard_range *r, size_t nr, uint64_t delta, int advice, size_t *bad);

/* System calls made so far, for the log */
uint64_t guard_madvise_calls(void);

#endif /* GUARD_MADVISE_H */
