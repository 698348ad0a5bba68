/* SPDX-License-Identifier: MIT */
/*
 * A growable, address-sorted list of guard ranges [start, end).
 */
#ifndef GUARD_RANGES_H
#define GUARD_RANGES_H

#include <stddef.h>
#include <stdint.h>

struct guard_range {
	uint64_t start;
	uint64_t end;
};

struct guard_ranges {
	struct guard_range *r;
	size_t nr;
	size_t cap;
};

/*
 * Append [start, end). A range that begins where the last one ends is
 * merged into it, unless @merge is false (ranges of different VMAs must
 * stay apart). Ranges must come in address order.
 */
int guard_ranges_add(struct guard_ranges *gr, uint64_t start, uint64_t end, int merge);

/* Make room for @nr ranges in all, so that adding them allocates nothing. */
int guard_ranges_reserve(struct guard_ranges *gr, size_t nr);

void guard_ranges_free(struct guard_ranges *gr);

/* Number of pages covered by all ranges. */
uint64_t guard_ranges_pages(const struct guard_ranges *gr, unsigned int page_shift);

/*
 * The ranges of @want that @have lacks go to @add, those of @have that
 * @want lacks go to @del. Both inputs sorted and non-overlapping.
 */
int guard_ranges_diff(const struct guard_ranges *have, const struct guard_ranges *want, struct guard_ranges *add,
		      struct guard_ranges *del);

#endif /* GUARD_RANGES_H */
