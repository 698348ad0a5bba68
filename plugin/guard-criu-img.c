// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guard-criu-img.h"
#include "guard-log.h"

/* CRIU's images grow with the task's memory, not with its guards */
#define CRIU_IMG_MAX_SIZE (1UL << 32)

static int get_u32(struct criu_img *ci, uint32_t *v)
{
	if (ci->len - ci->pos < sizeof(*v))
		return -1;
	memcpy(v, ci->buf + ci->pos, sizeof(*v));
	ci->pos += sizeof(*v);
	return 0;
}

int criu_img_open(struct criu_img *ci, const uint8_t *buf, size_t len, const char *name, uint32_t magic)
{
	uint32_t m[2];

	*ci = (struct criu_img){.buf = buf, .len = len, .name = name};
	if (get_u32(ci, &m[0]) || get_u32(ci, &m[1]) || m[0] != GUARD_IMG_COMMON_MAGIC || m[1] != magic) {
		pr_err("%s: bad magic, expected %#x/%#x\n", name, GUARD_IMG_COMMON_MAGIC, magic);
		return -1;
	}
	return 0;
}

int criu_img_next(struct criu_img *ci, const uint8_t **msg, uint32_t *size)
{
	if (ci->pos == ci->len)
		return 0;
	if (ci->pos > 2 * sizeof(uint32_t))
		ci->entry++;
	if (get_u32(ci, size) || ci->len - ci->pos < *size) {
		pr_err("%s: entry %u: truncated at offset %zu\n", ci->name, ci->entry, ci->len);
		return -1;
	}
	*msg = ci->buf + ci->pos;
	ci->pos += *size;
	return 1;
}

int criu_img_read(int dirfd, const char *fmt, int vpid, char *name, size_t size, struct guard_buf *b)
{
	int ret;

	snprintf(name, size, fmt, vpid);
	ret = guard_file_read(dirfd, name, CRIU_IMG_MAX_SIZE, b);
	if (ret == -ENOENT)
		pr_err("%s is missing: cannot check the guard image against it\n", name);
	return ret ? -1 : 0;
}
