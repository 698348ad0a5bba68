// SPDX-License-Identifier: MIT
/*
 * How often does a guard-only PAGEMAP_SCAN that resumes from walk_end report
 * a range twice?
 *
 * One private anonymous VMA holds 10,000 single-page guard regions, every
 * other page. For each vec_len, the scan is repeated from walk_end until it
 * reaches the end of the VMA, and the calls, the ranges reported and the
 * ranges that start below the end of one reported earlier are counted. A
 * kernel with the walk_end fix (kernel/patches/0001) reports 10,000 ranges and
 * no overlap for every vec_len; without it, a vec_len above the 512-range
 * bounce buffer re-reports ranges.
 *
 * Prints one "@@cg walkend vec_len=N calls=N ranges=N overlapping=N" line per
 * vec_len; exits 1 if a scan fails, 0 otherwise (the counts are judged by
 * kernel/check, which knows which kernel it booted).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard-uapi.h"

#define NR_GUARDS 10000

static const unsigned long vec_lens[] = {256, 512, 513, 1000, 4096};

struct counts {
	unsigned long calls, ranges, overlapping;
};

static int scan_all(int fd, char *start, char *end, struct page_region *vec,
		    unsigned long vec_len, struct counts *c)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)start,
		.end = (uintptr_t)end,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	uint64_t reported = arg.start;
	long i, n;

	memset(c, 0, sizeof(*c));
	while (arg.start < arg.end) {
		n = ioctl(fd, PAGEMAP_SCAN, &arg);
		if (n < 0) {
			perror("PAGEMAP_SCAN");
			return -1;
		}
		c->calls++;
		for (i = 0; i < n; i++) {
			if (vec[i].start < reported)
				c->overlapping++;
			if (vec[i].end > reported)
				reported = vec[i].end;
		}
		c->ranges += n;
		/* No progress would loop forever: give up. */
		if (arg.walk_end <= arg.start || c->calls > 2 * NR_GUARDS) {
			fprintf(stderr, "walk_end %#llx does not advance\n",
				(unsigned long long)arg.walk_end);
			return -1;
		}
		arg.start = arg.walk_end;
	}
	return 0;
}

int main(void)
{
	long page_size = sysconf(_SC_PAGESIZE);
	size_t len = 2UL * NR_GUARDS * page_size, i;
	struct page_region *vec;
	struct counts c;
	char *p;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY);
	vec = calloc(vec_lens[sizeof(vec_lens) / sizeof(vec_lens[0]) - 1], sizeof(*vec));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || !vec || p == MAP_FAILED) {
		perror("setup");
		return 1;
	}
	for (i = 0; i < len; i += 2 * page_size) {
		if (madvise(p + i, page_size, MADV_GUARD_INSTALL)) {
			perror("MADV_GUARD_INSTALL");
			return 1;
		}
	}
	for (i = 0; i < sizeof(vec_lens) / sizeof(vec_lens[0]); i++) {
		if (scan_all(fd, p, p + len, vec, vec_lens[i], &c))
			return 1;
		printf("@@cg walkend vec_len=%lu calls=%lu ranges=%lu overlapping=%lu\n",
		       vec_lens[i], c.calls, c.ranges, c.overlapping);
	}
	return 0;
}
