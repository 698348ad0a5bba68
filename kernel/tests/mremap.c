// SPDX-License-Identifier: MIT
/*
 * Guards under mremap(): they live in page tables, so moving or growing a
 * VMA must carry them to the same offsets, and shrinking must drop them.
 */
#include <sys/mman.h>

#include "harness.h"

/* Fill the 4 pages at @p with their pattern, then guard pages 1 and 3. */
static void stripe(char *p)
{
	fill_pages(p, 4);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_OK(guard_install(p + 3 * psize, 1));
}

/* Pages 0 and 2 carry their pattern; pages 1 and 3 are guards. */
static char *map_striped(void)
{
	char *p = map_anon_isolated(4);

	stripe(p);
	return p;
}

/*
 * Striped as map_striped(), but with 4 free pages right behind the VMA
 * (mapped, then unmapped again) so that mremap() can resize it in place.
 */
static char *map_striped_with_room(void)
{
	char *p = map_anon(8);

	ASSERT_OK(munmap(p + 4 * psize, 4 * psize));
	stripe(p);
	return p;
}

static void assert_striped(char *p)
{
	ASSERT_TRUE(page_is(p, page_pattern(0)));
	ASSERT_FALSE(try_read(p + psize));
	ASSERT_TRUE(page_is(p + 2 * psize, page_pattern(2)));
	ASSERT_FALSE(try_read(p + 3 * psize));
}

/* A PROT_NONE hole of @pages pages to move mappings into. */
static char *map_hole(size_t pages)
{
	char *p = map_anon_isolated(pages);

	ASSERT_OK(mprotect(p, pages * psize, PROT_NONE));
	return p;
}

/* Assert that moving a VMA keeps its guards at the same offsets. */
static void mremap_move_keeps_guards_at_same_offsets(void)
{
	char *p, *hole, *q;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_striped();
	hole = map_hole(4);
	q = mremap(p, 4 * psize, 4 * psize, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	ASSERT_TRUE(q == hole);
	assert_striped(q);
	ASSERT_ERRNO(msync(p, 4 * psize, MS_ASYNC), ENOMEM);
}

/* Assert that PAGEMAP_SCAN finds moved guards at their new addresses. */
static void mremap_move_is_seen_by_pagemap_scan(void)
{
	struct page_region r[4];
	int fd = pagemap_open();
	char *p, *hole, *q;

	require_feature(GUARD_FEAT_MADV_GUARD);
	require_feature(GUARD_FEAT_PAGEMAP_SCAN_GUARD);
	p = map_striped();
	hole = map_hole(4);
	q = mremap(p, 4 * psize, 4 * psize, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	ASSERT_TRUE(q == hole);
	ASSERT_EQ(scan_guards(fd, q, 4, r, 4, 0, NULL), 2);
	ASSERT_REGION(r[0], q, 1, 2);
	ASSERT_REGION(r[1], q, 3, 4);
}

/* Assert that growing a VMA that has to move keeps its guards. */
static void mremap_expand_by_moving_keeps_guards_at_same_offsets(void)
{
	char *p, *q;

	require_feature(GUARD_FEAT_MADV_GUARD);
	/* The PROT_NONE fence behind p forbids growing in place. */
	p = map_striped();
	q = mremap(p, 4 * psize, 8 * psize, MREMAP_MAYMOVE);
	ASSERT_TRUE(q != MAP_FAILED);
	ASSERT_TRUE(q != p);
	assert_striped(q);
	ASSERT_TRUE(try_write(q + 7 * psize));
}

/* Assert that growing a VMA in place keeps its guards. */
static void mremap_expand_in_place_keeps_guards_at_same_offsets(void)
{
	char *p, *q;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_striped_with_room();
	q = mremap(p, 4 * psize, 8 * psize, 0);
	ASSERT_TRUE(q == p);
	assert_striped(q);
	ASSERT_TRUE(page_is(q + 4 * psize, 0));
}

/* Assert that shrinking drops the guards of the cut tail for good. */
static void mremap_shrink_drops_guards_of_the_cut_tail(void)
{
	char *p, *q;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_striped_with_room();
	ASSERT_TRUE(mremap(p, 4 * psize, 3 * psize, 0) == p);
	q = mremap(p, 3 * psize, 4 * psize, 0);
	ASSERT_TRUE(q == p);
	ASSERT_FALSE(try_read(q + psize));
	ASSERT_TRUE(try_read(q + 3 * psize));
	ASSERT_TRUE(page_is(q + 3 * psize, 0));
}

static const struct guard_test tests[] = {
	GUARD_TEST(mremap_move_keeps_guards_at_same_offsets),
	GUARD_TEST(mremap_move_is_seen_by_pagemap_scan),
	GUARD_TEST(mremap_expand_by_moving_keeps_guards_at_same_offsets),
	GUARD_TEST(mremap_expand_in_place_keeps_guards_at_same_offsets),
	GUARD_TEST(mremap_shrink_drops_guards_of_the_cut_tail),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
