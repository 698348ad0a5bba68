// SPDX-License-Identifier: MIT
/*
 * Workload of the integration tests: builds a process tree that uses guard
 * regions, then waits to be checkpointed and restored.
 *
 *   workload SCENARIO RESULTS_DIR
 *
 * Every process of the tree builds its memory, checks it once (to validate
 * its own model), reports "<role> <pid> <guard pages>" on a pipe shared by
 * the tree and waits for SIGUSR1. The root writes RESULTS_DIR/ready with all
 * the lines once every process reported. On each SIGUSR1 (sent by the
 * harness after a restore) every process checks itself again and writes
 * RESULTS_DIR/<role>.result: "ok" or "not ok: <reason>". Setup failures are
 * written there too, as "not ok: setup: <reason>".
 *
 * The current directory is the scenario's scratch directory (file-backed
 * mappings are created there).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "guard-uapi.h"
#include "itest.h"
#include "region.h"

#define PG IT_PAGE_SIZE

static const char *results_dir;
static const char *my_role = "root";
static int ready_pipe[2] = {-1, -1};
static int (*post_restore_check)(char *msg, size_t size);

static void write_result(const char *fmt, ...)
{
	char path[4096], buf[IT_MSG_MAX + 64], name[IT_ROLE_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	snprintf(name, sizeof(name), "%s%s", my_role, IT_RESULT_SUFFIX);
	if (it_path(path, sizeof(path), results_dir, name) ||
	    it_write_file_atomic(path, buf, strlen(buf)))
		fprintf(stderr, "%s: cannot write %s: %m\n", my_role, path);
	fprintf(stderr, "%s (%d): %s", my_role, getpid(), buf);
}

static void __attribute__((noreturn)) setup_failed(const char *what, int line)
{
	write_result("not ok: setup: line %d: %s: %s\n", line, what, strerror(errno));
	exit(1);
}

/* Setup steps return 0 (TRY) or non-NULL (NEED); anything else is fatal. */
#define TRY(expr)                                      \
	do {                                           \
		if ((expr) != 0)                       \
			setup_failed(#expr, __LINE__); \
	} while (0)
#define NEED(expr)                                     \
	do {                                           \
		if (!(expr))                           \
			setup_failed(#expr, __LINE__); \
	} while (0)

static void wait_usr1(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (sigwaitinfo(&set, NULL) < 0)
		if (errno != EINTR)
			setup_failed("sigwaitinfo", __LINE__);
}

static void report_ready(void)
{
	char line[128];
	int n;

	n = snprintf(line, sizeof(line), "%s %d %lu\n", my_role, getpid(), regions_guard_pages());
	if (write(ready_pipe[1], line, n) != n)
		setup_failed("write to the ready pipe", __LINE__);
	close(ready_pipe[1]);
}

/* The root reads every process's line (EOF: all reported) and publishes them. */
static void collect_ready(void)
{
	char buf[65536], path[4096];
	size_t len = 0;
	ssize_t n;

	while ((n = read(ready_pipe[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			setup_failed("read the ready pipe", __LINE__);
		len += n;
	}
	close(ready_pipe[0]);
	TRY(it_path(path, sizeof(path), results_dir, IT_READY_FILE));
	TRY(it_write_file_atomic(path, buf, len));
}

static int verify(char *msg, size_t size)
{
	if (regions_verify(msg, size))
		return -1;
	if (post_restore_check)
		return post_restore_check(msg, size);
	return 0;
}

/* Every process ends here: check, report ready, wait, check, report. */
static void __attribute__((noreturn)) serve(void)
{
	char msg[IT_MSG_MAX];
	int is_root = !strcmp(my_role, "root");

	if (regions_verify(msg, sizeof(msg))) {
		write_result("not ok: before dump: %s\n", msg);
		exit(1);
	}
	if (!is_root)
		close(ready_pipe[0]);
	report_ready();
	if (is_root)
		collect_ready();

	/* One check per restore: a tree may be checkpointed again */
	for (;;) {
		wait_usr1();
		if (verify(msg, sizeof(msg)))
			write_result("not ok: %s\n", msg);
		else
			write_result("%s\n", IT_RESULT_OK);
	}
}

static pid_t spawn(const char *role, void (*fn)(void))
{
	pid_t pid = fork();

	if (pid < 0)
		setup_failed("fork", __LINE__);
	if (pid == 0) {
		my_role = role;
		fn();
		serve();
	}
	return pid;
}

#define RW   (PROT_READ | PROT_WRITE)
#define PRIV (MAP_PRIVATE | MAP_ANONYMOUS)

static struct region *anon(const char *name, size_t nr_pages)
{
	struct region *r;

	NEED(r = region_map(name, nr_pages, RW, PRIV, -1));
	return r;
}

/*
 * An anonymous region with every page written from @seed: most scenarios
 * start from one, so that the check after restore sees data on each page
 * that is not a guard.
 */
static struct region *anon_filled(const char *name, size_t nr_pages, uint32_t seed)
{
	struct region *r = anon(name, nr_pages);

	region_fill(r, 0, nr_pages, seed);
	return r;
}

/* --- private anonymous ------------------------------------------------ */

static void scn_private_anon(void)
{
	struct region *r = anon("anon", 64), *all, *sparse;

	region_fill(r, 0, 64, 1);
	TRY(region_guard(r, 0, 1));
	TRY(region_guard(r, 2, 1));
	TRY(region_guard(r, 10, 10));
	TRY(region_guard(r, 63, 1));

	/* A VMA made of guards only */
	all = anon_filled("all-guards", 8, 2);
	TRY(region_guard(all, 0, 8));

	/* Untouched (zero) pages next to a guard */
	sparse = anon("sparse", 16);
	region_fill(sparse, 0, 4, 3);
	TRY(region_guard(sparse, 8, 1));
}

/* --- file-backed private ---------------------------------------------- */

static int create_data_file(const char *path, size_t nr_pages, uint32_t seed)
{
	uint64_t page[PG / sizeof(uint64_t)];
	size_t i;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	for (i = 0; i < nr_pages; i++) {
		region_page_content(page, seed, i);
		if (pwrite(fd, page, PG, i * PG) != (ssize_t)PG) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void scn_file_private(void)
{
	struct region *ro, *rw;
	int fd;

	NEED((fd = create_data_file("data.bin", 32, 11)) >= 0);
	NEED(ro = region_map("file-ro", 32, PROT_READ, MAP_PRIVATE, fd));
	NEED(rw = region_map("file-rw", 32, RW, MAP_PRIVATE, fd));
	close(fd);

	region_expect(ro, 0, 32, 11);
	TRY(region_guard(ro, 0, 1));
	TRY(region_guard(ro, 3, 2));
	TRY(region_guard(ro, 31, 1));

	/* Private copies of a few pages, guards elsewhere */
	region_expect(rw, 0, 32, 11);
	region_fill(rw, 1, 2, 12);
	TRY(region_guard(rw, 10, 3));
}

/* --- shared anonymous ------------------------------------------------- */

static struct region *shm;

static void shared_anon_child(void)
{
	/* Shared memory keeps its data under a guard: it shows again */
	TRY(region_unguard(shm, 5, 1, 21));
	TRY(region_guard(shm, 12, 1));
}

static void scn_shared_anon(void)
{
	NEED(shm = region_map("shared-anon", 32, RW, MAP_SHARED | MAP_ANONYMOUS, -1));
	region_fill(shm, 0, 32, 21);
	TRY(region_guard(shm, 0, 1));
	TRY(region_guard(shm, 5, 3));
	TRY(region_guard(shm, 31, 1));
	spawn("child", shared_anon_child);
}

/* --- memfd ------------------------------------------------------------ */

static void scn_memfd(void)
{
	struct region *m, *view;
	int fd;

	NEED((fd = syscall(SYS_memfd_create, "guard-test", 0)) >= 0);
	TRY(ftruncate(fd, 32 * PG));
	NEED(m = region_map("memfd", 32, RW, MAP_SHARED, fd));
	region_fill(m, 0, 32, 31);
	TRY(region_guard(m, 1, 1));
	TRY(region_guard(m, 8, 2));
	TRY(region_guard(m, 30, 1));

	/* A second view without guards sees the data under them */
	NEED(view = region_map("memfd-view", 32, RW, MAP_SHARED, fd));
	region_expect(view, 0, 32, 31);
	/* fd stays open */
}

/* --- locked VMA ------------------------------------------------------- */

static struct region *locked, *locked_plain, *relocked;

/*
 * mlock() is not inherited: the child has the guards, not the lock, and
 * locks an inherited VMA of its own (CRIU premaps it in both).
 */
static void locked_child(void)
{
	locked->flags = REGION_UNLOCKED;
	locked_plain->flags = REGION_UNLOCKED;
	TRY(region_guard(locked, 20, 1));
	if (mlock(relocked->addr, 16 * PG) && errno != ENOMEM)
		setup_failed("mlock", __LINE__);
	relocked->flags = REGION_LOCKED;
}

/* A locked VMA with guards that only the root has: the restorer maps it */
static void locked_own(void)
{
	struct region *own = anon_filled("locked-own", 16, 44);

	TRY(region_guard(own, 0, 1));
	TRY(region_guard(own, 9, 3));
	if (mlock(own->addr, 16 * PG) && errno != ENOMEM)
		setup_failed("mlock", __LINE__);
	own->flags |= REGION_LOCKED;
}

static void scn_locked(void)
{
	locked = anon_filled("locked", 32, 41);
	TRY(region_guard(locked, 4, 1));
	TRY(region_guard(locked, 16, 2));
	/* The kernel refuses to lock guard pages but locks the VMA */
	if (mlock(locked->addr, 32 * PG) && errno != ENOMEM)
		setup_failed("mlock", __LINE__);
	locked->flags |= REGION_LOCKED;

	locked_plain = anon_filled("locked-plain", 8, 42);
	TRY(mlock(locked_plain->addr, 8 * PG));
	locked_plain->flags |= REGION_LOCKED;

	relocked = anon_filled("relocked", 16, 43);
	TRY(region_guard(relocked, 3, 2));
	relocked->flags |= REGION_UNLOCKED;

	spawn("child", locked_child);
	locked_own();
}

/* --- parent and child diverge over COW memory ------------------------- */

static struct region *cow, *cow_same;

static void cow_child(void)
{
	TRY(region_unguard(cow, 20, 4, SEED_ZERO));
	region_fill(cow, 20, 2, 202);
	TRY(region_guard(cow, 10, 2));
	TRY(region_guard(cow, 50, 6));
	region_fill(cow, 30, 6, 203);
}

static void scn_cow_divergent(void)
{
	cow = anon_filled("cow", 64, 201);
	TRY(region_guard(cow, 4, 3));
	TRY(region_guard(cow, 20, 4));
	TRY(region_guard(cow, 40, 1));

	cow_same = anon_filled("cow-same", 16, 205);
	TRY(region_guard(cow_same, 3, 1));
	TRY(region_guard(cow_same, 12, 1));

	spawn("child", cow_child);

	TRY(region_guard(cow, 60, 2));
	TRY(region_unguard(cow, 4, 1, SEED_ZERO));
	region_fill(cow, 4, 1, 204);
	region_fill(cow, 7, 1, 206);
}

/* --- a child that dropped every inherited guard ------------------------ */

static struct region *dropped;

static void drop_all_child(void)
{
	TRY(region_unguard(dropped, 2, 2, SEED_ZERO));
	TRY(region_unguard(dropped, 9, 1, SEED_ZERO));
	region_fill(dropped, 0, 3, 212);
}

static void scn_child_drops_all(void)
{
	dropped = anon_filled("dropped", 16, 211);
	TRY(region_guard(dropped, 2, 2));
	TRY(region_guard(dropped, 9, 1));
	spawn("child", drop_all_child);
}

/* --- only the last task dumped has guards --------------------------------- */

static void plain_child(void)
{
	anon_filled("child-plain", 8, 222);
}

static void guarded_child(void)
{
	struct region *r = anon_filled("child-own", 16, 223);

	TRY(region_guard(r, 5, 2));
}

/*
 * The root and its first child have no guard: their (empty) images are
 * written only when the plugin meets the guarded second child.
 */
static void scn_guards_in_child_only(void)
{
	anon_filled("root-plain", 8, 221);
	spawn("plain-child", plain_child);
	spawn("guarded-child", guarded_child);
}

/* --- MADV_DONTFORK: the child has no such VMA ---------------------------- */

static struct region *dontfork;

static void dontfork_child(void)
{
	/* Map something else at the address the parent's VMA has */
	struct region *r;

	NEED(mmap(dontfork->addr, 8 * PG, RW, PRIV | MAP_FIXED_NOREPLACE, -1, 0) == dontfork->addr);
	region_forget(dontfork);
	NEED(r = region_add("child-own", dontfork->addr, 8, 0));
	region_fill(r, 0, 8, 222);
	TRY(region_guard(r, 5, 1));
}

static void scn_dontfork(void)
{
	dontfork = anon("dontfork", 8);
	TRY(madvise(dontfork->addr, 8 * PG, MADV_DONTFORK));
	region_fill(dontfork, 0, 8, 221);
	TRY(region_guard(dontfork, 1, 2));
	spawn("child", dontfork_child);
}

/* --- mremap moves guards with the pages ---------------------------------- */

static void scn_mremap(void)
{
	struct region *r = anon("before-move", 16), *moved;
	char *dst;

	region_fill(r, 0, 16, 231);
	TRY(region_guard(r, 0, 1));
	TRY(region_guard(r, 7, 3));
	/* Reserve a destination, then move the guarded VMA there */
	dst = mmap(NULL, 16 * PG, PROT_NONE, PRIV, -1, 0);
	NEED(dst != MAP_FAILED);
	NEED(mremap(r->addr, 16 * PG, 16 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
	NEED(moved = region_add("moved", dst, 16, 0));
	region_copy_model(moved, r);
	region_forget(r);
}

/* --- shared file mapping -------------------------------------------------- */

static void scn_file_shared(void)
{
	struct region *r;
	int fd;

	NEED((fd = create_data_file("shared.bin", 16, 241)) >= 0);
	NEED(r = region_map("file-shared", 16, RW, MAP_SHARED, fd));
	close(fd);
	region_expect(r, 0, 16, 241);
	region_fill(r, 2, 2, 242); /* written through to the file */
	TRY(region_guard(r, 0, 1));
	TRY(region_guard(r, 6, 2));
	TRY(region_guard(r, 15, 1));
}

/* --- a MAP_GROWSDOWN mapping of our own ----------------------------------- */

static void scn_growsdown(void)
{
	struct region *r;

	NEED(r = region_map("growsdown", 16, RW, PRIV | MAP_GROWSDOWN, -1));
	region_fill(r, 0, 16, 261);
	TRY(region_guard(r, 0, 1));
	TRY(region_guard(r, 5, 2));
}

/* --- a guard page in the main thread's stack ----------------------------- */

#define MAIN_STACK_DEPTH (256 * 1024)

/* Grows the stack, then guards and fills pages deep below today's frames */
static void __attribute__((noinline)) main_stack_setup(void)
{
	volatile char deep[MAIN_STACK_DEPTH];
	char *lo = (char *)(((uintptr_t)deep + PG - 1) & ~(PG - 1));
	struct region *r;

	memset((char *)deep, 0, sizeof(deep));
	NEED(r = region_add("main-stack", lo, 16, 0));
	region_fill(r, 0, 16, 251);
	TRY(region_guard(r, 3, 1));
	TRY(region_guard(r, 10, 2));
}

static void scn_main_stack(void)
{
	main_stack_setup();
}

/* --- three generations ------------------------------------------------ */

static struct region *gen_a, *gen_b;

static void grandchild(void)
{
	TRY(region_unguard(gen_a, 8, 2, SEED_ZERO));
	region_fill(gen_a, 8, 1, 63);
	TRY(region_guard(gen_a, 20, 2));
	TRY(region_guard(gen_b, 7, 1));
}

static void child1(void)
{
	TRY(region_guard(gen_a, 16, 1));
	gen_b = anon_filled("gen-b", 16, 62);
	TRY(region_guard(gen_b, 0, 1));
	TRY(region_guard(gen_b, 15, 1));
	spawn("grandchild", grandchild);
}

static void child2(void)
{
	region_fill(gen_a, 24, 4, 64);
}

static void scn_three_gen(void)
{
	gen_a = anon_filled("gen-a", 32, 61);
	TRY(region_guard(gen_a, 1, 1));
	TRY(region_guard(gen_a, 8, 2));
	spawn("child1", child1);
	spawn("child2", child2);
	TRY(region_guard(gen_a, 30, 1));
}

/* --- thread stacks with a guard page at the low end ------------------- */

#define NR_THREADS     4
#define STACK_PAGES    64
#define STACK_TOP_USED 16 /* glibc puts the TCB and TLS there; the thread runs there */

static int thread_pipe[2];
static pthread_t threads[NR_THREADS];

static unsigned long deep_stack(int depth)
{
	volatile char frame[512];

	memset((char *)frame, depth, sizeof(frame));
	if (!depth)
		return frame[7];
	return frame[3] + deep_stack(depth - 1);
}

static void *thread_fn(void *arg)
{
	char c;

	while (read(thread_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return (void *)deep_stack(32);
}

static int count_threads(void)
{
	struct dirent *de;
	int nr = 0;
	DIR *d;

	d = opendir("/proc/self/task");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			nr++;
	closedir(d);
	return nr;
}

/* After restore: the threads are alive, run on their stacks and exit. */
static int check_threads(char *msg, size_t size)
{
	unsigned long want = deep_stack(32);
	char wake[NR_THREADS] = {0};
	void *ret;
	int i, nr = count_threads();

	if (nr != NR_THREADS + 1) {
		snprintf(msg, size, "%d threads after restore, expected %d", nr, NR_THREADS + 1);
		return -1;
	}
	if (write(thread_pipe[1], wake, sizeof(wake)) != sizeof(wake)) {
		snprintf(msg, size, "waking the threads: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < NR_THREADS; i++) {
		if (pthread_join(threads[i], &ret) || (unsigned long)ret != want) {
			snprintf(msg, size, "thread %d returned %lu, expected %lu", i,
				 (unsigned long)ret, want);
			return -1;
		}
	}
	return 0;
}

/* @st: STACK_PAGES + 1 pages, the guard at the low end; thread @i runs on it */
static void run_thread_on(int i, struct region *st)
{
	pthread_attr_t attr;

	region_expect(st, STACK_PAGES + 1 - STACK_TOP_USED, STACK_TOP_USED, SEED_ANY);
	TRY(pthread_attr_init(&attr));
	TRY(pthread_attr_setstack(&attr, st->addr + PG, STACK_PAGES * PG));
	TRY(pthread_create(&threads[i], &attr, thread_fn, NULL));
	pthread_attr_destroy(&attr);
}

static void start_thread(int i)
{
	char name[32];
	struct region *st;

	snprintf(name, sizeof(name), "stack%d", i);
	st = anon(name, STACK_PAGES + 1);
	/* Like glibc 2.42: the guard is a MADV_GUARD_INSTALL page at the low end */
	TRY(region_guard(st, 0, 1));
	region_fill(st, 1, STACK_PAGES, 300 + i);
	run_thread_on(i, st);
}

static void scn_thread_stacks(void)
{
	int i;

	TRY(pipe(thread_pipe));
	for (i = 0; i < NR_THREADS; i++)
		start_thread(i);
	post_restore_check = check_threads;
}

/* --- thread stacks laid out as glibc >= 2.42 does ----------------------- */

/*
 * glibc maps each thread stack with a MADV_GUARD_INSTALL page at its low
 * end and MADV_NOHUGEPAGE ("nh") on the whole stack; the stack's
 * neighbours are plain rw-p anonymous VMAs (malloc arenas, other
 * mappings). Only "nh" keeps a stack and its neighbours apart: a restore
 * that maps them, lets them merge and installs the guard before
 * MADV_NOHUGEPAGE splits them again leaves "gu" on the neighbours too,
 * which check (e) catches.
 *
 * Slots, in address order: a free one, then plain and stack in turn, and
 * a free one above the last stack. The free slots are filled after a fork
 * (glibc-stacks-fork).
 */
#define GLIBC_STACKS 4
#define PLAIN_PAGES  8
#define GSTACK_PAGES (STACK_PAGES + 1)
#define GLIBC_SLOTS  (2 * GLIBC_STACKS + 2)

static char *glibc_slot[GLIBC_SLOTS];
static struct region *glibc_stack[GLIBC_STACKS];

static struct region *map_at(const char *name, char *addr, size_t nr_pages)
{
	struct region *r;

	NEED(mmap(addr, nr_pages * PG, RW, PRIV | MAP_FIXED, -1, 0) == addr);
	NEED(r = region_add(name, addr, nr_pages, 0));
	return r;
}

static struct region *glibc_plain(int slot, uint32_t seed)
{
	char name[32];
	struct region *r;

	snprintf(name, sizeof(name), "plain%d", slot);
	r = map_at(name, glibc_slot[slot], PLAIN_PAGES);
	region_fill(r, 0, PLAIN_PAGES, seed);
	return r;
}

static struct region *glibc_stack_at(int slot, uint32_t seed)
{
	char name[32];
	struct region *r;

	snprintf(name, sizeof(name), "gstack%d", slot);
	r = map_at(name, glibc_slot[slot], GSTACK_PAGES);
	TRY(madvise(r->addr, GSTACK_PAGES * PG, MADV_NOHUGEPAGE));
	TRY(region_guard(r, 0, 1));
	region_fill(r, 1, GSTACK_PAGES - 1, seed);
	return r;
}

/* Plain VMAs in the odd slots, stacks in the even ones, first and last slot free */
static void glibc_layout(void)
{
	size_t size = 0;
	char *base;
	int i;

	for (i = 0; i < GLIBC_SLOTS; i++)
		size += (i % 2 ? PLAIN_PAGES : GSTACK_PAGES) * PG;
	base = mmap(NULL, size, PROT_NONE, PRIV, -1, 0);
	NEED(base != MAP_FAILED);
	for (i = 0; i < GLIBC_SLOTS; i++) {
		glibc_slot[i] = base;
		base += (i % 2 ? PLAIN_PAGES : GSTACK_PAGES) * PG;
	}
	/* Slots 0 (stack-sized) and GLIBC_SLOTS - 1 (plain-sized) stay free */
	for (i = 1; i < GLIBC_SLOTS - 1; i++) {
		if (i % 2)
			glibc_plain(i, 500 + i);
		else
			glibc_stack[i / 2 - 1] = glibc_stack_at(i, 500 + i);
	}
}

static void scn_glibc_stacks(void)
{
	glibc_layout();
}

static void scn_glibc_stacks_threads(void)
{
	int i;

	glibc_layout();
	TRY(pipe(thread_pipe));
	for (i = 0; i < NR_THREADS; i++)
		run_thread_on(i, glibc_stack[i]);
	post_restore_check = check_threads;
}

/* The child's own stack lands next to the plain VMA it inherited */
static void glibc_child(void)
{
	glibc_stack_at(0, 530);
}

/*
 * Parent and child share the layout, so CRIU premaps it in both; each
 * then maps a VMA of its own, which only the restorer maps, next to a
 * premapped one: the parent a plain VMA above the last stack, the child
 * a stack below the first plain VMA.
 */
static void scn_glibc_stacks_fork(void)
{
	glibc_layout();
	spawn("child", glibc_child);
	glibc_plain(GLIBC_SLOTS - 1, 531);
}

/* --- 20,000+ ranges in one VMA ---------------------------------------- */

#define MANY_RANGES 20480

static void scn_many_ranges(void)
{
	struct region *r = anon("many-ranges", 2 * MANY_RANGES + 1);
	size_t i;

	/* Guard every odd page: one range each, data pages in between */
	for (i = 1; i < r->nr_pages; i += 2)
		TRY(region_guard(r, i, 1));
	region_fill(r, 0, r->nr_pages, 51);
}

/*
 * --- 1,000 ranges as PAGEMAP_SCAN re-reports them --------------------------
 *
 * With this layout and vec_len 1000 (CRIU's collect_madv_guards()), 6.18
 * returns a walk_end short of the last range and reports 488 ranges twice
 * (1,488 in all): the images must hold each guard once.
 */
#define REREPORT_RANGES 1000

static void scn_scan_rereport(void)
{
	struct region *r = anon_filled("rereport", 3 * REREPORT_RANGES, 54);
	size_t i;

	for (i = 0; i < REREPORT_RANGES; i++)
		TRY(region_guard(r, 3 * i + 1, 1));
}

/* --- a child that reshapes 20,000+ inherited ranges ----------------------- */

static struct region *many;

static void many_ranges_child(void)
{
	size_t i;

	/* Drop every other guard, guard every fourth data page */
	for (i = 1; i < many->nr_pages; i += 4)
		TRY(region_unguard(many, i, 1, SEED_ZERO));
	for (i = 2; i < many->nr_pages; i += 8)
		TRY(region_guard(many, i, 1));
}

static void scn_many_ranges_fork(void)
{
	size_t i;

	many = anon("many-ranges", 2 * MANY_RANGES + 1);
	for (i = 1; i < many->nr_pages; i += 2)
		TRY(region_guard(many, i, 1));
	region_fill(many, 0, many->nr_pages, 52);
	spawn("child", many_ranges_child);
}

/* --- hundreds of guarded VMAs ----------------------------------------- */

#define MANY_VMAS 300

static void scn_many_vmas(void)
{
	char *base, name[32];
	struct region *r;
	int i;

	/* Slots of 3 pages split by PROT_NONE pages, so no two VMAs merge */
	base = mmap(NULL, MANY_VMAS * 4 * PG, PROT_NONE, PRIV, -1, 0);
	NEED(base != MAP_FAILED);
	for (i = 0; i < MANY_VMAS; i++) {
		char *slot = base + i * 4 * PG;

		TRY(mprotect(slot, 3 * PG, RW));
		snprintf(name, sizeof(name), "vma%d", i);
		NEED(r = region_add(name, slot, 3, 0));
		region_fill(r, 0, 3, 400 + i);
		TRY(region_guard(r, i % 3, 1));
	}
}

/*
 * --- a tree close to vm.max_map_count ----------------------------------
 *
 * CRIU premaps every private VMA of a task before it forks its children.
 * A gap page after each premapped VMA (to keep them from merging) would
 * need twice the VMAs the task has, and a task with more than half of
 * vm.max_map_count could not be restored. This tree has 60 % of the
 * limit in its parent and inherits all of it in its child: single pages,
 * alternately rw and r so that no two merge, a few with data or a guard.
 */
static struct region *near_limit;

static void near_limit_child(void)
{
	region_fill(near_limit, 4, 1, 611);
	TRY(region_unguard(near_limit, 64, 1, SEED_ZERO));
}

static size_t near_limit_pages(void)
{
	unsigned long max = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");

	NEED(f);
	NEED(fscanf(f, "%lu", &max) == 1);
	fclose(f);
	/* Even, so the last page is read-only and cannot merge on */
	return (max * 6 / 10) & ~1UL;
}

static void scn_near_map_limit(void)
{
	size_t i;

	near_limit = anon("near-limit", near_limit_pages());
	for (i = 0; i < near_limit->nr_pages; i += 64) {
		region_fill(near_limit, i + 2, 1, 600 + i);
		TRY(region_guard(near_limit, i, 1));
	}
	for (i = 1; i < near_limit->nr_pages; i += 2)
		TRY(mprotect(near_limit->addr + i * PG, PG, PROT_READ));
	spawn("child", near_limit_child);
}

/* --- guards straddling mprotect splits -------------------------------- */

static void scn_mprotect_split(void)
{
	struct region *r = anon("split", 32);

	region_fill(r, 0, 32, 81);
	TRY(region_guard(r, 8, 16));
	TRY(region_guard(r, 26, 4));
	/* VMAs: [0,12) rw [12,20) r [20,28) rw [28,32) r */
	TRY(mprotect(r->addr + 12 * PG, 8 * PG, PROT_READ));
	TRY(mprotect(r->addr + 28 * PG, 4 * PG, PROT_READ));
}

/* --- a child splits an inherited guarded VMA ----------------------------- */

static struct region *split_inh;

static void split_child(void)
{
	TRY(mprotect(split_inh->addr + 8 * PG, 8 * PG, PROT_READ));
	TRY(region_guard(split_inh, 20, 1));
}

static void scn_split_in_child(void)
{
	split_inh = anon_filled("split-inherited", 32, 86);
	TRY(region_guard(split_inh, 6, 4)); /* across the child's split */
	TRY(region_guard(split_inh, 12, 1));
	spawn("child", split_child);
	TRY(region_guard(split_inh, 28, 1));
}

/* --- guards in a PROT_NONE reservation ----------------------------------- */

static void scn_prot_none(void)
{
	struct region *r;

	NEED(r = region_map("prot-none", 16, PROT_NONE, PRIV, -1));
	region_expect(r, 0, 16, SEED_ANY); /* unreadable */
	TRY(region_guard(r, 2, 2));
	TRY(region_guard(r, 15, 1));
}

/* --- MADV_WIPEONFORK -------------------------------------------------- */

static struct region *wipe, *nowipe;

static void wipe_child(void)
{
	/* The kernel gave the child an empty VMA: no guards, zero pages */
	region_wiped(wipe);
	region_fill(wipe, 0, 8, 93);
}

static void scn_wipeonfork(void)
{
	wipe = anon("wipeonfork", 16);
	TRY(madvise(wipe->addr, 16 * PG, MADV_WIPEONFORK));
	region_fill(wipe, 0, 16, 91);
	TRY(region_guard(wipe, 2, 1));
	TRY(region_guard(wipe, 9, 2));

	nowipe = anon_filled("inherited", 16, 92);
	TRY(region_guard(nowipe, 3, 1));

	spawn("child", wipe_child);
}

/* --- no guards at all ------------------------------------------------- */

static void scn_no_guards(void)
{
	struct region *r = anon("plain", 32);

	region_fill(r, 0, 32, 71);
}

/* --- a VMA that had guards ("gu") but holds none any more -------------- */

static void scn_guards_removed(void)
{
	struct region *r = anon("removed", 32);

	region_fill(r, 0, 32, 72);
	TRY(region_guard(r, 4, 4));
	TRY(region_unguard(r, 4, 4, SEED_ZERO));
	region_fill(r, 4, 2, 73);
}

/* --- one guard amid zero pages (the harness moves it: self-test) ------- */

static void scn_sparse_guard(void)
{
	struct region *r = anon("sparse-guard", 16);

	region_fill(r, 0, 2, 74);
	TRY(region_guard(r, 8, 1));
}

/* --- AIO rings: kernel-managed VMAs next to guarded memory -------------- */

static void aio_ring(void)
{
	unsigned long ctx = 0;

	/* io_setup(2) maps the ring as a VMA of this task ("/[aio]") */
	TRY(syscall(SYS_io_setup, 16, &ctx));
}

static void aio_child(void)
{
	struct region *r = anon_filled("aio-child", 8, 76);

	aio_ring();
	TRY(region_guard(r, 2, 1));
}

static void scn_aio(void)
{
	struct region *r = anon_filled("aio", 8, 75);

	aio_ring();
	TRY(region_guard(r, 4, 1));
	spawn("child", aio_child);
}

struct scenario {
	const char *name;
	void (*build)(void);
};

static const struct scenario scenarios[] = {
	{"private-anon", scn_private_anon},
	{"file-private", scn_file_private},
	{"shared-anon", scn_shared_anon},
	{"memfd", scn_memfd},
	{"locked", scn_locked},
	{"cow-divergent", scn_cow_divergent},
	{"three-gen", scn_three_gen},
	{"thread-stacks", scn_thread_stacks},
	{"glibc-stacks", scn_glibc_stacks},
	{"glibc-stacks-threads", scn_glibc_stacks_threads},
	{"glibc-stacks-fork", scn_glibc_stacks_fork},
	{"many-ranges", scn_many_ranges},
	{"many-ranges-fork", scn_many_ranges_fork},
	{"scan-rereport", scn_scan_rereport},
	{"many-vmas", scn_many_vmas},
	{"near-map-limit", scn_near_map_limit},
	{"mprotect-split", scn_mprotect_split},
	{"split-in-child", scn_split_in_child},
	{"prot-none", scn_prot_none},
	{"wipeonfork", scn_wipeonfork},
	{"no-guards", scn_no_guards},
	{"guards-removed", scn_guards_removed},
	{"sparse-guard", scn_sparse_guard},
	{"child-drops-all", scn_child_drops_all},
	{"guards-in-child-only", scn_guards_in_child_only},
	{"dontfork", scn_dontfork},
	{"mremap", scn_mremap},
	{"file-shared", scn_file_shared},
	{"main-stack", scn_main_stack},
	{"growsdown", scn_growsdown},
	{"aio", scn_aio},
};

static const struct scenario *find_scenario(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct scenario *scn;
	sigset_t set;

	if (argc != 3 || !(scn = find_scenario(argv[1]))) {
		fprintf(stderr, "usage: %s SCENARIO RESULTS_DIR\n", argv[0]);
		return 2;
	}
	results_dir = argv[2];

	/* Blocked in every thread and child: only sigwaitinfo() takes it */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	TRY(sigprocmask(SIG_BLOCK, &set, NULL));
	TRY(pipe2(ready_pipe, O_CLOEXEC));

	scn->build();
	serve();
}
