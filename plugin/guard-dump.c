// SPDX-License-Identifier: MIT
/*
 * Dump side: find the guard markers of a frozen task and write its image.
 */
#include <errno.h>
#include <inttypes.h>

#include "guard-delta.h"
#include "guard-image.h"
#include "guard-lineage.h"
#include "guard-log.h"
#include "guard-plugin.h"
#include "guard-probe.h"
#include "guard-scan.h"

static bool inventoried;

/*
 * With VM_MAYBE_GUARD ("gu" in smaps) only marked VMAs can hold guards.
 * Without it, any VMA whose page tables can hold a guard marker may.
 */
static bool vma_may_hold_guards(const struct cr_plugin_vma *v, bool have_gu)
{
	if (have_gu)
		return v->attrs & CR_PLUGIN_VMA_MAYBE_GUARD;
	if (v->attrs & CR_PLUGIN_VMA_HUGETLB)
		return false;
	return v->kind != CR_PLUGIN_VMA_SPECIAL;
}

/* Can this kernel have guards at all, and can a dump see them? */
static int check_kernel(int pid)
{
	if (guard_probe(GUARD_FEAT_MADV_GUARD) != GUARD_PROBE_YES)
		return -ENOTSUP; /* no guard can exist: nothing to take over */

	if (guard_probe(GUARD_FEAT_PAGEMAP_SCAN_GUARD) != GUARD_PROBE_YES) {
		pr_err("pid %d: this kernel has guard regions but PAGEMAP_SCAN cannot report them (PAGE_IS_GUARD); "
		       "refusing a dump that would lose them\n",
		       pid);
		return -1;
	}
	return 0;
}

/*
 * One PAGEMAP_SCAN walks any number of VMAs, and each call has a fixed
 * cost (a bounce buffer, the mmap lock) larger than walking a small VMA:
 * a run of VMAs that may hold guards, with nothing between them but
 * holes, is scanned in one go and the ranges are split back by VMA.
 */
struct span_scan {
	struct guard_set *s;
	const struct cr_plugin_vma *vmas;
	unsigned int cur, last; /* VMA the next range falls in, last of the run */
};

/* Split [start, end) at VMA boundaries into the groups of @ss->s */
static int add_split(struct span_scan *ss, uint64_t start, uint64_t end)
{
	struct guard_set *s = ss->s;

	while (start < end) {
		const struct cr_plugin_vma *v;
		uint64_t e;
		int ret;

		while (ss->cur < ss->last && ss->vmas[ss->cur].end <= start)
			ss->cur++;
		v = &ss->vmas[ss->cur];
		if (start < v->start || start >= v->end)
			return -EINVAL;
		/* A range the kernel merged across adjacent VMAs is split again */
		e = end < v->end ? end : v->end;
		if (!s->nr_groups || s->groups[s->nr_groups - 1].vma_start != v->start) {
			ret = guard_set_begin_vma(s, v->start);
			if (ret)
				return ret;
		}
		ret = guard_set_add(s, start, e);
		if (ret)
			return ret;
		start = e;
	}
	return 0;
}

/*
 * -ENOMEM, or -EINVAL when the kernel reports ranges out of order or
 * outside the run. Most ranges fall inside the VMA of the group being
 * filled and do not touch the previous range: those are appended
 * directly, the rest go through add_split().
 */
static int add_scanned(void *arg, const struct page_region *r, size_t n)
{
	struct span_scan *ss = arg;
	struct guard_ranges *gr = &ss->s->ranges;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		struct guard_group *g = ss->s->nr_groups ? &ss->s->groups[ss->s->nr_groups - 1] : NULL;
		const struct cr_plugin_vma *v = &ss->vmas[ss->cur];

		if (g && g->vma_start == v->start && r[i].start >= v->start && r[i].end <= v->end && g->nr &&
		    r[i].start > gr->r[gr->nr - 1].end && r[i].start < r[i].end && gr->nr < gr->cap) {
			gr->r[gr->nr].start = r[i].start;
			gr->r[gr->nr++].end = r[i].end;
			g->nr++;
			continue;
		}
		ret = add_split(ss, r[i].start, r[i].end);
		if (ret)
			return ret;
	}
	return 0;
}

/* The run of scannable VMAs that starts at @first: returns its last index */
static unsigned int span_end(const struct cr_plugin_vma *vmas, unsigned int nr_vmas, unsigned int first, bool have_gu)
{
	unsigned int i = first;

	while (i + 1 < nr_vmas && vma_may_hold_guards(&vmas[i + 1], have_gu))
		i++;
	return i;
}

static int scan_vmas(int pid, const struct cr_plugin_vma *vmas, unsigned int nr_vmas, bool have_gu,
		     struct guard_set *s, unsigned int *scanned)
{
	struct span_scan ss = {.s = s, .vmas = vmas};
	struct guard_scanner sc = {.pagemap_fd = -1};
	unsigned int i;
	int ret = 0;

	for (i = 0; i < nr_vmas; i = ss.last + 1) {
		ss.last = i;
		if (!vma_may_hold_guards(&vmas[i], have_gu))
			continue;
		/* A task without such VMAs costs no pagemap at all */
		if (sc.pagemap_fd < 0) {
			ret = guard_scanner_open(&sc, pid);
			if (ret) {
				errno = -ret;
				pr_perror("pid %d: can't open its pagemap", pid);
				return -1;
			}
		}
		ss.cur = i;
		ss.last = span_end(vmas, nr_vmas, i, have_gu);
		*scanned += ss.last - i + 1;
		ret = guard_scan(&sc, vmas[i].start, vmas[ss.last].end, add_scanned, &ss);
		if (ret) {
			errno = -ret;
			pr_perror("pid %d: PAGEMAP_SCAN of %#" PRIx64 "-%#" PRIx64 " failed", pid, vmas[i].start,
				  vmas[ss.last].end);
			break;
		}
	}

