// SPDX-License-Identifier: MIT
/*
 * Harness and shared helpers of the conformance suite (see harness.h).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define KSFT_SKIP  4
#define REASON_LEN 512

size_t psize;

/* Shared with the test children so that they can hand back a skip reason. */
static char *skip_reason;

static sigjmp_buf segv_env;
static volatile sig_atomic_t segv_armed;

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(1);
}

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(skip_reason, REASON_LEN, fmt, ap);
	va_end(ap);
	fflush(stdout);
	_exit(KSFT_SKIP);
}

void test_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

const char *errno_name(int err)
{
	const char *name = err ? strerrorname_np(err) : "no error";

	return name ? name : "unknown errno";
}

/* A probe that cannot run is a broken test environment, not a missing feature. */
void require_feature(enum guard_feature feat)
{
	enum guard_probe_result res = guard_probe(feat);

	if (res == GUARD_PROBE_YES)
		return;
	if (res == GUARD_PROBE_NO)
		test_skip("kernel lacks %s: %s", guard_feature_name(feat),
			  guard_feature_desc(feat));
	test_fail_at(__FILE__, __LINE__, "probe for %s could not run",
		     guard_feature_name(feat));
}

static void segv_handler(int sig)
{
	if (segv_armed)
		siglongjmp(segv_env, 1);
	/* An unexpected fault: die of it so that the runner reports it. */
	signal(sig, SIG_DFL);
}

static void install_segv_probe(void)
{
	struct sigaction sa = {.sa_handler = segv_handler};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
}

bool try_read(const char *p)
{
	volatile bool ok = false;

	segv_armed = 1;
	if (!sigsetjmp(segv_env, 1)) {
		(void)*(const volatile char *)p;
		ok = true;
	}
	segv_armed = 0;
	return ok;
}

bool try_write(char *p)
{
	volatile bool ok = false;

	segv_armed = 1;
	if (!sigsetjmp(segv_env, 1)) {
		*(volatile char *)p = 'w';
		ok = true;
	}
	segv_armed = 0;
	return ok;
}

static int wait_status(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int run_in_child(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		test_fail_at(__FILE__, __LINE__, "fork: %s", errno_name(errno));
	if (pid == 0)
		_exit(fn(arg));
	return wait_status(pid);
}

static char *map_or_fail(size_t pages, int prot, int flags, int fd)
{
	char *p = mmap(NULL, pages * psize, prot, flags, fd, 0);

	if (p == MAP_FAILED)
		test_fail_at(__FILE__, __LINE__, "mmap: %s", errno_name(errno));
	return p;
}

char *map_anon(size_t pages)
{
	return map_or_fail(pages, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1);
}

char *map_anon_isolated(size_t pages)
{
	char *p = map_or_fail(pages + 2, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			      -1);

	p += psize;
	if (mprotect(p, pages * psize, PROT_READ | PROT_WRITE))
		test_fail_at(__FILE__, __LINE__, "mprotect: %s",
			     errno_name(errno));
	return p;
}

char *map_anon_shared(size_t pages)
{
	return map_or_fail(pages, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1);
}

/* An unnamed file on a disk filesystem, so that nothing is left behind. */
static int tmpfile_fd(void)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		fd = open(".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		test_skip("O_TMPFILE unsupported here: %s", errno_name(errno));
	return fd;
}

char *map_file_private(size_t pages, int prot)
{
	char *page, *p;
	size_t i;
	int fd;

	fd = tmpfile_fd();
	page = malloc(psize);
	if (!page)
		test_fail_at(__FILE__, __LINE__, "out of memory");
	for (i = 0; i < pages; i++) {
		memset(page, page_pattern(i), psize);
		if (pwrite(fd, page, psize, i * psize) != (ssize_t)psize)
			test_fail_at(__FILE__, __LINE__, "pwrite: %s",
				     errno_name(errno));
	}
	free(page);
	p = map_or_fail(pages, prot, MAP_PRIVATE, fd);
	close(fd);
	return p;
}

char *map_memfd_shared(size_t pages)
{
	char *p;
	int fd;

	fd = memfd_create("guard-test", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, pages * psize))
		test_fail_at(__FILE__, __LINE__, "memfd: %s", errno_name(errno));
	p = map_or_fail(pages, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	close(fd);
	return p;
}

void fill_pages(char *p, size_t pages)
{
	size_t i;

	for (i = 0; i < pages; i++)
		memset(p + i * psize, page_pattern(i), psize);
}

bool page_is(const char *p, char c)
{
	size_t i;

	for (i = 0; i < psize; i++)
		if (p[i] != c)
			return false;
	return true;
}

int guard_install(char *p, size_t pages)
{
	return madvise(p, pages * psize, MADV_GUARD_INSTALL);
}

int guard_remove(char *p, size_t pages)
{
	return madvise(p, pages * psize, MADV_GUARD_REMOVE);
}

int vma_bounds(const void *p, unsigned long *start, unsigned long *end)
{
	unsigned long addr = (unsigned long)p;
	char line[512];
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", start, end) == 2 &&
		    *start <= addr && addr < *end) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

bool vma_has_flag(const void *p, const char *flag)
{
	int ret = guard_smaps_has_flag((unsigned long)p, flag);

	if (ret < 0)
		test_fail_at(__FILE__, __LINE__, "reading smaps: %s",
			     errno_name(-ret));
	return ret;
}

int pagemap_open(void)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		test_fail_at(__FILE__, __LINE__, "open pagemap: %s",
			     errno_name(errno));
	return fd;
}

