// SPDX-License-Identifier: MIT
/* Guards against the pages CRIU dumped (pagemap-<vpid>.img). */
#include <stdlib.h>
#include <string.h>

#include "criu-images.pb-c.h"
#include "guard-image.h"
#include "guard-criu-img.h"
#include "guard-pagemap.h"
#include "unit.h"
#include "unit-frame.h"

#define SHIFT 12
#define P(n)  ((uint64_t)(n) << SHIFT)

/* A pagemap image of runs {first page, nr}; @compat: count in the old field */
static void pagemap(struct guard_buf *b, const uint64_t (*runs)[2], size_t nr, bool compat)
{
	CriuGuard__PagemapHead h = CRIU_GUARD__PAGEMAP_HEAD__INIT;
	size_t i;

	b->len = 0;
	put_u32(b, GUARD_IMG_COMMON_MAGIC);
	put_u32(b, CRIU_PAGEMAP_MAGIC);
	h.pages_id = 1;
	put_msg(b, &h.base);
	for (i = 0; i < nr; i++) {
		CriuGuard__PagemapEntry e = CRIU_GUARD__PAGEMAP_ENTRY__INIT;

		e.vaddr = P(runs[i][0]);
		e.compat_nr_pages = compat ? runs[i][1] : 0;
		e.has_nr_pages = !compat;
		e.nr_pages = runs[i][1];
		e.has_flags = true;
		e.flags = 4; /* PE_PRESENT */
		put_msg(b, &e.base);
	}
}

static int check(const struct guard_buf *b, const struct guard_set *s)
{
	unit_log_clear();
	return guard_pagemap_check_buf(b->data, b->len, "pagemap-3.img", SHIFT, "guard-regions-3.img", s);
}

/* An mm image with two VMAs, the second of status @status */
static void mm_image(struct guard_buf *b, uint32_t status)
{
	CriuGuard__MmEntry mm = CRIU_GUARD__MM_ENTRY__INIT;
	CriuGuard__VmaEntry v[2] = {CRIU_GUARD__VMA_ENTRY__INIT, CRIU_GUARD__VMA_ENTRY__INIT};
	CriuGuard__VmaEntry *vp[2] = {&v[0], &v[1]};

	b->len = 0;
	put_u32(b, GUARD_IMG_COMMON_MAGIC);
	put_u32(b, CRIU_MM_MAGIC);
	v[0].has_start = v[0].has_end = v[0].has_status = true;
	v[0].start = P(10);
	v[0].end = P(15);
	v[0].status = 1 | 1 << 9; /* VMA_AREA_REGULAR | VMA_ANON_PRIVATE */
	v[1] = v[0];
	v[1].start = P(15);
	v[1].end = P(16);
	v[1].status = status;
	mm.n_vmas = 2;
	mm.vmas = vp;
	put_msg(b, &mm.base);
}

static void test_mm(void)
{
	struct guard_set s = {}, none = {};
	struct guard_buf b = {};

	/* A guard at page 15, in the second VMA */
	guard_set_begin_vma(&s, P(15));
	guard_set_begin_entry(&s, 1);
	guard_set_add(&s, P(15), P(16));

	mm_image(&b, 1 | 1 << 9);
	unit_log_clear();
	UNIT_CHECK(!guard_mm_check_buf(b.data, b.len, "mm-3.img", "guard-regions-3.img", &s),
		   "an_mm_image_without_guard_vmas_is_accepted");
	mm_image(&b, 1 | 1 << 9 | 1 << 12); /* [vvar] */
	unit_log_clear();
	UNIT_CHECK(guard_mm_check_buf(b.data, b.len, "mm-3.img", "guard-regions-3.img", &s) &&
			   unit_log_has("guard-regions-3.img: entry 1: range 0") && unit_log_has("mm-3.img VMA 1") &&
			   unit_log_has("[vvar]"),
		   "a_guard_in_vvar_is_refused");
	UNIT_CHECK(!guard_mm_check_buf(b.data, b.len, "mm-3.img", "guard-regions-3.img", &none),
		   "vvar_without_guards_is_accepted");
	mm_image(&b, 1 << 13); /* an AIO ring */
	UNIT_CHECK(guard_mm_check_buf(b.data, b.len, "mm-3.img", "guard-regions-3.img", &s) &&
			   unit_log_has("an AIO ring"),
		   "a_guard_in_an_aio_ring_is_refused");
	mm_image(&b, GUARD_VMA_AREA_GUARD);
	unit_log_clear();
	UNIT_CHECK(guard_mm_check_buf(b.data, b.len, "mm-3.img", "guard-regions-3.img", &none) &&
			   unit_log_has("mm-3.img: entry 0: VMA 1 (0xf000-0x10000) is a VMA_AREA_GUARD"),
		   "a_vma_area_guard_entry_beside_a_guard_image_is_refused");
	guard_set_free(&s);
	guard_buf_free(&b);
}

int main(void)
{
	static const uint64_t runs[][2] = {{10, 5}, {20, 1}, {100, 50}};
	struct guard_set s = {};
	struct guard_buf b = {};

	/* Guards at 15 (right after the first run), 19, 21 and 150 */
	guard_set_begin_vma(&s, P(10));
	guard_set_add(&s, P(15), P(16));
	guard_set_add(&s, P(19), P(20));
	guard_set_add(&s, P(21), P(22));
	guard_set_begin_vma(&s, P(100));
	guard_set_add(&s, P(150), P(152));

	pagemap(&b, runs, 3, false);
	UNIT_CHECK(!check(&b, &s), "guards_next_to_dumped_pages_are_accepted");
	pagemap(&b, runs, 3, true);
	UNIT_CHECK(!check(&b, &s), "old_pagemap_entries_with_compat_nr_pages_are_read");

	guard_set_add(&s, P(160), P(161));
	{
		static const uint64_t over[][2] = {{10, 5}, {20, 1}, {100, 61}};

		pagemap(&b, over, 3, false);
		UNIT_CHECK(check(&b, &s) && unit_log_has("guard-regions-3.img") && unit_log_has("range 3") &&
				   unit_log_has("pagemap-3.img entry 3") && unit_log_has("cannot be both"),
			   "a_guard_over_the_last_page_of_a_run_is_refused");
	}
	{
		static const uint64_t over[][2] = {{14, 2}};

		pagemap(&b, over, 1, false);
		UNIT_CHECK(check(&b, &s) && unit_log_has("range 0"), "a_guard_inside_a_run_is_refused");
	}
	{
		static const uint64_t over[][2] = {{0, 1ULL << 60}};

		pagemap(&b, over, 1, false);
		UNIT_CHECK(check(&b, &s) && unit_log_has("pagemap-3.img: entry 1") && unit_log_has("overflow"),
			   "a_run_beyond_the_address_space_is_refused");
	}
	pagemap(&b, runs, 3, false);
	b.len -= 2;
	UNIT_CHECK(check(&b, &s) && unit_log_has("pagemap-3.img: entry 3: truncated"),
		   "a_cut_pagemap_is_refused_naming_the_entry");
	b.data[4] ^= 1;
	UNIT_CHECK(check(&b, &s) && unit_log_has("pagemap-3.img: bad magic"),
		   "a_pagemap_without_its_magic_is_refused");

	guard_set_free(&s);
	guard_buf_free(&b);
	test_mm();
	return unit_done();
}
