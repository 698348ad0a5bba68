// SPDX-License-Identifier: MIT
/*
 * Difference images (version 3): a child's guards as the difference from
 * its parent's, made, encoded, decoded and applied; every refusal.
 */
#include <stdlib.h>
#include <string.h>

#include "guard-delta.h"
#include "guard-image.h"
#include "guard-log.h"
#include "guard.pb-c.h"
#include "unit.h"
#include "unit-frame.h"

#define SHIFT 12
#define P(n)  ((uint64_t)(n) << SHIFT)

static void add(struct guard_set *s, uint64_t vma, uint64_t from, uint64_t to)
{
	if (!s->nr_groups || s->groups[s->nr_groups - 1].vma_start != P(vma))
		guard_set_begin_vma(s, P(vma));
	guard_set_add(s, P(from), P(to));
}

static bool sets_equal(const struct guard_set *a, const struct guard_set *b)
{
	size_t i;

	if (a->ranges.nr != b->ranges.nr || a->nr_groups != b->nr_groups)
		return false;
	if (a->ranges.nr && memcmp(a->ranges.r, b->ranges.r, a->ranges.nr * sizeof(*a->ranges.r)))
		return false;
	for (i = 0; i < a->nr_groups; i++)
		if (a->groups[i].vma_start != b->groups[i].vma_start || a->groups[i].nr != b->groups[i].nr)
			return false;
	return true;
}

/* A parent with 1,000 guards in VMA 1000 and two small VMAs */
static void parent_set(struct guard_set *s, int pid)
{
	int i;

	s->pid = pid;
	add(s, 10, 10, 11);
	add(s, 10, 14, 16);
	for (i = 0; i < 1000; i++)
		add(s, 1000, 1001 + 2 * i, 1002 + 2 * i);
	add(s, 5000, 5000, 5004);
}

/*
 * Its child: drops the VMA at 10, removes and adds guards in VMA 1000
 * (one next to an inherited guard, so that they merge), keeps VMA 5000
 * and maps VMA 9000 of its own.
 */
static void child_set(struct guard_set *s, int pid)
{
	int i;

	s->pid = pid;
	for (i = 0; i < 1000; i++) {
		if (i == 7 || i == 400)
			continue;
		add(s, 1000, 1001 + 2 * i, i == 20 ? 1003 + 2 * i : 1002 + 2 * i);
	}
	add(s, 1000, 2500, 2501);
	add(s, 5000, 5000, 5004);
	add(s, 9000, 9001, 9002);
}

/* Encode @child as the difference from @parent, like the dump does */
static int encode_delta(const struct guard_set *parent, const struct guard_set *child, struct guard_buf *b)
{
	struct guard_set d = {.pid = child->pid, .parent = parent->pid};
	int ret;

	d.removed = calloc(1, sizeof(*d.removed));
	ret = guard_delta_make(parent, child, &d, d.removed);
	d.full_ranges = child->ranges.nr;
	d.full_pages = guard_ranges_pages(&child->ranges, SHIFT);
	if (!ret)
		ret = guard_image_encode(&d, SHIFT, b);
	guard_set_free(&d);
	return ret;
}

/* Images "on disk" for the resolver */
static struct guard_buf disk[4];
static int disk_pid[4];
static int disk_reads;

static int read_mem(void *arg, int vpid, const char *name, struct guard_set *s)
{
	int i;

	disk_reads++;
	for (i = 0; i < 4; i++)
		if (disk_pid[i] == vpid && disk[i].len)
			return guard_image_decode(disk[i].data, disk[i].len, name, SHIFT, s);
	pr_err("%s is missing\n", name);
	return -1;
}

static struct guard_lineage_src src = {.read = read_mem, .page_shift = SHIFT};

