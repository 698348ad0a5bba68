// SPDX-License-Identifier: MIT
/*
 * Probes of the guard-region ABI that only the guard-probe command and the
 * conformance suite ask for (see guard-probe-int.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "guard-probe-int.h"
#include "guard-procfs.h"

enum guard_probe_result probe_pagemap_guard_bit(void)
{
	enum guard_probe_result res;
	uint64_t guard, plain;
	char *p;
	int fd;

	res = scratch_and_file("/proc/self/pagemap", &p, &fd);
	if (res != GUARD_PROBE_YES)
		return res;

	res = GUARD_PROBE_ERROR;
	if (!guard_pagemap_entry(fd, (unsigned long)scratch_guard_page(p), &guard) &&
	    !guard_pagemap_entry(fd, (unsigned long)p + page_size(), &plain))
		res = (guard & PM_ENTRY_GUARD_REGION) && !(plain & PM_ENTRY_GUARD_REGION) ? GUARD_PROBE_YES : GUARD_PROBE_NO;

	scratch_and_file_done(p, fd);
	return res;
}

/* A private mapping of a one-page memfd, or NULL. The caller closes *fdp. */
static char *memfd_map_private(int *fdp, int prot)
{
	size_t ps = page_size();
	char *p;
	int fd;

	fd = memfd_create("guard-probe", MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, ps) ||
	    (p = mmap(NULL, ps, prot, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return p;
}

enum guard_probe_result probe_file_guard(void)
{
	enum guard_probe_result res = require_madv_guard();
	char *p;
	int fd;

	if (res != GUARD_PROBE_YES)
		return res;
	p = memfd_map_private(&fd, PROT_READ | PROT_WRITE);
	if (!p)
		return GUARD_PROBE_ERROR;

	if (!madvise(p, page_size(), MADV_GUARD_INSTALL))
		res = GUARD_PROBE_YES;
	else
		res = errno == EINVAL ? GUARD_PROBE_NO : GUARD_PROBE_ERROR;

	munmap(p, page_size());
	close(fd);
	return res;
}

/* The child touches the guarded page: a copied guard kills it with SIGSEGV. */
static void __attribute__((noreturn)) cow_child(const volatile char *p)
{
	struct rlimit no_core = {0, 0};

	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGSEGV, SIG_DFL);
	(void)*p;
	_exit(0);
}

static enum guard_probe_result wait_cow_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return GUARD_PROBE_ERROR;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		return GUARD_PROBE_YES;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return GUARD_PROBE_NO;
	return GUARD_PROBE_ERROR;
}

/*
 * A read-only, never-faulted private file mapping has no anon_vma, so only
 * a kernel that copies page tables because of the guard (VM_COPY_ON_FORK,
 * or the anon_vma that 6.15's file guard install prepares) keeps it.
 * SIGCHLD stays blocked so a caller's handler cannot reap our child.
 */
enum guard_probe_result probe_file_guard_cow(void)
{
	enum guard_probe_result res = guard_probe(GUARD_FEAT_FILE_GUARD);
	sigset_t chld, old;
	pid_t pid;
	char *p;
	int fd;

	if (res != GUARD_PROBE_YES)
		return res;
	p = memfd_map_private(&fd, PROT_READ);
	if (!p)
		return GUARD_PROBE_ERROR;
	if (madvise(p, page_size(), MADV_GUARD_INSTALL)) {
		res = GUARD_PROBE_ERROR;
		goto out_unmap;
	}

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid = fork();
	if (pid == 0)
		cow_child(p);
	res = pid < 0 ? GUARD_PROBE_ERROR : wait_cow_child(pid);
	sigprocmask(SIG_SETMASK, &old, NULL);

out_unmap:
	munmap(p, page_size());
	close(fd);
	return res;
}

/*
 * The series in kernel/patches lets PROCMAP_QUERY filter on VM_MAYBE_GUARD:
 * ask for the first VMA that may hold guards at or after a guarded scratch
 * VMA. Kernels without the flag refuse it (EINVAL); kernels without
 * PROCMAP_QUERY do not know the ioctl (ENOTTY).
 */
