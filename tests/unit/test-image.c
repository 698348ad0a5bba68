// SPDX-License-Identifier: MIT
/* Guard image: encode/decode round trip, size, and every rejection. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guard-image.h"
#include "guard.pb-c.h"
#include "unit.h"
#include "unit-frame.h"

#define SHIFT 12
#define P(n)  ((uint64_t)(n) << SHIFT)
#define PID   7

static void put_head(struct guard_buf *b, uint32_t version, uint32_t shift, uint64_t nr_ranges, uint64_t nr_pages)
{
	GuardHeadEntry h = GUARD_HEAD_ENTRY__INIT;

	h.version = version;
	h.page_shift = shift;
	h.nr_ranges = nr_ranges;
	h.nr_pages = nr_pages;
	h.has_pid = version >= GUARD_IMG_VERSION_PID;
	h.pid = PID;
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

	in.pid = PID;
	guard_set_begin_vma(&in, P(16));
	for (i = 0; i < nr; i++)
		guard_set_add(&in, P(16 + 2 * i + 1), P(16 + 2 * i + 2));
	guard_set_begin_vma(&in, P(1 << 20));
	guard_set_add(&in, P(1 << 20), P((1 << 20) + 3));
	guard_set_add(&in, P((1 << 20) + 500), P((1 << 20) + 501));

	UNIT_CHECK(!guard_image_encode(&in, SHIFT, &b), "encode_succeeds");
	UNIT_CHECK(!guard_image_decode(b.data, b.len, "rt.img", SHIFT, &out), "decode_of_encoded_image_succeeds");
	UNIT_CHECK(sets_equal(&in, &out), "decode_returns_what_was_encoded");
	UNIT_CHECK(out.pid == PID, "decode_returns_the_pid_the_image_records");
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

	in.pid = PID;
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
	put_u32(&b, 4);
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

/* A cut anywhere is refused, naming the entry the cut falls into */
static void test_truncation_names_the_entry(void)
{
	struct guard_buf b = {};
	uint64_t pairs[] = {1, 2, 3, 1, 200, 5};
	size_t start[5], len, cut, bad = 0, k;
	struct guard_set s = {};
	char want[32];

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 7, 14);
	start[0] = 8;
	start[1] = b.len;
	put_ranges(&b, P(16), P(16), pairs, 6);
	start[2] = b.len;
	put_ranges(&b, P(16), P(16 + 230), pairs, 4);
	start[3] = b.len;
	put_ranges(&b, P(4096), P(4096), pairs, 4);
	start[4] = len = b.len;
	UNIT_CHECK(!guard_image_decode(b.data, len, "cut.img", SHIFT, &s), "the_uncut_image_decodes");
	guard_set_free(&s);

	for (cut = 0; cut < len; cut++) {
		for (k = 0; k < 4 && cut >= start[k + 1]; k++)
			;
		/* A cut between entries leaves a whole image whose totals are short */
		snprintf(want, sizeof(want), "entry %zu:", cut == start[k] && k ? 0 : k);
		unit_log_clear();
		if (guard_image_decode(b.data, cut, "cut.img", SHIFT, &s) == 0 ||
		    (cut >= 8 && !unit_log_has(want)) || !unit_log_has("cut.img")) {
			if (!bad++)
				printf("# cut at %zu of %zu: want \"%s\", log: %s", cut, len, want, unit_last_log);
		}
		guard_set_free(&s);
	}
	unit_ok(!bad, "a_cut_at_every_offset_is_refused_naming_its_entry", "%zu of %zu cuts", bad, len);
	guard_buf_free(&b);
}

static void test_versions(void)
{
	struct guard_buf b = {};
	struct guard_set s = {};
	uint64_t one[] = {0, 1};
	GuardHeadEntry h = GUARD_HEAD_ENTRY__INIT;

	put_head(&b, 1, SHIFT, 1, 1);
	put_ranges(&b, P(1), P(1), one, 2);
	UNIT_CHECK(!guard_image_decode(b.data, b.len, "v1.img", SHIFT, &s) && s.pid == 0 && s.ranges.nr == 1,
		   "version_1_without_a_pid_is_still_read");
	guard_set_free(&s);
	guard_buf_free(&b);

	h.version = GUARD_IMG_VERSION_PID;
	h.page_shift = SHIFT;
	put_u32(&b, GUARD_IMG_COMMON_MAGIC);
	put_u32(&b, GUARD_IMG_MAGIC);
	put_msg(&b, &h.base);
	expect_refused(&b, "version_2_without_a_pid_is_refused", "entry 0: version 2 records no valid pid");

	put_head(&b, GUARD_IMG_VERSION_MIN - 1, SHIFT, 0, 0);
	expect_refused(&b, "version_0_is_refused", "entry 0: version 0");
}

