// SPDX-License-Identifier: MIT
/*
 * Guard image files: writes that fail, stall or come short, and names that
 * are not regular files. Linked with -Wl,--wrap=write, so that the image
 * writer's write() calls go through fake_write() below.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "guard-image.h"
#include "unit.h"

#define SHIFT 12
#define P(n)  ((uint64_t)(n) << SHIFT)

enum write_mode { W_REAL,
		  W_ZERO,
		  W_EINTR_ONCE,
		  W_SHORT,
		  W_ENOSPC };

static enum write_mode mode;
static unsigned long calls;

ssize_t __real_write(int fd, const void *buf, size_t len);

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	calls++;
	switch (mode) {
	case W_REAL:
		break;
	case W_ZERO:
		if (calls > 100000) {
			/* Only a writer that ignores "no progress" gets here */
			printf("not ok - write() returned 0 %lu times: the writer loops\n", calls);
			exit(1);
		}
		return 0;
	case W_EINTR_ONCE:
		if (calls == 1) {
			errno = EINTR;
			return -1;
		}
		break;
	case W_SHORT:
		len = len > 3 ? 3 : len;
		break;
	case W_ENOSPC:
		if (calls > 2) {
			errno = ENOSPC;
			return -1;
		}
		len = len > 5 ? 5 : len;
		break;
	}
	return __real_write(fd, buf, len);
}

static char dir[] = "/tmp/guard-io-XXXXXX";
static int dirfd;
static struct guard_set set;

static void make_set(void)
{
	size_t i;

	set.pid = 5;
	guard_set_begin_vma(&set, P(16));
	for (i = 0; i < 1000; i++)
		guard_set_add(&set, P(16 + 2 * i), P(17 + 2 * i));
}

static bool exists(const char *name)
{
	struct stat st;

	return !fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
}

/* Does guard-regions-5.img hold exactly the encoded set? */
static bool image_is_whole(void)
{
	struct guard_buf want = {}, got = {};
	bool same;

	guard_image_encode(&set, SHIFT, &want);
	same = !guard_file_read(dirfd, "guard-regions-5.img", GUARD_IMG_MAX_SIZE, &got) && got.len == want.len &&
	       !memcmp(got.data, want.data, got.len);
	guard_buf_free(&want);
	guard_buf_free(&got);
	return same;
}

static int write_with(enum write_mode m)
{
	uint64_t pages = 0;
	size_t bytes = 0;
	int ret;

	unlinkat(dirfd, "guard-regions-5.img", 0);
	mode = m;
	calls = 0;
	unit_log_clear();
	ret = guard_image_write(dirfd, 5, &set, SHIFT, &bytes, &pages);
	mode = W_REAL;
	return ret;
}

static void test_faulty_writes(void)
{
	UNIT_CHECK(write_with(W_ZERO) && unit_log_has("guard-regions-5.img") && !exists("guard-regions-5.img"),
		   "write_returning_0_fails_the_dump_and_leaves_no_image");
	UNIT_CHECK(write_with(W_ENOSPC) && unit_log_has("guard-regions-5.img") && unit_log_has("No space") &&
			   !exists("guard-regions-5.img"),
		   "enospc_fails_the_dump_and_leaves_no_partial_image");
	UNIT_CHECK(!write_with(W_EINTR_ONCE) && image_is_whole(), "an_interrupted_write_is_retried");
	UNIT_CHECK(!write_with(W_SHORT) && calls > 100 && image_is_whole(), "short_writes_are_continued");
}

static void test_planted_names(void)
{
	uint64_t pages;
	size_t bytes;
	char target[64];
	int fd;

	/* A symlink to a file the dump must not overwrite */
	snprintf(target, sizeof(target), "%s/victim", dir);
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "keep", 4) != 4)
		printf("# cannot make %s\n", target);
	close(fd);
	unlinkat(dirfd, "guard-regions-5.img", 0);
	symlinkat(target, dirfd, "guard-regions-5.img");
	unit_log_clear();
	UNIT_CHECK(guard_image_write(dirfd, 5, &set, SHIFT, &bytes, &pages) && unit_log_has("is a symlink"),
		   "a_planted_symlink_is_refused");
	fd = open(target, O_RDONLY);
	UNIT_CHECK(fd >= 0 && lseek(fd, 0, SEEK_END) == 4, "the_symlinks_target_is_untouched");
	close(fd);

	unit_log_clear();
	UNIT_CHECK(guard_image_read(dirfd, 5, SHIFT, &set) == -1 && unit_log_has("is a symlink"),
		   "reading_through_a_symlink_is_refused");
	unlinkat(dirfd, "guard-regions-5.img", 0);

	/* A FIFO would block open() for write, and read() for ever */
	mkfifoat(dirfd, "guard-regions-5.img", 0600);
	alarm(10);
	unit_log_clear();
	UNIT_CHECK(guard_image_write(dirfd, 5, &set, SHIFT, &bytes, &pages) && unit_log_has("is a FIFO"),
		   "a_planted_fifo_is_refused_without_blocking");
	unit_log_clear();
	UNIT_CHECK(guard_image_read(dirfd, 5, SHIFT, &set) == -1 && unit_log_has("is a FIFO"),
		   "reading_a_fifo_is_refused_without_blocking");
	alarm(0);
	unlinkat(dirfd, "guard-regions-5.img", 0);

	mkdirat(dirfd, "guard-regions-5.img", 0700);
	unit_log_clear();
	UNIT_CHECK(guard_image_read(dirfd, 5, SHIFT, &set) == -1 && unit_log_has("is a directory"),
		   "a_directory_is_refused");
	unlinkat(dirfd, "guard-regions-5.img", AT_REMOVEDIR);

	/* An earlier dump's image is replaced */
	fd = openat(dirfd, "guard-regions-5.img", O_WRONLY | O_CREAT, 0644);
	close(fd);
	UNIT_CHECK(!guard_image_write(dirfd, 5, &set, SHIFT, &bytes, &pages) && image_is_whole(),
		   "an_old_regular_image_is_replaced");
}

static void test_pid_is_checked(void)
{
	struct guard_set got = {};

	UNIT_CHECK(!guard_image_read(dirfd, 5, SHIFT, &got) && got.pid == 5 && got.ranges.nr == 1000,
		   "an_image_read_for_its_own_task_is_accepted");
	guard_set_free(&got);
	renameat(dirfd, "guard-regions-5.img", dirfd, "guard-regions-6.img");
	unit_log_clear();
	UNIT_CHECK(guard_image_read(dirfd, 6, SHIFT, &got) == -1 &&
			   unit_log_has("guard-regions-6.img: entry 0: records pid 5, not 6"),
		   "another_tasks_image_is_refused");
	guard_set_free(&got);
	unlinkat(dirfd, "guard-regions-6.img", 0);
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(dir))
		return 1;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	make_set();
	test_faulty_writes();
	test_planted_names();
	test_pid_is_checked();
	guard_set_free(&set);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		printf("# cannot remove %s\n", dir);
	return unit_done();
}
