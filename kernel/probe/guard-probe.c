// SPDX-License-Identifier: MIT
/*
 * Feature probe for the kernel guard-region ABI (see guard-probe.h).
 *
 * The probe runs inside the criu process, so each check maps its own
 * scratch memory, unmaps it before returning, installs no signal handler
 * and prints nothing. Results are cached per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard-probe.h"
#include "guard-procfs.h"
#include "guard-uapi.h"

/* Scratch pages: [fence][before][guard][after][fence]. */
#define SCRATCH_PAGES 5
#define GUARD_PAGE    2

struct feature {
	const char *name;
	const char *desc;
	enum guard_probe_result (*probe)(void);
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/*
 * Map scratch memory that cannot merge with the caller's VMAs: the outer
 * pages stay PROT_NONE, so the read-write middle is a VMA of its own. A
 * merge would otherwise leave the caller's neighbour VMA with the sticky
 * VM_MAYBE_GUARD flag after we unmap.
 */
static char *scratch_map(void)
{
	size_t ps = page_size();
	char *p;

	p = mmap(NULL, SCRATCH_PAGES * ps, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + ps, (SCRATCH_PAGES - 2) * ps, PROT_READ | PROT_WRITE)) {
		munmap(p, SCRATCH_PAGES * ps);
		return NULL;
	}
	return p;
}

static void scratch_unmap(char *p)
{
	munmap(p, SCRATCH_PAGES * page_size());
}

static char *scratch_guard_page(char *p)
{
	return p + GUARD_PAGE * page_size();
}

/* Map scratch memory with one guard page installed, or NULL. */
static char *scratch_map_guarded(void)
{
	char *p = scratch_map();

	if (!p)
		return NULL;
	if (madvise(scratch_guard_page(p), page_size(), MADV_GUARD_INSTALL)) {
		scratch_unmap(p);
		return NULL;
	}
	return p;
}

static enum guard_probe_result probe_madv_guard(void)
{
	enum guard_probe_result res = GUARD_PROBE_ERROR;
	char *p = scratch_map();

	if (!p)
		return GUARD_PROBE_ERROR;
	if (!madvise(scratch_guard_page(p), page_size(), MADV_GUARD_INSTALL))
		res = GUARD_PROBE_YES;
	else if (errno == EINVAL) /* unknown advice */
		res = GUARD_PROBE_NO;
	scratch_unmap(p);
	return res;
}

/* Every other feature is about guards: without them it cannot be present. */
static enum guard_probe_result require_madv_guard(void)
{
	return guard_probe(GUARD_FEAT_MADV_GUARD);
}

static enum guard_probe_result scan_result(long nr, struct page_region *r,
					   unsigned long guard)
{
	/* No PAGEMAP_SCAN at all, or a PAGEMAP_SCAN without PAGE_IS_GUARD. */
	if (nr == -ENOTTY || nr == -EINVAL)
		return GUARD_PROBE_NO;
	if (nr < 0)
		return GUARD_PROBE_ERROR;
	if (nr == 1 && r->start == guard && r->end == guard + page_size() &&
	    (r->categories & PAGE_IS_GUARD))
		return GUARD_PROBE_YES;
	return GUARD_PROBE_NO;
}

/*
 * Guarded scratch memory and @path of our own opened for reading. Returns
 * GUARD_PROBE_YES when both are there; anything else is the result.
 */
static enum guard_probe_result scratch_and_file(const char *path, char **p, int *fd)
{
	enum guard_probe_result res = require_madv_guard();

	if (res != GUARD_PROBE_YES)
		return res;
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return GUARD_PROBE_ERROR;
	*p = scratch_map_guarded();
	if (!*p) {
		close(*fd);
		return GUARD_PROBE_ERROR;
	}
	return GUARD_PROBE_YES;
}

static void scratch_and_file_done(char *p, int fd)
{
	scratch_unmap(p);
	close(fd);
}

static enum guard_probe_result probe_pagemap_scan_guard(void)
{
	struct page_region regions[2];
	enum guard_probe_result res;
	unsigned long start;
	char *p;
	long nr;
	int fd;

	res = scratch_and_file("/proc/self/pagemap", &p, &fd);
	if (res != GUARD_PROBE_YES)
		return res;

	start = (unsigned long)p;
	nr = guard_pagemap_scan_guards(fd, start, start + SCRATCH_PAGES * page_size(),
				       regions, 2, 0, NULL);
	res = scan_result(nr, regions, (unsigned long)scratch_guard_page(p));

	scratch_and_file_done(p, fd);
	return res;
}

static enum guard_probe_result probe_pagemap_guard_bit(void)
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

static enum guard_probe_result probe_smaps_gu(void)
{
	enum guard_probe_result res = require_madv_guard();
	char *p;
	int ret;

	if (res != GUARD_PROBE_YES)
		return res;
	p = scratch_map_guarded();
	if (!p)
		return GUARD_PROBE_ERROR;

	ret = guard_smaps_has_flag((unsigned long)scratch_guard_page(p), "gu");
	res = ret < 0 ? GUARD_PROBE_ERROR : ret ? GUARD_PROBE_YES
						: GUARD_PROBE_NO;

	scratch_unmap(p);
	return res;
}

static enum guard_probe_result probe_process_madvise_self(void)
{
	enum guard_probe_result res = require_madv_guard();
	struct iovec iov;
	int pidfd;
	long ret;
	char *p;

