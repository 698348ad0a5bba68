// SPDX-License-Identifier: MIT
/*
 * Restore side: put a task's guards back.
 *
 * Private VMAs that CRIU premapped get their guards here, before the task
 * forks its children: children inherit premapped areas, guards included,
 * by copy-on-fork, as in the dumped tree. A child whose area came from
 * its parent reconciles it with its own image. Guards of VMAs that only
 * the restorer maps are handed back to CRIU.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard-delta.h"
#include "guard-image.h"
#include "guard-log.h"
#include "guard-madvise.h"
#include "guard-pagemap.h"
#include "guard-plugin.h"
#include "guard-probe.h"
#include "guard-restore.h"
#include "guard-scan.h"

static bool restore_enabled;

int guard_restore_init(void)
{
	/*
	 * A dump that recorded no guards did not list us: stay out of the way,
	 * but check that its images agree (guard_restore_unlisted()).
	 */
	restore_enabled = check_and_remove_inventory_plugin(GUARD_PLUGIN_NAME, sizeof(GUARD_PLUGIN_NAME) - 1);
	if (!restore_enabled) {
		pr_info("not listed in the inventory: the dump recorded no guards\n");
		return 0;
	}
	/*
	 * Probe once here, in criu, before it forks the tree: every restoring
	 * task inherits the cached answers instead of probing on its own.
	 */
	guard_probe(GUARD_FEAT_MADV_GUARD);
	guard_probe(GUARD_FEAT_PROCESS_MADVISE_SELF);
	return 0;
}

struct task_restore {
	int vpid;
	char img[GUARD_IMG_NAME_MAX];
	const struct cr_plugin_rst_vma *vmas;
	unsigned int nr_vmas;
	struct guard_set set;
	struct guard_set diff; /* the difference image set was made of, if it was one */
	size_t *vma_group;     /* per VMA: index of its group in set, or SIZE_MAX */
	struct guard_scanner self;
	size_t installed, removed, late;
	size_t premapped;      /* ranges that now sit in premapped VMAs */
	size_t known, scanned; /* inherited areas: parent's state known, or scanned */
};

static int install_ranges(struct task_restore *tr, const struct guard_range *r, size_t nr, uint64_t delta,
			  int advice)
{
	size_t bad;
	int ret;

	if (!nr)
		return 0;
	ret = guard_madvise(r, nr, delta, advice, &bad);
	if (ret) {
		errno = -ret;
		pr_perror("vpid %d: can't %s guard %#" PRIx64 "-%#" PRIx64 " (premapped at %#" PRIx64 ")", tr->vpid,
			  advice == MADV_GUARD_INSTALL ? "install" : "remove", r[bad].start, r[bad].end,
			  r[bad].start + delta);
		return -1;
	}
	if (advice == MADV_GUARD_INSTALL)
		tr->installed += nr;
	else
		tr->removed += nr;
	return 0;
}

/*
 * The guards this task put into its premapped VMAs, kept for the children
 * it forks next: an area a child inherits holds exactly its parent's
 * guards for that VMA (same start and end, see prepare_cow_vmas()), so the
 * child can reconcile against them without walking its page tables. A
 * task that finds no state left by its own parent scans instead.
 */
static struct guard_set handed_down;
static pid_t handed_down_by;
static int handed_down_vpid; /* the vpid whose whole set handed_down is */

static bool parent_ranges(uint64_t vma_start, struct guard_ranges *out)
{
	if (!handed_down_by || handed_down_by != getppid())
		return false;
	guard_set_find(&handed_down, vma_start, out);
	return true;
}

/* Called from the plugin's exit: drop what was kept for the children */
void guard_restore_fini(void)
{
	guard_set_free(&handed_down);
	handed_down_by = 0;
	handed_down_vpid = 0;
}

/* Keep @tr's guards for the children, or nothing if none can inherit them */
/*
 * Kept even when no child inherits an area from @tr: a child's image may
 * be the difference from @tr's set (version 3).
 */
static void hand_down(struct task_restore *tr, bool installed)
{
	guard_set_free(&handed_down);
	handed_down_by = 0;
	handed_down_vpid = 0;
	if (!installed)
		return;
	handed_down = tr->set;
	handed_down_by = getpid();
	handed_down_vpid = tr->vpid;
	memset(&tr->set, 0, sizeof(tr->set));
}

struct have_ctx {
	struct guard_ranges *have;
	uint64_t delta;
};

