/* SPDX-License-Identifier: MIT */
/*
 * The guard ranges of one task, grouped by the VMA they lie in. This is
 * what a guard image holds.
 */
#ifndef GUARD_SET_H
#define GUARD_SET_H

#include "guard-ranges.h"

struct guard_group {
	uint64_t vma_start; /* start of the VMA, as dumped */
	size_t first;	    /* index of its first range in guard_set.ranges */
	size_t nr;
};

struct guard_set {
	struct guard_ranges ranges;
	struct guard_group *groups;
	size_t nr_groups;
	size_t cap_groups;
	int pid; /* the task's vpid, as its image records it (0: not recorded) */
	/*
	 * A difference from the set of the task @parent (image version 3;
	 * 0: the ranges are all the task's): the ranges hold what the task
	 * added, @removed what it removed, and @full_ranges/@full_pages
	 * count the task's set once the difference is applied.
	 */
	int parent;
	struct guard_set *removed;
	uint64_t full_ranges, full_pages;
	/*
	 * Where the ranges came from, for messages: entry_first[i].first is
	 * the index of the first range read from image entry
	 * entry_first[i].entry (filled by the image decoder only).
	 */
	struct guard_entry_mark {
		size_t first;
		unsigned int entry;
	} * entry_first;
	size_t nr_entries;
	size_t cap_entries;
};

/* Start collecting ranges of the VMA that begins at @vma_start. */
int guard_set_begin_vma(struct guard_set *s, uint64_t vma_start);

/* Add a range to the current VMA, merging it with an adjacent one. */
int guard_set_add(struct guard_set *s, uint64_t start, uint64_t end);

/* Record that image entry @entry starts at the next range. */
int guard_set_begin_entry(struct guard_set *s, unsigned int entry);

/* The image entry range @i was read from (1 ...), or 0 if unknown. */
unsigned int guard_set_entry_of(const struct guard_set *s, size_t i);

/* The ranges of the group of @vma_start in @s (a view; none if no such group or no @s) */
void guard_set_find(const struct guard_set *s, uint64_t vma_start, struct guard_ranges *out);

void guard_set_free(struct guard_set *s);

#endif /* GUARD_SET_H */
