// SPDX-License-Identifier: MIT
#include <inttypes.h>
#include <stdint.h>

#include "guard-log.h"
#include "guard-restore.h"

/* The restorer maps what is not premapped, except kernel-managed VMAs */
static bool vma_takes_guards(const struct cr_plugin_rst_vma *v)
{
	if (v->vma.attrs & CR_PLUGIN_VMA_HUGETLB)
		return false;
	return v->premapped || v->vma.kind != CR_PLUGIN_VMA_SPECIAL;
}

static int check_group(const char *img, const struct guard_set *s, const struct guard_group *g,
		       const struct cr_plugin_rst_vma *v)
{
	size_t i;

	if (!vma_takes_guards(v)) {
		pr_err("%s: entry %u: the VMA at %#" PRIx64 " cannot hold guards (kind %u, attrs %#x)\n", img,
		       guard_set_entry_of(s, g->first), v->vma.start, v->vma.kind, v->vma.attrs);
		return -1;
	}
	for (i = g->first; i < g->first + g->nr; i++) {
		const struct guard_range *r = &s->ranges.r[i];

		if (r->start < v->vma.start || r->end > v->vma.end) {
			pr_err("%s: entry %u: range %zu (%#" PRIx64 "-%#" PRIx64 ") lies outside of its VMA %#" PRIx64
			       "-%#" PRIx64 "\n",
			       img, guard_set_entry_of(s, i), i, r->start, r->end, v->vma.start, v->vma.end);
			return -1;
		}
	}
	return 0;
}

int guard_validate(const char *img, const struct guard_set *s, const struct cr_plugin_rst_vma *vmas,
		   unsigned int nr_vmas, size_t *vma_group)
{
	unsigned int v = 0;
	size_t g;

	for (v = 0; v < nr_vmas; v++)
		vma_group[v] = SIZE_MAX;

	/* Groups and VMAs are both sorted by start: walk them together */
	for (g = 0, v = 0; g < s->nr_groups; g++) {
		const struct guard_group *grp = &s->groups[g];

		while (v < nr_vmas && vmas[v].vma.start < grp->vma_start)
			v++;
		if (v == nr_vmas || vmas[v].vma.start != grp->vma_start) {
			pr_err("%s: entry %u: guards for a VMA at %#" PRIx64 ", but the task has no VMA starting there\n",
			       img, guard_set_entry_of(s, grp->first), grp->vma_start);
			return -1;
		}
		if (vma_group[v] != SIZE_MAX) {
			pr_err("%s: entry %u: the VMA at %#" PRIx64 " has two groups of guards\n", img,
			       guard_set_entry_of(s, grp->first), grp->vma_start);
			return -1;
		}
		if (check_group(img, s, grp, &vmas[v]))
			return -1;
		vma_group[v] = g;
	}
	return 0;
}
