// SPDX-License-Identifier: MIT
/*
 * The smaps "gu" VmFlag (VM_MAYBE_GUARD): the dump side scans only VMAs
 * that show it, so it must be set by every install, never cleared while
 * guards may remain, and survive splits, merges and moves.
 */
#include <sys/mman.h>

#include "harness.h"

static void require_gu(void)
{
	require_feature(GUARD_FEAT_MADV_GUARD);
	require_feature(GUARD_FEAT_SMAPS_GU);
}

/*
 * gu must be absent from the fresh VMA of @p and present once page @page
 * is guarded: checking it is absent first shows that the install, not the
 * kind of mapping, set it.
 */
static void assert_install_sets_gu(char *p, size_t page)
{
	ASSERT_FALSE(vma_has_flag(p, "gu"));
	ASSERT_OK(guard_install(p + page * psize, 1));
	ASSERT_TRUE(vma_has_flag(p, "gu"));
}

/* Assert that a VMA that never had guards does not show gu. */
static void smaps_gu_is_absent_before_install(void)
{
	char *p;

	require_gu();
	p = map_anon_isolated(2);
	fill_pages(p, 2);
	ASSERT_FALSE(vma_has_flag(p, "gu"));
}

/* Assert that install on private anonymous memory sets gu. */
static void smaps_gu_is_set_by_install_on_private_anon(void)
{
	char *p;

	require_gu();
	p = map_anon_isolated(2);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_TRUE(vma_has_flag(p, "gu"));
}

/* Assert that install on a file-backed private mapping sets gu. */
static void smaps_gu_is_set_by_install_on_file_private(void)
{
	char *p;

	require_gu();
	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_file_private(2, PROT_READ | PROT_WRITE);
	assert_install_sets_gu(p, 0);
}

/* Assert that install on shared anonymous (shmem) memory sets gu. */
static void smaps_gu_is_set_by_install_on_shared_anon(void)
{
	char *p;

	require_gu();
	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_anon_shared(2);
	assert_install_sets_gu(p, 1);
}

/* Assert that install on a shared memfd mapping sets gu. */
static void smaps_gu_is_set_by_install_on_memfd(void)
{
	char *p;

	require_gu();
	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_memfd_shared(2);
	assert_install_sets_gu(p, 0);
}

/* Assert that gu means "maybe": removing every guard does not clear it. */
static void smaps_gu_remains_after_guard_remove(void)
{
	char *p;

	require_gu();
	p = map_anon_isolated(2);
	ASSERT_OK(guard_install(p, 2));
	ASSERT_OK(guard_remove(p, 2));
	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(vma_has_flag(p, "gu"));
}

/* Assert that both halves of a split guarded VMA keep gu. */
static void smaps_gu_stays_on_both_parts_of_a_split_vma(void)
{
	unsigned long start, end;
	char *p;

	require_gu();
	p = map_anon_isolated(4);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_OK(mprotect(p + 2 * psize, 2 * psize, PROT_READ));
	ASSERT_OK(vma_bounds(p, &start, &end));
	ASSERT_EQ(end, (unsigned long)p + 2 * psize);
	ASSERT_TRUE(vma_has_flag(p, "gu"));
	ASSERT_TRUE(vma_has_flag(p + 3 * psize, "gu"));
}

/* Assert that a guarded VMA split and joined again is one VMA with gu. */
static void smaps_gu_is_kept_when_split_vma_is_merged_back(void)
{
	unsigned long start, end;
	char *p;

	require_gu();
	p = map_anon_isolated(4);
	ASSERT_OK(guard_install(p + 3 * psize, 1));
	ASSERT_OK(mprotect(p + psize, psize, PROT_READ));
	ASSERT_OK(mprotect(p + psize, psize, PROT_READ | PROT_WRITE));
	ASSERT_OK(vma_bounds(p, &start, &end));
	ASSERT_EQ(start, (unsigned long)p);
	ASSERT_EQ(end, (unsigned long)p + 4 * psize);
	ASSERT_TRUE(vma_has_flag(p, "gu"));
	ASSERT_FALSE(try_read(p + 3 * psize));
}

/*
 * Assert that gu is sticky: a VMA without it that merges with a guarded
 * neighbour yields one VMA with gu, not two VMAs.
 */
static void smaps_gu_is_sticky_when_unguarded_neighbour_merges(void)
{
	unsigned long start, end;
	char *p;

	require_gu();
	p = map_anon_isolated(4);
	ASSERT_OK(mprotect(p + 2 * psize, 2 * psize, PROT_READ));
	ASSERT_OK(guard_install(p, 1));
	ASSERT_FALSE(vma_has_flag(p + 2 * psize, "gu"));

	ASSERT_OK(mprotect(p + 2 * psize, 2 * psize, PROT_READ | PROT_WRITE));
	ASSERT_OK(vma_bounds(p + 2 * psize, &start, &end));
	ASSERT_EQ(start, (unsigned long)p);
	ASSERT_EQ(end, (unsigned long)p + 4 * psize);
	ASSERT_TRUE(vma_has_flag(p + 2 * psize, "gu"));
}

/* Assert that gu moves with the VMA under mremap. */
static void smaps_gu_moves_with_mremap(void)
{
	char *p, *hole, *q;

	require_gu();
	p = map_anon_isolated(2);
	hole = map_anon_isolated(2);
	ASSERT_OK(mprotect(hole, 2 * psize, PROT_NONE));
	ASSERT_OK(guard_install(p, 1));

	q = mremap(p, 2 * psize, 2 * psize, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	ASSERT_TRUE(q == hole);
	ASSERT_TRUE(vma_has_flag(q, "gu"));
}

static const struct guard_test tests[] = {
	GUARD_TEST(smaps_gu_is_absent_before_install),
	GUARD_TEST(smaps_gu_is_set_by_install_on_private_anon),
	GUARD_TEST(smaps_gu_is_set_by_install_on_file_private),
	GUARD_TEST(smaps_gu_is_set_by_install_on_shared_anon),
	GUARD_TEST(smaps_gu_is_set_by_install_on_memfd),
	GUARD_TEST(smaps_gu_remains_after_guard_remove),
	GUARD_TEST(smaps_gu_stays_on_both_parts_of_a_split_vma),
	GUARD_TEST(smaps_gu_is_kept_when_split_vma_is_merged_back),
	GUARD_TEST(smaps_gu_is_sticky_when_unguarded_neighbour_merges),
	GUARD_TEST(smaps_gu_moves_with_mremap),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
