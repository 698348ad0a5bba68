// SPDX-License-Identifier: MIT
/*
 * PAGEMAP_SCAN with PAGE_IS_GUARD and the pagemap guard bit: the dump side
 * finds guards with these, so ranges must be exact and a scan must be
 * resumable where the kernel stopped.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

static void require_scan(void)
{
	require_feature(GUARD_FEAT_MADV_GUARD);
	require_feature(GUARD_FEAT_PAGEMAP_SCAN_GUARD);
}

/* Assert that each guarded run comes back as one exact region. */
static void pagemap_scan_reports_exact_guard_ranges(void)
{
	struct page_region r[8];
	int fd = pagemap_open();
	char *p;

	require_scan();
	p = map_anon(8);
	fill_pages(p, 8);
	ASSERT_OK(guard_install(p + psize, 2));
	ASSERT_OK(guard_install(p + 5 * psize, 1));

	ASSERT_EQ(scan_guards(fd, p, 8, r, 8, 0, NULL), 2);
	ASSERT_REGION(r[0], p, 1, 3);
	ASSERT_EQ(r[0].categories, PAGE_IS_GUARD);
	ASSERT_REGION(r[1], p, 5, 6);
	ASSERT_EQ(r[1].categories, PAGE_IS_GUARD);
}

/* Assert that populated and never-touched pages are not reported. */
static void pagemap_scan_reports_nothing_without_guards(void)
{
	struct page_region r[4];
	int fd = pagemap_open();
	char *p;

	require_scan();
	p = map_anon(4);
	fill_pages(p, 2);
	ASSERT_EQ(scan_guards(fd, p, 4, r, 4, 0, NULL), 0);
}

/*
 * Assert that a guard run spanning two adjacent VMAs comes back as one
 * region: the kernel does not split regions at VMA boundaries, so a dumper
 * must clip them to its VMAs itself.
 */
static void pagemap_scan_merges_guard_runs_across_adjacent_vmas(void)
{
	unsigned long start, end;
	struct page_region r[4];
	int fd = pagemap_open();
	char *p;

	require_scan();
	p = map_anon(6);
	ASSERT_OK(mprotect(p + 3 * psize, 3 * psize, PROT_READ));
	ASSERT_OK(vma_bounds(p, &start, &end));
	ASSERT_EQ(end, (unsigned long)p + 3 * psize);
	ASSERT_OK(guard_install(p + 2 * psize, 2));

	ASSERT_EQ(scan_guards(fd, p, 6, r, 4, 0, NULL), 1);
	ASSERT_REGION(r[0], p, 2, 4);
}

/* Scan [@p, @p + @pages) one region per call, resuming at walk_end. */
static long scan_one_at_a_time(int fd, char *p, size_t pages,
			       struct page_region *out, size_t max)
{
	unsigned long pos = (unsigned long)p, end = pos + pages * psize;
	long n = 0;

	while (pos < end && (size_t)n < max) {
		unsigned long walk_end;
		long got;

		got = scan_guards(fd, (char *)pos, (end - pos) / psize, &out[n],
				  1, 0, &walk_end);
		ASSERT_TRUE(got == 0 || got == 1);
		ASSERT_TRUE(walk_end > pos && walk_end <= end);
		n += got;
		pos = walk_end;
	}
	return n;
}

/*
 * Assert that a full vec stops the walk at the start of the first region
 * that did not fit, and that resuming at walk_end finds exactly the rest.
 */
static void pagemap_scan_stops_at_vec_len_and_resumes_at_walk_end(void)
{
	struct page_region r[4];
	unsigned long walk_end;
	int fd = pagemap_open();
	char *p;

	require_scan();
	p = map_anon(8);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_OK(guard_install(p + 3 * psize, 1));
	ASSERT_OK(guard_install(p + 5 * psize, 2));

	ASSERT_EQ(scan_guards(fd, p, 8, r, 1, 0, &walk_end), 1);
	ASSERT_REGION(r[0], p, 1, 2);
	ASSERT_EQ(walk_end, (unsigned long)p + 3 * psize);

	ASSERT_EQ(scan_one_at_a_time(fd, p, 8, r, 4), 3);
	ASSERT_REGION(r[0], p, 1, 2);
	ASSERT_REGION(r[1], p, 3, 4);
	ASSERT_REGION(r[2], p, 5, 7);
}