/* Images written before the magic was registered in magic.h */
static void test_old_magic(void)
{
	struct guard_buf b = {};
	struct guard_set s = {};
	uint64_t one[] = {0, 1};

	put_head(&b, 1, SHIFT, 1, 1);
	memcpy(b.data + 4, &(uint32_t){GUARD_IMG_MAGIC_OLD}, 4);
	put_ranges(&b, P(1), P(1), one, 2);
	UNIT_CHECK(!guard_image_decode(b.data, b.len, "old.img", SHIFT, &s) && s.ranges.nr == 1,
		   "image_with_the_old_magic_is_still_read");
	guard_set_free(&s);
	guard_buf_free(&b);

	guard_image_encode(&s, SHIFT, &b);
	UNIT_CHECK(b.len >= 8 && !memcmp(b.data + 4, &(uint32_t){GUARD_REGIONS_MAGIC}, 4),
		   "images_are_written_with_the_magic_of_magic_h");
	guard_buf_free(&b);
}

/* An entry of @nr one-page ranges, one page apart */
static void put_many(struct guard_buf *b, uint64_t vma_start, size_t nr)
{
	uint64_t *pages = malloc(2 * nr * sizeof(*pages));
	size_t i;

	for (i = 0; i < 2 * nr; i++)
		pages[i] = 1;
	put_ranges(b, vma_start, vma_start, pages, 2 * nr);
	free(pages);
}

static void test_entry_bounds(void)
{
	struct guard_buf b = {};
	uint32_t i;

	put_head(&b, GUARD_IMG_VERSION, SHIFT, GUARD_IMG_RANGES_PER_ENTRY + 1, GUARD_IMG_RANGES_PER_ENTRY + 1);
	put_many(&b, P(16), GUARD_IMG_RANGES_PER_ENTRY + 1);
	expect_refused(&b, "an_entry_of_more_than_65536_ranges_is_refused", "entry 1: 65537 ranges, more than");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	put_u32(&b, GUARD_IMG_ENTRY_MAX + 1);
	for (i = 0; i < GUARD_IMG_ENTRY_MAX + 1; i += 4)
		put_u32(&b, 0);
	expect_refused(&b, "an_entry_larger_than_any_valid_one_is_refused_unread", "entry 1: 1310749 bytes");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 3, 3);
	put_many(&b, P(16), 2);
	put_many(&b, P(1 << 20), 2);
	expect_refused(&b, "more_ranges_than_the_head_says_are_refused_at_that_entry",
		       "entry 2: brings the ranges to 4, its head says 3");

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1000, 1000);
	put_many(&b, P(16), 2);
	expect_refused(&b, "a_head_announcing_more_ranges_than_the_file_holds_is_refused",
		       "entry 0: 1000 ranges, but");
}

static long vm_hwm_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * A head that announces one range, then 100 full entries (13 MiB): the
 * reader must stop at the first entry, not decode 6.5M ranges first.
 */
static void test_lying_head_costs_no_memory(void)
{
	struct guard_buf b = {};
	struct guard_set s = {};
	long before, after;
	int i, ret;
	FILE *f;

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 1, 1);
	for (i = 0; i < 100; i++)
		put_many(&b, P((uint64_t)(i + 1) << 20), GUARD_IMG_RANGES_PER_ENTRY);
	/* Reset the peak RSS (proc(5), clear_refs) */
	f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	before = vm_hwm_kb();
	unit_log_clear();
	ret = guard_image_decode(b.data, b.len, "big.img", SHIFT, &s);
	after = vm_hwm_kb();
	unit_ok(ret && unit_log_has("entry 1:") && after - before < 8192,
		"an_image_that_lies_about_its_size_is_refused_within_8_MiB", "ret %d, peak RSS +%ld KiB for %zu bytes: %s",
		ret, after - before, b.len, unit_last_log);
	printf("# %zu-byte image with a lying head: refused, peak RSS %ld -> %ld KiB\n", b.len, before, after);
	guard_set_free(&s);
	guard_buf_free(&b);
}

