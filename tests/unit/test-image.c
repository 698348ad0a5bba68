// SPDX-License-Identifier: MIT
/* Guard image: encode/decode round trip, size, and every rejection. */
#include <stdlib.h>
#include <string.h>

#include "guard-image.h"
#include "guard.pb-c.h"
#include "unit.h"

#define SHIFT 12
#define P(n)  ((uint64_t)(n) << SHIFT)

static void put_u32(struct guard_buf *b, uint32_t v)
{
	b->data = realloc(b->data, b->len + 4);
	memcpy(b->data + b->len, &v, 4);
	b->len += 4;
}

static void put_msg(struct guard_buf *b, const ProtobufCMessage *m)
{
	size_t size = protobuf_c_message_get_packed_size(m);

	put_u32(b, size);
	b->data = realloc(b->data, b->len + size);
	b->len += protobuf_c_message_pack(m, b->data + b->len);
}

static void put_head(struct guard_buf *b, uint32_t version, uint32_t shift, uint64_t nr_ranges, uint64_t nr_pages)
{
	GuardHeadEntry h = GUARD_HEAD_ENTRY__INIT;

	h.version = version;
	h.page_shift = shift;
	h.nr_ranges = nr_ranges;
	h.nr_pages = nr_pages;
	put_u32(b, GUARD_IMG_COMMON_MAGIC);
	put_u32(b, GUARD_IMG_MAGIC);
	put_msg(b, &h.base);
}

static void put_ranges(struct guard_buf *b, uint64_t vma_start, uint64_t origin, uint64_t *pages, size_t n)
{
	GuardRangesEntry e = GUARD_RANGES_ENTRY__INIT;

	e.vma_start = vma_start;
	e.origin = origin;
	e.pages = pages;
	e.n_pages = n;
	put_msg(b, &e.base);
}

/* Decode @b and expect a refusal whose message contains @why */
static void expect_refused(struct guard_buf *b, const char *name, const char *why)
{
	struct guard_set s = {};
	int ret;

	unit_log_clear();
	ret = guard_image_decode(b->data, b->len, "guard-regions-7.img", SHIFT, &s);
	unit_ok(ret != 0 && unit_log_has("guard-regions-7.img") && unit_log_has(why), name, "ret %d, log: %s", ret,
		unit_last_log);
	guard_set_free(&s);
	guard_buf_free(b);
}

static bool sets_equal(const struct guard_set *a, const struct guard_set *b)
{
	size_t i;

	if (a->ranges.nr != b->ranges.nr || a->nr_groups != b->nr_groups)
		return false;
	if (memcmp(a->ranges.r, b->ranges.r, a->ranges.nr * sizeof(*a->ranges.r)))
		return false;
	for (i = 0; i < a->nr_groups; i++)
		if (a->groups[i].vma_start != b->groups[i].vma_start || a->groups[i].nr != b->groups[i].nr)
			return false;
	return true;
}

static void test_round_trip(void)
{
	struct guard_set in = {}, out = {};
	struct guard_buf b = {};
	size_t i, nr = GUARD_IMG_RANGES_PER_ENTRY + 4465; /* spans two entries */

	guard_set_begin_vma(&in, P(16));
	for (i = 0; i < nr; i++)
		guard_set_add(&in, P(16 + 2 * i + 1), P(16 + 2 * i + 2));
	guard_set_begin_vma(&in, P(1 << 20));
	guard_set_add(&in, P(1 << 20), P((1 << 20) + 3));
	guard_set_add(&in, P((1 << 20) + 500), P((1 << 20) + 501));

	UNIT_CHECK(!guard_image_encode(&in, SHIFT, &b), "encode_succeeds");
	UNIT_CHECK(!guard_image_decode(b.data, b.len, "rt.img", SHIFT, &out), "decode_of_encoded_image_succeeds");
	UNIT_CHECK(sets_equal(&in, &out), "decode_returns_what_was_encoded");
	unit_ok((double)b.len / in.ranges.nr <= 4.0, "single_page_guards_take_at_most_4_bytes_per_range",
		"%zu bytes for %zu ranges", b.len, in.ranges.nr);
	printf("# %zu ranges: %zu bytes (%.2f bytes per range)\n", in.ranges.nr, b.len, (double)b.len / in.ranges.nr);

	guard_set_free(&in);
	guard_set_free(&out);
	guard_buf_free(&b);
}

