// SPDX-License-Identifier: MIT
/*
 * Guards across fork(): CRIU restores a process tree by forking, so which
 * guards a child inherits decides where the plugin must install them.
 * The child half of each test runs with the same ASSERT macros; its exit
 * status is checked by the parent half.
 */
#include <sys/mman.h>

#include "harness.h"

/* Child: page 1 is guarded, page 0 is readable with its file/anon pattern. */
static int child_sees_guard_at_page_1(void *arg)
{
	char *p = arg;

	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(page_is(p, page_pattern(0)));
	ASSERT_FALSE(try_read(p + psize));
	return 0;
}

/* Assert that a child inherits the guards of a private anonymous VMA. */
static void fork_copies_guards_of_private_anon_vma(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	fill_pages(p, 1);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_EQ(run_in_child(child_sees_guard_at_page_1, p), 0);
}

/*
 * Assert that a child inherits the guards of a file-backed private VMA
 * that was never written (no anonymous pages to force a page table copy).
 */
static void fork_copies_guards_of_file_private_vma(void)
{
	char *p;

	require_feature(GUARD_FEAT_FILE_GUARD_COW);
	p = map_file_private(2, PROT_READ);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_EQ(run_in_child(child_sees_guard_at_page_1, p), 0);
}

/* Child: page 1 of a shared mapping is guarded, page 0 is not. */
static int child_sees_shared_guard(void *arg)
{
	char *p = arg;

	ASSERT_TRUE(try_read(p));
	ASSERT_FALSE(try_read(p + psize));
	return 0;
}

/*
 * Assert that a child inherits guards of a shared (shmem) VMA: fork
 * copies the page tables of any VMA with VM_MAYBE_GUARD (VM_COPY_ON_FORK),
 * not only of VMAs with anonymous pages.
 */
static void fork_copies_guards_of_shared_vma(void)
{
	char *p;

	require_feature(GUARD_FEAT_FILE_GUARD);
	require_feature(GUARD_FEAT_SMAPS_GU);
	p = map_memfd_shared(2);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_EQ(run_in_child(child_sees_shared_guard, p), 0);
}

/* Child: both pages are readable zero pages. */
static int child_sees_wiped_pages(void *arg)
{
	char *p = arg;

	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(page_is(p, 0));
	ASSERT_TRUE(page_is(p + psize, 0));
	return 0;
}

/* Assert that a MADV_WIPEONFORK VMA reaches the child without guards. */
static void fork_leaves_no_guards_in_wipeonfork_vma(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	fill_pages(p, 2);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_OK(madvise(p, 2 * psize, MADV_WIPEONFORK));
	ASSERT_EQ(run_in_child(child_sees_wiped_pages, p), 0);
	ASSERT_FALSE(try_read(p));
	ASSERT_TRUE(page_is(p + psize, page_pattern(1)));
}

/* Child: nothing is mapped at @arg. */
static int child_sees_no_mapping(void *arg)
{
	ASSERT_ERRNO(msync(arg, 2 * psize, MS_ASYNC), ENOMEM);
	return 0;
}

/* Assert that a MADV_DONTFORK VMA holding guards is absent in the child. */
static void fork_omits_dontfork_vma(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_OK(madvise(p, 2 * psize, MADV_DONTFORK));
	ASSERT_EQ(run_in_child(child_sees_no_mapping, p), 0);
	ASSERT_FALSE(try_read(p));
}

static int child_installs_guard(void *arg)
{
	char *p = arg;

	ASSERT_OK(guard_install(p, 1));
	ASSERT_FALSE(try_read(p));
	return 0;
}

/* Assert that a guard a child installs does not appear in the parent. */
static void child_guard_install_does_not_affect_parent(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(1);
	fill_pages(p, 1);
	ASSERT_EQ(run_in_child(child_installs_guard, p), 0);
	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(page_is(p, page_pattern(0)));
}

static int child_removes_guard(void *arg)
{
	char *p = arg;

	ASSERT_OK(guard_remove(p, 1));
	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(page_is(p, 0));
	return 0;
}

/* Assert that a guard a child removes stays in the parent. */
static void child_guard_remove_does_not_affect_parent(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(1);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_EQ(run_in_child(child_removes_guard, p), 0);
	ASSERT_FALSE(try_read(p));
}

static const struct guard_test tests[] = {
	GUARD_TEST(fork_copies_guards_of_private_anon_vma),
	GUARD_TEST(fork_copies_guards_of_file_private_vma),
	GUARD_TEST(fork_copies_guards_of_shared_vma),
	GUARD_TEST(fork_leaves_no_guards_in_wipeonfork_vma),
	GUARD_TEST(fork_omits_dontfork_vma),
	GUARD_TEST(child_guard_install_does_not_affect_parent),
	GUARD_TEST(child_guard_remove_does_not_affect_parent),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