	if (res != GUARD_PROBE_YES)
		return res;
	pidfd = syscall(__NR_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return errno == ENOSYS ? GUARD_PROBE_NO : GUARD_PROBE_ERROR;
	p = scratch_map();
	if (!p) {
		close(pidfd);
		return GUARD_PROBE_ERROR;
	}

	iov.iov_base = scratch_guard_page(p);
	iov.iov_len = page_size();
	ret = syscall(__NR_process_madvise, pidfd, &iov, 1, MADV_GUARD_INSTALL, 0);
	if (ret == (long)page_size())
		res = GUARD_PROBE_YES;
	else if (ret < 0 && (errno == EINVAL || errno == ENOSYS))
		res = GUARD_PROBE_NO;
	else
		res = GUARD_PROBE_ERROR;

	scratch_unmap(p);
	close(pidfd);
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

static enum guard_probe_result probe_file_guard(void)
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
static enum guard_probe_result probe_file_guard_cow(void)
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
static enum guard_probe_result probe_procmap_query_guard(void)
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
static enum guard_probe_result probe_pagemap_scan_skip(void)
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

static const struct feature features[GUARD_FEAT_NR] = {
	[GUARD_FEAT_MADV_GUARD] = {
		"madv_guard",
		"madvise(MADV_GUARD_INSTALL/REMOVE) on private anonymous memory",
		probe_madv_guard,
	},
	[GUARD_FEAT_PAGEMAP_SCAN_GUARD] = {
		"pagemap_scan_guard",
		"ioctl(PAGEMAP_SCAN) reports guard pages as PAGE_IS_GUARD",
		probe_pagemap_scan_guard,
	},
	[GUARD_FEAT_PAGEMAP_GUARD_BIT] = {
		"pagemap_guard_bit",
		"/proc/PID/pagemap entries of guard pages have bit 58 set",
		probe_pagemap_guard_bit,
	},
	[GUARD_FEAT_SMAPS_GU] = {
		"smaps_gu",
		"smaps VmFlags shows \"gu\" on VMAs that may hold guards (VM_MAYBE_GUARD)",
		probe_smaps_gu,
	},
	[GUARD_FEAT_FILE_GUARD_COW] = {
		"file_guard_cow",
		"fork copies guards of file-backed private VMAs to the child",
		probe_file_guard_cow,
	},
	[GUARD_FEAT_PROCESS_MADVISE_SELF] = {
		"process_madvise_self",
		"process_madvise(pidfd of self, MADV_GUARD_INSTALL) installs guards",
		probe_process_madvise_self,
	},
	[GUARD_FEAT_FILE_GUARD] = {
		"file_guard",
		"MADV_GUARD_INSTALL on file-backed and shmem mappings",
		probe_file_guard,
	},
	[GUARD_FEAT_PROCMAP_QUERY_GUARD] = {
		"procmap_query_guard",
		"PROCMAP_QUERY reports and filters VM_MAYBE_GUARD (kernel/patches 0003)",
		probe_procmap_query_guard,
	},
	[GUARD_FEAT_PAGEMAP_SCAN_SKIP] = {
		"pagemap_scan_skip",
		"guard-only PAGEMAP_SCAN skips VMAs without VM_MAYBE_GUARD (kernel/patches 0001; timed)",
		probe_pagemap_scan_skip,
	},
};

/*
 * CRIU_GUARD_PROBE_DISABLE="name,name..." (or "all") reports features as
 * missing without probing them, so that fallbacks can be exercised on a
 * kernel that has everything.
 */
static bool disabled_by_env(enum guard_feature feat)
{
	const char *list = getenv(GUARD_PROBE_DISABLE_ENV);
	const char *name = features[feat].name, *p;
	size_t len = strlen(name);

	if (!list)
		return false;
	if (!strcmp(list, "all"))
		return true;
	for (p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') && (p[len] == ',' || !p[len]))
			return true;
	return false;
}

static bool probed[GUARD_FEAT_NR];
static enum guard_probe_result results[GUARD_FEAT_NR];

enum guard_probe_result guard_probe(enum guard_feature feat)
{
	int saved_errno = errno;

	if ((unsigned int)feat >= GUARD_FEAT_NR)
		return GUARD_PROBE_ERROR;
	if (!probed[feat]) {
		results[feat] = disabled_by_env(feat) ? GUARD_PROBE_NO : features[feat].probe();
		probed[feat] = true;
	}
	/* Callers may be in the middle of reporting their own error. */
	errno = saved_errno;
	return results[feat];
}

void guard_probe_forget(void)
{
	int i;

	for (i = 0; i < GUARD_FEAT_NR; i++)
		probed[i] = false;
}

const char *guard_feature_name(enum guard_feature feat)
{
	if ((unsigned int)feat >= GUARD_FEAT_NR)
		return "unknown";
	return features[feat].name;
}

const char *guard_feature_desc(enum guard_feature feat)
{
	if ((unsigned int)feat >= GUARD_FEAT_NR)
		return "unknown feature";
	return features[feat].desc;
}

const char *guard_probe_result_name(enum guard_probe_result res)
{
	switch (res) {
	case GUARD_PROBE_YES:
		return "yes";
	case GUARD_PROBE_NO:
		return "no";
	default:
		return "error";
	}
}