enum guard_probe_result probe_procmap_query_guard(void)
{
	unsigned long guard;
	enum guard_probe_result res;
	struct procmap_query q;
	char *p;
	int fd;

	res = scratch_and_file("/proc/self/maps", &p, &fd);
	if (res != GUARD_PROBE_YES)
		return res;

	guard = (uintptr_t)scratch_guard_page(p);
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_addr = (uintptr_t)p;
	q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA | PROCMAP_QUERY_VMA_MAYBE_GUARD;
	if (!ioctl(fd, PROCMAP_QUERY, &q))
		res = (q.vma_flags & PROCMAP_QUERY_VMA_MAYBE_GUARD) && q.vma_start <= guard && q.vma_end > guard ? GUARD_PROBE_YES : GUARD_PROBE_NO;
	else
		res = errno == EINVAL || errno == ENOTTY ? GUARD_PROBE_NO : GUARD_PROBE_ERROR;

	scratch_and_file_done(p, fd);
	return res;
}

#define SKIP_PROBE_BYTES (64UL << 20)

static uint64_t elapsed_ns(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000000ULL + t1.tv_nsec - t0->tv_nsec;
}

/*
 * Average cost of one scan. Scans repeat until 50 ms have passed, so that a
 * coarse clock (a VM without a calibrated TSC ticks in milliseconds) still
 * measures something.
 */
static uint64_t timed_scan(int fd, char *p, uint64_t anyof)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)p,
		.end = (uintptr_t)p + SKIP_PROBE_BYTES,
		.category_anyof_mask = anyof,
		.return_mask = PAGE_IS_GUARD,
	};
	struct timespec t0;
	uint64_t n = 0, ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (ioctl(fd, PAGEMAP_SCAN, &arg) < 0)
			return 0;
		n++;
		ns = elapsed_ns(&t0);
	} while (ns < 50000000ULL && n < 1000000);
	return ns / n ? ns / n : 1;
}

/*
 * The skip leaves results alone and only saves work, so it can only be seen
 * in time: a guard-only scan of 64 MiB of populated memory that never held a
 * guard must be far cheaper than the same scan that also asks for swapped
 * pages (which the kernel cannot skip). Unpatched kernels take about as long
 * for both; the series makes the first one thousands of times cheaper.
 */
enum guard_probe_result probe_pagemap_scan_skip(void)
{
	enum guard_probe_result res = guard_probe(GUARD_FEAT_PAGEMAP_SCAN_GUARD);
	uint64_t guard_only, with_swapped;
	char *p;
	int fd;

	if (res != GUARD_PROBE_YES)
		return res;
	/* Fenced like scratch memory: merged with a "gu" neighbour it would be scanned */
	p = mmap(NULL, SKIP_PROBE_BYTES + 2 * page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return GUARD_PROBE_ERROR;
	if (mprotect(p + page_size(), SKIP_PROBE_BYTES, PROT_READ | PROT_WRITE)) {
		munmap(p, SKIP_PROBE_BYTES + 2 * page_size());
		return GUARD_PROBE_ERROR;
	}
	memset(p + page_size(), 1, SKIP_PROBE_BYTES);
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		munmap(p, SKIP_PROBE_BYTES + 2 * page_size());
		return GUARD_PROBE_ERROR;
	}

	guard_only = timed_scan(fd, p + page_size(), PAGE_IS_GUARD);
	with_swapped = timed_scan(fd, p + page_size(), PAGE_IS_GUARD | PAGE_IS_SWAPPED);
	if (!guard_only || !with_swapped)
		res = GUARD_PROBE_ERROR;
	else
		res = with_swapped >= 8 * guard_only ? GUARD_PROBE_YES : GUARD_PROBE_NO;

	close(fd);
	munmap(p, SKIP_PROBE_BYTES + 2 * page_size());
	return res;
}
