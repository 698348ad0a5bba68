// SPDX-License-Identifier: MIT
/*
 * Guards and mlock(): install is refused on locked VMAs, yet a locked VMA
 * with guards exists in real processes (mlock after install). A restore
 * must therefore install guards first and lock afterwards.
 */
#include <sys/mman.h>

#include "harness.h"

/*
 * Guard page 1 of the 3 pages at @p, then mlock() them: the guard cannot
 * be faulted in, so mlock() fails with ENOMEM, yet it still locks the VMA.
 */
static void install_guard_then_mlock(char *p)
{
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_ERRNO(mlock(p, 3 * psize), ENOMEM);
}

/* The VMA is locked, page 1 is a guard and pages 0 and 2 kept their data. */
static void assert_locked_with_guard_intact(char *p)
{
	ASSERT_TRUE(vma_has_flag(p, "lo"));
	ASSERT_TRUE(page_is(p, page_pattern(0)));
	ASSERT_FALSE(try_read(p + psize));
	ASSERT_TRUE(page_is(p + 2 * psize, page_pattern(2)));
}

/* Assert that install on an mlock()ed VMA fails with EINVAL. */
static void guard_install_on_mlocked_vma_fails_einval(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon_isolated(2);
	ASSERT_OK(mlock(p, 2 * psize));
	ASSERT_ERRNO(guard_install(p, 1), EINVAL);
	ASSERT_TRUE(try_read(p));
}

/* Assert that install on an MLOCK_ONFAULT VMA fails with EINVAL. */
static void guard_install_on_lock_onfault_vma_fails_einval(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon_isolated(2);
	ASSERT_OK(mlock2(p, 2 * psize, MLOCK_ONFAULT));
	ASSERT_ERRNO(guard_install(p, 1), EINVAL);
}

/* Assert that install on a VMA locked by mlockall(MCL_FUTURE) fails. */
static void guard_install_under_mlockall_future_fails_einval(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	ASSERT_OK(mlockall(MCL_FUTURE));
	p = map_anon(2);
	ASSERT_TRUE(vma_has_flag(p, "lo"));
	ASSERT_ERRNO(guard_install(p, 1), EINVAL);
	ASSERT_OK(munlockall());
}

/* Assert that mlock over guards fails with ENOMEM yet locks the VMA. */
static void mlock_over_guards_fails_enomem_but_locks_vma(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon_isolated(3);
	fill_pages(p, 3);
	install_guard_then_mlock(p);
	assert_locked_with_guard_intact(p);
}

/* Assert that MLOCK_ONFAULT over guards succeeds: it populates nothing. */
static void mlock_onfault_over_guards_succeeds(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon_isolated(3);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_OK(mlock2(p, 3 * psize, MLOCK_ONFAULT));
	ASSERT_TRUE(vma_has_flag(p, "lo"));
	ASSERT_FALSE(try_read(p + psize));
}

/*
 * Assert the restore order: unlock, install, lock again gives a locked
 * VMA with the guards in place and the other pages intact.
 */
static void unlock_install_lock_yields_locked_vma_with_guards(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon_isolated(3);
	ASSERT_OK(mlock(p, 3 * psize));
	fill_pages(p, 3);

	ASSERT_OK(munlock(p, 3 * psize));
	ASSERT_FALSE(vma_has_flag(p, "lo"));
	install_guard_then_mlock(p);
	assert_locked_with_guard_intact(p);
}

/* Assert that remove is allowed on a locked VMA holding guards. */
static void guard_remove_on_locked_vma_succeeds(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon_isolated(3);
	install_guard_then_mlock(p);
	ASSERT_OK(guard_remove(p + psize, 1));
	ASSERT_TRUE(try_read(p + psize));
	ASSERT_TRUE(page_is(p + psize, 0));
}

static const struct guard_test tests[] = {
	GUARD_TEST(guard_install_on_mlocked_vma_fails_einval),
	GUARD_TEST(guard_install_on_lock_onfault_vma_fails_einval),
	GUARD_TEST(guard_install_under_mlockall_future_fails_einval),
	GUARD_TEST(mlock_over_guards_fails_enomem_but_locks_vma),
	GUARD_TEST(mlock_onfault_over_guards_succeeds),
	GUARD_TEST(unlock_install_lock_yields_locked_vma_with_guards),
	GUARD_TEST(guard_remove_on_locked_vma_succeeds),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
