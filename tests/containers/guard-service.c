// SPDX-License-Identifier: MIT
/*
 * guard-service: the guard workload of the containers suite, a static
 * program that runs inside containers and migrated trees.
 *
 *   guard-service serve PORT     build the guard layout, fork a child, then
 *                                answer TCP requests on 127.0.0.1:PORT
 *   guard-service ask PORT       send "check" to 127.0.0.1:PORT, print the
 *                                reply; exit 0 if it starts with "ok"
 *   guard-service scan PID       print every guard range of PID (whole
 *                                address space, PAGEMAP_SCAN), one per line
 *   guard-service reap CMD...    run CMD as a child subreaper that reaps
 *                                every orphan (PID 1 here does not); exit
 *                                with CMD's status
 *
 * The layout is the one stock CRIU 4.2.1 cannot restore: a locked VMA that
 * holds guards (mlock() over guards returns ENOMEM but locks the VMA), plus
 * guards in an ordinary private VMA and under a thread's stack, and a child
 * that inherits the guards and adds one of its own. On "check" the parent
 * and the child each verify, from /proc/self/pagemap (bit 58) and smaps,
 * that every page of their areas is a guard exactly where the layout says,
 * that the other pages kept their contents and that the locked VMA is still
 * locked. The reply carries a request counter, so a restored service shows
 * it kept its state. As PID 1 of a container it also reaps orphans.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "guard-uapi.h"

#define PG	    4096UL
#define MAIN_PAGES  64
#define LOCK_PAGES  32
#define STACK_PAGES 16
#define MSG_MAX	    256

struct area {
	const char *name;
	char *base;
	unsigned long pages;
	const unsigned char *guard; /* guard[i]: page i must be a guard */
	int locked;
};

static unsigned char main_guard[MAIN_PAGES], lock_guard[LOCK_PAGES];
static unsigned char stack_guard[STACK_PAGES];
static struct area areas[] = {
	{"main", NULL, MAIN_PAGES, main_guard, 0},
	{"locked", NULL, LOCK_PAGES, lock_guard, 1},
	{"stack", NULL, STACK_PAGES, stack_guard, 0},
};

#define NR_AREAS (sizeof(areas) / sizeof(areas[0]))

static void die(const char *what)
{
	fprintf(stderr, "guard-service: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned char fill_byte(const struct area *a, unsigned long page)
{
	return (unsigned char)(page * 7 + a->name[0]);
}

static int failed(char *msg, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, size, fmt, ap);
	va_end(ap);
	return -1;
}

static void guard(struct area *a, unsigned long first, unsigned long n)
{
	unsigned char *g = (unsigned char *)a->guard;
	unsigned long i;

	if (madvise(a->base + first * PG, n * PG, MADV_GUARD_INSTALL))
		die("madvise(MADV_GUARD_INSTALL)");
	for (i = first; i < first + n; i++)
		g[i] = 1;
}

static char *map_area(struct area *a)
{
	unsigned long i;

	a->base = mmap(NULL, a->pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->base == MAP_FAILED)
		die("mmap");
	for (i = 0; i < a->pages; i++)
		memset(a->base + i * PG, fill_byte(a, i), PG);
	return a->base;
}

/* Whether smaps shows VM_LOCKED ("lo") on the VMA at addr. */
static int vma_locked(const char *addr)
{
	unsigned long start, end, want = (unsigned long)addr;
	char line[512];
	int in = 0, locked = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = want >= start && want < end;
		else if (in && !strncmp(line, "VmFlags:", 8))
			locked = strstr(line, " lo") != NULL;
	}
	fclose(f);
	return locked;
}

static int check_area(const struct area *a, int pagemap, char *msg, size_t size)
{
	unsigned long i, guards = 0;
	uint64_t e;

	for (i = 0; i < a->pages; i++) {
		off_t off = (off_t)((unsigned long)(a->base + i * PG) / PG * 8);

		if (pread(pagemap, &e, sizeof(e), off) != sizeof(e))
			return failed(msg, size, "not ok: %s: pagemap: %s", a->name, strerror(errno));
		if (!!(e & PM_ENTRY_GUARD_REGION) != a->guard[i])
			return failed(msg, size, "not ok: %s page %lu: guard %d, expected %d", a->name, i,
				      !!(e & PM_ENTRY_GUARD_REGION), a->guard[i]);
		if (a->guard[i]) {
			guards++;
			continue;
		}
		if (a->base[i * PG] != (char)fill_byte(a, i) || a->base[i * PG + PG - 1] != (char)fill_byte(a, i))
			return failed(msg, size, "not ok: %s page %lu: contents lost", a->name, i);
	}
	if (a->locked && vma_locked(a->base) != 1)
		return failed(msg, size, "not ok: %s: VMA not locked", a->name);
	return (int)guards;
}

/* Verify every area of this process; returns its guard page count. */
static int check_self(char *msg, size_t size)
{
	int pagemap, total = 0, n;
	size_t i;

	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0)
		return failed(msg, size, "not ok: /proc/self/pagemap: %s", strerror(errno));
	for (i = 0; i < NR_AREAS; i++) {
		n = check_area(&areas[i], pagemap, msg, size);
		if (n < 0) {
			close(pagemap);
			return -1;
		}
		total += n;
	}
	close(pagemap);
	return total;
}

