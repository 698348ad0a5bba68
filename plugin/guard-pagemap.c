// SPDX-License-Identifier: MIT
/*
 * A guard over a page whose contents CRIU dumped cannot be restored: CRIU
 * writes the contents (restore_priv_vma_content()) into a page that then
 * faults, and the restoring task dies or the restore fails with an error
 * that names no image. Such an image was not made by a dump, so it is
 * refused before any memory is touched. CRIU's pagemap image lists every
 * dumped run of pages (present here, in a parent image or lazy alike).
 */
#include <inttypes.h>

#include "criu-images.pb-c.h"
#include "guard-criu-img.h"
#include "guard-log.h"
#include "guard-pagemap.h"

/* The first range of @s that ends after @start, or s->ranges.nr */
static size_t first_after(const struct guard_set *s, uint64_t start)
{
	size_t lo = 0, hi = s->ranges.nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->ranges.r[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int check_entry(const struct criu_img *ci, const CriuGuard__PagemapEntry *pe, unsigned int page_shift,
		       const char *img, const struct guard_set *s)
{
	uint64_t nr = pe->has_nr_pages ? pe->nr_pages : pe->compat_nr_pages;
	const struct guard_range *r;
	uint64_t end;
	size_t i;

	if (nr > (UINT64_MAX - pe->vaddr) >> page_shift) {
		pr_err("%s: entry %u: %" PRIu64 " pages at %#" PRIx64 " overflow the address space\n", ci->name,
		       ci->entry, nr, pe->vaddr);
		return -1;
	}
	end = pe->vaddr + (nr << page_shift);
	i = first_after(s, pe->vaddr);
	if (i == s->ranges.nr || s->ranges.r[i].start >= end)
		return 0;
	r = &s->ranges.r[i];
	pr_err("%s: entry %u: range %zu (%#" PRIx64 "-%#" PRIx64 ") is a guard over pages whose contents %s "
	       "entry %u (%#" PRIx64 "-%#" PRIx64 ") holds: a page cannot be both\n",
	       img, guard_set_entry_of(s, i), i, r->start, r->end, ci->name, ci->entry, pe->vaddr, end);
	return -1;
}

int guard_pagemap_check_buf(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
			    const char *img, const struct guard_set *s)
{
	CriuGuard__PagemapEntry *pe;
	struct criu_img ci;
	const uint8_t *msg;
	uint32_t size;
	int ret;

	if (criu_img_open(&ci, buf, len, name, CRIU_PAGEMAP_MAGIC))
		return -1;
	/* The head (pages_id) says nothing about addresses */
	if (criu_img_next(&ci, &msg, &size) != 1) {
		pr_err("%s: entry 0: no head entry\n", name);
		return -1;
	}
	while ((ret = criu_img_next(&ci, &msg, &size)) == 1) {
		pe = criu_guard__pagemap_entry__unpack(NULL, size, msg);
		if (!pe) {
			pr_err("%s: entry %u: malformed pagemap entry (%u bytes)\n", name, ci.entry, size);
			return -1;
		}
		ret = check_entry(&ci, pe, page_shift, img, s);
		criu_guard__pagemap_entry__free_unpacked(pe, NULL);
		if (ret)
			return -1;
	}
	return ret;
}

int guard_pagemap_check(int dirfd, int vpid, unsigned int page_shift, const char *img, const struct guard_set *s)
{
	struct guard_buf b = {};
	char name[GUARD_IMG_NAME_MAX];
	int ret;

	if (!s->ranges.nr)
		return 0;
	ret = criu_img_read(dirfd, GUARD_PAGEMAP_NAME_FMT, vpid, name, sizeof(name), &b);
	if (!ret)
		ret = guard_pagemap_check_buf(b.data, b.len, name, page_shift, img, s);
	guard_buf_free(&b);
	return ret ? -1 : 0;
}

/* CRIU's VMA status bits (criu/include/image.h) of mappings that are not ordinary memory */
#define VMA_AREA_REGULAR (1U << 0)
#define VMA_SPECIAL                                                                                          \
	((1U << 2) /* VSYSCALL */ | (1U << 3) /* VDSO */ | (1U << 11) /* SOCKET */ | (1U << 12) /* VVAR */ | \
	 (1U << 13) /* AIORING */ | (1U << 15) /* SHSTK */ | (1U << 17) /* UPROBES */ | (1U << 31) /* UNSUPP */)

static const char *special_name(uint32_t status)
{
	if (status & (1U << 3))
		return "[vdso]";
	if (status & (1U << 12))
		return "[vvar]";
	if (status & (1U << 13))
		return "an AIO ring";
	if (status & (1U << 2))
		return "[vsyscall]";
	return "not ordinary memory";
}

/*
 * With the plugin in the inventory, the dump recorded guards in guard
 * images and CRIU none in mm.img (DUMP_VMAS skips its scan). A
 * VMA_AREA_GUARD entry there was put in afterwards: CRIU would install it
 * beside ours with none of our checks. And a guard in a kernel-managed
 * VMA ([vdso], [vvar], AIO rings, ...) cannot be restored: the kernel
 * maps those anew, and a guard there vanishes or kills the task.
 */
static int check_vma(const char *name, size_t i, const CriuGuard__VmaEntry *v, const char *img,
		     const struct guard_set *s)
{
	const struct guard_range *r;
	size_t g;

	if (v->status & GUARD_VMA_AREA_GUARD) {
		pr_err("%s: entry 0: VMA %zu (%#" PRIx64 "-%#" PRIx64 ") is a VMA_AREA_GUARD guard range, but this "
		       "dump records guards in %s: refusing guards that bypass its checks\n",
		       name, i, v->start, v->end, img);
		return -1;
	}
	if (!(v->status & VMA_SPECIAL) && (v->status & VMA_AREA_REGULAR))
		return 0;
	g = first_after(s, v->start);
	if (g == s->ranges.nr || s->ranges.r[g].start >= v->end)
		return 0;
	r = &s->ranges.r[g];
	pr_err("%s: entry %u: range %zu (%#" PRIx64 "-%#" PRIx64 ") lies in %s VMA %zu (%#" PRIx64 "-%#" PRIx64
	       ", status %#x), which is %s: it cannot hold guards\n",
	       img, guard_set_entry_of(s, g), g, r->start, r->end, name, i, v->start, v->end, v->status,
	       special_name(v->status));
	return -1;
}

int guard_mm_check_buf(const uint8_t *buf, size_t len, const char *name, const char *img, const struct guard_set *s)
{
	CriuGuard__MmEntry *mm;
	struct criu_img ci;
	const uint8_t *msg;
	uint32_t size;
	size_t i;
	int ret = 0;

	if (criu_img_open(&ci, buf, len, name, CRIU_MM_MAGIC))
		return -1;
	if (criu_img_next(&ci, &msg, &size) != 1) {
		pr_err("%s: entry 0: no mm entry\n", name);
		return -1;
	}
	mm = criu_guard__mm_entry__unpack(NULL, size, msg);
	if (!mm) {
		pr_err("%s: entry 0: malformed mm entry (%u bytes)\n", name, size);
		return -1;
	}
	for (i = 0; i < mm->n_vmas && !ret; i++)
		ret = check_vma(name, i, mm->vmas[i], img, s);
	criu_guard__mm_entry__free_unpacked(mm, NULL);
	return ret;
}

int guard_mm_check(int dirfd, int vpid, const char *img, const struct guard_set *s)
{
	struct guard_buf b = {};
	char name[GUARD_IMG_NAME_MAX];
	int ret;

	ret = criu_img_read(dirfd, GUARD_MM_NAME_FMT, vpid, name, sizeof(name), &b);
	if (!ret)
		ret = guard_mm_check_buf(b.data, b.len, name, img, s);
	guard_buf_free(&b);
	return ret ? -1 : 0;
}
