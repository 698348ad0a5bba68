// SPDX-License-Identifier: MIT
/*
 * bench-tool: the small measuring helpers of the benchmark driver.
 *
 *   bench-tool reaper CMD ARGS...   run CMD as a child subreaper that reaps
 *                                   every orphan (PID 1 here does not)
 *   bench-tool time OUT CMD ARGS... run CMD, write "WALL_US MAXRSS_KIB" to OUT
 *                                   (wait4 rusage of CMD), exit with its status
 *   bench-tool scan PID             CRIU 4.2.1's guard discovery, as
 *                                   collect_madv_guards() does it, on a live
 *                                   process: prints "US RANGES PAGES IOCTLS"
 *   bench-tool count PID            the ground truth: guard pages and ranges
 *                                   from /proc/PID/pagemap bit 58, VMA by VMA:
 *                                   prints "RANGES PAGES"
 *   bench-tool stats FILE           decode a stats-dump / stats-restore image:
 *                                   prints "name value" lines
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guard-uapi.h"

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static pid_t main_child;

static void forward(int sig)
{
	if (main_child > 0)
		kill(main_child, sig);
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cmd_reaper(char **argv)
{
	int status, ret = 1;
	pid_t pid;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	main_child = fork();
	if (main_child < 0)
		return 1;
	if (main_child == 0) {
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	signal(SIGINT, forward);
	signal(SIGTERM, forward);
	for (;;) {
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pid == main_child) {
			ret = exit_code(status);
			break;
		}
	}
	/* orphans the driver left behind (it kills what it starts) */
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
	return ret;
}

static int cmd_time(const char *out, char **argv)
{
	struct rusage ru;
	long long t0 = now_us(), t1;
	int status;
	pid_t pid;
	FILE *f;

	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return 1;
	t1 = now_us();
	f = fopen(out, "w");
	if (!f)
		return 1;
	fprintf(f, "%lld %ld\n", t1 - t0, ru.ru_maxrss);
	fclose(f);
	return exit_code(status);
}

/*
 * What CRIU 4.2.1's collect_madv_guards() does per task: open the task's
 * pagemap, PAGEMAP_SCAN(PAGE_IS_GUARD) from 0 to the task size with a
 * 1000-entry vector, and allocate one fake VMA (struct vma_area + VmaEntry,
 * zeroed, linked in a list) per range found.
 */
#define TASK_SIZE_X86_64 ((1ULL << 47) - 4096)
#define FAKE_VMA_SIZE	 (72 + 104) /* sizeof(struct vma_area) + sizeof(VmaEntry) in CRIU 4.2.1 (gdb) */

struct fake_vma {
	struct fake_vma *next;
	uint64_t start, end;
	unsigned int status;
};

static int cmd_scan(pid_t pid)
{
	struct pm_scan_arg args = {
		.size = sizeof(args),
		.end = TASK_SIZE_X86_64,
		.vec_len = 1000,
		.category_mask = PAGE_IS_GUARD,
		.return_mask = PAGE_IS_GUARD,
	};
	struct fake_vma *head = NULL, **tail = &head, *v;
	unsigned long long ranges = 0, pages = 0, ioctls = 0;
	struct page_region *regs;
	char path[64];
	long long t0, t1;
	long n, i;
	int fd;

	regs = malloc(args.vec_len * sizeof(*regs));
	if (!regs)
		return 1;
	args.vec = (uintptr_t)regs;

	t0 = now_us();
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	do {
		args.start = args.walk_end;
		n = ioctl(fd, PAGEMAP_SCAN, &args);
		ioctls++;
		if (n < 0) {
			perror("PAGEMAP_SCAN");
			return 1;
		}
		for (i = 0; i < n; i++) {
			v = calloc(1, FAKE_VMA_SIZE);
			if (!v)
				return 1;
			v->start = regs[i].start;
			v->end = regs[i].end;
			v->status = 1 << 7;
			*tail = v;
			tail = &v->next;
			ranges++;
			pages += (regs[i].end - regs[i].start) / 4096;
		}
	} while (args.walk_end != TASK_SIZE_X86_64);
	close(fd);
	t1 = now_us();

	printf("%lld %llu %llu %llu\n", t1 - t0, ranges, pages, ioctls);
	while (head) {
		v = head->next;
		free(head);
		head = v;
	}
	free(regs);
	return 0;
}

