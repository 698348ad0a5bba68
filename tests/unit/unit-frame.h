/* SPDX-License-Identifier: MIT */
/*
 * CRIU image framing for the unit tests: append a raw u32 or a
 * {u32 size, packed message} entry to a buffer, as the image writer does,
 * so tests can build images byte by byte (also malformed ones).
 */
#ifndef UNIT_FRAME_H
#define UNIT_FRAME_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

#include "guard-image.h"

static inline void put_u32(struct guard_buf *b, uint32_t v)
{
	b->data = realloc(b->data, b->len + 4);
	memcpy(b->data + b->len, &v, 4);
	b->len += 4;
}

static inline void put_msg(struct guard_buf *b, const ProtobufCMessage *m)
{
	size_t size = protobuf_c_message_get_packed_size(m);

	put_u32(b, size);
	b->data = realloc(b->data, b->len + size);
	b->len += protobuf_c_message_pack(m, b->data + b->len);
}

#endif /* UNIT_FRAME_H */
