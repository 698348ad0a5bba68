// SPDX-License-Identifier: MIT
/*
 * bench-workload: deterministic processes for the benchmarks.
 *
 *   bench-workload READY_FILE mem     SIZE_MIB GUARDS
 *   bench-workload READY_FILE ranges  NR       GUARDS
 *   bench-workload READY_FILE tree    NPROC NR GUARDS
 *   bench-workload READY_FILE threads NTHREADS GUARDS
 *
 * GUARDS is 1 or 0: the same workload with or without guard regions.
 *
 *  mem:     SIZE_MIB of populated anonymous memory (every page written) and
 *           one small populated VMA of 16 pages with one guard page.
 *  ranges:  one VMA of 2*NR+1 pages (not populated) with a guard on every
 *           odd page: NR single-page guard ranges in one task.
 *  tree:    the root maps the ranges VMA with NR guards, then forks a tree of
 *           NPROC processes (root, 3 children, the rest grandchildren); all
 *           inherit the NR guards, each non-root process then installs 4 and
 *           removes 1 of its own.
 *  threads: NTHREADS threads, each on a 64 KiB mmap()ed stack whose lowest
 *           page is a guard (as glibc >= 2.42 does).
 *
 * Every process appends "PID\n" to READY_FILE (root first) when it is set
 * up, then sleeps until killed. The command returns at once: the workload
 * runs in a child that the nearest child subreaper inherits. Stdio goes to /dev/null and the root starts
 * a session of its own, so that criu dumps and restores the tree standalone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard-uapi.h"

#define STACK_PAGES 16

static long page;
static int ready_fd = -1;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A VMA of its own: a hole on each side keeps it from merging with neighbours */
static void *map(size_t len)
{
	char *p = mmap(NULL, len + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	munmap(p, page);
	munmap(p + page + len, page);
	return p + page;
}

static void guard(char *addr, size_t pages, int advice)
{
	if (madvise(addr, pages * page, advice))
		die("madvise");
}

/* Guard every odd page of the VMA at @addr: @nr single-page ranges, batched */
static void guard_odd_pages(char *addr, size_t nr)
{
	struct iovec iov[1024];
	size_t i = 0, n;
	int pidfd = syscall(__NR_pidfd_open, getpid(), 0);

	while (i < nr) {
		for (n = 0; n < 1024 && i < nr; n++, i++) {
			iov[n].iov_base = addr + (2 * i + 1) * page;
			iov[n].iov_len = page;
		}
		if (pidfd < 0 || syscall(__NR_process_madvise, pidfd, iov, n, MADV_GUARD_INSTALL, 0) != (long)(n * page)) {
			size_t k;

			for (k = 0; k < n; k++)
				guard(iov[k].iov_base, 1, MADV_GUARD_INSTALL);
		}
	}
	if (pidfd >= 0)
		close(pidfd);
}

static void report_ready(void)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%d\n", getpid());

	if (write(ready_fd, buf, len) != len)
		die("write ready");
	close(ready_fd);
}

static void sleep_forever(void)
{
	for (;;)
		pause();
}

static void detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		die("/dev/null");
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void run_mem(size_t mib, int guards)
{
	size_t len = mib << 20, i;
	char *big = map(len), *small = map(16 * page);

	for (i = 0; i < len; i += page)
		big[i] = (char)(i / page) | 1;
	for (i = 0; i < 16; i++)
		small[i * page] = (char)i | 1;
	if (guards)
		guard(small + 8 * page, 1, MADV_GUARD_INSTALL);
	report_ready();
	sleep_forever();
}

static void run_ranges(size_t nr, int guards)
{
	char *r = map((2 * nr + 1) * page);

	if (guards)
		guard_odd_pages(r, nr);
	report_ready();
	sleep_forever();
}

/* Each non-root process diverges a little from what it inherited */
static void own_guards(char *r, size_t nr, int idx)
{
	size_t i, base = (size_t)idx * 64 % (nr > 64 ? nr - 64 : 1);

	for (i = 0; i < 4; i++) /* even pages are free of guards */
		guard(r + 2 * (base + 8 * i) * page, 1, MADV_GUARD_INSTALL);
	guard(r + (2 * (base + 40) + 1) * page, 1, MADV_GUARD_REMOVE);
}

static void tree_member(char *r, size_t nr, int guards, int idx, int nr_children, int first_grandchild,
			int per_child, int nproc)
{
	int c;

	for (c = 0; c < nr_children; c++) {
		int child_idx = idx == 0 ? 1 + c : first_grandchild + (idx - 1) * per_child + c;
		pid_t pid;

		if (child_idx >= nproc)
			break;
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			if (guards)
				own_guards(r, nr, child_idx);
			if (idx == 0) /* a child: fork the grandchildren */
				tree_member(r, nr, guards, child_idx, per_child, first_grandchild, per_child, nproc);
			report_ready();
			sleep_forever();
		}
	}
}

static void run_tree(int nproc, size_t nr, int guards)
{
	int children = nproc > 3 ? 3 : nproc - 1;
	int per_child = children ? (nproc - 1 - children + children - 1) / children : 0;
	char *r = map((2 * nr + 1) * page), *data = map(16 * page);
	size_t i;

	for (i = 0; i < 16; i++)
		data[i * page] = (char)i | 1;
	if (guards)
		guard_odd_pages(r, nr);
	/* root first in the ready file */
	{
		char buf[32];
		int len = snprintf(buf, sizeof(buf), "%d\n", getpid());

		if (write(ready_fd, buf, len) != len)
			die("write ready");
	}
	tree_member(r, nr, guards, 0, children, 1 + children, per_child, nproc);
	close(ready_fd);
	sleep_forever();
}

static void *thread_fn(void *arg)
{
	sleep_forever();
	return NULL;
}

static void run_threads(int nr, int guards)
{
	pthread_attr_t attr;
	pthread_t t;
	int i;

	for (i = 0; i < nr; i++) {
		char *s = map(STACK_PAGES * page);

		if (guards)
			guard(s, 1, MADV_GUARD_INSTALL);
		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, s + page, (STACK_PAGES - 1) * page);
		if (pthread_create(&t, &attr, thread_fn, NULL))
			die("pthread_create");
		pthread_attr_destroy(&attr);
	}
	report_ready();
	sleep_forever();
}

int main(int argc, char **argv)
{
	const char *mode;
	int guards;

	if (argc < 5) {
		fprintf(stderr, "usage: %s READY_FILE mem|ranges|tree|threads ARGS... GUARDS\n", argv[0]);
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	mode = argv[2];
	guards = atoi(argv[argc - 1]);
	ready_fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (ready_fd < 0)
		die(argv[1]);
	if (chdir("/"))
		die("chdir");
	/* Not a job of the driver's shell: the subreaper above reaps us */
	switch (fork()) {
	case -1:
		die("fork");
	case 0:
		break;
	default:
		_exit(0);
	}
	setsid();
	detach_stdio();

	if (!strcmp(mode, "mem"))
		run_mem(strtoull(argv[3], NULL, 0), guards);
	else if (!strcmp(mode, "ranges"))
		run_ranges(strtoull(argv[3], NULL, 0), guards);
	else if (!strcmp(mode, "tree") && argc == 6)
		run_tree(atoi(argv[3]), strtoull(argv[4], NULL, 0), guards);
	else if (!strcmp(mode, "threads"))
		run_threads(atoi(argv[3]), guards);
	else
		return 2;
	return 0;
}