static int cmd_count(pid_t pid)
{
	static uint64_t pm[65536];
	unsigned long long ranges = 0, pages = 0;
	unsigned long start, end, addr;
	char path[64], line[4096];
	FILE *maps;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (!maps || fd < 0) {
		perror(path);
		return 1;
	}
	while (fgets(line, sizeof(line), maps)) {
		int in_guard = 0;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || strstr(line, "[vsyscall]"))
			continue;
		for (addr = start; addr < end;) {
			size_t n = (end - addr) / 4096, i;
			ssize_t got;

			if (n > 65536)
				n = 65536;
			got = pread(fd, pm, n * 8, addr / 4096 * 8);
			if (got <= 0)
				break;
			n = got / 8;
			for (i = 0; i < n; i++) {
				int g = !!(pm[i] & PM_ENTRY_GUARD_REGION);

				pages += g;
				ranges += g && !in_guard;
				in_guard = g;
			}
			addr += n * 4096;
		}
	}
	fclose(maps);
	close(fd);
	printf("%llu %llu\n", ranges, pages);
	return 0;
}

/* Protobuf wire format, just enough for stats_entry */
static int varint(const unsigned char **p, const unsigned char *end, unsigned long long *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		unsigned char b = *(*p)++;

		*v |= (unsigned long long)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

static const char *const dump_fields[] = {
	NULL,
	"freezing_time",
	"frozen_time",
	"memdump_time",
	"memwrite_time",
	"pages_scanned",
	"pages_skipped_parent",
	"pages_written",
	"irmap_resolve",
	"pages_lazy",
	"page_pipes",
	"page_pipe_bufs",
	"shpages_scanned",
	"shpages_skipped_parent",
	"shpages_written",
};
static const char *const restore_fields[] = {
	NULL,
	"pages_compared",
	"pages_skipped_cow",
	"forking_time",
	"restore_time",
	"pages_restored",
};

static int decode_stats(const unsigned char *p, const unsigned char *end, const char *const *names, int nr_names)
{
	unsigned long long key, v;

	while (p < end) {
		if (varint(&p, end, &key))
			return -1;
		if ((key & 7) != 0)
			return -1;
		if (varint(&p, end, &v))
			return -1;
		if ((int)(key >> 3) < nr_names && names[key >> 3])
			printf("%s %llu\n", names[key >> 3], v);
	}
	return 0;
}

static int cmd_stats(const char *path)
{
	unsigned char buf[4096];
	const unsigned char *p, *end;
	unsigned long long key, len;
	uint32_t size;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	/* IMG_SERVICE_MAGIC, STATS_MAGIC, then one entry: u32 size + stats_entry */
	if (n < 12)
		return 1;
	memcpy(&size, buf + 8, 4);
	if (12 + (ssize_t)size > n)
		return 1;
	p = buf + 12;
	end = p + size;
	while (p < end) {
		if (varint(&p, end, &key) || (key & 7) != 2 || varint(&p, end, &len) || p + len > end)
			return 1;
		if ((key >> 3) == 1)
			decode_stats(p, p + len, dump_fields, sizeof(dump_fields) / sizeof(*dump_fields));
		else if ((key >> 3) == 2)
			decode_stats(p, p + len, restore_fields, sizeof(restore_fields) / sizeof(*restore_fields));
		p += len;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "reaper"))
		return cmd_reaper(argv + 2);
	if (argc >= 4 && !strcmp(argv[1], "time"))
		return cmd_time(argv[2], argv + 3);
	if (argc == 3 && !strcmp(argv[1], "scan"))
		return cmd_scan(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "count"))
		return cmd_count(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "stats"))
		return cmd_stats(argv[2]);
	fprintf(stderr, "usage: %s reaper CMD... | time OUT CMD... | scan PID | count PID | stats FILE\n", argv[0]);
	return 2;
}
