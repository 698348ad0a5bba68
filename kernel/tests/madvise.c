// SPDX-License-Identifier: MIT
/*
 * MADV_GUARD_INSTALL / MADV_GUARD_REMOVE semantics the plugin relies on
 * when it re-installs guards at restore time.
 */
#include <sys/mman.h>

#include "harness.h"

/* Assert that any access to a guarded page raises SIGSEGV. */
static void guard_install_makes_page_fault_sigsegv(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(1);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_FALSE(try_read(p));
	ASSERT_FALSE(try_write(p + psize - 1));
}

/* Assert that install guards exactly the given pages, not their neighbours. */
static void guard_install_only_guards_the_given_range(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(3);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_TRUE(try_write(p + psize - 1));
	ASSERT_FALSE(try_read(p + psize));
	ASSERT_FALSE(try_read(p + 2 * psize - 1));
	ASSERT_TRUE(try_write(p + 2 * psize));
}

/* Assert that after remove a private anonymous page reads back as zeroes. */
static void guard_remove_restores_a_zero_page(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(1);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_OK(guard_remove(p, 1));
	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(page_is(p, 0));
	ASSERT_TRUE(try_write(p));
}

/* Assert that install over populated pages throws their contents away. */
static void guard_install_discards_populated_contents(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	fill_pages(p, 2);
	ASSERT_OK(guard_install(p, 2));
	ASSERT_OK(guard_remove(p, 2));
	ASSERT_TRUE(page_is(p, 0));
	ASSERT_TRUE(page_is(p + psize, 0));
}

/* Assert that installing twice succeeds and one remove clears the guard. */
static void guard_install_is_idempotent(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_OK(guard_install(p, 2));
	ASSERT_FALSE(try_read(p));
	ASSERT_FALSE(try_read(p + psize));
	ASSERT_OK(guard_remove(p, 2));
	ASSERT_TRUE(try_read(p));
	ASSERT_TRUE(try_read(p + psize));
}

/* Assert that remove leaves ordinary populated pages untouched. */
static void guard_remove_keeps_unguarded_contents(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	fill_pages(p, 2);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_OK(guard_remove(p, 2));
	ASSERT_TRUE(page_is(p, page_pattern(0)));
	ASSERT_TRUE(page_is(p + psize, 0));
}

/* Assert that MADV_DONTNEED and MADV_FREE do not drop guards. */
static void guards_survive_dontneed_and_free(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_OK(madvise(p, 2 * psize, MADV_DONTNEED));
	ASSERT_FALSE(try_read(p));
	ASSERT_OK(madvise(p, 2 * psize, MADV_FREE));
	ASSERT_FALSE(try_read(p));
	ASSERT_TRUE(try_read(p + psize));
}

/* Assert that populating a guarded range fails with EFAULT. */
static void madv_populate_write_over_guard_fails_efault(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_ERRNO(madvise(p, 2 * psize, MADV_POPULATE_WRITE), EFAULT);
}

/* Assert that install on an unmapped range fails with ENOMEM. */
static void guard_install_on_unmapped_range_fails_enomem(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(1);
	ASSERT_OK(munmap(p, psize));
	ASSERT_ERRNO(guard_install(p, 1), ENOMEM);
}

/* Assert that file-backed private pages fault once guarded. */
static void guard_install_on_file_private_mapping_faults(void)
{
	char *p;

	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_file_private(2, PROT_READ | PROT_WRITE);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_FALSE(try_read(p));
	ASSERT_TRUE(page_is(p + psize, page_pattern(1)));
}

/* Assert that remove on a file mapping shows the file's contents again. */
static void guard_remove_on_file_mapping_refaults_file_contents(void)
{
	char *p;

	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_file_private(2, PROT_READ | PROT_WRITE);
	ASSERT_TRUE(try_write(p));
	ASSERT_OK(guard_install(p, 2));
	ASSERT_OK(guard_remove(p, 2));
	ASSERT_TRUE(page_is(p, page_pattern(0)));
	ASSERT_TRUE(page_is(p + psize, page_pattern(1)));
}

/* Assert that read-only mappings accept guards (e.g. ELF text). */
static void guard_install_on_readonly_file_mapping_succeeds(void)
{
	char *p;

	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_file_private(2, PROT_READ);
	ASSERT_OK(guard_install(p, 1));
	ASSERT_FALSE(try_read(p));
	ASSERT_TRUE(try_read(p + psize));
}

static const struct guard_test tests[] = {
	GUARD_TEST(guard_install_makes_page_fault_sigsegv),
	GUARD_TEST(guard_install_only_guards_the_given_range),
	GUARD_TEST(guard_remove_restores_a_zero_page),
	GUARD_TEST(guard_install_discards_populated_contents),
	GUARD_TEST(guard_install_is_idempotent),
	GUARD_TEST(guard_remove_keeps_unguarded_contents),
	GUARD_TEST(guards_survive_dontneed_and_free),
	GUARD_TEST(madv_populate_write_over_guard_fails_efault),
	GUARD_TEST(guard_install_on_unmapped_range_fails_enomem),
	GUARD_TEST(guard_install_on_file_private_mapping_faults),
	GUARD_TEST(guard_remove_on_file_mapping_refaults_file_contents),
	GUARD_TEST(guard_install_on_readonly_file_mapping_succeeds),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
