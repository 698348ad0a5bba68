// SPDX-License-Identifier: MIT
/*
 * crit-workload: a process with guards at known pages, for the crit test.
 *
 * Maps a private anonymous VMA of 16 pages between two PROT_NONE fences
 * (so that it merges with nothing and its start is known), installs guards
 * on pages 2, 5-6 and 10, writes its pid and the VMA's start address to
 * stdout and waits to be checkpointed. The guard image then holds one ranges entry:
 * gaps and lengths 2 1, 2 2, 3 1 counted from the VMA's start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guard-uapi.h"

#define NR_PAGES 16

static const struct {
	unsigned int first, nr;
} guards[] = {{2, 1}, {5, 2}, {10, 1}};

int main(void)
{
	size_t ps = sysconf(_SC_PAGESIZE), i;
	char *fence, *p;

	fence = mmap(NULL, (NR_PAGES + 2) * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fence == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	p = fence + ps;
	if (mprotect(p, NR_PAGES * ps, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		return 1;
	}
	for (i = 0; i < NR_PAGES; i++)
		p[i * ps] = 1;
	for (i = 0; i < sizeof(guards) / sizeof(guards[0]); i++) {
		if (madvise(p + guards[i].first * ps, guards[i].nr * ps, MADV_GUARD_INSTALL)) {
			perror("madvise(MADV_GUARD_INSTALL)");
			return 1;
		}
	}

	printf("%d %#lx\n", getpid(), (unsigned long)p);
	if (fflush(stdout))
		return 1;
	for (;;)
		pause();
}