static void test_empty_set_round_trip(void)
{
	struct guard_set in = {}, out = {};
	struct guard_buf b = {};

	guard_image_encode(&in, SHIFT, &b);
	UNIT_CHECK(!guard_image_decode(b.data, b.len, "empty.img", SHIFT, &out) && out.ranges.nr == 0,
		   "an_image_without_guards_decodes_to_nothing");
	guard_buf_free(&b);
	guard_set_free(&out);
}

static void test_header_rejections(void)
{
	struct guard_buf b = {};
	uint64_t one[] = {0, 1};

	put_u32(&b, 0x12345678);
	put_u32(&b, GUARD_IMG_MAGIC);
	expect_refused(&b, "wrong_common_magic_is_refused", "bad magic");

	put_u32(&b, GUARD_IMG_COMMON_MAGIC);
	put_u32(&b, GUARD_IMG_MAGIC + 1);
	expect_refused(&b, "wrong_image_magic_is_refused", "bad magic");

	put_u32(&b, GUARD_IMG_COMMON_MAGIC);
	expect_refused(&b, "truncated_magic_is_refused", "too short");

	put_u32(&b, GUARD_IMG_COMMON_MAGIC);
	put_u32(&b, GUARD_IMG_MAGIC);
	expect_refused(&b, "image_without_head_is_refused", "no head");

	put_head(&b, GUARD_IMG_VERSION + 1, SHIFT, 0, 0);
	expect_refused(&b, "unknown_version_is_refused", "version");

	put_head(&b, GUARD_IMG_VERSION, SHIFT + 1, 0, 0);
	expect_refused(&b, "other_page_size_is_refused", "page shift");

	put_u32(&b, GUARD_IMG_COMMON_MAGIC);
	put_u32(&b, GUARD_IMG_MAGIC);
	put_u32(&b, 3);
	put_u32(&b, 0xffffffff);
	expect_refused(&b, "garbage_head_is_refused", "malformed head");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_ranges(&b, P(1), P(1), one, 2);
	b.len -= 2;
	expect_refused(&b, "truncated_entry_is_refused", "truncated");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 2, 2);
	put_ranges(&b, P(1), P(1), one, 2);
	expect_refused(&b, "totals_that_disagree_with_the_head_are_refused", "its head says");
}

static void test_range_rejections(void)
{
	struct guard_buf b = {};
	uint64_t odd[] = {0, 1, 2};
	uint64_t empty[] = {0, 0};
	uint64_t one[] = {0, 1};
	uint64_t huge[] = {UINT64_MAX >> 8, 1};

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_ranges(&b, P(1), P(1), odd, 3);
	expect_refused(&b, "odd_number_of_page_counts_is_refused", "even number");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 0);
	put_ranges(&b, P(1), P(1), empty, 2);
	expect_refused(&b, "empty_range_is_refused", "is empty");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_ranges(&b, P(1) + 8, P(2), one, 2);
	expect_refused(&b, "unaligned_vma_start_is_refused", "not page aligned");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_ranges(&b, P(1), P(2) + 1, one, 2);
	expect_refused(&b, "unaligned_origin_is_refused", "not page aligned");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_ranges(&b, P(8), P(4), one, 2);
	expect_refused(&b, "range_below_its_vma_is_refused", "below its VMA");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 2, 2);
	put_ranges(&b, P(8), P(10), one, 2);
	put_ranges(&b, P(8), P(9), one, 2);
	expect_refused(&b, "overlapping_entries_are_refused", "previous range end");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 2, 2);
	put_ranges(&b, P(20), P(20), one, 2);
	put_ranges(&b, P(8), P(30), one, 2);
	expect_refused(&b, "vmas_out_of_order_are_refused", "out of order");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_ranges(&b, P(1), P(1), huge, 2);
	expect_refused(&b, "range_beyond_the_address_space_is_refused", "overflows");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_u32(&b, 5);
	put_u32(&b, 0xdeadbeef);
	b.data = realloc(b.data, b.len + 1);
	b.data[b.len++] = 0xff;
	expect_refused(&b, "garbage_ranges_entry_is_refused", "malformed ranges");
}

int main(void)
{
	test_round_trip();
	test_empty_set_round_trip();
	test_header_rejections();
	test_range_rejections();
	return unit_done();
}