	if (sc.pagemap_fd >= 0)
		guard_scanner_close(&sc);
	return ret ? -1 : 0;
}

/*
 * Tasks without guards dumped before the first task with guards: their
 * (empty) images are written only once some task has guards. A dump
 * without any guard leaves the plugin out of the inventory, and the
 * restore then reads no image at all, so it writes none.
 */
static int *pending;
static unsigned int nr_pending, cap_pending;

static int defer_empty_image(int vpid)
{
	if (nr_pending == cap_pending) {
		unsigned int cap = cap_pending ? 2 * cap_pending : 64;
		int *p = realloc(pending, cap * sizeof(*p));

		if (!p) {
			pr_err("vpid %d: no memory to remember its empty image\n", vpid);
			return -1;
		}
		pending = p;
		cap_pending = cap;
	}
	pending[nr_pending++] = vpid;
	return 0;
}

/* Nothing with guards was met: the held back images are never needed */
void guard_dump_fini(void)
{
	free(pending);
	pending = NULL;
	nr_pending = cap_pending = 0;
	inventoried = false;
	guard_lineage_free();
}

/* The first task with guards: list the plugin, write the images held back */
static int inventory_plugin(unsigned int page_shift)
{
	struct guard_set empty = {};
	uint64_t pages;
	unsigned int i;
	size_t bytes;

	/* A restore without the plugin must refuse instead of dropping guards */
	if (add_inventory_plugin(GUARD_PLUGIN_NAME))
		return -1;
	inventoried = true;
	for (i = 0; i < nr_pending; i++) {
		empty.pid = pending[i];
		if (guard_image_write(criu_get_image_dir(), pending[i], &empty, page_shift, &bytes, &pages))
			return -1;
	}
	free(pending);
	pending = NULL;
	nr_pending = cap_pending = 0;
	return 0;
}

static int write_image(int vpid, const struct guard_set *s, size_t *bytes, uint64_t *pages)
{
	unsigned int shift = guard_page_shift();

	if (!inventoried && !s->ranges.nr && !s->parent)
		return defer_empty_image(vpid);
	if (!inventoried && inventory_plugin(shift))
		return -1;
	return guard_image_write(criu_get_image_dir(), vpid, s, shift, bytes, pages);
}

/*
 * A child's image is the difference from its parent's set when that is
 * smaller: a forked child keeps most of what it inherited.
 */
static int write_task(int pid, int vpid, struct guard_set *s, size_t *bytes, uint64_t *pages)
{
	struct guard_set add = {.pid = vpid}, *del;
	const struct guard_set *parent;
	int parent_vpid, ret;

	parent = guard_lineage_parent(pid, &parent_vpid);
	del = parent ? calloc(1, sizeof(*del)) : NULL;
	if (del && !guard_delta_make(parent, s, &add, del) && add.ranges.nr + del->ranges.nr < s->ranges.nr) {
		add.parent = parent_vpid;
		add.removed = del;
		add.full_ranges = s->ranges.nr;
		add.full_pages = guard_ranges_pages(&s->ranges, guard_page_shift());
		del = NULL;
		ret = write_image(vpid, &add, bytes, pages);
	} else {
		ret = write_image(vpid, s, bytes, pages);
	}
	guard_set_free(&add);
	if (del) {
		guard_set_free(del);
		free(del);
	}
	/* Kept for the children, who are dumped after it */
	if (!ret && s->ranges.nr && guard_lineage_keep(pid, vpid, s)) {
		pr_err("pid %d: no memory to keep its guards for its children\n", pid);
		ret = -1;
	}
	return ret;
}

int guard_dump_task(int pid, int vpid, const struct cr_plugin_vma *vmas, unsigned int nr_vmas, uint32_t *claims)
{
	struct guard_set s = {};
	struct timespec t0;
	unsigned int scanned = 0;
	long discovery_us;
	bool have_gu;
	uint64_t pages = 0;
	size_t bytes = 0, nr;
	int ret;

	/* Another plugin dumps the task's guards */
	if (*claims & CR_PLUGIN_CLAIM_GUARDS)
		return -ENOTSUP;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = check_kernel(pid);
	if (ret)
		return ret;

	have_gu = guard_probe(GUARD_FEAT_SMAPS_GU) == GUARD_PROBE_YES;
	s.pid = vpid;
	ret = scan_vmas(pid, vmas, nr_vmas, have_gu, &s, &scanned);
	/* Discovery: from the hook's entry to the guard list being ready */
	discovery_us = guard_elapsed_us(&t0);
	nr = s.ranges.nr;
	if (!ret)
		ret = write_task(pid, vpid, &s, &bytes, &pages);

	if (!ret)
		pr_summary("pid %d (vpid %d): scanned %u of %u VMAs (%s) in %ld us, %zu guard ranges, %" PRIu64
			   " pages, %zu image bytes, %ld us\n",
			   pid, vpid, scanned, nr_vmas, have_gu ? "smaps gu" : "no gu flag: every VMA that can hold guards",
			   discovery_us, nr, pages, bytes, guard_elapsed_us(&t0));
	guard_set_free(&s);
	if (ret)
		return -1;
	*claims |= CR_PLUGIN_CLAIM_GUARDS;
	return 0;
}
