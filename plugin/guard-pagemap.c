// SPDX-License-Identifier: MIT
/*
 * A guard over a page whose contents CRIU dumped cannot be restored: CRIU
 * writes the contents (restore_priv_vma_content()) into a page that then
 * faults, and the restoring task dies or the restore fails with an error
 * that names no image. Such an image was not made by a dump, so it is
 * refused before any memory is touched. CRIU's pagemap image lists every
 * dumped run of pages (present here, in a parent image or lazy alike).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "criu-pagemap.pb-c.h"
#include "guard-image.h"
#include "guard-log.h"
#include "guard-pagemap.h"

/* pagemap images grow with the task's memory, not with its guards */
#define GUARD_PAGEMAP_MAX_SIZE (1UL << 32)

struct pm_reader {
	const uint8_t *buf;
	size_t len, pos;
	const char *name;
	unsigned int entry; /* 0 = head */
};

#define pm_err(rd, fmt, ...) pr_err("%s: entry %u: " fmt "\n", (rd)->name, (rd)->entry, ##__VA_ARGS__)

static int pm_u32(struct pm_reader *rd, uint32_t *v)
{
	if (rd->len - rd->pos < sizeof(*v))
		return -1;
	memcpy(v, rd->buf + rd->pos, sizeof(*v));
	rd->pos += sizeof(*v);
	return 0;
}

/* 1 with the next entry, 0 at the end, -1 if cut short */
static int pm_entry(struct pm_reader *rd, const uint8_t **msg, uint32_t *size)
{
	if (rd->pos == rd->len)
		return 0;
	if (pm_u32(rd, size) || rd->len - rd->pos < *size) {
		pm_err(rd, "truncated at offset %zu", rd->len);
		return -1;
	}
	*msg = rd->buf + rd->pos;
	rd->pos += *size;
	return 1;
}

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

static int check_entry(struct pm_reader *rd, const CriuGuard__PagemapEntry *pe, unsigned int page_shift,
		       const char *img, const struct guard_set *s)
{
	uint64_t nr = pe->has_nr_pages ? pe->nr_pages : pe->compat_nr_pages;
	const struct guard_range *r;
	uint64_t end;
	size_t i;

	if (nr > (UINT64_MAX - pe->vaddr) >> page_shift) {
		pm_err(rd, "%" PRIu64 " pages at %#" PRIx64 " overflow the address space", nr, pe->vaddr);
		return -1;
	}
	end = pe->vaddr + (nr << page_shift);
	i = first_after(s, pe->vaddr);
	if (i == s->ranges.nr || s->ranges.r[i].start >= end)
		return 0;
	r = &s->ranges.r[i];
	pr_err("%s: entry %u: range %zu (%#" PRIx64 "-%#" PRIx64 ") is a guard over pages whose contents %s "
	       "entry %u (%#" PRIx64 "-%#" PRIx64 ") holds: a page cannot be both\n",
	       img, guard_set_entry_of(s, i), i, r->start, r->end, rd->name, rd->entry, pe->vaddr, end);
	return -1;
}

int guard_pagemap_check_buf(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
			    const char *img, const struct guard_set *s)
{
	struct pm_reader rd = {.buf = buf, .len = len, .name = name};
	CriuGuard__PagemapEntry *pe;
	uint32_t common, magic, size;
	const uint8_t *msg;
	int ret;

	if (pm_u32(&rd, &common) || pm_u32(&rd, &magic) || common != GUARD_IMG_COMMON_MAGIC ||
	    magic != GUARD_PAGEMAP_MAGIC) {
		pr_err("%s: no pagemap image magic\n", name);
		return -1;
	}
	/* The head (pages_id) says nothing about addresses */
	if (pm_entry(&rd, &msg, &size) != 1) {
		pm_err(&rd, "no head entry");
		return -1;
	}
	for (;;) {
		rd.entry++;
		ret = pm_entry(&rd, &msg, &size);
		if (ret <= 0)
			return ret;
		pe = criu_guard__pagemap_entry__unpack(NULL, size, msg);
		if (!pe) {
			pm_err(&rd, "malformed pagemap entry (%u bytes)", size);
			return -1;
		}
		ret = check_entry(&rd, pe, page_shift, img, s);
		criu_guard__pagemap_entry__free_unpacked(pe, NULL);
		if (ret)
			return -1;
	}
}

int guard_pagemap_check(int dirfd, int vpid, unsigned int page_shift, const char *img, const struct guard_set *s)
{
	struct guard_buf b = {};
	char name[GUARD_IMG_NAME_MAX];
	int ret;

	if (!s->ranges.nr)
		return 0;
	snprintf(name, sizeof(name), GUARD_PAGEMAP_NAME_FMT, vpid);
	ret = guard_file_read(dirfd, name, GUARD_PAGEMAP_MAX_SIZE, &b);
	if (ret == -ENOENT)
		pr_err("%s is missing: cannot check the guards of %s against the dumped pages\n", name, img);
	if (!ret)
		ret = guard_pagemap_check_buf(b.data, b.len, name, page_shift, img, s);
	guard_buf_free(&b);
	return ret ? -1 : 0;
}