uint64_t pagemap_entry(int fd, const void *p)
{
	uint64_t entry;
	int ret;

	ret = guard_pagemap_entry(fd, (unsigned long)p, &entry);
	if (ret)
		test_fail_at(__FILE__, __LINE__, "read pagemap: %s",
			     errno_name(-ret));
	return entry;
}

long scan_guards(int fd, const void *p, size_t pages, struct page_region *vec,
		 size_t vec_len, unsigned long max_pages, unsigned long *walk_end)
{
	unsigned long start = (unsigned long)p;
	long ret;

	ret = guard_pagemap_scan_guards(fd, start, start + pages * psize, vec,
					vec_len, max_pages, walk_end);
	if (ret < 0)
		test_fail_at(__FILE__, __LINE__, "PAGEMAP_SCAN: %s",
			     errno_name((int)-ret));
	return ret;
}

/* ---- the runner ---- */

struct totals {
	int pass, fail, skip;
};

static void __attribute__((noreturn)) run_test_child(const struct guard_test *t)
{
	struct rlimit no_core = {0, 0};

	setpgid(0, 0);
	/* A crashing test must not leave core files in the build tree. */
	setrlimit(RLIMIT_CORE, &no_core);
	alarm(TEST_TIMEOUT_SEC);
	install_segv_probe();
	t->fn();
	fflush(stdout);
	_exit(0);
}

/* Kill what the test left running and reap it (we are a subreaper). */
static void reap_test_group(pid_t pgid)
{
	kill(-pgid, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

static void report(int n, const struct guard_test *t, int status,
		   struct totals *tot)
{
	if (status == 0) {
		tot->pass++;
		printf("ok %d %s\n", n, t->name);
	} else if (status == KSFT_SKIP) {
		tot->skip++;
		printf("ok %d %s # SKIP %s\n", n, t->name, skip_reason);
	} else {
		tot->fail++;
		if (status == 128 + SIGALRM)
			printf("# timed out after %d s\n", TEST_TIMEOUT_SEC);
		else if (status > 128)
			printf("# killed by signal %d (%s)\n", status - 128,
			       strsignal(status - 128));
		printf("not ok %d %s\n", n, t->name);
	}
	fflush(stdout);
}

static void run_one(int n, const struct guard_test *t, struct totals *tot)
{
	pid_t pid;
	int status;

	printf("# RUN %s\n", t->name);
	fflush(stdout);
	memset(skip_reason, 0, REASON_LEN);

	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0)
		run_test_child(t);
	setpgid(pid, pid);
	status = wait_status(pid);
	reap_test_group(pid);
	report(n, t, status, tot);
}

static bool selected(const struct guard_test *t, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]))
			return true;
	return false;
}

/* Probe once in the runner so that every test child inherits the cache. */
static void print_probe(void)
{
	int i;

	for (i = 0; i < GUARD_FEAT_NR; i++)
		printf("# probe: %-22s %s\n", guard_feature_name(i),
		       guard_probe_result_name(guard_probe(i)));
}

int guard_test_main(const struct guard_test *tests, size_t nr, int argc,
		    char **argv)
{
	struct totals tot = {0};
	size_t i, planned = 0;
	int n = 0;

	if (argc == 2 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < nr; i++)
			printf("%s\n", tests[i].name);
		return 0;
	}

	psize = (size_t)sysconf(_SC_PAGESIZE);
	skip_reason = mmap(NULL, REASON_LEN, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (skip_reason == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	for (i = 0; i < nr; i++)
		planned += selected(&tests[i], argc, argv);
	printf("TAP version 13\n1..%zu\n", planned);
	print_probe();
	for (i = 0; i < nr; i++)
		if (selected(&tests[i], argc, argv))
			run_one(++n, &tests[i], &tot);

	printf("# Totals: pass:%d fail:%d skip:%d\n", tot.pass, tot.fail,
	       tot.skip);
	return tot.fail ? 1 : 0;
}
