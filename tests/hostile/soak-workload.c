// SPDX-License-Identifier: MIT
/*
 * The soak's process tree: it reshapes its guards between checkpoints.
 *
 *   soak-workload RESULTS_DIR SEED
 *
 * Every process waits for signals: SIGUSR2 makes it mutate (install and
 * remove guards, rewrite pages, map and unmap VMAs; the root forks
 * children, children exit), then write RESULTS_DIR/mut-<pid> with the
 * number of mutations so far. SIGUSR1 makes it check its guards and
 * contents against its model (tests/integration/region.c) and write
 * RESULTS_DIR/check-<pid>: "ok" or "not ok: ...". Driven by soak.py.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "itest.h"
#include "region.h"

#define MAX_CHILDREN 3
#define MAX_MINE     8 /* regions of one process */
#define RW	     (PROT_READ | PROT_WRITE)
#define PRIV	     (MAP_PRIVATE | MAP_ANONYMOUS)

static const char *results;
static unsigned long cycle;
static uint64_t rng;
static struct region *mine[MAX_MINE];
static int nr_mine;
static bool is_root = true;
static int children;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11) % n;
}

static void report(const char *kind, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s-%d", results, kind, getpid());
	if (it_write_file_atomic(path, text, strlen(text)))
		exit(3);
}

static void __attribute__((noreturn)) die(const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "not ok: %s: %s\n", what, strerror(errno));
	report("check", msg);
	exit(2);
}

static void new_region(size_t nr_pages)
{
	struct region *r = region_map("soak", nr_pages, RW, PRIV, -1);

	if (!r)
		die("mmap");
	region_fill(r, 0, nr_pages, 1 + rnd(1000));
	mine[nr_mine++] = r;
}

/* Remove the guards of [first, first + nr) one page at a time: the others keep their data */
static void unguard(struct region *r, size_t first, size_t nr)
{
	size_t i;

	for (i = first; i < first + nr; i++)
		if (r->guard[i] && region_unguard(r, i, 1, SEED_ZERO))
			die("MADV_GUARD_REMOVE");
}

static void mutate_region(struct region *r)
{
	size_t n = 1 + rnd(4), first = rnd(r->nr_pages - n + 1);

	switch (rnd(3)) {
	case 0:
		if (region_guard(r, first, n))
			die("MADV_GUARD_INSTALL");
		break;
	case 1:
		unguard(r, first, n * 4 > r->nr_pages - first ? r->nr_pages - first : n * 4);
		break;
	default:
		region_fill(r, first, n, 1 + rnd(100000));
	}
}

static void unmap_one(void)
{
	int i = 2 + rnd(nr_mine - 2);
	struct region *r = mine[i];

	if (munmap(r->addr, r->nr_pages * IT_PAGE_SIZE))
		die("munmap");
	region_forget(r);
	mine[i] = mine[--nr_mine];
}

static void fork_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		is_root = false;
		rng ^= (uint64_t)getpid() << 32;
		return;
	}
	children++;
}

static void mutate(void)
{
	int i;

	while (is_root && waitpid(-1, NULL, WNOHANG) > 0)
		children--;
	for (i = 0; i < 6; i++)
		mutate_region(mine[rnd(nr_mine)]);
	if (nr_mine < MAX_MINE && !rnd(4))
		new_region(4 + rnd(28));
	else if (nr_mine > 2 && !rnd(5))
		unmap_one();
	if (!is_root && !rnd(6))
		exit(0);
	if (is_root && children < MAX_CHILDREN && !rnd(2))
		fork_child();
}

static int check(const char *when)
{
	char msg[IT_MSG_MAX], out[IT_MSG_MAX + 32];

	if (regions_verify(msg, sizeof(msg))) {
		snprintf(out, sizeof(out), "not ok: %s%s\n", when, msg);
		report("check", out);
		return -1;
	}
	report("check", "ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	char buf[32];
	sigset_t set;
	int sig;

	if (argc != 3) {
		fprintf(stderr, "usage: %s RESULTS_DIR SEED\n", argv[0]);
		return 2;
	}
	results = argv[1];
	rng = strtoull(argv[2], NULL, 0) | 1;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die("sigprocmask");
	new_region(256);
	new_region(64);
	for (;;) {
		/* Also records the "gu" VMAs that the restore must give back */
		regions_record_gu();
		if (check("before dump: "))
			exit(1);
		snprintf(buf, sizeof(buf), "%lu\n", cycle);
		report("mut", buf);
		/* A child forked in mutate() reports the same count and waits too */
		do {
			sig = sigwaitinfo(&set, NULL);
			if (sig == SIGUSR1)
				check("");
		} while (sig != SIGUSR2);
		cycle++;
		mutate();
	}
}
