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
#include "magic.h"

#define GUARD_IMG_NAME_FMT "guard-regions-%d.img"
#define GUARD_IMG_NAME_MAX 48
/*
 * Format versions, bumped by one per change; readers take every version
 * from GUARD_IMG_VERSION_MIN up (docs/image-format.md). 2: the head
 * records the task's pid. 3: an image may be a difference from the
 * parent's set.
 */
#define GUARD_IMG_VERSION	 3
#define GUARD_IMG_VERSION_MIN	 1
#define GUARD_IMG_VERSION_PID	 2
#define GUARD_IMG_VERSION_PARENT 3

/* Registered in the patched tree's criu/include/magic.h, which crit reads */
#define GUARD_IMG_COMMON_MAGIC IMG_COMMON_MAGIC
#define GUARD_IMG_MAGIC	       GUARD_REGIONS_MAGIC
/*
 * Written by criu-guard before its magic was registered: Vologda, which
 * is REMAP_FPATH_MAGIC's town, so crit misnames such images. Still read,
 * never written.
 */
#define GUARD_IMG_MAGIC_OLD 0x56284712

/* Ranges per protobuf entry: bounds the memory one entry takes to unpack */
#define GUARD_IMG_RANGES_PER_ENTRY 65536

/*
 * Largest packed ranges entry: two fields of at most 11 bytes, the pages
 * tag and length (6), 2 varints of at most 10 bytes per range. Anything
 * larger is refused before it is unpacked.
 */
#define GUARD_IMG_ENTRY_MAX (2 * 11 + 6 + 2 * 10 * GUARD_IMG_RANGES_PER_ENTRY)

/*
 * Largest image we agree to read, and most ranges in one image: 16M
 * ranges take 256 MiB decoded. A task with that many guards needs at
 * least 64 GiB of address space for them and their gaps.
 */
#define GUARD_IMG_MAX_SIZE   (256UL << 20)
#define GUARD_IMG_MAX_RANGES (1UL << 24)

struct guard_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void guard_image_name(char *buf, size_t size, int vpid);

/* Encode @s into @out (appending); the head records s->pid. */
int guard_image_encode(const struct guard_set *s, unsigned int page_shift, struct guard_buf *out);

/*
 * Decode and check an image held in memory into @s (s->pid is the pid it
 * records, 0 for version 1). Anything malformed is refused with a message
 * that names @name and the entry. Memory use is bounded by @len: about
 * 16 bytes per range the head announces (at most @len / 2 of them) and
 * one unpacked entry.
 */
int guard_image_decode(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
		       struct guard_set *s);

/*
 * File I/O relative to CRIU's image directory @dirfd. The writer creates
 * the file itself (O_EXCL, never through a symlink; it replaces only a
 * regular file) and removes what it could not write whole. @bytes and
 * @pages: what the image took and the pages its ranges cover.
 */
int guard_image_write(int dirfd, int vpid, const struct guard_set *s, unsigned int page_shift, size_t *bytes,
		      uint64_t *pages);
/*
 * Returns -ENOENT if the image does not exist. An image of version 2 or
 * later must record @vpid.
 */
int guard_image_read(int dirfd, int vpid, unsigned int page_shift, struct guard_set *s);

/*
 * Read all of @name in @dirfd into @b: refuses a symlink or anything but a
 * regular file (without blocking on a FIFO) and files above @max bytes.
 * Returns -ENOENT if it does not exist.
 */
int guard_file_read(int dirfd, const char *name, size_t max, struct guard_buf *b);

void guard_buf_free(struct guard_buf *b);

#endif /* GUARD_IMAGE_H */
