// SPDX-License-Identifier: MIT
/*
 * guard-demo: checkpoint and restore a small process tree that uses guard
 * regions with the real criu and the plugin, and show that every guard
 * came back in every process.
 *
 *   guard-demo CRIU PLUGIN_DIR WORK_DIR
 *
 * The tree: a parent with a guarded heap-like region (every 8th page), a
 * locked region with guards, a thread whose stack has a guard page at the
 * low end (as glibc 2.42 makes them), and a child that inherited the
 * region and changed its guards after fork.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard-uapi.h"

#define NR_PAGES  256
#define NR_LOCKED 32
#define NR_STACK  64

struct region {
	const char *name;
	char *addr;
	size_t pages;
	bool guard[NR_PAGES];
};

static long page;
static struct region heap = {.name = "heap"}, locked = {.name = "locked"}, stack = {.name = "thread stack"};
static const char *work_dir;
static const char *role = "parent";
static volatile sig_atomic_t verify_now;
static sigjmp_buf fault_jmp;

static void on_segv(int sig)
{
	siglongjmp(fault_jmp, 1);
}

static void on_usr1(int sig)
{
	verify_now = 1;
}

static bool faults(volatile char *p)
{
	if (sigsetjmp(fault_jmp, 1))
		return true;
	(void)*p;
	return false;
}

static char pattern(const struct region *r, size_t i)
{
	return (char)('a' + (i * 7 + r->pages) % 26);
}

static void set_guard(struct region *r, size_t i, bool on)
{
	if (madvise(r->addr + i * page, page, on ? MADV_GUARD_INSTALL : MADV_GUARD_REMOVE)) {
		perror("madvise");
		exit(1);
	}
	if (!on)
		memset(r->addr + i * page, pattern(r, i), page);
	r->guard[i] = on;
}

static void setup_region(struct region *r, char *addr, size_t pages, size_t every)
{
	size_t i;

	r->addr = addr;
	r->pages = pages;
	for (i = 0; i < pages; i++)
		memset(addr + i * page, pattern(r, i), page);
	for (i = 0; every && i < pages; i += every)
		set_guard(r, i, true);
}

static size_t scan_guards(const struct region *r)
{
	struct page_region vec[NR_PAGES];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)r->addr,
		.end = (uintptr_t)r->addr + r->pages * page,
		.vec = (uintptr_t)vec,
		.vec_len = NR_PAGES,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	size_t n = 0;
	long i, nr;
	FILE *f = fopen("/proc/self/pagemap", "r");

	if (!f)
		return 0;
	nr = ioctl(fileno(f), PAGEMAP_SCAN, &arg);
	for (i = 0; i < nr; i++)
		n += (vec[i].end - vec[i].start) / page;
	fclose(f);
	return n;
}

/* One line per region: guards expected, found by PAGEMAP_SCAN, faulting, contents */
static bool verify_region(FILE *out, const struct region *r)
{
	size_t i, want = 0, segv = 0, bad_segv = 0, bad_data = 0, found = scan_guards(r);

	for (i = 0; i < r->pages; i++) {
		bool f = faults(r->addr + i * page);

		want += r->guard[i];
		segv += f && r->guard[i];
		bad_segv += f != r->guard[i];
		if (!f && (r->addr[i * page] != pattern(r, i) || r->addr[(i + 1) * page - 1] != pattern(r, i)))
			bad_data++;
	}
	fprintf(out, "%-7s %7d  %-13s %6zu %6zu %8zu/%-4zu %s\n", role, getpid(), r->name, want, found, segv, want,
		bad_segv || bad_data || found != want ? "FAIL" : "ok");
	return !bad_segv && !bad_data && found == want;
}

static void verify_and_report(bool with_thread)
{
	char path[4096];
	FILE *out;
	bool ok;

	snprintf(path, sizeof(path), "%s/result-%s", work_dir, role);
	out = fopen(path, "w");
	ok = verify_region(out, &heap);
	ok &= verify_region(out, &locked);
	if (with_thread)
		ok &= verify_region(out, &stack);
	fclose(out);
	exit(ok ? 0 : 1);
}

static void *thread_fn(void *arg)
{
	pause();
	return NULL;
}