static void *thread_main(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/* A thread on an mmap()ed stack with a guard page at its low end, as glibc >= 2.42 does. */
static void start_thread(void)
{
	struct area *a = &areas[2];
	pthread_attr_t attr;
	pthread_t t;

	map_area(a);
	guard(a, 0, 1);
	pthread_attr_init(&attr);
	/* the thread runs on the upper half; the checked lower pages stay untouched */
	if (pthread_attr_setstack(&attr, a->base + STACK_PAGES / 2 * PG, STACK_PAGES / 2 * PG))
		die("pthread_attr_setstack");
	/* the upper half is the live stack: only the guard and the lower half are checked */
	a->pages = STACK_PAGES / 2;
	if (pthread_create(&t, &attr, thread_main, NULL))
		die("pthread_create");
}

/*
 * The kernel refuses to install guards into a locked VMA, but mlock() of
 * one that holds guards locks it (and returns ENOMEM).
 */
static void lock_area(const struct area *a)
{
	if (mlock(a->base, a->pages * PG) == 0 || errno != ENOMEM)
		fprintf(stderr, "guard-service: mlock over guards did not return ENOMEM\n");
	if (vma_locked(a->base) != 1) {
		fprintf(stderr, "guard-service: the locked area is not locked\n");
		exit(1);
	}
}

static void setup(void)
{
	map_area(&areas[0]);
	guard(&areas[0], 0, 1);
	guard(&areas[0], 7, 3);
	guard(&areas[0], MAIN_PAGES - 1, 1);

	map_area(&areas[1]);
	guard(&areas[1], 3, 1);
	guard(&areas[1], 20, 2);
	lock_area(&areas[1]);
	start_thread();
}

/* The child answers each byte on req with one line on ans. */
static void child_loop(int req, int ans)
{
	char msg[MSG_MAX], c;
	int n;

	guard(&areas[0], 30, 1);
	/* mlock() is not inherited: lock the child's copy too, guards and all */
	lock_area(&areas[1]);
	for (;;) {
		if (read(req, &c, 1) != 1)
			exit(0);
		n = check_self(msg, sizeof(msg));
		if (n >= 0)
			snprintf(msg, sizeof(msg), "ok child %d guards", n);
		dprintf(ans, "%s\n", msg);
	}
}

static int ask_child(int req, FILE *ans, char *buf, size_t size)
{
	if (write(req, "c", 1) != 1 || !fgets(buf, (int)size, ans))
		return failed(buf, size, "not ok: child does not answer");
	buf[strcspn(buf, "\n")] = '\0';
	return strncmp(buf, "ok", 2) ? -1 : 0;
}

static void answer(int conn, int req, FILE *ans, unsigned long served)
{
	char msg[MSG_MAX], child[MSG_MAX], in[64];
	int n;

	if (read(conn, in, sizeof(in)) <= 0)
		return;
	n = check_self(msg, sizeof(msg));
	if (n >= 0 && ask_child(req, ans, child, sizeof(child)) == 0)
		dprintf(conn, "ok served %lu parent %d guards, %s\n", served, n, child);
	else
		dprintf(conn, "%s\n", n >= 0 ? child : msg);
}

static int listen_on(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int s, one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 8))
		die("bind/listen");
	return s;
}

static void __attribute__((noreturn)) serve(int port)
{
	int req[2], ans[2], s, conn;
	unsigned long served = 0;
	struct pollfd p;
	FILE *ansf;
	pid_t pid;

	setup();
	if (pipe(req) || pipe(ans))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(req[1]);
		close(ans[0]);
		child_loop(req[0], ans[1]);
	}
	close(req[0]);
	close(ans[1]);
	ansf = fdopen(ans[0], "r");
	s = listen_on(port);
	fprintf(stderr, "guard-service: pid %d serving on 127.0.0.1:%d\n", getpid(), port);
	p.fd = s;
	p.events = POLLIN;
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (poll(&p, 1, 1000) <= 0)
			continue;
		conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		answer(conn, req[1], ansf, ++served);
		close(conn);
	}
}

static int ask(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 20};
	char buf[2 * MSG_MAX];
	ssize_t n, len = 0;
	int s;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		die("socket");
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	if (write(s, "check\n", 6) != 6)
		die("write");
	while (len < (ssize_t)sizeof(buf) - 1 && (n = read(s, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	fputs(buf, stdout);
	return strncmp(buf, "ok", 2) ? 1 : 0;
}

static int scan(int pid)
{
	struct page_region regs[512];
	struct pm_scan_arg args = {
		.size = sizeof(args),
		.start = 0,
		.end = 0x7ffffffff000ULL, /* TASK_SIZE on x86_64 */
		.vec = (uintptr_t)regs,
		.vec_len = 512,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	unsigned long long start = 0, end = 0;
	char path[64];
	long n, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	do {
		n = ioctl(fd, PAGEMAP_SCAN, &args);
		if (n < 0)
			die("PAGEMAP_SCAN");
		/* ranges split across calls are joined again */
		for (i = 0; i < n; i++) {
			if (regs[i].start != end) {
				if (end)
					printf("%llx-%llx\n", start, end);
				start = regs[i].start;
			}
			end = regs[i].end;
		}
		args.start = args.walk_end;
	} while (n > 0 && args.walk_end < args.end);
	if (end)
		printf("%llx-%llx\n", start, end);
	close(fd);
	return 0;
}

static int reap(char **argv)
{
	int status, ret = 1;
	pid_t cmd, pid;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		die("PR_SET_CHILD_SUBREAPER");
	cmd = fork();
	if (cmd < 0)
		die("fork");
	if (cmd == 0) {
		execvp(argv[0], argv);
		die(argv[0]);
	}
	while ((pid = wait(&status)) > 0 || errno == EINTR) {
		if (pid == cmd) {
			ret = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
	}
	/* orphans left behind are reaped while they die, not waited for */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "serve"))
		serve(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "ask"))
		return ask(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "scan"))
		return scan(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "reap"))
		return reap(argv + 2);
	fprintf(stderr, "usage: %s serve PORT | ask PORT | scan PID | reap CMD...\n", argv[0]);
	return 2;
}
