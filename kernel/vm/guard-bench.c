// SPDX-License-Identifier: MIT
/*
 * What does it cost to find the guard regions of a process?
 *
 * The process holds 1 GiB of populated anonymous memory in 4 KiB pages and one
 * small VMA with a guard region. It measures:
 *
 *   scan:   a guard-only PAGEMAP_SCAN over the whole user address space,
 *           the way a checkpointing tool collects guards;
 *   walk:   the same scan with PAGE_IS_SWAPPED admitted too, which finds the
 *           same guards but walks every page table on any kernel: dividing
 *           by it cancels how fast the host ran this boot;
 *   query:  iterating PROCMAP_QUERY with PROCMAP_QUERY_VMA_MAYBE_GUARD,
 *           which finds the VMAs that may hold guards;
 *   smaps:  reading /proc/self/smaps and picking the VMAs with "gu".
 *
 * Every result is checked. Each method then runs in five batches of at least
 * 100ms, so that a coarse guest clock still measures it, and is printed as
 * "@@cg bench <name> ..." with the median and minimum over the batches of the
 * average nanoseconds per call. Under TCG absolute times mean little; compare
 * ratios between kernels and between methods.
 *
 * Usage: guard-bench [populated MiB, default 1024]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef PROCMAP_QUERY_VMA_MAYBE_GUARD
#define PROCMAP_QUERY_VMA_MAYBE_GUARD 0x40
#endif

#define NR_BATCHES  5
#define BATCH_NS    100000000ULL
#define GUARD_PAGES 4
#define SMALL_PAGES 16

static unsigned long page_size;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Scan the whole address space for guard pages; returns guard pages found.
 * With @walk_all the request also admits PAGE_IS_SWAPPED pages: it finds the
 * same guards (they are swap entries, and nothing else is swapped here), but
 * can no longer skip any VMA, so it measures a full walk on any kernel.
 */
static long scan_guards(int pagemap_fd, unsigned long *first, bool walk_all)
{
	struct page_region regions[16];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = 0,
		.end = (1UL << 47) - 4096, /* TASK_SIZE of 4-level x86_64 */
		.vec = (unsigned long)regions,
		.vec_len = 16,
		.category_mask = walk_all ? 0 : PAGE_IS_GUARD,
		.category_anyof_mask = walk_all ? PAGE_IS_GUARD | PAGE_IS_SWAPPED : 0,
		.return_mask = PAGE_IS_GUARD,
	};
	long n, i, pages = 0;

	n = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++)
		pages += (regions[i].end - regions[i].start) / page_size;
	if (n)
		*first = regions[0].start;
	return pages;
}

/* Iterate over the VMAs that may hold guards; returns how many. */
static long query_guarded_vmas(int maps_fd, unsigned long *first,
			       unsigned long *first_end)
{
	struct procmap_query q;
	unsigned long addr = 0;
	long n = 0;

	for (;;) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA |
				PROCMAP_QUERY_VMA_MAYBE_GUARD;
		q.query_addr = addr;
		if (ioctl(maps_fd, PROCMAP_QUERY, &q)) {
			if (errno == ENOENT)
				return n;
			return -errno;
		}
		if (!n) {
			*first = q.vma_start;
			*first_end = q.vma_end;
		}
		n++;
		addr = q.vma_end;
	}
}

/* Read all of smaps; returns how many VMAs show "gu" in VmFlags. */
static long smaps_guarded_vmas(char *buf, size_t size, unsigned long *first,
			       unsigned long *first_end)
{
	unsigned long start = 0, end = 0, s, e;
	size_t len = 0;
	long n = 0;
	char *line, *next;
	ssize_t r;
	int fd;

	fd = open("/proc/self/smaps", O_RDONLY);
	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf + len, size - 1 - len)) > 0)
		len += r;
	close(fd);
	if (r < 0 || len == size - 1)
		return -EFBIG;
	buf[len] = '\0';

	for (line = buf; *line; line = next) {
		char *eol = strchrnul(line, '\n');

		next = *eol ? eol + 1 : eol;
		*eol = '\0';
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			start = s;
			end = e;
		} else if (!strncmp(line, "VmFlags:", 8) && strstr(line, " gu")) {
			if (!n) {
				*first = start;
				*first_end = end;
			}
			n++;
		}
	}
	return n;
}

struct bench {
	int pagemap_fd, maps_fd;
	char *buf;
	size_t buf_size;
	unsigned long first, first_end;
};

