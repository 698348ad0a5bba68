// SPDX-License-Identifier: MIT
/*
 * The workload's model of its own memory and the checks run in every
 * process after restore (and once before the dump, to validate the model):
 *
 *  (a) the guard page set of every region, via PAGEMAP_SCAN/PAGE_IS_GUARD,
 *      and no guard page anywhere else in the address space (on a kernel
 *      without guard regions: that no guard is expected);
 *  (b) SIGSEGV on a read of every guard page;
 *  (c) byte-identical contents of every other page;
 *  (d) "gu" in smaps VmFlags of every VMA holding a guard, "lo" on the
 *      VMAs of locked regions;
 *  (e) no "gu" on a VMA after restore where there was none before the dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard-probe.h"
#include "guard-uapi.h"
#include "itest.h"
#include "region.h"

#define MAX_REGIONS    1024
#define PAGE_WORDS     (IT_PAGE_SIZE / sizeof(uint64_t))
#define SCAN_VEC_LEN   512
#define USER_SPACE_END 0x7ffffffff000ULL /* TASK_SIZE with 4-level paging */

static struct region regions[MAX_REGIONS];
static int nr_regions;

struct vma {
	uint64_t start, end;
	char flags[128];
};

struct vma_list {
	struct vma *v;
	size_t nr, cap;
};

/* First failure wins; the rest of the checks still run. */
struct report {
	char *msg;
	size_t size;
	int failed;
};

