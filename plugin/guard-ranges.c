// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "guard-ranges.h"

int guard_ranges_reserve(struct guard_ranges *gr, size_t nr)
{
	struct guard_range *r;

	if (nr <= gr->cap)
		return 0;
	r = realloc(gr->r, nr * sizeof(*r));
	if (!r)
		return -ENOMEM;
	gr->r = r;
	gr->cap = nr;
	return 0;
}

static int guard_ranges_grow(struct guard_ranges *gr)
{
	return guard_ranges_reserve(gr, gr->cap ? gr->cap * 2 : 64);
}

int guard_ranges_add(struct guard_ranges *gr, uint64_t start, uint64_t end, int merge)
{
	struct guard_range *last = gr->nr ? &gr->r[gr->nr - 1] : NULL;

	if (start >= end)
		return -EINVAL;
	if (last && start < last->end)
		return -EINVAL;

	if (merge && last && last->end == start) {
		last->end = end;
		return 0;
	}

	if (gr->nr == gr->cap && guard_ranges_grow(gr))
		return -ENOMEM;

	gr->r[gr->nr].start = start;
	gr->r[gr->nr].end = end;
	gr->nr++;
	return 0;
}

void guard_ranges_free(struct guard_ranges *gr)
{
	free(gr->r);
	gr->r = NULL;
	gr->nr = gr->cap = 0;
}

uint64_t guard_ranges_pages(const struct guard_ranges *gr, unsigned int page_shift)
{
	uint64_t pages = 0;
	size_t i;

	for (i = 0; i < gr->nr; i++)
		pages += (gr->r[i].end - gr->r[i].start) >> page_shift;
	return pages;
}

/*
 * Append to @out the parts of the ranges of @a that no range of @b
 * covers. Both are sorted, so one forward walk over each suffices.
 */
static int diff_one_side(const struct guard_ranges *a, const struct guard_ranges *b, struct guard_ranges *out)
{
	size_t i, j = 0;

	for (i = 0; i < a->nr; i++) {
		uint64_t pos = a->r[i].start, end = a->r[i].end;

		while (pos < end) {
			while (j < b->nr && b->r[j].end <= pos)
				j++;
			if (j == b->nr || b->r[j].start >= end) {
				if (guard_ranges_add(out, pos, end, 1))
					return -ENOMEM;
				break;
			}
			if (b->r[j].start > pos && guard_ranges_add(out, pos, b->r[j].start, 1))
				return -ENOMEM;
			pos = b->r[j].end;
		}
	}
	return 0;
}

int guard_ranges_diff(const struct guard_ranges *have, const struct guard_ranges *want, struct guard_ranges *add,
		      struct guard_ranges *del)
{
	if (diff_one_side(want, have, add))
		return -ENOMEM;
	return diff_one_side(have, want, del);
}
