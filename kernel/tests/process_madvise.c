// SPDX-License-Identifier: MIT
/*
 * process_madvise(MADV_GUARD_INSTALL): the restorer batches many guard
 * ranges into one call on itself; other processes are out of reach.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int sys_pidfd_open(pid_t pid)
{
	int fd = syscall(__NR_pidfd_open, pid, 0);

	if (fd < 0)
		test_fail_at(__FILE__, __LINE__, "pidfd_open: %s",
			     errno_name(errno));
	return fd;
}

static long sys_process_madvise(int pidfd, const struct iovec *iov, size_t n,
				int advice, unsigned int flags)
{
	return syscall(__NR_process_madvise, pidfd, iov, n, advice, flags);
}

static struct iovec pages_iov(char *p, size_t first, size_t nr)
{
	struct iovec iov = {p + first * psize, nr * psize};

	return iov;
}

/* Three ranges covering pages 0, 3, 4 and 7 of eight. */
static void fill_three_ranges(char *p, struct iovec iov[3])
{
	iov[0] = pages_iov(p, 0, 1);
	iov[1] = pages_iov(p, 3, 2);
	iov[2] = pages_iov(p, 7, 1);
}

static void assert_guarded_exactly_at_0_3_4_7(char *p)
{
	size_t i;

	for (i = 0; i < 8; i++) {
		bool guarded = i == 0 || i == 3 || i == 4 || i == 7;

		ASSERT_EQ(try_read(p + i * psize), !guarded);
	}
}

/* Assert that one call on self installs guards in several ranges. */
static void process_madvise_installs_guards_in_several_self_ranges(void)
{
	struct iovec iov[3];
	int pidfd;
	char *p;

	require_feature(GUARD_FEAT_PROCESS_MADVISE_SELF);
	pidfd = sys_pidfd_open(getpid());
	p = map_anon_isolated(8);
	fill_three_ranges(p, iov);
	ASSERT_EQ(sys_process_madvise(pidfd, iov, 3, MADV_GUARD_INSTALL, 0),
		  4 * psize);
	assert_guarded_exactly_at_0_3_4_7(p);
}

/* Assert that one call on self removes guards in several ranges. */
static void process_madvise_removes_guards_in_several_self_ranges(void)
{
	struct iovec iov[3];
	int pidfd;
	size_t i;
	char *p;

	require_feature(GUARD_FEAT_PROCESS_MADVISE_SELF);
	pidfd = sys_pidfd_open(getpid());
	p = map_anon_isolated(8);
	ASSERT_OK(guard_install(p, 8));
	fill_three_ranges(p, iov);
	ASSERT_EQ(sys_process_madvise(pidfd, iov, 3, MADV_GUARD_REMOVE, 0),
		  4 * psize);
	/* Exactly the removed pages are readable again. */
	for (i = 0; i < 8; i++)
		ASSERT_EQ(try_read(p + i * psize),
			  i == 0 || i == 3 || i == 4 || i == 7);
}

/*
 * Assert that a batch stops at the first unmapped range and reports the
 * bytes done so far: ranges after it get no guards.
 */
static void process_madvise_stops_at_an_unmapped_range(void)
{
	struct iovec iov[3];
	int pidfd;
	char *p;

	require_feature(GUARD_FEAT_PROCESS_MADVISE_SELF);
	pidfd = sys_pidfd_open(getpid());
	p = map_anon_isolated(3);
	iov[0] = pages_iov(p, 0, 1);
	iov[1] = pages_iov(p, 4, 1); /* the PROT_NONE fence and beyond */
	iov[2] = pages_iov(p, 2, 1);
	ASSERT_OK(munmap(p + 3 * psize, 2 * psize));

	ASSERT_EQ(sys_process_madvise(pidfd, iov, 3, MADV_GUARD_INSTALL, 0), psize);
	ASSERT_FALSE(try_read(p));
	ASSERT_TRUE(try_read(p + 2 * psize));
}

/* Assert that flags other than 0 are refused with EINVAL. */
static void process_madvise_with_flags_fails_einval(void)
{
	struct iovec iov[1];
	int pidfd;
	char *p;

	require_feature(GUARD_FEAT_PROCESS_MADVISE_SELF);
	pidfd = sys_pidfd_open(getpid());
	p = map_anon_isolated(1);
	iov[0] = pages_iov(p, 0, 1);
	ASSERT_ERRNO(sys_process_madvise(pidfd, iov, 1, MADV_GUARD_INSTALL, 1),
		     EINVAL);
	ASSERT_TRUE(try_read(p));
}

/* Assert that guards cannot be installed into another process: EINVAL. */
static void process_madvise_guard_install_on_other_process_fails_einval(void)
{
	struct iovec iov[1];
	int pidfd, status, err;
	pid_t pid;
	long ret;
	char *p;

	require_feature(GUARD_FEAT_PROCESS_MADVISE_SELF);
	p = map_anon_isolated(1);
	fflush(stdout);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	pidfd = sys_pidfd_open(pid);
	iov[0] = pages_iov(p, 0, 1);
	errno = 0;
	ret = sys_process_madvise(pidfd, iov, 1, MADV_GUARD_INSTALL, 0);
	err = errno;

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_EQ(ret, -1);
	ASSERT_EQ(err, EINVAL);
}

static const struct guard_test tests[] = {
	GUARD_TEST(process_madvise_installs_guards_in_several_self_ranges),
	GUARD_TEST(process_madvise_removes_guards_in_several_self_ranges),
	GUARD_TEST(process_madvise_stops_at_an_unmapped_range),
	GUARD_TEST(process_madvise_with_flags_fails_einval),
	GUARD_TEST(process_madvise_guard_install_on_other_process_fails_einval),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