/* Assert that max_pages caps the reported pages and walk_end follows it. */
static void pagemap_scan_max_pages_limits_reported_pages(void)
{
	struct page_region r[4];
	unsigned long walk_end;
	int fd = pagemap_open();
	char *p;

	require_scan();
	p = map_anon(8);
	ASSERT_OK(guard_install(p + 2 * psize, 4));

	ASSERT_EQ(scan_guards(fd, p, 8, r, 4, 2, &walk_end), 1);
	ASSERT_REGION(r[0], p, 2, 4);
	ASSERT_EQ(walk_end, (unsigned long)p + 4 * psize);

	ASSERT_EQ(scan_guards(fd, (char *)walk_end, 4, r, 4, 0, NULL), 1);
	ASSERT_REGION(r[0], p, 4, 6);
}

/* Assert that guards in file-backed private VMAs are reported too. */
static void pagemap_scan_reports_guards_in_file_mappings(void)
{
	struct page_region r[2];
	int fd = pagemap_open();
	char *p;

	require_scan();
	require_feature(GUARD_FEAT_FILE_GUARD);
	p = map_file_private(3, PROT_READ);
	ASSERT_OK(guard_install(p + psize, 1));
	ASSERT_EQ(scan_guards(fd, p, 3, r, 2, 0, NULL), 1);
	ASSERT_REGION(r[0], p, 1, 2);
}

/*
 * Assert that guard pages also match PAGE_IS_SWAPPED: a dumper that
 * selects swapped pages must exclude guards itself (CRIU 4.1.1 did not
 * and failed to read them).
 */
static void pagemap_scan_reports_guards_as_swapped(void)
{
	struct page_region r[2];
	int fd = pagemap_open();
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.vec_len = 2,
		.category_anyof_mask = PAGE_IS_SWAPPED | PAGE_IS_GUARD,
		.return_mask = PAGE_IS_SWAPPED | PAGE_IS_GUARD,
	};
	char *p;

	require_scan();
	p = map_anon(3);
	ASSERT_OK(guard_install(p + psize, 1));
	arg.start = (unsigned long)p;
	arg.end = arg.start + 3 * psize;
	arg.vec = (unsigned long)r;

	ASSERT_EQ(ioctl(fd, PAGEMAP_SCAN, &arg), 1);
	ASSERT_REGION(r[0], p, 1, 2);
	ASSERT_EQ(r[0].categories, PAGE_IS_SWAPPED | PAGE_IS_GUARD);
}

/* Assert that pagemap sets bit 58 on guard pages and on no other page. */
static void pagemap_entry_of_guard_page_has_bit_58(void)
{
	uint64_t guard, plain, untouched;
	int fd = pagemap_open();
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	require_feature(GUARD_FEAT_PAGEMAP_GUARD_BIT);
	p = map_anon(3);
	fill_pages(p, 1);
	ASSERT_OK(guard_install(p + psize, 1));

	plain = pagemap_entry(fd, p);
	guard = pagemap_entry(fd, p + psize);
	untouched = pagemap_entry(fd, p + 2 * psize);
	test_note("guard entry 0x%llx", (unsigned long long)guard);
	ASSERT_TRUE(guard & PM_ENTRY_GUARD_REGION);
	ASSERT_FALSE(guard & PM_ENTRY_PRESENT);
	ASSERT_FALSE(plain & PM_ENTRY_GUARD_REGION);
	ASSERT_TRUE(plain & PM_ENTRY_PRESENT);
	ASSERT_FALSE(untouched & PM_ENTRY_GUARD_REGION);
}

static const struct guard_test tests[] = {
	GUARD_TEST(pagemap_scan_reports_exact_guard_ranges),
	GUARD_TEST(pagemap_scan_reports_nothing_without_guards),
	GUARD_TEST(pagemap_scan_merges_guard_runs_across_adjacent_vmas),
	GUARD_TEST(pagemap_scan_stops_at_vec_len_and_resumes_at_walk_end),
	GUARD_TEST(pagemap_scan_max_pages_limits_reported_pages),
	GUARD_TEST(pagemap_scan_reports_guards_in_file_mappings),
	GUARD_TEST(pagemap_scan_reports_guards_as_swapped),
	GUARD_TEST(pagemap_entry_of_guard_page_has_bit_58),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