static void report(struct report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(rep->msg, rep->size, fmt, ap);
	va_end(ap);
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void region_page_content(uint64_t *words, uint32_t seed, size_t idx)
{
	uint64_t base = ((uint64_t)seed << 32) ^ (idx * 0x9e3779b97f4a7c15ULL);
	size_t i;

	if (seed == SEED_ZERO) {
		memset(words, 0, IT_PAGE_SIZE);
		return;
	}
	for (i = 0; i < PAGE_WORDS; i++)
		words[i] = mix64(base + i);
}

static char *page_addr(struct region *r, size_t idx)
{
	return r->addr + idx * IT_PAGE_SIZE;
}

struct region *region_add(const char *name, void *addr, size_t nr_pages, unsigned int flags)
{
	struct region *r;

	if (nr_regions == MAX_REGIONS)
		return NULL;
	r = &regions[nr_regions];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->addr = addr;
	r->nr_pages = nr_pages;
	r->flags = flags;
	r->guard = calloc(nr_pages, sizeof(*r->guard));
	r->seed = calloc(nr_pages, sizeof(*r->seed));
	if (!r->guard || !r->seed) {
		free(r->guard);
		free(r->seed);
		return NULL;
	}
	nr_regions++;
	return r;
}

struct region *region_map(const char *name, size_t nr_pages, int prot, int flags, int fd)
{
	void *addr = mmap(NULL, nr_pages * IT_PAGE_SIZE, prot, flags, fd, 0);
	struct region *r;

	if (addr == MAP_FAILED)
		return NULL;
	r = region_add(name, addr, nr_pages, 0);
	if (!r)
		munmap(addr, nr_pages * IT_PAGE_SIZE);
	return r;
}

/* Writes @seed's content into every non-guard page of the range. */
void region_fill(struct region *r, size_t first, size_t nr, uint32_t seed)
{
	size_t i;

	for (i = first; i < first + nr; i++) {
		if (r->guard[i])
			continue;
		region_page_content((uint64_t *)page_addr(r, i), seed, i);
		r->seed[i] = seed;
	}
}

/* Records what the pages hold without writing them (read-only maps). */
void region_expect(struct region *r, size_t first, size_t nr, uint32_t seed)
{
	size_t i;

	for (i = first; i < first + nr; i++)
		r->seed[i] = seed;
}

/* The kernel dropped the region's guards and contents (WIPEONFORK child) */
void region_wiped(struct region *r)
{
	memset(r->guard, 0, r->nr_pages);
	region_expect(r, 0, r->nr_pages, SEED_ZERO);
}

/* The process no longer has the region (unmapped, moved, not inherited) */
void region_forget(struct region *r)
{
	free(r->guard);
	free(r->seed);
	r->guard = NULL;
	r->seed = NULL;
	r->nr_pages = 0;
}

/* @dst now holds what @src held (mremap) */
void region_copy_model(struct region *dst, const struct region *src)
{
	memcpy(dst->guard, src->guard, dst->nr_pages * sizeof(*dst->guard));
	memcpy(dst->seed, src->seed, dst->nr_pages * sizeof(*dst->seed));
}

int region_guard(struct region *r, size_t first, size_t nr)
{
	if (madvise(page_addr(r, first), nr * IT_PAGE_SIZE, MADV_GUARD_INSTALL))
		return -1;
	memset(r->guard + first, 1, nr);
	return 0;
}

/* @seed: what the pages hold once the markers are gone (zero, file, shmem) */
int region_unguard(struct region *r, size_t first, size_t nr, uint32_t seed)
{
	if (madvise(page_addr(r, first), nr * IT_PAGE_SIZE, MADV_GUARD_REMOVE))
		return -1;
	memset(r->guard + first, 0, nr);
	region_expect(r, first, nr, seed);
	return 0;
}

static unsigned long region_guard_pages(const struct region *r)
{
	unsigned long nr = 0;
	size_t i;

	for (i = 0; i < r->nr_pages; i++)
		nr += r->guard[i];
	return nr;
}

unsigned long regions_guard_pages(void)
{
	unsigned long nr = 0;
	int j;

	for (j = 0; j < nr_regions; j++)
		nr += region_guard_pages(&regions[j]);
	return nr;
}

/*
 * Calls @cb for every guard range in [start, end), following walk_end
 * until the kernel has walked the whole range.
 */
static int scan_guards(int fd, uint64_t start, uint64_t end,
		       void (*cb)(uint64_t s, uint64_t e, void *arg), void *arg)
{
	struct page_region vec[SCAN_VEC_LEN];
	struct pm_scan_arg pa;
	int n, i;

	while (start < end) {
		memset(&pa, 0, sizeof(pa));
		pa.size = sizeof(pa);
		pa.start = start;
		pa.end = end;
		pa.vec = (uintptr_t)vec;
		pa.vec_len = SCAN_VEC_LEN;
		pa.category_mask = PAGE_IS_GUARD;
		pa.return_mask = PAGE_IS_GUARD;
		n = ioctl(fd, PAGEMAP_SCAN, &pa);
		if (n < 0)
			return -1;
		for (i = 0; i < n; i++)
			cb(vec[i].start, vec[i].end, arg);
		if (pa.walk_end <= start)
			return -1;
		/*
		 * 6.18 may report a walk_end behind the ranges it returned
		 * (when vec_len exceeds its 512-entry buffer): never rescan.
		 */
		start = pa.walk_end;
		if (n && vec[n - 1].end > start)
			start = vec[n - 1].end;
	}
	return 0;
}

struct mark_arg {
	struct region *r;
	uint8_t *actual;
};

static void mark_guards(uint64_t s, uint64_t e, void *arg)
{
	struct mark_arg *ma = arg;
	uint64_t base = (uintptr_t)ma->r->addr;

	memset(ma->actual + (s - base) / IT_PAGE_SIZE, 1, (e - s) / IT_PAGE_SIZE);
}

static void compare_guards(struct region *r, const uint8_t *actual, struct report *rep)
{
	size_t i, want = 0, got = 0;
	ssize_t first = -1;

	for (i = 0; i < r->nr_pages; i++) {
		want += r->guard[i];
		got += actual[i];
		if (first < 0 && r->guard[i] != actual[i])
			first = i;
	}
	if (first < 0)
		return;
	report(rep, "%s: guard set differs: page %zd (%p) %s; %zu guard pages expected, %zu found",
	       r->name, first, page_addr(r, first),
	       actual[first] ? "is a guard but should not be" : "lost its guard", want, got);
}

/*
 * A kernel without guard regions (before 6.13) refuses PAGE_IS_GUARD in
 * PAGEMAP_SCAN with EINVAL, and no page can be a guard there: (a) then holds
 * exactly when no guard is expected. Asked only after such a failure, so the
 * probe's scratch mapping never runs on kernels that can scan.
 */
static bool scan_refused_without_guards(unsigned long expected)
{
	return errno == EINVAL && !expected &&
	       guard_probe(GUARD_FEAT_MADV_GUARD) == GUARD_PROBE_NO;
}

/* (a) */
static void check_guard_set(int fd, struct region *r, struct report *rep)
{
	struct mark_arg ma = {.r = r};
	uint64_t start = (uintptr_t)r->addr;

	ma.actual = calloc(r->nr_pages, 1);
	if (!ma.actual) {
		report(rep, "%s: out of memory", r->name);
		return;
	}
	if (scan_guards(fd, start, start + r->nr_pages * IT_PAGE_SIZE, mark_guards, &ma)) {
		if (!scan_refused_without_guards(region_guard_pages(r)))
			report(rep, "%s: PAGEMAP_SCAN: %s", r->name, strerror(errno));
	} else {
		compare_guards(r, ma.actual, rep);
	}
	free(ma.actual);
}

static struct region *region_of(uint64_t addr)
{
	int j;

	for (j = 0; j < nr_regions; j++) {
		uint64_t s = (uintptr_t)regions[j].addr;

		if (addr >= s && addr < s + regions[j].nr_pages * IT_PAGE_SIZE)
			return &regions[j];
	}
	return NULL;
}

struct stray_arg {
	uint64_t total;
	uint64_t stray;
};

static void count_stray(uint64_t s, uint64_t e, void *arg)
{
	struct stray_arg *sa = arg;

	sa->total += (e - s) / IT_PAGE_SIZE;
	for (; s < e; s += IT_PAGE_SIZE)
		if (!region_of(s) && !sa->stray)
			sa->stray = s;
}

/* (a) no guard outside the regions */
static void check_no_stray_guards(int fd, struct report *rep)
{
	struct stray_arg sa = {};

	if (scan_guards(fd, 0, USER_SPACE_END, count_stray, &sa)) {
		if (!scan_refused_without_guards(regions_guard_pages()))
			report(rep, "PAGEMAP_SCAN of the address space: %s", strerror(errno));
		return;
	}
	if (sa.stray)
		report(rep, "unexpected guard page at %#llx outside every region",
		       (unsigned long long)sa.stray);
	else if (sa.total != regions_guard_pages())
		report(rep, "%llu guard pages in the address space, %lu expected",
		       (unsigned long long)sa.total, regions_guard_pages());
}

static sigjmp_buf probe_env;
static volatile sig_atomic_t probing;

static void segv_handler(int sig)
{
	if (probing)
		siglongjmp(probe_env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Returns 1 if reading @p faults, 0 if not. */
static int read_faults(const volatile char *p)
{
	if (sigsetjmp(probe_env, 1)) {
		probing = 0;
		return 1;
	}
	probing = 1;
	(void)*p;
	probing = 0;
	return 0;
}

/* (b) */
static void check_guards_fault(struct region *r, struct report *rep)
{
	size_t i;

	for (i = 0; i < r->nr_pages; i++) {
		if (!r->guard[i] || read_faults(page_addr(r, i)))
			continue;
		report(rep, "%s: page %zu (%p) is a guard but reading it did not fault",
		       r->name, i, page_addr(r, i));
		return;
	}
}

static void report_content(struct region *r, size_t idx, const uint64_t *want, struct report *rep)
{
	const uint64_t *got = (const uint64_t *)page_addr(r, idx);
	size_t w = 0;

	while (w < PAGE_WORDS - 1 && got[w] == want[w])
		w++;
	report(rep, "%s: page %zu (%p) differs at byte %zu: %#llx, expected %#llx (seed %u)",
	       r->name, idx, page_addr(r, idx), w * 8, (unsigned long long)got[w],
	       (unsigned long long)want[w], r->seed[idx]);
}

/* (c) */
static void check_contents(struct region *r, struct report *rep)
{
	uint64_t want[PAGE_WORDS];
	size_t i;

	for (i = 0; i < r->nr_pages; i++) {
		if (r->guard[i] || r->seed[i] == SEED_ANY)
			continue;
		if (read_faults(page_addr(r, i))) {
			report(rep, "%s: page %zu (%p) faults but is not a guard",
			       r->name, i, page_addr(r, i));
			return;
		}
		region_page_content(want, r->seed[i], i);
		if (memcmp(page_addr(r, i), want, IT_PAGE_SIZE)) {
			report_content(r, i, want, rep);
			return;
		}
	}
}

static int read_smaps(struct vma_list *vl)
{
	char *text = it_read_file("/proc/self/smaps", NULL), *line, *save;
	struct vma *cur = NULL;
	unsigned long s, e;

	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			if (vl->nr == vl->cap) {
				vl->cap = vl->cap ? vl->cap * 2 : 256;
				vl->v = realloc(vl->v, vl->cap * sizeof(*vl->v));
				if (!vl->v)
					goto err;
			}
			cur = &vl->v[vl->nr++];
			cur->start = s;
			cur->end = e;
			cur->flags[0] = '\0';
		} else if (cur && !strncmp(line, "VmFlags:", 8)) {
			snprintf(cur->flags, sizeof(cur->flags), "%s ", line + 8);
		}
	}
	free(text);
	return 0;
err:
	free(text);
	return -1;
}

static bool has_flag(const struct vma *v, const char *flag)
{
	char pat[8];

	snprintf(pat, sizeof(pat), " %s ", flag);
	return strstr(v->flags, pat) != NULL;
}

static bool vma_has_guard(struct region *r, const struct vma *v)
{
	uint64_t base = (uintptr_t)r->addr, a;

	for (a = v->start; a < v->end; a += IT_PAGE_SIZE) {
		if (a < base || a >= base + r->nr_pages * IT_PAGE_SIZE)
			continue;
		if (r->guard[(a - base) / IT_PAGE_SIZE])
			return true;
	}
	return false;
}

/* (d) */
static void check_vmflags(struct region *r, const struct vma_list *vl, struct report *rep)
{
	uint64_t s = (uintptr_t)r->addr, e = s + r->nr_pages * IT_PAGE_SIZE;
	size_t i;

	for (i = 0; i < vl->nr; i++) {
		const struct vma *v = &vl->v[i];

		if (v->end <= s || v->start >= e)
			continue;
		if (vma_has_guard(r, v) && !has_flag(v, "gu"))
			report(rep, "%s: VMA %#llx-%#llx holds guards but has no \"gu\" (VmFlags:%s)",
			       r->name, (unsigned long long)v->start,
			       (unsigned long long)v->end, v->flags);
		if ((r->flags & REGION_LOCKED) && !has_flag(v, "lo"))
			report(rep, "%s: VMA %#llx-%#llx is not locked (VmFlags:%s)",
			       r->name, (unsigned long long)v->start,
			       (unsigned long long)v->end, v->flags);
		if ((r->flags & REGION_UNLOCKED) && has_flag(v, "lo"))
			report(rep, "%s: VMA %#llx-%#llx is locked (VmFlags:%s)",
			       r->name, (unsigned long long)v->start,
			       (unsigned long long)v->end, v->flags);
	}
}

/*
 * (e) A restore must not spread "gu" (VM_MAYBE_GUARD, sticky on merge) to
 * VMAs that never held a guard, e.g. by installing a guard into a VMA that
 * the kernel merged with a neighbour for a while (a later split leaves
 * "gu" on both halves). Remember the "gu" VMAs seen before the dump;
 * afterwards every "gu" VMA must overlap one. (A VMA that CRIU merges with
 * a guarded neighbour for good, where the dumped task had two, overlaps
 * and passes: see docs/design.md.)
 */
static struct vma_list gu_before;
static bool gu_recorded;

static bool overlaps_gu_before(const struct vma *v)
{
	size_t i;

	for (i = 0; i < gu_before.nr; i++)
		if (gu_before.v[i].start < v->end && v->start < gu_before.v[i].end)
			return true;
	return false;
}

static void record_gu_before(const struct vma *v)
{
	if (gu_before.nr == gu_before.cap) {
		gu_before.cap = gu_before.cap ? gu_before.cap * 2 : 64;
		gu_before.v = realloc(gu_before.v, gu_before.cap * sizeof(*gu_before.v));
	}
	gu_before.v[gu_before.nr++] = *v;
}

static void check_gu_not_spread(const struct vma_list *vl, struct report *rep)
{
	const struct vma *first = NULL;
	size_t i, nr_gu = 0, nr_spread = 0;

	for (i = 0; i < vl->nr; i++) {
		const struct vma *v = &vl->v[i];

		if (!has_flag(v, "gu"))
			continue;
		nr_gu++;
		if (!gu_recorded)
			record_gu_before(v);
		else if (!overlaps_gu_before(v) && !nr_spread++)
			first = v;
	}
	gu_recorded = true;
	if (nr_spread)
		report(rep, "%zu of %zu \"gu\" VMAs after restore (%zu before the dump) overlap no VMA that had \"gu\" "
			    "before, first %#llx-%#llx (VmFlags:%s)",
		       nr_spread, nr_gu, gu_before.nr, (unsigned long long)first->start,
		       (unsigned long long)first->end, first->flags);
}

void regions_record_gu(void)
{
	gu_before.nr = 0;
	gu_recorded = false;
}

static int install_segv_handler(void)
{
	struct sigaction sa = {.sa_handler = segv_handler};

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	return sigaction(SIGSEGV, &sa, NULL);
}

/* Runs (a)-(d) over every region; returns 0 or -1 with the first failure in @msg. */
int regions_verify(char *msg, size_t size)
{
	struct report rep = {.msg = msg, .size = size};
	struct vma_list vl = {};
	int fd, j;

	msg[0] = '\0';
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || install_segv_handler() || read_smaps(&vl)) {
		report(&rep, "setting up the checks: %s", strerror(errno));
		goto out;
	}
	check_no_stray_guards(fd, &rep);
	for (j = 0; j < nr_regions; j++) {
		struct region *r = &regions[j];

		check_guard_set(fd, r, &rep);
		check_guards_fault(r, &rep);
		check_contents(r, &rep);
		check_vmflags(r, &vl, &rep);
	}
	/* Last: the soak tells this one apart (the first failure is reported) */
	check_gu_not_spread(&vl, &rep);
out:
	free(vl.v);
	if (fd >= 0)
		close(fd);
	return rep.failed ? -1 : 0;
}