static void test_round_trip(void)
{
	struct guard_set parent = {}, child = {}, out = {}, full = {};
	struct guard_buf b = {}, fb = {};

	parent_set(&parent, 2);
	child_set(&child, 3);
	UNIT_CHECK(!encode_delta(&parent, &child, &b), "delta_encode_succeeds");
	child.pid = 3;
	guard_image_encode(&child, SHIFT, &fb);
	unit_ok(b.len * 10 < fb.len, "delta_image_is_far_smaller_than_the_whole_set", "%zu vs %zu bytes", b.len, fb.len);

	UNIT_CHECK(!guard_image_decode(b.data, b.len, "guard-regions-3.img", SHIFT, &out) && out.parent == 2 &&
			   out.removed && out.full_ranges == child.ranges.nr,
		   "delta_decodes_with_parent_and_totals");
	src.known = &parent;
	src.known_vpid = 2;
	UNIT_CHECK(!guard_delta_resolve(&src, "guard-regions-3.img", &out, 0, NULL), "delta_applies_to_the_known_parent_set");
	UNIT_CHECK(sets_equal(&out, &child) && out.pid == 3 && !out.parent && !out.removed,
		   "applied_delta_gives_the_child_set");

	guard_set_free(&out);
	guard_set_free(&full);
	guard_set_free(&parent);
	guard_set_free(&child);
	guard_buf_free(&b);
	guard_buf_free(&fb);
}

/* Grandparent whole, parent and child differences: resolved from "disk" */
static void test_chain_from_images(void)
{
	struct guard_set g = {}, p = {}, c = {}, out = {};
	struct guard_buf b = {};

	parent_set(&g, 2);
	child_set(&p, 3);
	child_set(&c, 4);
	add(&c, 9000, 9010, 9011);
	guard_image_encode(&g, SHIFT, &disk[0]);
	disk_pid[0] = 2;
	encode_delta(&g, &p, &disk[1]);
	disk_pid[1] = 3;
	encode_delta(&p, &c, &b);

	src.known = NULL;
	src.known_vpid = 0;
	disk_reads = 0;
	guard_image_decode(b.data, b.len, "guard-regions-4.img", SHIFT, &out);
	UNIT_CHECK(!guard_delta_resolve(&src, "guard-regions-4.img", &out, 0, NULL) && disk_reads == 2,
		   "delta_of_a_delta_resolves_through_the_images_of_parent_and_grandparent");
	UNIT_CHECK(sets_equal(&out, &c), "chain_gives_the_grandchild_set");
	guard_set_free(&out);

	/* A known set of someone else is not used */
	src.known = &c;
	src.known_vpid = 9;
	disk_reads = 0;
	guard_image_decode(b.data, b.len, "guard-regions-4.img", SHIFT, &out);
	UNIT_CHECK(!guard_delta_resolve(&src, "guard-regions-4.img", &out, 0, NULL) && disk_reads == 2 && sets_equal(&out, &c),
		   "a_known_set_of_another_task_is_not_used");
	guard_set_free(&out);

	/* The parent's image is missing */
	guard_buf_free(&disk[1]);
	src.known = NULL;
	unit_log_clear();
	guard_image_decode(b.data, b.len, "guard-regions-4.img", SHIFT, &out);
	UNIT_CHECK(guard_delta_resolve(&src, "guard-regions-4.img", &out, 0, NULL) &&
			   unit_log_has("guard-regions-4.img: entry 0: a difference from guard-regions-3.img"),
		   "refuses_a_delta_whose_parent_image_is_missing");
	guard_set_free(&out);

	guard_buf_free(&disk[0]);
	guard_buf_free(&b);
	guard_set_free(&g);
	guard_set_free(&p);
	guard_set_free(&c);
}

