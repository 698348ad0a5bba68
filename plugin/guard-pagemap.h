/* SPDX-License-Identifier: MIT */
/*
 * A guard image against CRIU's own images of the task: a page is either a
 * guard or has contents in pagemap-<vpid>.img, never both; and mm-<vpid>.img
 * holds no guards of CRIU's own kind beside it and no guard lies in a VMA
 * it says is kernel-managed.
 */
#ifndef GUARD_PAGEMAP_H
#define GUARD_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "guard-set.h"

#define GUARD_PAGEMAP_NAME_FMT "pagemap-%d.img"
#define GUARD_MM_NAME_FMT      "mm-%d.img"
#define GUARD_VMA_AREA_GUARD   (1U << 16) /* criu/include/image.h */

/*
 * Refuse @s (read from @img) if one of its ranges covers a page that the
 * pagemap image @buf of @len bytes (named @name) holds contents for.
 */
int guard_pagemap_check_buf(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
			    const char *img, const struct guard_set *s);

/* The same against pagemap-<vpid>.img in @dirfd; nothing to read without guards. */
int guard_pagemap_check(int dirfd, int vpid, unsigned int page_shift, const char *img, const struct guard_set *s);

/*
 * Refuse VMA_AREA_GUARD entries in the mm image @buf (named @name), and
 * ranges of @s in VMAs it says are kernel-managed ([vdso], [vvar], AIO
 * rings, ...).
 */
int guard_mm_check_buf(const uint8_t *buf, size_t len, const char *name, const char *img, const struct guard_set *s);
int guard_mm_check(int dirfd, int vpid, const char *img, const struct guard_set *s);

#endif /* GUARD_PAGEMAP_H */
