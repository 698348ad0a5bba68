/* SPDX-License-Identifier: MIT */
/*
 * guard-regions-<vpid>.img: the guard ranges of one task, in CRIU's image
 * framing (common magic, our magic, then size-prefixed protobuf entries).
 * See docs/image-format.md.
 */
#ifndef GUARD_IMAGE_H
#define GUARD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "guard-set.h"

#define GUARD_IMG_NAME_FMT     "guard-regions-%d.img"
#define GUARD_IMG_NAME_MAX     48
#define GUARD_IMG_VERSION      1
#define GUARD_IMG_COMMON_MAGIC 0x54564319 /* CRIU's IMG_COMMON_MAGIC (Sarov) */
#define GUARD_IMG_MAGIC	       0x56284712 /* Vologda */

/* Ranges per protobuf entry: bounds the memory one entry takes to unpack */
#define GUARD_IMG_RANGES_PER_ENTRY 65536

/* Largest image we agree to read: 1M ranges take about 4 MiB */
#define GUARD_IMG_MAX_SIZE (256UL << 20)

struct guard_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void guard_image_name(char *buf, size_t size, int vpid);

/* Encode @s into @out (appending). */
int guard_image_encode(const struct guard_set *s, unsigned int page_shift, struct guard_buf *out);

/*
 * Decode and check an image held in memory into @s. Anything malformed is
 * refused with a message that names @name and the entry.
 */
int guard_image_decode(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
		       struct guard_set *s);

/* File I/O relative to CRIU's image directory @dirfd. */
int guard_image_write(int dirfd, int vpid, const struct guard_set *s, unsigned int page_shift, size_t *bytes);
/* Returns -ENOENT if the image does not exist. */
int guard_image_read(int dirfd, int vpid, unsigned int page_shift, struct guard_set *s);

void guard_buf_free(struct guard_buf *b);

#endif /* GUARD_IMAGE_H */