/* Two images that are each other's parent */
static void test_loop(void)
{
	struct guard_set a = {}, b = {}, out = {};

	parent_set(&a, 5);
	child_set(&b, 6);
	encode_delta(&a, &b, &disk[0]); /* 6 from 5 */
	disk_pid[0] = 6;
	encode_delta(&b, &a, &disk[1]); /* 5 from 6 */
	disk_pid[1] = 5;
	src.known = NULL;
	disk_reads = 0;
	guard_image_decode(disk[0].data, disk[0].len, "guard-regions-6.img", SHIFT, &out);
	unit_ok(guard_delta_resolve(&src, "guard-regions-6.img", &out, 0, NULL) && disk_reads == GUARD_LINEAGE_MAX,
		"refuses_images_that_are_differences_from_each_other", "%d images read", disk_reads);
	guard_set_free(&out);
	guard_buf_free(&disk[0]);
	guard_buf_free(&disk[1]);
	guard_set_free(&a);
	guard_set_free(&b);
}

/* A hand-made difference: head with parent and totals, then entries */

static void put_head(struct guard_buf *b, uint32_t version, uint32_t parent, uint64_t nr, uint64_t pages,
		     uint64_t full_nr, uint64_t full_pages)
{
	GuardHeadEntry h = GUARD_HEAD_ENTRY__INIT;

	h.version = version;
	h.page_shift = SHIFT;
	h.has_pid = true;
	h.pid = 3;
	h.nr_ranges = nr;
	h.nr_pages = pages;
	h.has_parent = parent != 0;
	h.parent = parent;
	h.has_full_ranges = h.has_full_pages = parent != 0;
	h.full_ranges = full_nr;
	h.full_pages = full_pages;
	put_u32(b, GUARD_IMG_COMMON_MAGIC);
	put_u32(b, GUARD_IMG_MAGIC);
	put_msg(b, &h.base);
}

/* One range [vma + gap, vma + gap + len) in pages, removed or added */
static void put_one(struct guard_buf *b, uint64_t vma, uint64_t gap, uint64_t len, bool remove)
{
	GuardRangesEntry e = GUARD_RANGES_ENTRY__INIT;
	uint64_t pages[2] = {gap, len};

	e.vma_start = P(vma);
	e.origin = P(vma);
	e.pages = pages;
	e.n_pages = 2;
	e.has_remove = remove;
	e.remove = remove;
	put_msg(b, &e.base);
}

static void expect_resolve_refused(struct guard_buf *b, const struct guard_set *parent, const char *name,
				   const char *why)
{
	struct guard_set s = {};
	int ret;

	src.known = parent;
	src.known_vpid = 2;
	unit_log_clear();
	ret = guard_image_decode(b->data, b->len, "guard-regions-3.img", SHIFT, &s);
	if (!ret)
		ret = guard_delta_resolve(&src, "guard-regions-3.img", &s, 0, NULL);
	unit_ok(ret != 0 && unit_log_has("guard-regions-3.img") && unit_log_has(why), name, "ret %d, log: %s", ret,
		unit_last_log);
	guard_set_free(&s);
	guard_buf_free(b);
}

static void test_refusals(void)
{
	struct guard_set parent = {};
	struct guard_buf b = {};

	parent_set(&parent, 2);

	/* The parent has 10-11 and 14-16 in VMA 10: removing 12-13 is not a difference */
	put_head(&b, 3, 2, 1, 1, parent.ranges.nr - 1, 1000 + 3 + 4 - 1);
	put_one(&b, 10, 2, 1, true);
	expect_resolve_refused(&b, &parent, "refuses_removing_a_range_the_parent_lacks", "removes a range that is not in");

	put_head(&b, 3, 2, 1, 1, parent.ranges.nr + 1, 1000 + 3 + 4 + 1);
	put_one(&b, 10, 0, 1, false);
	expect_resolve_refused(&b, &parent, "refuses_adding_a_range_the_parent_has", "adds a range that is already in");

	put_head(&b, 3, 2, 1, 1, parent.ranges.nr + 1, 1000 + 3 + 4 + 1);
	put_one(&b, 10, 0, 1, true);
	expect_resolve_refused(&b, &parent, "refuses_a_delta_whose_result_differs_from_its_head_totals",
			       "its head says");

	put_head(&b, 3, 0, 1, 1, 0, 0);
	put_one(&b, 10, 0, 1, true);
	expect_resolve_refused(&b, &parent, "refuses_a_removal_in_an_image_of_a_whole_set", "not a difference");

	put_head(&b, 2, 2, 1, 1, 1, 1);
	put_one(&b, 10, 0, 1, false);
	expect_resolve_refused(&b, &parent, "refuses_a_parent_in_a_version_2_image", "version 2 cannot be a difference");

	put_head(&b, 3, 3, 1, 1, 1, 1);
	put_one(&b, 10, 0, 1, false);
	expect_resolve_refused(&b, &parent, "refuses_an_image_that_is_its_own_parent", "is not another task");

	/* Removals out of order, as a whole set's ranges would be */
	put_head(&b, 3, 2, 2, 2, parent.ranges.nr - 2, 1000 + 3 + 4 - 2);
	put_one(&b, 1000, 3, 1, true);
	put_one(&b, 1000, 1, 1, true);
	expect_resolve_refused(&b, &parent, "refuses_removals_out_of_order", "below");

	guard_set_free(&parent);
}

