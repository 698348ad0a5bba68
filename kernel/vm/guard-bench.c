// SPDX-License-Identifier: MIT
/*
 * What does it cost to find the guard regions of a process?
 *
 * The process holds 1 GiB of populated anonymous memory in 4 KiB pages and one
 * small VMA with a guard region. It measures:
 *
 *   scan:   a guard-only PAGEMAP_SCAN over the whole user address space,
 *           the way a checkpointing tool collects guards;
 *   query:  iterating PROCMAP_QUERY with PROCMAP_QUERY_VMA_MAYBE_GUARD,
 *           which finds the VMAs that may hold guards;
 *   smaps:  reading /proc/self/smaps and picking the VMAs with "gu".
 *
 * Every result is checked, then printed as "@@cg bench <name> ..." with the
 * median and minimum of several runs in nanoseconds. Under TCG absolute times
 * mean little; compare ratios between kernels and between methods.
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

#define MAX_RUNS    32
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

static void report(const char *name, uint64_t *ns, int runs, const char *extra)
{
	qsort(ns, runs, sizeof(ns[0]), cmp_u64);
	printf("@@cg bench %s median_ns=%llu min_ns=%llu runs=%d %s\n", name,
	       (unsigned long long)ns[runs / 2], (unsigned long long)ns[0],
	       runs, extra);
}

/* Guard-only scan of the whole address space; returns guard pages found. */
static long scan_guards(int pagemap_fd, unsigned long *first)
{
	struct page_region regions[16];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = 0,
		.end = (1UL << 47) - 4096, /* TASK_SIZE of 4-level x86_64 */
		.vec = (unsigned long)regions,
		.vec_len = 16,
		.category_mask = PAGE_IS_GUARD,
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

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 1024;
	unsigned long first, first_end, want_guard;
	int pagemap_fd, maps_fd, runs, i, ret = 1;
	size_t big_size, buf_size = 1 << 20;
	uint64_t ns[MAX_RUNS], t;
	char *big, *small, *buf;
	char extra[128];
	long n;

	page_size = sysconf(_SC_PAGESIZE);
	big_size = mib << 20;

	big = mmap(NULL, big_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	small = mmap(NULL, SMALL_PAGES * page_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	buf = malloc(buf_size);
	if (big == MAP_FAILED || small == MAP_FAILED || !buf) {
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
	want_guard = (unsigned long)small + 4 * page_size;
	if (madvise((void *)want_guard, GUARD_PAGES * page_size,
		    MADV_GUARD_INSTALL)) {
		perror("MADV_GUARD_INSTALL");
		return 1;
	}

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	maps_fd = open("/proc/self/maps", O_RDONLY);
	if (pagemap_fd < 0 || maps_fd < 0) {
		perror("open /proc/self");
		return 1;
	}

	/* Warm up, check the result, then time. */
	n = scan_guards(pagemap_fd, &first);
	if (n != GUARD_PAGES || first != want_guard) {
		printf("@@cg bench scan wrong result: %ld pages at %#lx\n", n,
		       first);
		goto out;
	}
	runs = 15;
	for (i = 0; i < runs; i++) {
		t = now_ns();
		n = scan_guards(pagemap_fd, &first);
		ns[i] = now_ns() - t;
		if (n != GUARD_PAGES)
			goto out;
	}
	snprintf(extra, sizeof(extra), "guard_pages=%ld", n);
	report("scan", ns, runs, extra);

	/* Exactly one VMA may hold guards: the one around the guard region. */
	n = query_guarded_vmas(maps_fd, &first, &first_end);
	if (n == -EINVAL) {
		printf("@@cg bench query unsupported (PROCMAP_QUERY_VMA_MAYBE_GUARD: EINVAL)\n");
	} else if (n != 1 || !(first <= want_guard && want_guard < first_end)) {
		printf("@@cg bench query wrong result: %ld VMAs, first %#lx-%#lx\n",
		       n, first, first_end);
		goto out;
	} else {
		runs = 15;
		for (i = 0; i < runs; i++) {
			t = now_ns();
			n = query_guarded_vmas(maps_fd, &first, &first_end);
			ns[i] = now_ns() - t;
		}
		snprintf(extra, sizeof(extra), "vmas=%ld", n);
		report("query", ns, runs, extra);
	}

	n = smaps_guarded_vmas(buf, buf_size, &first, &first_end);
	if (n != 1 || !(first <= want_guard && want_guard < first_end)) {
		printf("@@cg bench smaps wrong result: %ld VMAs, first %#lx-%#lx\n",
		       n, first, first_end);
		goto out;
	}
	runs = 5;
	for (i = 0; i < runs; i++) {
		t = now_ns();
		n = smaps_guarded_vmas(buf, buf_size, &first, &first_end);
		ns[i] = now_ns() - t;
	}
	snprintf(extra, sizeof(extra), "vmas=%ld", n);
	report("smaps", ns, runs, extra);
	ret = 0;
out:
	close(pagemap_fd);
	close(maps_fd);
	return ret;
}