static int add_have(void *arg, const struct page_region *r, size_t n)
{
	struct have_ctx *h = arg;
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = guard_ranges_add(h->have, r[i].start - h->delta, r[i].end - h->delta, 1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The area came from the parent with the parent's guards: remove those
 * this task does not have (before its contents are written), add its own.
 */
static int reconcile(struct task_restore *tr, const struct cr_plugin_rst_vma *v, const struct guard_ranges *want,
		     uint64_t delta)
{
	struct guard_ranges have = {}, from_parent, add = {}, del = {};
	struct have_ctx h = {.have = &have, .delta = delta};
	const struct guard_ranges *had = &have;
	int ret = 0;

	if (parent_ranges(v->vma.start, &from_parent) && tr->diff.parent == handed_down_vpid) {
		/*
		 * The image is the difference from exactly what the parent
		 * left here: its removals and additions are what to do.
		 */
		tr->known++;
		guard_set_find(tr->diff.removed, v->vma.start, &del);
		guard_set_find(&tr->diff, v->vma.start, &add);
		ret = install_ranges(tr, del.r, del.nr, delta, MADV_GUARD_REMOVE);
		if (!ret)
			ret = install_ranges(tr, add.r, add.nr, delta, MADV_GUARD_INSTALL);
		return ret;
	} else if (parent_ranges(v->vma.start, &from_parent)) {
		had = &from_parent;
		tr->known++;
	} else {
		tr->scanned++;
		/* Usually the child keeps most of what its parent had */
		ret = guard_ranges_reserve(&have, want->nr);
		/* The pagemap is opened for the first area that needs a scan only */
		if (!ret && tr->self.pagemap_fd < 0)
			ret = guard_scanner_open(&tr->self, 0);
		if (!ret)
			ret = guard_scan(&tr->self, v->premapped, v->premapped + (v->vma.end - v->vma.start), add_have,
					 &h);
	}
	if (!ret)
		ret = guard_ranges_diff(had, want, &add, &del);
	if (ret) {
		errno = -ret;
		pr_perror("vpid %d: can't read the guards inherited at %#" PRIx64, tr->vpid, v->premapped);
		ret = -1;
	} else {
		ret = install_ranges(tr, del.r, del.nr, delta, MADV_GUARD_REMOVE);
		if (!ret)
			ret = install_ranges(tr, add.r, add.nr, delta, MADV_GUARD_INSTALL);
	}
	guard_ranges_free(&have);
	guard_ranges_free(&add);
	guard_ranges_free(&del);
	return ret;
}

static void group_ranges(const struct task_restore *tr, size_t vma, struct guard_ranges *out)
{
	size_t g = tr->vma_group[vma];

	out->r = g == SIZE_MAX ? NULL : tr->set.ranges.r + tr->set.groups[g].first;
	out->nr = g == SIZE_MAX ? 0 : tr->set.groups[g].nr;
	out->cap = out->nr;
}

/*
 * Premapped VMAs are not locked yet (CRIU locks them once the restorer has
 * installed every guard), so the kernel takes guards into them.
 */
static int restore_premapped(struct task_restore *tr, size_t i)
{
	const struct cr_plugin_rst_vma *v = &tr->vmas[i];
	uint64_t delta = v->premapped - v->vma.start;
	bool inherited = v->rst_flags & CR_PLUGIN_RST_VMA_INHERITED;
	struct guard_ranges want;

	group_ranges(tr, i, &want);
	tr->premapped += want.nr;
	if (!want.nr && !inherited)
		return 0;

	if (inherited)
		return reconcile(tr, v, &want, delta);
	return install_ranges(tr, want.r, want.nr, delta, MADV_GUARD_INSTALL);
}

/*
 * Guards of the VMAs the restorer maps: handed over to CRIU, which copies
 * each range (RESTORE_VMAS contract); our set is freed when the hook returns.
 */
static int hand_over_late(struct task_restore *tr, cr_plugin_add_guard_t add_guard, void *ctx)
{
	struct guard_ranges want;
	size_t i, j;
	int ret;

	for (i = 0; i < tr->nr_vmas; i++) {
		if (tr->vmas[i].premapped)
			continue;
		group_ranges(tr, i, &want);
		for (j = 0; j < want.nr; j++) {
			ret = add_guard(ctx, want.r[j].start, want.r[j].end);
			if (ret) {
				errno = -ret;
				pr_perror("vpid %d: CRIU refused guard %#" PRIx64 "-%#" PRIx64, tr->vpid,
					  want.r[j].start, want.r[j].end);
				return -1;
			}
		}
		tr->late += want.nr;
	}
	return 0;
}

static int restore_vmas(struct task_restore *tr, cr_plugin_add_guard_t add_guard, void *ctx)
{
	unsigned int i;

	tr->self.pagemap_fd = -1;
	for (i = 0; i < tr->nr_vmas; i++) {
		if (tr->vmas[i].premapped && restore_premapped(tr, i)) {
			guard_scanner_close(&tr->self);
			return -1;
		}
	}
	guard_scanner_close(&tr->self);
	return hand_over_late(tr, add_guard, ctx);
}

/* Without MADV_GUARD_INSTALL, restore without guards only if asked to */
static int check_kernel(struct task_restore *tr)
{
	const char *allow = getenv(GUARD_ENV_ALLOW_NO_GUARDS);

	if (guard_probe(GUARD_FEAT_MADV_GUARD) == GUARD_PROBE_YES)
		return 0;
	if (allow && !strcmp(allow, "1")) {
		pr_warn("vpid %d: this kernel lacks MADV_GUARD_INSTALL; restoring WITHOUT its %zu guard ranges "
			"(%s=1)\n",
			tr->vpid, tr->set.ranges.nr, GUARD_ENV_ALLOW_NO_GUARDS);
		return 1;
	}
	pr_err("vpid %d: this kernel lacks MADV_GUARD_INSTALL and cannot restore %zu guard ranges; "
	       "set %s=1 to restore without them\n",
	       tr->vpid, tr->set.ranges.nr, GUARD_ENV_ALLOW_NO_GUARDS);
	return -1;
}

static int read_image(void *arg, int vpid, const char *img, struct guard_set *s)
{
	int ret = guard_image_read(criu_get_image_dir(), vpid, guard_page_shift(), s);

	if (ret == -ENOENT)
		pr_err("%s is missing: the dump recorded guards, so every task has an image\n", img);
	return ret ? -1 : 0;
}

static int load_image(struct task_restore *tr)
{
	struct guard_lineage_src src = {
		.known = &handed_down, .known_vpid = handed_down_vpid, .read = read_image, .page_shift = guard_page_shift()};

	if (read_image(NULL, tr->vpid, tr->img, &tr->set))
		return -1;
	/* A difference from the parent's set: the parent handed it down, or its image has it */
	if (tr->set.parent && guard_delta_resolve(&src, tr->img, &tr->set, 0, &tr->diff))
		return -1;

	tr->vma_group = malloc(sizeof(*tr->vma_group) * (tr->nr_vmas ? tr->nr_vmas : 1));
	if (!tr->vma_group)
		return -1;
	if (guard_validate(tr->img, &tr->set, tr->vmas, tr->nr_vmas, tr->vma_group) ||
	    guard_mm_check(criu_get_image_dir(), tr->vpid, tr->img, &tr->set))
		return -1;
	return guard_pagemap_check(criu_get_image_dir(), tr->vpid, guard_page_shift(), tr->img, &tr->set);
}

/*
 * Not in the inventory, so the dump found no guards and every image it
 * wrote is empty. An image that holds guards means the inventory was
 * changed: refuse rather than drop them.
 */
static int guard_restore_unlisted(int vpid)
{
	struct guard_set s = {};
	char img[GUARD_IMG_NAME_MAX];
	int ret = guard_image_read(criu_get_image_dir(), vpid, guard_page_shift(), &s);

	if (ret == -ENOENT)
		return -ENOTSUP;
	if (ret)
		return -1;
	if (s.ranges.nr) {
		guard_image_name(img, sizeof(img), vpid);
		pr_err("inventory.img: entry 0: does not list plugin \"%s\", but %s holds %zu guard ranges: refusing to "
		       "restore without them\n",
		       GUARD_PLUGIN_NAME, img, s.ranges.nr);
		ret = -1;
	}
	guard_set_free(&s);
	return ret ? -1 : -ENOTSUP;
}

int guard_restore_task(int vpid, const struct cr_plugin_rst_vma *vmas, unsigned int nr_vmas,
		       cr_plugin_add_guard_t add_guard, void *ctx)
{
	struct task_restore tr = {.vpid = vpid, .vmas = vmas, .nr_vmas = nr_vmas};
	uint64_t calls0 = guard_madvise_calls();
	struct timespec t0;
	int ret;

	if (!restore_enabled)
		return guard_restore_unlisted(vpid);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	guard_image_name(tr.img, sizeof(tr.img), vpid);

	ret = load_image(&tr);
	if (!ret)
		ret = check_kernel(&tr);
	if (!ret)
		ret = restore_vmas(&tr, add_guard, ctx);

	if (!ret)
		pr_summary("vpid %d: %zu guard ranges, %" PRIu64 " pages: %zu installed and %zu removed before fork "
			   "(inherited areas: %zu as the parent left them, %zu scanned), %zu left to the restorer, "
			   "%" PRIu64 " madvise calls, %ld us\n",
			   vpid, tr.set.ranges.nr, guard_ranges_pages(&tr.set.ranges, guard_page_shift()), tr.installed,
			   tr.removed, tr.known, tr.scanned, tr.late, guard_madvise_calls() - calls0,
			   guard_elapsed_us(&t0));
	hand_down(&tr, ret == 0);
	guard_set_free(&tr.set);
	guard_set_free(&tr.diff);
	free(tr.vma_group);
	return ret < 0 ? -1 : 0;
}
