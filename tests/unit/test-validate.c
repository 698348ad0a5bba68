// SPDX-License-Identifier: MIT
/* Checking an image against the VMAs a task is restored with. */
#include <stdint.h>
#include <string.h>

#include "guard-restore.h"
#include "unit.h"

#define P(n) ((uint64_t)(n) << 12)

static struct cr_plugin_rst_vma vma(uint64_t start, uint64_t end, uint32_t kind, uint64_t premapped)
{
	struct cr_plugin_rst_vma v;

	memset(&v, 0, sizeof(v));
	v.vma.start = start;
	v.vma.end = end;
	v.vma.kind = kind;
	v.premapped = premapped;
	return v;
}

static int check(struct cr_plugin_rst_vma *vmas, unsigned int nr, uint64_t vma_start, uint64_t start, uint64_t end,
		 size_t *groups)
{
	struct guard_set s = {};
	int ret;

	guard_set_begin_vma(&s, vma_start);
	guard_set_begin_entry(&s, 1);
	guard_set_add(&s, start, end);
	unit_log_clear();
	ret = guard_validate("guard-regions-9.img", &s, vmas, nr, groups);
	guard_set_free(&s);
	return ret;
}

int main(void)
{
	struct cr_plugin_rst_vma vmas[3] = {
		vma(P(10), P(20), CR_PLUGIN_VMA_ANON_PRIVATE, P(100)),
		vma(P(20), P(30), CR_PLUGIN_VMA_ANON_SHARED, 0),
		vma(P(40), P(41), CR_PLUGIN_VMA_SPECIAL, 0),
	};
	size_t groups[3];

	UNIT_CHECK(!check(vmas, 3, P(20), P(21), P(23), groups) && groups[1] == 0 && groups[0] == SIZE_MAX,
		   "ranges_inside_their_vma_are_accepted");
	UNIT_CHECK(check(vmas, 3, P(12), P(12), P(13), groups) && unit_log_has("guard-regions-9.img: entry 1:") &&
			   unit_log_has("no VMA starting there"),
		   "group_for_a_vma_the_task_lacks_is_refused");
	UNIT_CHECK(check(vmas, 3, P(10), P(19), P(21), groups) && unit_log_has("entry 1: range 0") && unit_log_has("outside of its VMA"),
		   "range_crossing_the_end_of_its_vma_is_refused");
	UNIT_CHECK(check(vmas, 3, P(40), P(40), P(41), groups) && unit_log_has("cannot hold guards"),
		   "guards_in_a_kernel_managed_vma_are_refused");
	vmas[0].vma.attrs = CR_PLUGIN_VMA_HUGETLB;
	UNIT_CHECK(check(vmas, 3, P(10), P(11), P(12), groups) && unit_log_has("cannot hold guards"),
		   "guards_in_a_hugetlb_vma_are_refused");
	return unit_done();
}
