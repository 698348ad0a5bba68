// SPDX-License-Identifier: MIT
/*
 * /init of the kernel/check test VM.
 *
 * Mounts proc, sys, dev, devpts and a tmpfs, then runs every executable below
 * /tests/<group>/ in a fixed group order, each in its own process group with
 * a timeout and with /tmp as the working directory. The kernel command line
 * parameter cg_groups=a,b (which the kernel hands to /init as an environment
 * variable, as every unknown name=value parameter) limits the run to those
 * groups; the programs inherit the other cg_* variables. Every line a program
 * prints is echoed to the console as "<group>/<name>| <line>", so TAP output
 * stays attributable; after each program one "@@cg result" line and at the
 * end one "@@cg summary" line is printed. Then the VM reboots, which ends
 * QEMU when it runs with -no-reboot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TESTS_DIR    "/tests"
#define MAX_PROGS    64
#define LINE_MAX_LEN 4096

/* Groups in the order they run, with the timeout of each program. */
static const struct {
	const char *name;
	int timeout_sec;
} groups[] = {
	{"probe", 120},
	{"conformance", 300},
	{"selftest", 300},
	{"bench", 300},
	{"criu", 1200},
};

static int nr_run, nr_passed, nr_failed;

#define CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/current_clocksource"

/* The first line of a small file, or "?". */
static const char *read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	if (!f || !fgets(buf, size, f))
		snprintf(buf, size, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mount_fs(const char *src, const char *dst, const char *type)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, 0, NULL) && errno != EBUSY)
		printf("@@cg warning: mount %s on %s: %s\n", type, dst,
		       strerror(errno));
}

/* Echo complete lines of @buf with a prefix; keep a partial line. */
static size_t echo_lines(const char *prefix, char *buf, size_t len, int flush)
{
	size_t start = 0, i;

	for (i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		printf("%s| %s\n", prefix, buf + start);
		start = i + 1;
	}
	if (flush && start < len) {
		buf[len] = '\0';
		printf("%s| %s\n", prefix, buf + start);
		start = len;
	}
	fflush(stdout);
	memmove(buf, buf + start, len - start);
	return len - start;
}

/* Reap children until @pid exits; orphans of earlier tests are reaped too. */
static int wait_for(pid_t pid, int block)
{
	int status;
	pid_t w;

	for (;;) {
		w = waitpid(-1, &status, block ? 0 : WNOHANG);
		if (w == pid)
			return status;
		if (w <= 0)
			return -1;
	}
}

static void run_program(const char *group, const char *name, int timeout_sec)
{
	char path[512], prefix[256], buf[LINE_MAX_LEN + 1];
	double start = now_sec();
	int pipefd[2], status = -1, timed_out = 0, code;
	const char *how;
	size_t len = 0;
	pid_t pid;

	snprintf(path, sizeof(path), TESTS_DIR "/%s/%s", group, name);
	snprintf(prefix, sizeof(prefix), "%s/%s", group, name);
	printf("@@cg run %s\n", prefix);
	fflush(stdout);

	if (pipe(pipefd)) {
		perror("pipe");
		goto out;
	}

	pid = fork();
	if (pid < 0) {
		perror("fork");
		close(pipefd[0]);
		close(pipefd[1]);
		goto out;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		if (chdir("/tmp"))
			_exit(126);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);

	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		ssize_t n;

		if (!timed_out && now_sec() - start > timeout_sec) {
			printf("@@cg timeout %s after %d s\n", prefix,
			       timeout_sec);
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		/* Give up on output held open by a stray grandchild. */
		if (timed_out && now_sec() - start > timeout_sec + 10)
			break;
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(pipefd[0], buf + len, LINE_MAX_LEN - len);
		if (n <= 0)
			break;
		len += n;
		len = echo_lines(prefix, buf, len, len == LINE_MAX_LEN);
	}
	echo_lines(prefix, buf, len, 1);
	close(pipefd[0]);
	/* The pipe closes when the program exits, or its last child does. */
	status = wait_for(pid, 1);

out:
	nr_run++;
	/* kselftest's KSFT_SKIP (4) means the whole program skipped. */
	if (!timed_out && status >= 0 && WIFEXITED(status) &&
	    (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 4)) {
		nr_passed++;
		printf("@@cg result %s pass exit=%d secs=%.1f\n", prefix,
		       WEXITSTATUS(status), now_sec() - start);
		fflush(stdout);
		return;
	}

	nr_failed++;
	if (timed_out) {
		how = "timeout";
		code = timeout_sec;
	} else if (status < 0) {
		how = "lost";
		code = -1;
	} else if (WIFSIGNALED(status)) {
		how = "signal";
		code = WTERMSIG(status);
	} else {
		how = "exit";
		code = WEXITSTATUS(status);
	}
	printf("@@cg result %s fail %s=%d secs=%.1f\n", prefix, how, code,
	       now_sec() - start);
	fflush(stdout);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is @group in the comma-separated cg_groups list (or is there none)? */
static int group_wanted(const char *group)
{
	const char *p = getenv("cg_groups");
	size_t len = strlen(group);

	if (!p || !*p)
		return 1;
	while (p) {
		if (!strncmp(p, group, len) && (p[len] == ',' || !p[len]))
			return 1;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}

static void run_group(const char *group, int timeout_sec)
{
	char dir[256], *names[MAX_PROGS];
	struct dirent *de;
	int i, n = 0;
	DIR *d;

	if (!group_wanted(group)) {
		printf("@@cg group %s not selected\n", group);
		return;
	}
	snprintf(dir, sizeof(dir), TESTS_DIR "/%s", group);
	d = opendir(dir);
	if (!d) {
		printf("@@cg group %s absent\n", group);
		return;
	}
	while ((de = readdir(d)) && n < MAX_PROGS) {
		if (de->d_name[0] == '.')
			continue;
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	closedir(d);

	qsort(names, n, sizeof(names[0]), cmp_names);
	printf("@@cg group %s programs=%d\n", group, n);
	for (i = 0; i < n; i++) {
		run_program(group, names[i], timeout_sec);
		free(names[i]);
	}
}

int main(void)
{
	char cs[64];
	struct utsname uts;
	double start;
	size_t i;

	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	mount_fs("devpts", "/dev/pts", "devpts");
	mount_fs("tmpfs", "/tmp", "tmpfs");
	mount_fs("tmpfs", "/run", "tmpfs");
	setenv("PATH", "/bin", 1);
	setenv("HOME", "/tmp", 1);
	setvbuf(stdout, NULL, _IOLBF, 0);

	start = now_sec();
	uname(&uts);
	printf("@@cg boot %s %s clocksource=%s\n", uts.release, uts.version,
	       read_line(CLOCKSOURCE, cs, sizeof(cs)));

	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		run_group(groups[i].name, groups[i].timeout_sec);

	printf("@@cg summary programs=%d passed=%d failed=%d secs=%.1f\n",
	       nr_run, nr_passed, nr_failed, now_sec() - start);
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	/* Not reached; PID 1 must not exit. */
	for (;;)
		pause();
}
