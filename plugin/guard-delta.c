// SPDX-License-Identifier: MIT
/*
 * A task's guards as a difference from its parent's: a forked child
 * inherits its parent's guards and usually changes a few, so its image
 * can store the ranges it removed from and added to its parent's set
 * (format version 3, docs/image-format.md) instead of all of them.
 *
 * Groups are matched by the start of their VMA. A parent group whose VMA
 * the child lacks is removed whole; a child group without a parent group
 * is added whole. Both sides work on canonical sets: sorted, and within a
 * group adjacent ranges merged (as the scan and the decoder build them).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "guard-delta.h"
#include "guard-image.h"
#include "guard-log.h"

static void group_ranges(const struct guard_set *s, size_t g, struct guard_ranges *out)
{
	out->r = s->ranges.r + s->groups[g].first;
	out->nr = out->cap = s->groups[g].nr;
}

static void no_ranges(struct guard_ranges *out)
{
	out->r = NULL;
	out->nr = out->cap = 0;
}

/* Append @r to @s as (part of) the group of @vma_start */
static int set_append(struct guard_set *s, uint64_t vma_start, const struct guard_ranges *r)
{
	size_t i;
	int ret;

	if (!r->nr)
		return 0;
	if (!s->nr_groups || s->groups[s->nr_groups - 1].vma_start != vma_start) {
		ret = guard_set_begin_vma(s, vma_start);
		if (ret)
			return ret;
	}
	for (i = 0; i < r->nr; i++) {
		ret = guard_set_add(s, r->r[i].start, r->r[i].end);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Walk the groups of @a and @b in order of their VMA start; @fn gets the
 * ranges of both for each VMA start that either has.
 */
typedef int (*pair_fn)(void *arg, uint64_t vma_start, const struct guard_ranges *a, const struct guard_ranges *b);

static int walk_pairs(const struct guard_set *a, const struct guard_set *b, pair_fn fn, void *arg)
{
	size_t i = 0, j = 0;
	int ret;

	while (i < a->nr_groups || j < b->nr_groups) {
		struct guard_ranges ra, rb;
		uint64_t key;

		if (j == b->nr_groups || (i < a->nr_groups && a->groups[i].vma_start < b->groups[j].vma_start))
			key = a->groups[i].vma_start;
		else
			key = b->groups[j].vma_start;
		no_ranges(&ra);
		no_ranges(&rb);
		if (i < a->nr_groups && a->groups[i].vma_start == key)
			group_ranges(a, i++, &ra);
		if (j < b->nr_groups && b->groups[j].vma_start == key)
			group_ranges(b, j++, &rb);
		ret = fn(arg, key, &ra, &rb);
		if (ret)
			return ret;
	}
	return 0;
}

struct make_ctx {
	struct guard_set *add, *del;
};

static int make_one(void *arg, uint64_t vma_start, const struct guard_ranges *parent, const struct guard_ranges *child)
{
	struct make_ctx *m = arg;
	struct guard_ranges add = {}, del = {};
	int ret;

	ret = guard_ranges_diff(parent, child, &add, &del);
	if (!ret)
		ret = set_append(m->del, vma_start, &del);
	if (!ret)
		ret = set_append(m->add, vma_start, &add);
	guard_ranges_free(&add);
	guard_ranges_free(&del);
	return ret;
}

int guard_delta_make(const struct guard_set *parent, const struct guard_set *child, struct guard_set *add,
		     struct guard_set *del)
{
	struct make_ctx m = {.add = add, .del = del};

	return walk_pairs(parent, child, make_one, &m);
}

struct apply_ctx {
	const struct guard_set *add;
	size_t next_add; /* next group of add to merge in */
	struct guard_set *out;
	uint64_t bad_vma;	       /* VMA of the refused difference */
	const struct guard_range *bad; /* the refused removal or addition */
	int why;		       /* GUARD_DELTA_* of the refusal */
};

/*
 * Applying a difference to a group of 100,000 inherited ranges must not
 * cost 100,000 list operations for a handful of changes: runs of ranges
 * between the changes are copied whole.
 */

/* First index in [lo, r->nr) whose range starts at or after @addr */
static size_t first_from(const struct guard_ranges *r, size_t lo, uint64_t addr)
{
	size_t hi = r->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->r[mid].start < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int push(struct guard_ranges *out, uint64_t start, uint64_t end)
{
	return guard_ranges_add(out, start, end, 0);
}

/* Append the canonical r[0..n) to @out: memcpy, room made by doubling */
static int copy_run(struct guard_ranges *out, const struct guard_range *r, size_t n)
{
	size_t need = out->nr + n;
	int ret;

	if (!n)
		return 0;
	if (need > out->cap) {
		ret = guard_ranges_reserve(out, need > 2 * out->cap ? need : 2 * out->cap);
		if (ret)
			return ret;
	}
	memcpy(out->r + out->nr, r, n * sizeof(*r));
	out->nr = need;
	return 0;
}

/*
 * @kept = @base without @del; -EINVAL if a removal is not wholly inside one
 * range of @base (it would remove what the parent does not have).
 */
static int subtract(const struct guard_ranges *base, const struct guard_ranges *del, struct guard_ranges *kept,
		    const struct guard_range **bad)
{
	struct guard_range cur = {};
	size_t i = 0, d, k;
	int ret = 0;

	for (d = 0; !ret && d < del->nr; d++) {
		const struct guard_range *rm = &del->r[d];

		if (cur.start >= cur.end || rm->start < cur.start || rm->end > cur.end) {
			if (cur.start < cur.end && (ret = push(kept, cur.start, cur.end)))
				break;
			/* The range of base that holds rm->start: the last one starting at or before it */
			k = first_from(base, i, rm->start + 1);
			if (k == i || base->r[k - 1].end < rm->end) {
				*bad = rm;
				return -EINVAL;
			}
			ret = copy_run(kept, base->r + i, k - 1 - i);
			cur = base->r[k - 1];
			i = k;
		}
		if (!ret && cur.start < rm->start)
			ret = push(kept, cur.start, rm->start);
		cur.start = rm->end;
	}
	if (!ret && cur.start < cur.end)
		ret = push(kept, cur.start, cur.end);
	if (!ret)
		ret = copy_run(kept, base->r + i, base->nr - i);
	return ret;
}

/* Append r[0..n) to the last group of @s, the first one through the checks of guard_set_add() */
static int set_run(struct guard_set *s, const struct guard_range *r, size_t n)
{
	int ret;

	if (!n)
		return 0;
	ret = guard_set_add(s, r[0].start, r[0].end);
	if (ret)
		return ret;
	n--;
	ret = copy_run(&s->ranges, r + 1, n);
	if (!ret)
		s->groups[s->nr_groups - 1].nr += n;
	return ret;
}

/* Merge the sorted, disjoint @kept and @add into the group of @vma_start */
static int merge_into(struct apply_ctx *c, uint64_t vma_start, const struct guard_ranges *kept,
		      const struct guard_ranges *add)
{
	size_t i = 0, j, p;
	int ret;

	if (!kept->nr && !add->nr)
		return 0;
	ret = guard_set_begin_vma(c->out, vma_start);
	for (j = 0; !ret && j < add->nr; j++) {
		p = first_from(kept, i, add->r[j].start);
		ret = set_run(c->out, kept->r + i, p - i);
		/* An added range that overlaps a kept one is not a difference */
		if (!ret)
			ret = guard_set_add(c->out, add->r[j].start, add->r[j].end);
		if (ret == -EINVAL)
			c->bad = &add->r[j];
		i = p;
	}
	if (!ret)
		ret = set_run(c->out, kept->r + i, kept->nr - i);
	if (ret == -EINVAL) {
		c->why = GUARD_DELTA_ADDS_HELD;
		if (!c->bad)
			c->bad = &add->r[add->nr - 1];
	}
	return ret;
}

static int apply_one(void *arg, uint64_t vma_start, const struct guard_ranges *base, const struct guard_ranges *del)
{
	struct apply_ctx *c = arg;
	struct guard_ranges kept = {}, add;
	int ret;

	/* Groups of @add whose VMA neither @base nor the removals have */
	while (c->next_add < c->add->nr_groups && c->add->groups[c->next_add].vma_start < vma_start) {
		group_ranges(c->add, c->next_add, &add);
		ret = merge_into(c, c->add->groups[c->next_add++].vma_start, &kept, &add);
		if (ret)
			goto fail;
	}
	no_ranges(&add);
	if (c->next_add < c->add->nr_groups && c->add->groups[c->next_add].vma_start == vma_start)
		group_ranges(c->add, c->next_add++, &add);

	if (!del->nr) {
		ret = merge_into(c, vma_start, base, &add);
		goto fail;
	}
	ret = subtract(base, del, &kept, &c->bad);
	if (ret == -EINVAL)
		c->why = GUARD_DELTA_REMOVES_UNHELD;
	if (!ret)
		ret = merge_into(c, vma_start, &kept, &add);
fail:
	if (ret)
		c->bad_vma = vma_start;
	guard_ranges_free(&kept);
	return ret;
}

int guard_delta_apply(const struct guard_set *base, const struct guard_set *add, const struct guard_set *del,
		      struct guard_set *out, uint64_t *bad_vma, size_t *bad_range)
{
	struct apply_ctx c = {.add = add, .out = out, .why = GUARD_DELTA_NOMEM};
	struct guard_ranges empty = {}, rest;
	int ret;

	ret = walk_pairs(base, del, apply_one, &c);
	/* Groups of @add past every VMA of @base and of the removals */
	while (!ret && c.next_add < add->nr_groups) {
		group_ranges(add, c.next_add, &rest);
		ret = merge_into(&c, add->groups[c.next_add++].vma_start, &empty, &rest);
		if (ret)
			c.bad_vma = add->groups[c.next_add - 1].vma_start;
	}
	if (!ret)
		return 0;
	*bad_vma = c.bad_vma;
	/* Index of the refused range in its set, for the entry it came from */
	if (c.bad && c.why == GUARD_DELTA_REMOVES_UNHELD)
		*bad_range = c.bad - del->ranges.r;
	else if (c.bad)
		*bad_range = c.bad - add->ranges.r;
	return ret == -ENOMEM ? GUARD_DELTA_NOMEM : c.why;
}

static const char *refusal(int why)
{
	switch (why) {
	case GUARD_DELTA_NOMEM:
		return "has no memory to apply";
	case GUARD_DELTA_ADDS_HELD:
		return "adds a range that is already in";
	}
	return "removes a range that is not in";
}

/* The whole set of @s's parent, from @src or from its image, into @from_disk */
static const struct guard_set *parent_set(const struct guard_lineage_src *src, const char *img,
					  const struct guard_set *s, int depth, struct guard_set *from_disk)
{
	char name[GUARD_IMG_NAME_MAX];

	if (src->known && src->known_vpid == s->parent)
		return src->known;
	if (depth >= GUARD_LINEAGE_MAX) {
		pr_err("%s: entry 0: more than %d images of parents to follow: a loop\n", img, GUARD_LINEAGE_MAX);
		return NULL;
	}
	guard_image_name(name, sizeof(name), s->parent);
	if (src->read(src->arg, s->parent, name, from_disk) ||
	    (from_disk->parent && guard_delta_resolve(src, name, from_disk, depth + 1, NULL))) {
		pr_err("%s: entry 0: a difference from %s, which cannot be read\n", img, name);
		guard_set_free(from_disk);
		return NULL;
	}
	return from_disk;
}

int guard_delta_resolve(const struct guard_lineage_src *src, const char *img, struct guard_set *s, int depth,
			struct guard_set *diff)
{
	static const struct guard_set none;
	struct guard_set from_disk = {}, whole = {};
	const struct guard_set *base;
	const struct guard_set *del = s->removed ? s->removed : &none;
	size_t bad_range = 0;
	uint64_t bad_vma = 0;
	int why;

	base = parent_set(src, img, s, depth, &from_disk);
	if (!base)
		return -1;
	why = guard_delta_apply(base, s, del, &whole, &bad_vma, &bad_range);
	guard_set_free(&from_disk);
	if (why) {
		pr_err("%s: entry %u: the VMA at %#" PRIx64 " %s the guards of its parent %d\n", img,
		       guard_set_entry_of(why == GUARD_DELTA_REMOVES_UNHELD ? del : s, bad_range), bad_vma,
		       refusal(why), s->parent);
		goto err;
	}
	if (whole.ranges.nr != s->full_ranges || guard_ranges_pages(&whole.ranges, src->page_shift) != s->full_pages) {
		pr_err("%s: entry 0: applied to the guards of its parent %d it gives %zu ranges of %" PRIu64
		       " pages, its head says %" PRIu64 " of %" PRIu64 "\n",
		       img, s->parent, whole.ranges.nr, guard_ranges_pages(&whole.ranges, src->page_shift), s->full_ranges,
		       s->full_pages);
		goto err;
	}
	whole.pid = s->pid;
	if (diff) {
		*diff = *s;
	} else {
		guard_set_free(s);
	}
	*s = whole;
	return 0;
err:
	guard_set_free(&whole);
	return -1;
}
