// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "guard-set.h"

int guard_set_begin_vma(struct guard_set *s, uint64_t vma_start)
{
	struct guard_group *g;

	if (s->nr_groups == s->cap_groups) {
		size_t cap = s->cap_groups ? s->cap_groups * 2 : 16;

		g = realloc(s->groups, cap * sizeof(*g));
		if (!g)
			return -ENOMEM;
		s->groups = g;
		s->cap_groups = cap;
	}

	g = &s->groups[s->nr_groups++];
	g->vma_start = vma_start;
	g->first = s->ranges.nr;
	g->nr = 0;
	return 0;
}

int guard_set_add(struct guard_set *s, uint64_t start, uint64_t end)
{
	struct guard_group *g = &s->groups[s->nr_groups - 1];
	size_t before = s->ranges.nr;
	int ret;

	/* The first range of a VMA never merges into the previous VMA's */
	ret = guard_ranges_add(&s->ranges, start, end, g->nr != 0);
	if (ret)
		return ret;
	g->nr += s->ranges.nr - before;
	return 0;
}

int guard_set_begin_entry(struct guard_set *s, unsigned int entry)
{
	struct guard_entry_mark *e;

	if (s->nr_entries == s->cap_entries) {
		size_t cap = s->cap_entries ? s->cap_entries * 2 : 16;

		e = realloc(s->entry_first, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->entry_first = e;
		s->cap_entries = cap;
	}
	s->entry_first[s->nr_entries].first = s->ranges.nr;
	s->entry_first[s->nr_entries++].entry = entry;
	return 0;
}

unsigned int guard_set_entry_of(const struct guard_set *s, size_t i)
{
	size_t lo = 0, hi = s->nr_entries;

	/* The last entry whose first range is at or before @i */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->entry_first[mid].first <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? s->entry_first[lo - 1].entry : 0;
}

void guard_set_free(struct guard_set *s)
{
	guard_ranges_free(&s->ranges);
	free(s->groups);
	free(s->entry_first);
	s->groups = NULL;
	s->entry_first = NULL;
	s->nr_groups = s->cap_groups = 0;
	s->nr_entries = s->cap_entries = 0;
	s->pid = 0;
	if (s->removed) {
		guard_set_free(s->removed);
		free(s->removed);
	}
	s->removed = NULL;
	s->parent = 0;
	s->full_ranges = s->full_pages = 0;
}

void guard_set_find(const struct guard_set *s, uint64_t vma_start, struct guard_ranges *out)
{
	size_t lo = 0, hi = s ? s->nr_groups : 0;

	out->r = NULL;
	out->nr = out->cap = 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct guard_group *g = &s->groups[mid];

		if (g->vma_start == vma_start) {
			out->r = s->ranges.r + g->first;
			out->nr = out->cap = g->nr;
			return;
		}
		if (g->vma_start < vma_start)
			lo = mid + 1;
		else
			hi = mid;
	}
}
