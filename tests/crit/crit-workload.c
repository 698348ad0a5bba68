// SPDX-License-Identifier: MIT
/*
 * crit-workload: a process with guards at known pages, for the crit test.
 *
 * Maps a private anonymous VMA of 16 pages between two PROT_NONE fences
 * (so that it merges with nothing and its start is known), installs guards
 * on pages 2, 5-6 and 10 and forks a child that inherits them, removes the
 * one on page 2 and adds one on page 13. Then it writes its pid, the VMA's
 * start address and the child's pid to stdout, and both wait to be
 * checkpointed. The parent's guard image holds one ranges entry: gaps and
 * lengths 2 1, 2 2, 3 1 counted from the VMA's start; the child's image is
 * the difference from it (format version 3).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include "guard-uapi.h"

#define NR_PAGES 16

static const struct {
	unsigned int first, nr;
} guards[] = {{2, 1}, {5, 2}, {10, 1}};

/* The child changes its guards, then tells the parent over a pipe */
static pid_t fork_child(char *p, size_t ps)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds)) {
		perror("pipe");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (madvise(p + 2 * ps, ps, MADV_GUARD_REMOVE) || madvise(p + 13 * ps, ps, MADV_GUARD_INSTALL))
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1) {
		fprintf(stderr, "the child failed to change its guards\n");
		return -1;
	}
	close(fds[0]);
	return pid;
}

int main(void)
{
	size_t ps = sysconf(_SC_PAGESIZE), i;
	char *fence, *p;
	pid_t child;

	/*
	 * Descriptors inherited from outside our mount namespace point at
	 * mounts criu cannot find: keep stdin, stdout and stderr only.
	 */
	for (i = 3; i < 1024; i++)
		close(i);

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

	child = fork_child(p, ps);
	if (child < 0)
		return 1;
	printf("%d %#lx %d\n", getpid(), (unsigned long)p, child);
	if (fflush(stdout))
		return 1;
	for (;;)
		pause();
}
