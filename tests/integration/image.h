/* SPDX-License-Identifier: MIT */
/*
 * A reader of CRIU images for the integration tests: the image framing
 * (magics, then size-prefixed entries) and a generic protobuf wire-format
 * walker, enough to look into mm, inventory and the plugin's images
 * without CRIU's .proto files.
 */
#ifndef IMAGE_H
#define IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMG_COMMON_MAGIC  0x54564319
#define IMG_SERVICE_MAGIC 0x55105940

struct img {
	uint8_t *buf;
	size_t len;
	size_t off;	   /* of the next entry's size field */
	uint32_t magic[2]; /* common (or service) magic, the image's own */
};

/* An entry: its protobuf bytes and where they sit in the file */
struct img_entry {
	const uint8_t *data;
	size_t len;
	size_t file_off;
};

enum { PB_VARINT = 0,
       PB_I64 = 1,
       PB_LEN = 2,
       PB_I32 = 5 };

struct pb_field {
	uint32_t num;
	int wire;
	uint64_t varint;     /* PB_VARINT, PB_I64, PB_I32 */
	const uint8_t *data; /* PB_LEN */
	size_t len;
};

struct pb_iter {
	const uint8_t *p, *end;
};

int img_open(struct img *img, const char *path);
int img_next(struct img *img, struct img_entry *e);
void img_close(struct img *img);

void pb_init(struct pb_iter *it, const uint8_t *data, size_t len);
int pb_next(struct pb_iter *it, struct pb_field *f);
int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif /* IMAGE_H */
