// SPDX-License-Identifier: MIT
/*
 * bench-kernel: the kernel work of guard checkpoint/restore alone, timed
 * outside CRIU, on the guards of live benchmark processes. This is the
 * floor that no user space can go below with today's kernel interfaces.
 *
 *   bench-kernel scan PID...     discovery: open each task's pagemap and
 *                                PAGEMAP_SCAN(PAGE_IS_GUARD) exactly the runs of
 *                                adjacent "gu" VMAs (smaps), one call per run
 *                                while the vector (4096 ranges, faulted in
 *                                beforehand) holds them: prints "US RANGES CALLS"
 *                                summed over the tasks
 *   bench-kernel install PID...  restore: the tasks' guards installed into fresh
 *                                anonymous mappings of the same sizes with
 *                                process_madvise(MADV_GUARD_INSTALL) batches of
 *                                1024 ranges. The first PID is the tree's root;
 *                                every further PID is a fork of a copy holding
 *                                the root's guards that then installs and removes
 *                                its differences (the inheritance the plugin
 *                                uses), charged with its fork's extra cost over
 *                                the same fork without guards. Prints
 *                                "US INSTALL_US FORK_US DIFF_US RANGES"
 *
 * Reading the guards of PID (pagemap, maps) is not timed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard-uapi.h"

#define VEC_LEN	  4096
#define IOV_BATCH 1024 /* UIO_MAXIOV */

static struct page_region vec[VEC_LEN];

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

struct vma {
	unsigned long start, end;
	int gu;
	struct page_region *r; /* guard ranges, absolute addresses of the task */
	size_t nr;
	char *copy; /* our mapping standing in for it */
};

struct task {
	struct vma *v;
	size_t nr;
};

/* VMAs of @pid from smaps, with their "gu" flag */
static void read_vmas(int pid, struct task *t)
{
	char path[64], line[4096];
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		die(path);
	t->v = NULL;
	t->nr = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char *sp = strchr(line, ' '), *dash = strchr(line, '-');

		/* [vsyscall] lies above the task size that PAGEMAP_SCAN walks */
		if (dash && sp && dash < sp && sscanf(line, "%lx-%lx", &s, &e) == 2 && e <= 1UL << 47) {
			if (t->nr == cap) {
				cap = cap ? 2 * cap : 256;
				t->v = realloc(t->v, cap * sizeof(*t->v));
				if (!t->v)
					die("realloc");
			}
			memset(&t->v[t->nr], 0, sizeof(t->v[0]));
			t->v[t->nr].start = s;
			t->v[t->nr].end = e;
			t->nr++;
		} else if (t->nr && !strncmp(line, "VmFlags:", 8) && strstr(line, " gu")) {
			t->v[t->nr - 1].gu = 1;
		}
	}
	fclose(f);
}

/* PAGEMAP_SCAN of [start, end): the number of ranges, each kept in @keep if set */
static long scan(int fd, unsigned long start, unsigned long end, long *calls, struct vma *keep)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = VEC_LEN,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	unsigned long reported = start;
	long n, i, total = 0;

	while (a.start < end) {
		n = ioctl(fd, PAGEMAP_SCAN, &a);
		(*calls)++;
		if (n < 0)
			die("PAGEMAP_SCAN");
		for (i = 0; i < n; i++) {
			/* Linux 6.18 may report ranges twice (see tests/bench/analysis.md) */
			if (vec[i].start < reported)
				vec[i].start = reported;
			if (vec[i].start >= vec[i].end)
				continue;
			reported = vec[i].end;
			total++;
			if (keep) {
				/* a power of two holds each size reached: grow there */
				if (!(keep->nr & (keep->nr - 1))) {
					keep->r = realloc(keep->r, 2 * (keep->nr + 1) * sizeof(*keep->r));
					if (!keep->r)
						die("realloc");
				}
				keep->r[keep->nr++] = vec[i];
			}
		}
		a.start = a.walk_end > reported ? a.walk_end : reported;
	}
	return total;
}

static int cmd_scan(int argc, char **argv)
{
	long long t = 0, t0;
	long ranges = 0, calls = 0;
	struct task tk;
	char path[64];
	size_t i, j;
	int k, fd;

	memset(vec, 0, sizeof(vec)); /* faulted in before any timing */
	for (k = 0; k < argc; k++) {
		int pid = atoi(argv[k]);

		read_vmas(pid, &tk);
		snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
		t0 = now_ns();
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die(path);
		for (i = 0; i < tk.nr; i = j + 1) {
			j = i;
			if (!tk.v[i].gu)
				continue;
			while (j + 1 < tk.nr && tk.v[j + 1].gu)
				j++;
			ranges += scan(fd, tk.v[i].start, tk.v[j].end, &calls, NULL);
		}
		close(fd);
		t += now_ns() - t0;
		free(tk.v);
	}
	printf("%lld %ld %ld\n", t / 1000, ranges, calls);
	return 0;
}

/* The guards of @pid, VMA by VMA (only VMAs that have some) */
static void read_guards(int pid, struct task *t)
{
	struct task all;
	char path[64];
	long calls = 0;
	size_t i;
	int fd;

	read_vmas(pid, &all);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path);
	t->v = calloc(all.nr ? all.nr : 1, sizeof(*t->v));
	t->nr = 0;
	for (i = 0; i < all.nr; i++) {
		struct vma *v = &t->v[t->nr];

		*v = all.v[i];
		v->r = NULL;
		v->nr = 0;
		scan(fd, v->start, v->end, &calls, v);
		if (v->nr)
			t->nr++;
	}
	close(fd);
	free(all.v);
}

