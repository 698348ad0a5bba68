/* SPDX-License-Identifier: MIT */
/*
 * Reading CRIU's own images (pagemap, mm) to check a guard image against
 * them: the framing (two magics, then u32-size-prefixed entries), with
 * errors that name the file and the entry.
 */
#ifndef GUARD_CRIU_IMG_H
#define GUARD_CRIU_IMG_H

#include <stddef.h>
#include <stdint.h>

#include "guard-image.h"
#include "guard-set.h"

/* From the patched tree's magic.h (through guard-image.h) */
#define CRIU_PAGEMAP_MAGIC PAGEMAP_MAGIC
#define CRIU_MM_MAGIC	   MM_MAGIC

struct criu_img {
	const uint8_t *buf;
	size_t len, pos;
	const char *name;
	unsigned int entry; /* index of the entry last returned, 0 = first */
};

/* Check both magics of @buf; refuses with a message naming @name. */
int criu_img_open(struct criu_img *ci, const uint8_t *buf, size_t len, const char *name, uint32_t magic);

/* 1 with the next entry (ci->entry is its index), 0 at the end, -1 if cut. */
int criu_img_next(struct criu_img *ci, const uint8_t **msg, uint32_t *size);

/* Read @fmt (with @vpid) from @dirfd into @b; a missing file is an error. */
int criu_img_read(int dirfd, const char *fmt, int vpid, char *name, size_t size, struct guard_buf *b);

#endif /* GUARD_CRIU_IMG_H */