/* Out of memory is reported as such, naming the file and the entry */
static void test_out_of_memory_is_named(void)
{
	struct guard_buf b = {};
	struct rlimit rl;
	int status, i;
	pid_t pid;

	put_head(&b, GUARD_IMG_VERSION, SHIFT, 64 * GUARD_IMG_RANGES_PER_ENTRY, 64 * GUARD_IMG_RANGES_PER_ENTRY);
	for (i = 0; i < 64; i++)
		put_many(&b, P((uint64_t)(i + 1) << 20), GUARD_IMG_RANGES_PER_ENTRY);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct guard_set s = {};
		unsigned long vm_kb = 0;
		char line[128];
		FILE *f = fopen("/proc/self/status", "r");

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "VmSize: %lu", &vm_kb) == 1)
				break;
		/* Room for the image, not for its 4M ranges (64 MiB) */
		rl.rlim_cur = rl.rlim_max = (vm_kb << 10) + (16UL << 20);
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(2);
		unit_log_clear();
		if (guard_image_decode(b.data, b.len, "oom.img", SHIFT, &s) == 0)
			_exit(3);
		_exit(unit_log_has("oom.img: entry 0: no memory for 4194304 ranges") ? 0 : 4);
	}
	waitpid(pid, &status, 0);
	unit_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "out_of_memory_is_reported_naming_file_and_entry",
		"child status %#x", status);
	guard_buf_free(&b);
}

/*
 * The encoder writes ranges entries itself: every entry must be the bytes
 * protobuf-c packs for the message it decodes to (removals included).
 */
static void test_entries_are_protobuf_c_bytes(void)
{
	struct guard_set in = {.pid = PID, .parent = 3}, del = {};
	struct guard_buf b = {};
	size_t pos, n = 0, same = 0;
	int i;

	guard_set_begin_vma(&in, P(16));
	for (i = 0; i < 300; i++)
		guard_set_add(&in, P(16 + 3 * i + 1), P(16 + 3 * i + 2 + i % 2));
	guard_set_begin_vma(&in, P(1 << 30)); /* multi-byte varints */
	guard_set_add(&in, P((1 << 30) + 200), P((1 << 30) + 100000));
	guard_set_begin_vma(&del, P(16));
	guard_set_add(&del, P(20000), P(20001));
	in.removed = &del;
	in.full_ranges = 301;
	in.full_pages = 1;
	UNIT_CHECK(!guard_image_encode(&in, SHIFT, &b), "difference_image_encodes");
	/* skip the magics and the head entry */
	memcpy(&i, b.data + 8, 4);
	for (pos = 12 + (size_t)i; pos + 4 <= b.len; n++) {
		uint32_t size;
		GuardRangesEntry *e;
		uint8_t again[4096];

		memcpy(&size, b.data + pos, 4);
		e = guard_ranges_entry__unpack(NULL, size, b.data + pos + 4);
		if (e && protobuf_c_message_get_packed_size(&e->base) == size && size <= sizeof(again) &&
		    protobuf_c_message_pack(&e->base, again) == size && !memcmp(again, b.data + pos + 4, size))
			same++;
		if (e)
			guard_ranges_entry__free_unpacked(e, NULL);
		pos += 4 + size;
	}
	unit_ok(n == 3 && same == n && pos == b.len, "encoded_entries_are_the_bytes_protobuf_c_packs",
		"%zu of %zu entries identical, %zu of %zu bytes walked", same, n, pos, b.len);
	in.removed = NULL;
	guard_set_free(&in);
	guard_set_free(&del);
	guard_buf_free(&b);
}

int main(void)
{
	test_round_trip();
	test_empty_set_round_trip();
	test_header_rejections();
	test_range_rejections();
	test_truncation_names_the_entry();
	test_versions();
	test_old_magic();
	test_entry_bounds();
	test_lying_head_costs_no_memory();
	test_out_of_memory_is_named();
	test_entries_are_protobuf_c_bytes();
	return unit_done();
}
