// SPDX-License-Identifier: MIT
/* Range list: coalescing, ordering, and the reconcile diff. */
#include <errno.h>

#include "guard-ranges.h"
#include "guard-set.h"
#include "unit.h"

#define P(n) ((uint64_t)(n) << 12)

static bool ranges_are(const struct guard_ranges *gr, const uint64_t *pairs, size_t nr)
{
	size_t i;

	if (gr->nr != nr)
		return false;
	for (i = 0; i < nr; i++)
		if (gr->r[i].start != P(pairs[2 * i]) || gr->r[i].end != P(pairs[2 * i + 1]))
			return false;
	return true;
}

static void test_adjacent_ranges_coalesce(void)
{
	struct guard_ranges gr = {};
	const uint64_t want[] = {1, 4, 6, 7};

	guard_ranges_add(&gr, P(1), P(2), 1);
	guard_ranges_add(&gr, P(2), P(3), 1);
	guard_ranges_add(&gr, P(3), P(4), 1);
	guard_ranges_add(&gr, P(6), P(7), 1);
	UNIT_CHECK(ranges_are(&gr, want, 2), "adjacent_ranges_coalesce");
	UNIT_CHECK(guard_ranges_pages(&gr, 12) == 4, "pages_are_counted_over_all_ranges");
	guard_ranges_free(&gr);
}

static void test_unordered_or_empty_ranges_are_refused(void)
{
	struct guard_ranges gr = {};

	guard_ranges_add(&gr, P(4), P(6), 1);
	UNIT_CHECK(guard_ranges_add(&gr, P(5), P(7), 1) == -EINVAL, "overlapping_range_is_refused");
	UNIT_CHECK(guard_ranges_add(&gr, P(1), P(2), 1) == -EINVAL, "range_below_the_last_is_refused");
	UNIT_CHECK(guard_ranges_add(&gr, P(8), P(8), 1) == -EINVAL, "empty_range_is_refused");
	guard_ranges_free(&gr);
}

static void test_ranges_of_two_vmas_stay_apart(void)
{
	struct guard_set s = {};

	guard_set_begin_vma(&s, P(0));
	guard_set_add(&s, P(3), P(4));
	guard_set_begin_vma(&s, P(4));
	guard_set_add(&s, P(4), P(5));
	UNIT_CHECK(s.ranges.nr == 2 && s.nr_groups == 2, "ranges_of_adjacent_vmas_do_not_merge");
	UNIT_CHECK(s.groups[1].first == 1 && s.groups[1].nr == 1, "the_second_vma_holds_its_own_range");
	guard_set_free(&s);
}

static void test_diff_reconciles_inherited_guards(void)
{
	struct guard_ranges have = {}, want = {}, add = {}, del = {};
	const uint64_t add_want[] = {4, 5, 10, 12, 20, 21};
	const uint64_t del_want[] = {1, 2, 6, 8, 15, 16};

	/* the parent left 1-2, 5-8 and 12-16 */
	guard_ranges_add(&have, P(1), P(2), 1);
	guard_ranges_add(&have, P(5), P(8), 1);
	guard_ranges_add(&have, P(12), P(16), 1);
	/* the child wants 4-6, 10-15 and 20-21 */
	guard_ranges_add(&want, P(4), P(6), 1);
	guard_ranges_add(&want, P(10), P(15), 1);
	guard_ranges_add(&want, P(20), P(21), 1);

	UNIT_CHECK(!guard_ranges_diff(&have, &want, &add, &del), "diff_succeeds");
	UNIT_CHECK(ranges_are(&add, add_want, 3), "diff_installs_only_what_is_missing");
	UNIT_CHECK(ranges_are(&del, del_want, 3), "diff_removes_only_what_is_not_wanted");

	guard_ranges_free(&have);
	guard_ranges_free(&want);
	guard_ranges_free(&add);
	guard_ranges_free(&del);
}

static void test_diff_of_equal_sets_is_empty(void)
{
	struct guard_ranges a = {}, add = {}, del = {};

	guard_ranges_add(&a, P(1), P(3), 1);
	guard_ranges_add(&a, P(7), P(9), 1);
	guard_ranges_diff(&a, &a, &add, &del);
	UNIT_CHECK(add.nr == 0 && del.nr == 0, "diff_of_equal_sets_is_empty");
	guard_ranges_free(&a);
}

int main(void)
{
	test_adjacent_ranges_coalesce();
	test_unordered_or_empty_ranges_are_refused();
	test_ranges_of_two_vmas_stay_apart();
	test_diff_reconciles_inherited_guards();
	test_diff_of_equal_sets_is_empty();
	return unit_done();
}