static long bench_scan(struct bench *b)
{
	return scan_guards(b->pagemap_fd, &b->first, false);
}

static long bench_walk(struct bench *b)
{
	return scan_guards(b->pagemap_fd, &b->first, true);
}

static long bench_query(struct bench *b)
{
	return query_guarded_vmas(b->maps_fd, &b->first, &b->first_end);
}

static long bench_smaps(struct bench *b)
{
	return smaps_guarded_vmas(b->buf, b->buf_size, &b->first, &b->first_end);
}

/* Time @fn in batches; every call must return @expect. */
static int measure(const char *name, long (*fn)(struct bench *),
		   struct bench *b, long expect)
{
	unsigned long calls, total = 0;
	uint64_t ns[NR_BATCHES], t0, elapsed;
	int i;

	for (i = 0; i < NR_BATCHES; i++) {
		calls = 0;
		t0 = now_ns();
		do {
			if (fn(b) != expect) {
				printf("@@cg bench %s result changed\n", name);
				return -1;
			}
			calls++;
			elapsed = now_ns() - t0;
		} while (calls < 3 || elapsed < BATCH_NS);
		ns[i] = elapsed / calls;
		total += calls;
	}

	qsort(ns, NR_BATCHES, sizeof(ns[0]), cmp_u64);
	printf("@@cg bench %s median_ns=%llu min_ns=%llu calls=%lu result=%ld\n",
	       name, (unsigned long long)ns[NR_BATCHES / 2],
	       (unsigned long long)ns[0], total, expect);
	return 0;
}

/* Did a lookup find exactly one VMA, the one around the guard region? */
static bool found_guarded_vma(const char *name, long n, struct bench *b,
			      unsigned long guard)
{
	if (n == 1 && b->first <= guard && guard < b->first_end)
		return true;

	printf("@@cg bench %s wrong result: %ld VMAs, first %#lx-%#lx\n", name,
	       n, b->first, b->first_end);
	return false;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	struct bench b = {.buf_size = 1 << 20};
	unsigned long guard;
	char *big, *small;
	size_t big_size;
	uint64_t t;
	long n;

	page_size = sysconf(_SC_PAGESIZE);
	big_size = mib << 20;

	big = mmap(NULL, big_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mmap(NULL, SMALL_PAGES * page_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b.buf = malloc(b.buf_size);
	if (big == MAP_FAILED || small == MAP_FAILED || !b.buf) {
		perror("allocate");
		return 1;
	}

	/* 4 KiB pages make the page tables as large as they get. */
	t = now_ns();
	if (madvise(big, big_size, MADV_NOHUGEPAGE) ||
	    madvise(big, big_size, MADV_POPULATE_WRITE)) {
		perror("populate");
		return 1;
	}
	printf("@@cg bench populate mib=%lu ns=%llu\n", mib,
	       (unsigned long long)(now_ns() - t));

	memset(small, 'x', SMALL_PAGES * page_size);
	guard = (unsigned long)small + 4 * page_size;
	if (madvise((void *)guard, GUARD_PAGES * page_size,
		    MADV_GUARD_INSTALL)) {
		perror("MADV_GUARD_INSTALL");
		return 1;
	}

	b.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	b.maps_fd = open("/proc/self/maps", O_RDONLY);
	if (b.pagemap_fd < 0 || b.maps_fd < 0) {
		perror("open /proc/self");
		return 1;
	}

	n = bench_scan(&b);
	if (n != GUARD_PAGES || b.first != guard) {
		printf("@@cg bench scan wrong result: %ld pages at %#lx\n", n,
		       b.first);
		return 1;
	}
	if (measure("scan", bench_scan, &b, n))
		return 1;
	/* The same scan, made to walk everything: the yardstick of this boot. */
	if (measure("walk", bench_walk, &b, n))
		return 1;

	n = bench_query(&b);
	if (n == -EINVAL) {
		printf("@@cg bench query unsupported (PROCMAP_QUERY_VMA_MAYBE_GUARD: EINVAL)\n");
	} else if (!found_guarded_vma("query", n, &b, guard) ||
		   measure("query", bench_query, &b, n)) {
		return 1;
	}

	n = bench_smaps(&b);
	if (!found_guarded_vma("smaps", n, &b, guard) ||
	    measure("smaps", bench_smaps, &b, n))
		return 1;

	return 0;
}