static long long advise(struct iovec *iov, size_t n, int advice, int pidfd)
{
	long long t0 = now_ns();
	size_t off, len, i, bytes;

	for (off = 0; off < n; off += len) {
		len = n - off < IOV_BATCH ? n - off : IOV_BATCH;
		for (i = 0, bytes = 0; i < len; i++)
			bytes += iov[off + i].iov_len;
		if (syscall(__NR_process_madvise, pidfd, iov + off, len, advice, 0) != (long)bytes)
			die("process_madvise");
	}
	return now_ns() - t0;
}

/* iovecs of @v's ranges in our copy */
static size_t to_iov(const struct vma *v, const struct page_region *r, size_t nr, struct iovec *iov)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		iov[i].iov_base = v->copy + (r[i].start - v->start);
		iov[i].iov_len = r[i].end - r[i].start;
	}
	return nr;
}

/* Ranges of @a not in @b (both sorted, page granular): appended to @iov */
static size_t minus(const struct vma *v, const struct vma *a, const struct vma *b, struct iovec *iov)
{
	size_t i, j = 0, n = 0;

	for (i = 0; i < a->nr; i++) {
		unsigned long pos = a->r[i].start, end = a->r[i].end;

		while (pos < end) {
			while (b && j < b->nr && b->r[j].end <= pos)
				j++;
			if (!b || j == b->nr || b->r[j].start >= end) {
				iov[n].iov_base = v->copy + (pos - v->start);
				iov[n++].iov_len = end - pos;
				break;
			}
			if (b->r[j].start > pos) {
				iov[n].iov_base = v->copy + (pos - v->start);
				iov[n++].iov_len = b->r[j].start - pos;
			}
			pos = b->r[j].end;
		}
	}
	return n;
}

static struct vma *find(struct task *t, unsigned long start)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (t->v[i].start == start)
			return &t->v[i];
	return NULL;
}

/* Fork, let the child apply its differences, return fork-to-done in ns */
static long long fork_child(struct task *root, struct task *c, struct iovec *iov, int pidfd, long long *diff)
{
	long long t0, t[2];
	int p[2], status;
	pid_t pid;

	if (pipe(p))
		die("pipe");
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		long long d = 0, t1 = now_ns();
		size_t i, n;
		int self = syscall(__NR_pidfd_open, getpid(), 0);

		for (i = 0; c && i < root->nr; i++) {
			struct vma *rv = &root->v[i], *cv = find(c, rv->start);

			n = minus(rv, rv, cv, iov); /* the root's the child lacks */
			d += advise(iov, n, MADV_GUARD_REMOVE, self);
			if (cv) {
				n = minus(rv, cv, rv, iov); /* the child's own */
				d += advise(iov, n, MADV_GUARD_INSTALL, self);
			}
		}
		t[0] = t1; /* the fork is done once the child runs */
		t[1] = d;
		if (write(p[1], t, sizeof(t)) != sizeof(t))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], t, sizeof(t)) != sizeof(t))
		die("read");
	close(p[0]);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	*diff = t[1];
	return t[0] - t0;
}

static int cmd_install(int argc, char **argv)
{
	struct task *tasks = calloc(argc, sizeof(*tasks));
	long long inst = 0, fork_g = 0, fork_0 = 0, diff = 0, d;
	size_t i, n, most = 0, ranges = 0;
	struct iovec *iov;
	int k, self;

	for (k = 0; k < argc; k++) {
		read_guards(atoi(argv[k]), &tasks[k]);
		for (i = 0; i < tasks[k].nr; i++) {
			most = tasks[k].v[i].nr > most ? tasks[k].v[i].nr : most;
			ranges += tasks[k].v[i].nr;
		}
	}
	iov = calloc(2 * (most > ranges ? most : ranges) + 1, sizeof(*iov));
	self = syscall(__NR_pidfd_open, getpid(), 0);
	if (!iov || self < 0)
		die("setup");

	/* The root's VMAs, mapped fresh, then all its guards installed in batches */
	for (i = 0, n = 0; i < tasks[0].nr; i++) {
		struct vma *v = &tasks[0].v[i];

		v->copy = mmap(NULL, v->end - v->start, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		if (v->copy == MAP_FAILED)
			die("mmap");
		n += to_iov(v, v->r, v->nr, iov + n);
	}
	inst = advise(iov, n, MADV_GUARD_INSTALL, self);
	/* Every further task: a fork with the root's guards, then its differences */
	for (k = 1; k < argc; k++) {
		fork_g += fork_child(&tasks[0], &tasks[k], iov, self, &d);
		diff += d;
	}
	/* The same forks without guards, to charge only what the guards add */
	for (i = 0, n = 0; i < tasks[0].nr; i++)
		n += to_iov(&tasks[0].v[i], tasks[0].v[i].r, tasks[0].v[i].nr, iov + n);
	advise(iov, n, MADV_GUARD_REMOVE, self);
	for (k = 1; k < argc; k++)
		fork_0 += fork_child(&tasks[0], NULL, iov, self, &d);

	d = fork_g - fork_0 > 0 ? fork_g - fork_0 : 0;
	printf("%lld %lld %lld %lld %zu\n", (inst + d + diff) / 1000, inst / 1000, d / 1000, diff / 1000, ranges);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "scan"))
		return cmd_scan(argc - 2, argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "install"))
		return cmd_install(argc - 2, argv + 2);
	fprintf(stderr, "usage: %s scan PID... | install ROOT_PID [PID...]\n", argv[0]);
	return 2;
}