static void start_thread(void)
{
	pthread_attr_t attr;
	pthread_t t;
	char *s = mmap(NULL, NR_STACK * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

	/*
	 * The thread runs on the whole mapping, guard page at the low end. It
	 * grows down from the top, so the lower half is checked for contents.
	 */
	setup_region(&stack, s, NR_STACK / 2, 0);
	set_guard(&stack, 0, true);
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, s + page, (NR_STACK - 1) * page);
	pthread_create(&t, &attr, thread_fn, NULL);
}

static void workload(int ready_fd)
{
	char *h = mmap(NULL, NR_PAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *l = mmap(NULL, NR_LOCKED * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t child;

	/* A session and stdio of its own, so that criu restores it standalone */
	setsid();
	dup2(open("/dev/null", O_RDWR), 0);
	dup2(0, 1);
	dup2(0, 2);
	signal(SIGSEGV, on_segv);
	signal(SIGUSR1, on_usr1);
	setup_region(&heap, h, NR_PAGES, 8);
	setup_region(&locked, l, NR_LOCKED, 0);
	set_guard(&locked, 3, true);
	set_guard(&locked, 20, true);
	mlock(l, NR_LOCKED * page); /* ENOMEM over guards, but the VMA is locked */

	child = fork();
	if (child == 0) {
		role = "child";
		set_guard(&heap, 0, false); /* diverge from the parent */
		set_guard(&heap, 1, true);
		set_guard(&heap, 2, true);
		while (!verify_now)
			pause();
		verify_and_report(false);
	}
	start_thread();
	dprintf(ready_fd, "%d %d\n", getpid(), child);
	close(ready_fd);
	while (!verify_now)
		pause();
	kill(child, SIGUSR1);
	verify_and_report(true);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	printf("$ %s\n", cmd);
	fflush(stdout);
	return system(cmd);
}

/*
 * criu dump kills the tree; reap it so its pids are free for the restore.
 * The child becomes ours once its parent is gone: retry until it is.
 */
static void reap_dumped(pid_t pid, pid_t child)
{
	int tries;

	waitpid(pid, NULL, 0);
	for (tries = 0; tries < 500 && waitpid(child, NULL, 0) < 0 && errno == ECHILD; tries++)
		usleep(10000);
}

int main(int argc, char **argv)
{
	const char *criu = argv[1], *plugins = argv[2];
	int fds[2], pid = 0, child = 0, status, failed = 0;
	FILE *in;

	if (argc != 4) {
		fprintf(stderr, "usage: %s CRIU PLUGIN_DIR WORK_DIR\n", argv[0]);
		return 2;
	}
	work_dir = argv[3];
	page = sysconf(_SC_PAGESIZE);
	/* PID 1 may not reap: stay the reaper of everything the demo starts */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	if (pipe(fds) || fork() == 0) {
		close(fds[0]);
		workload(fds[1]);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	if (fscanf(in, "%d %d", &pid, &child) != 2) {
		fprintf(stderr, "the workload did not start\n");
		return 1;
	}

	failed = run("%s dump -t %d -D %s/images -o dump.log -v4 --libdir %s", criu, pid, work_dir, plugins);
	if (!failed)
		reap_dumped(pid, child);
	if (failed ||
	    run("grep 'guard_plugin: ' %s/images/dump.log | sed 's/^.*guard_plugin/  guard_plugin/'", work_dir) ||
	    run("ls %s/images | grep guard", work_dir) ||
	    run("%s restore -d -D %s/images -o restore.log -v4 --libdir %s", criu, work_dir, plugins) ||
	    run("grep 'guard_plugin: ' %s/images/restore.log | sed 's/^.*guard_plugin/  guard_plugin/'", work_dir)) {
		fprintf(stderr, "criu failed; see the logs in %s/images\n", work_dir);
		kill(-pid, SIGKILL);
		failed = 1;
	} else {
		kill(pid, SIGUSR1);
	}

	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	if (!failed) {
		printf("\nafter restore, in every process:\n");
		printf("%-7s %7s  %-13s %6s %6s %13s %s\n", "process", "pid", "region", "guards", "found", "SIGSEGV", "");
		run("cat %s/result-parent %s/result-child", work_dir, work_dir);
	}
	printf("\n%s\n", failed ? "DEMO FAILED" : "every guard came back");
	return failed;
}
