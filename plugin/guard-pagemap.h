/* SPDX-License-Identifier: MIT */
/*
 * Guards against dumped page contents: a page is either a guard or has
 * contents in pagemap-<vpid>.img, never both.
 */
#ifndef GUARD_PAGEMAP_H
#define GUARD_PAGEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "guard-set.h"

#define GUARD_PAGEMAP_NAME_FMT "pagemap-%d.img"
#define GUARD_PAGEMAP_MAGIC    0x56084025 /* CRIU's PAGEMAP_MAGIC (Vladimir) */

/*
 * Refuse @s (read from @img) if one of its ranges covers a page that the
 * pagemap image @buf of @len bytes (named @name) holds contents for.
 */
int guard_pagemap_check_buf(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
			    const char *img, const struct guard_set *s);

/* The same against pagemap-<vpid>.img in @dirfd; nothing to read without guards. */
int guard_pagemap_check(int dirfd, int vpid, unsigned int page_shift, const char *img, const struct guard_set *s);

#endif /* GUARD_PAGEMAP_H */
