// SPDX-License-Identifier: MIT
/*
 * CRIU image framing and protobuf wire-format walking, see image.h.
 */
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "itest.h"

/* Returns 0 and the image's magics, or -1 if it cannot be read or framed. */
int img_open(struct img *img, const char *path)
{
	memset(img, 0, sizeof(*img));
	img->buf = (uint8_t *)it_read_file(path, &img->len);
	if (!img->buf)
		return -1;
	if (img->len < sizeof(img->magic)) {
		img_close(img);
		return -1;
	}
	/* inventory.img has only its own magic, the others a common one first */
	memcpy(img->magic, img->buf, sizeof(img->magic));
	if (img->magic[0] == IMG_COMMON_MAGIC || img->magic[0] == IMG_SERVICE_MAGIC) {
		img->off = sizeof(img->magic);
	} else {
		img->magic[1] = img->magic[0];
		img->off = sizeof(img->magic[0]);
	}
	return 0;
}

/* Returns 1 and the next entry, 0 at the end, -1 if an entry is cut. */
int img_next(struct img *img, struct img_entry *e)
{
	uint32_t size;

	if (img->off == img->len)
		return 0;
	if (img->len - img->off < sizeof(size))
		return -1;
	memcpy(&size, img->buf + img->off, sizeof(size));
	if (img->len - img->off - sizeof(size) < size)
		return -1;
	e->file_off = img->off + sizeof(size);
	e->data = img->buf + e->file_off;
	e->len = size;
	img->off = e->file_off + size;
	return 1;
}

void img_close(struct img *img)
{
	free(img->buf);
	img->buf = NULL;
}

int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

void pb_init(struct pb_iter *it, const uint8_t *data, size_t len)
{
	it->p = data;
	it->end = data + len;
}

static int pb_fixed(struct pb_iter *it, struct pb_field *f, size_t size)
{
	if ((size_t)(it->end - it->p) < size)
		return -1;
	f->varint = 0;
	memcpy(&f->varint, it->p, size);
	it->p += size;
	return 0;
}

/* Returns 1 and the next field, 0 at the end, -1 on malformed input. */
int pb_next(struct pb_iter *it, struct pb_field *f)
{
	uint64_t key, len;

	if (it->p == it->end)
		return 0;
	if (pb_varint(&it->p, it->end, &key))
		return -1;
	f->num = key >> 3;
	f->wire = key & 7;
	switch (f->wire) {
	case PB_VARINT:
		return pb_varint(&it->p, it->end, &f->varint) ? -1 : 1;
	case PB_I64:
		return pb_fixed(it, f, 8) ? -1 : 1;
	case PB_I32:
		return pb_fixed(it, f, 4) ? -1 : 1;
	case PB_LEN:
		if (pb_varint(&it->p, it->end, &len) || len > (uint64_t)(it->end - it->p))
			return -1;
		f->data = it->p;
		f->len = len;
		it->p += len;
		return 1;
	}
	return -1;
}