/* A child that changed nothing, and one that dropped everything */
static void test_edges(void)
{
	struct guard_set parent = {}, same = {}, none = {.pid = 3}, out = {};
	struct guard_buf b = {};

	parent_set(&parent, 2);
	parent_set(&same, 3);
	encode_delta(&parent, &same, &b);
	src.known = &parent;
	src.known_vpid = 2;
	guard_image_decode(b.data, b.len, "guard-regions-3.img", SHIFT, &out);
	UNIT_CHECK(!guard_delta_resolve(&src, "guard-regions-3.img", &out, 0, NULL) && sets_equal(&out, &parent),
		   "an_empty_difference_gives_the_parent_set");
	guard_set_free(&out);
	guard_buf_free(&b);

	encode_delta(&parent, &none, &b);
	guard_image_decode(b.data, b.len, "guard-regions-3.img", SHIFT, &out);
	UNIT_CHECK(!guard_delta_resolve(&src, "guard-regions-3.img", &out, 0, NULL) && out.ranges.nr == 0 && out.nr_groups == 0,
		   "removing_everything_gives_an_empty_set");
	guard_set_free(&out);
	guard_buf_free(&b);
	guard_set_free(&parent);
	guard_set_free(&same);
}

/* Several removals and additions inside one long inherited range */
static void test_split_one_range(void)
{
	struct guard_set parent = {.pid = 2}, child = {.pid = 3}, out = {};
	struct guard_buf b = {};

	add(&parent, 100, 100, 200);
	add(&parent, 100, 300, 301);
	add(&child, 100, 100, 110);
	add(&child, 100, 120, 130);
	add(&child, 100, 190, 201); /* grows the kept tail by one page */
	add(&child, 100, 300, 301);
	encode_delta(&parent, &child, &b);
	src.known = &parent;
	src.known_vpid = 2;
	guard_image_decode(b.data, b.len, "guard-regions-3.img", SHIFT, &out);
	UNIT_CHECK(out.removed && out.removed->ranges.nr == 2 && out.ranges.nr == 1,
		   "two_removals_and_one_addition_inside_one_inherited_range");
	UNIT_CHECK(!guard_delta_resolve(&src, "guard-regions-3.img", &out, 0, NULL) && sets_equal(&out, &child),
		   "removals_split_one_inherited_range_and_the_addition_merges_with_its_tail");
	guard_set_free(&out);
	guard_buf_free(&b);

	/* Removing 150-350 spans the gap between two ranges of the parent */
	put_head(&b, 3, 2, 1, 200, 2, 50);
	put_one(&b, 100, 50, 200, true);
	expect_resolve_refused(&b, &parent, "refuses_a_removal_across_a_gap_of_the_parent",
			       "removes a range that is not in");
	guard_set_free(&parent);
	guard_set_free(&child);
}

int main(void)
{
	test_round_trip();
	test_chain_from_images();
	test_loop();
	test_refusals();
	test_edges();
	test_split_one_range();
	return unit_done();
}
