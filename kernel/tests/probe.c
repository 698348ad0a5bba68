// SPDX-License-Identifier: MIT
/*
 * The probe runs inside criu: it must leave the address space, file
 * descriptors, signal state, children and errno as it found them.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "harness.h"

#define SNAPSHOT_LEN (256 * 1024)

static char before[SNAPSHOT_LEN], after[SNAPSHOT_LEN];

/* Every VMA header and VmFlags line of smaps: layout plus flags like gu. */
static void snapshot_vmas(char *buf)
{
	char line[512];
	size_t used = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) != 2 &&
		    strncmp(line, "VmFlags:", 8))
			continue;
		ASSERT_TRUE(used + strlen(line) < SNAPSHOT_LEN);
		memcpy(buf + used, line, strlen(line));
		used += strlen(line);
	}
	buf[used] = '\0';
	fclose(f);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ASSERT_TRUE(d != NULL);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void probe_everything_afresh(void)
{
	int i;

	guard_probe_forget();
	for (i = 0; i < GUARD_FEAT_NR; i++)
		ASSERT_TRUE(guard_probe(i) != GUARD_PROBE_ERROR);
}

/* Assert that probing leaves every VMA and its flags as they were. */
static void guard_probe_leaves_vmas_and_their_flags_unchanged(void)
{
	/* Warm up stdio and the heap so that the snapshots do not differ. */
	snapshot_vmas(before);
	probe_everything_afresh();
	snapshot_vmas(before);
	probe_everything_afresh();
	snapshot_vmas(after);
	if (strcmp(before, after))
		test_note("before:\n%s\nafter:\n%s", before, after);
	ASSERT_TRUE(!strcmp(before, after));
}

/* Assert that probing leaves no file descriptor open. */
static void guard_probe_leaves_no_fd_open(void)
{
	int fds = count_fds();

	probe_everything_afresh();
	ASSERT_EQ(count_fds(), fds);
}

/* Assert that the fork of file_guard_cow is reaped: no child remains. */
static void guard_probe_leaves_no_child_behind(void)
{
	probe_everything_afresh();
	ASSERT_ERRNO(waitpid(-1, NULL, WNOHANG), ECHILD);
}

/* Assert that signal dispositions and the signal mask are unchanged. */
static void guard_probe_leaves_signal_state_unchanged(void)
{
	struct sigaction segv, chld, segv2, chld2;
	sigset_t mask, mask2;
	int sig;

	sigaction(SIGSEGV, NULL, &segv);
	sigaction(SIGCHLD, NULL, &chld);
	sigprocmask(SIG_SETMASK, NULL, &mask);
	probe_everything_afresh();
	sigaction(SIGSEGV, NULL, &segv2);
	sigaction(SIGCHLD, NULL, &chld2);
	sigprocmask(SIG_SETMASK, NULL, &mask2);
	ASSERT_TRUE(segv.sa_handler == segv2.sa_handler);
	ASSERT_TRUE(chld.sa_handler == chld2.sa_handler);
	/* Compare signals, not bytes: sigset_t has unused padding. */
	for (sig = 1; sig < SIGRTMAX; sig++)
		if (sigismember(&mask, sig) != sigismember(&mask2, sig))
			test_fail_at(__FILE__, __LINE__,
				     "blocked state of signal %d changed", sig);
}

/* Assert that a caller's errno survives probing. */
static void guard_probe_preserves_errno(void)
{
	guard_probe_forget();
	errno = EXDEV;
	guard_probe(GUARD_FEAT_SMAPS_GU);
	ASSERT_EQ(errno, EXDEV);
}

/* Assert that an unknown feature is an error, not a crash. */
static void guard_probe_of_unknown_feature_is_an_error(void)
{
	ASSERT_EQ(guard_probe(GUARD_FEAT_NR), GUARD_PROBE_ERROR);
	ASSERT_TRUE(!strcmp(guard_feature_name(GUARD_FEAT_NR), "unknown"));
}

static const struct guard_test tests[] = {
	GUARD_TEST(guard_probe_leaves_vmas_and_their_flags_unchanged),
	GUARD_TEST(guard_probe_leaves_no_fd_open),
	GUARD_TEST(guard_probe_leaves_no_child_behind),
	GUARD_TEST(guard_probe_leaves_signal_state_unchanged),
	GUARD_TEST(guard_probe_preserves_errno),
	GUARD_TEST(guard_probe_of_unknown_feature_is_an_error),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
