// SPDX-License-Identifier: MIT
/*
 * Integration test harness: checkpoints and restores the workload's process
 * trees with the real patched criu and reports TAP.
 *
 *   harness --criu PATH --workload PATH [--libdir PLUGIN_DIR] [--keep]
 *           [--dir DIR] [SCENARIO...]
 *
 * Without --libdir, criu runs without the plugin (CRIU's own guard support)
 * and the plugin-specific checks and scenarios are skipped. criu then gets
 * an empty --libdir, so that it loads no plugin from its default directory.
 *
 * "export" dumps a guarded tree into --dir and stops there; "import-refused"
 * and "import-allowed" restore that dump, on another kernel (kernel/check
 * carries the directory from one VM boot to the next).
 *
 * The harness is a child subreaper and reaps every orphan: PID 1 of these
 * machines does not, and a zombie keeps the pid a restore needs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "image.h"
#include "observed.h"
#include "itest.h"

#define MAX_PROCS	  16
#define READY_TIMEOUT_MS  30000
#define CRIU_TIMEOUT_MS	  60000
#define RESULT_TIMEOUT_MS 30000
#define EXIT_TIMEOUT_MS	  10000
#define LOG_TAIL_LINES	  20
#define LOG_MATCH_LINES	  20
#define CHILD_STATUS_FD	  3

#define VMA_AREA_GUARD	     (1U << 16) /* criu/include/image.h */
#define MM_VMAS_FIELD	     14		/* mm_entry.vmas */
#define VMA_START_FIELD	     1		/* vma_entry.start */
#define VMA_END_FIELD	     2		/* vma_entry.end */
#define VMA_STATUS_FIELD     7		/* vma_entry.status */
#define INV_PLUGINS_FIELD    12		/* inventory_entry.plugins_entry, plugins_entry.plugins */
#define GUARD_HEAD_NR_RANGES 3
#define GUARD_HEAD_NR_PAGES  4
/* Version 3: a difference from the parent's set counts the whole set here */
#define GUARD_HEAD_PARENT      6
#define GUARD_HEAD_FULL_RANGES 7
#define GUARD_HEAD_FULL_PAGES  8
#define GUARD_RANGES_PAGES     3
#define GUARD_PLUGIN_NAME      "guard"
#define PLUGIN_LOG_PREFIX      "guard_plugin: "
#define MISSING_PLUGIN_MSG     "Missing required plugin: " GUARD_PLUGIN_NAME /* criu/image.c */

/* Scenario flags */
#define SC_PAGE_SERVER	   (1U << 0)  /* dump through criu page-server */
#define SC_PLUGIN_ONLY	   (1U << 1)  /* meaningless without the plugin */
#define SC_CORRUPT_TRUNC   (1U << 2)  /* cut the root's guard image */
#define SC_CORRUPT_RANGE   (1U << 3)  /* make a range leave its VMA */
#define SC_CORRUPT_MAGIC   (1U << 4)  /* break the image's own magic */
#define SC_TAMPER_SHIFT	   (1U << 5)  /* move guards: the checks must notice */
#define SC_NO_PLUGIN_RST   (1U << 6)  /* restore without the plugin must refuse */
#define SC_CORRUPT_GONE	   (1U << 7)  /* delete the root's guard image */
#define SC_TWICE	   (1U << 8)  /* checkpoint the restored tree again */
#define SC_LEAVE_RUNNING   (1U << 9)  /* the dumped tree checks itself, then restore */
#define SC_DUMP_REFUSED	   (1U << 10) /* the dump must fail, saying ->expect */
#define SC_RESTORE_REFUSED (1U << 11) /* the restore must fail, saying ->expect */
#define SC_GUARDS_DROPPED  (1U << 12) /* restored without guards, saying ->expect */
#define SC_PRE_DUMP	   (1U << 13) /* pre-dump, then dump --prev-images-dir --track-mem */
#define SC_EXPORT	   (1U << 14) /* dump into --dir and stop there */
#define SC_IMPORT	   (1U << 15) /* restore what "export" left in --dir */
#define SC_OBSERVER	   (1U << 16) /* --libdir also has vma_observer.so: check what it saw */
#define SC_CORRUPT	   (SC_CORRUPT_TRUNC | SC_CORRUPT_RANGE | SC_CORRUPT_MAGIC | SC_CORRUPT_GONE)

struct scenario {
	const char *name;
	const char *workload;
	unsigned int flags;
	const char *dump_env;	 /* "NAME=VALUE ..." for criu dump */
	const char *restore_env; /* ... for criu restore */
	const char *expect;	 /* what the log must say */
	const char *verdict;	 /* SC_GUARDS_DROPPED: what the restored tree says */
};

#define NO_GUARDS_VERDICT "0 guard pages in the address space"
/* A kernel without PAGE_IS_GUARD rejects the workload's guard scan */
#define NO_SCAN_VERDICT "PAGEMAP_SCAN of the address space: Invalid argument"

static const struct scenario scenarios[] = {
	{.name = "private-anon", .workload = "private-anon", .flags = 0},
	{.name = "file-private", .workload = "file-private", .flags = 0},
	{.name = "shared-anon", .workload = "shared-anon", .flags = 0},
	{.name = "memfd", .workload = "memfd", .flags = 0},
	{.name = "locked", .workload = "locked", .flags = 0},
	{.name = "cow-divergent", .workload = "cow-divergent", .flags = 0},
	{.name = "three-gen", .workload = "three-gen", .flags = 0},
	{.name = "thread-stacks", .workload = "thread-stacks", .flags = 0},
	{.name = "glibc-stacks", .workload = "glibc-stacks", .flags = 0},
	{.name = "glibc-stacks-threads", .workload = "glibc-stacks-threads", .flags = 0},
	{.name = "glibc-stacks-fork", .workload = "glibc-stacks-fork", .flags = 0},
	{.name = "two-plugins", .workload = "glibc-stacks-fork", .flags = SC_PLUGIN_ONLY | SC_OBSERVER},
	{.name = "many-ranges", .workload = "many-ranges", .flags = 0},
	{.name = "many-ranges-fork", .workload = "many-ranges-fork", .flags = 0},
	{.name = "scan-rereport", .workload = "scan-rereport", .flags = 0},
	{.name = "many-vmas", .workload = "many-vmas", .flags = 0},
	{.name = "near-map-limit", .workload = "near-map-limit", .flags = 0},
	{.name = "mprotect-split", .workload = "mprotect-split", .flags = 0},
	{.name = "split-in-child", .workload = "split-in-child", .flags = 0},
	{.name = "prot-none", .workload = "prot-none", .flags = 0},
	{.name = "wipeonfork", .workload = "wipeonfork", .flags = 0},
	{.name = "no-guards", .workload = "no-guards", .flags = 0},
	{.name = "guards-removed", .workload = "guards-removed", .flags = 0},
	{.name = "child-drops-all", .workload = "child-drops-all", .flags = 0},
	{.name = "guards-in-child-only", .workload = "guards-in-child-only", .flags = 0},
	{.name = "dontfork", .workload = "dontfork", .flags = 0},
	{.name = "mremap", .workload = "mremap", .flags = 0},
	{.name = "file-shared", .workload = "file-shared", .flags = 0},
	{.name = "main-stack", .workload = "main-stack", .flags = 0},
	{.name = "page-server", .workload = "three-gen", .flags = SC_PAGE_SERVER},
	{.name = "twice", .workload = "three-gen", .flags = SC_TWICE},
	{.name = "leave-running", .workload = "cow-divergent", .flags = SC_LEAVE_RUNNING},
	{.name = "growsdown", .workload = "growsdown", .flags = 0},
	{.name = "corrupt-truncated", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_CORRUPT_TRUNC},
	{.name = "corrupt-range", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_CORRUPT_RANGE},
	{.name = "corrupt-magic", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_CORRUPT_MAGIC},
	{.name = "corrupt-missing", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_CORRUPT_GONE},
	{.name = "tampered-shift", .workload = "sparse-guard", .flags = SC_PLUGIN_ONLY | SC_TAMPER_SHIFT},
	{.name = "restore-without-plugin", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_NO_PLUGIN_RST},
	{.name = "refuse-no-pagemap-guard", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_DUMP_REFUSED, .dump_env = "CRIU_GUARD_PROBE_DISABLE=pagemap_scan_guard", .expect = "PAGE_IS_GUARD"},
	{.name = "refuse-no-madv-guard", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_RESTORE_REFUSED, .restore_env = "CRIU_GUARD_PROBE_DISABLE=madv_guard", .expect = "CRIU_GUARD_ALLOW_NO_GUARDS=1"},
	{.name = "allow-no-guards", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_GUARDS_DROPPED, .restore_env = "CRIU_GUARD_PROBE_DISABLE=madv_guard CRIU_GUARD_ALLOW_NO_GUARDS=1", .expect = "WITHOUT", .verdict = NO_GUARDS_VERDICT},
	{.name = "pre-dump", .workload = "three-gen", .flags = SC_PRE_DUMP},
	{.name = "export", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_EXPORT},
	{.name = "import-refused", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_IMPORT | SC_RESTORE_REFUSED, .expect = "CRIU_GUARD_ALLOW_NO_GUARDS=1"},
	{.name = "import-allowed", .workload = "private-anon", .flags = SC_PLUGIN_ONLY | SC_IMPORT | SC_GUARDS_DROPPED, .restore_env = "CRIU_GUARD_ALLOW_NO_GUARDS=1", .expect = "WITHOUT", .verdict = NO_SCAN_VERDICT},
};

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static struct {
	const char *criu;
	const char *libdir;
	const char *workload;
	const char *dir;
	bool keep;
} opt;

/* State of the scenario being run */
struct run {
	const struct scenario *scn;
	char dir[256];
	char img[300], results[300], work[300];
	pid_t root;
	struct it_proc procs[MAX_PROCS];
	int nr_procs;
	char reason[IT_MSG_MAX];
	char log[32]; /* criu log to show on failure */
	char no_plugins[300];
};

static int fail(struct run *run, const char *fmt, ...)
{
	va_list ap;

	if (run->reason[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
	va_end(ap);
	return -1;
}

/* An empty plugin directory of the scenario's own, for runs without plugins */
static char *no_plugins_dir(struct run *run)
{
	if (!run->no_plugins[0]) {
		snprintf(run->no_plugins, sizeof(run->no_plugins), "%s/no-plugins", run->dir);
		if (mkdir(run->no_plugins, 0755) && errno != EEXIST) {
			fail(run, "mkdir %s: %s", run->no_plugins, strerror(errno));
			run->no_plugins[0] = '\0';
			return NULL;
		}
	}
	return run->no_plugins;
}

/* --- children ---------------------------------------------------------- */

/* Exit statuses of the children we wait for; the rest are just reaped. */
#define MAX_WATCHED 8

static struct {
	pid_t pid;
	int status;
	bool exited;
} watched[MAX_WATCHED];

static int watch(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_WATCHED; i++) {
		if (!watched[i].pid) {
			watched[i].pid = pid;
			watched[i].exited = false;
			return 0;
		}
	}
	return -1;
}

/* Forgets the children of a finished scenario nobody waited for. */
static void unwatch_all(void)
{
	memset(watched, 0, sizeof(watched));
}

static void reap_all(void)
{
	pid_t pid;
	int status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < MAX_WATCHED; i++) {
			if (watched[i].pid == pid) {
				watched[i].status = status;
				watched[i].exited = true;
			}
		}
	}
}

/* Returns 1 and the status once @pid exited, 0 while it runs. */
static int exited(pid_t pid, int *status)
{
	int i;

	reap_all();
	for (i = 0; i < MAX_WATCHED; i++) {
		if (watched[i].pid == pid && watched[i].exited) {
			*status = watched[i].status;
			watched[i].pid = 0;
			return 1;
		}
	}
	return 0;
}

/* Waits for @pid, killing it after @timeout_ms; returns its wait status. */
static int wait_child(pid_t pid, unsigned int timeout_ms)
{
	uint64_t deadline = it_now_ms() + timeout_ms;
	int status;

	while (!exited(pid, &status)) {
		if (it_now_ms() > deadline) {
			kill(pid, SIGKILL);
			deadline = UINT64_MAX;
		}
		it_msleep(5);
	}
	return status;
}

static void redirect_stdio(const char *out)
{
	int null = open("/dev/null", O_RDONLY);
	int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);

	if (null < 0 || fd < 0)
		_exit(127);
	dup2(null, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(null);
	close(fd);
}

/*
 * Starts @argv in its own session, stdio to @out, @keep_fd as fd 3 (if not
 * -1) and no other inherited descriptor: criu would dump them.
 */
static pid_t start(char *const argv[], const char *cwd, const char *out, int keep_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		redirect_stdio(out);
		if (keep_fd >= 0 && dup2(keep_fd, CHILD_STATUS_FD) < 0)
			_exit(127);
		syscall(SYS_close_range, keep_fd >= 0 ? CHILD_STATUS_FD + 1 : CHILD_STATUS_FD, ~0U, 0);
		if (cwd && chdir(cwd))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (watch(pid)) {
		kill(pid, SIGKILL);
		return -1;
	}
	return pid;
}

static int run_cmd(struct run *run, char *const argv[])
{
	char out[512];
	pid_t pid;
	int status;

	snprintf(out, sizeof(out), "%s/commands.out", run->dir);
	pid = start(argv, NULL, out, -1);
	if (pid < 0)
		return -1;
	status = wait_child(pid, CRIU_TIMEOUT_MS);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static bool pid_gone(pid_t pid)
{
	reap_all();
	return kill(pid, 0) && errno == ESRCH;
}

/* Waits until none of the tree's pids exists (they are reaped by us). */
static int wait_tree_gone(struct run *run)
{
	uint64_t deadline = it_now_ms() + EXIT_TIMEOUT_MS;
	int i;

	for (i = 0; i < run->nr_procs; i++) {
		while (!pid_gone(run->procs[i].pid)) {
			if (it_now_ms() > deadline)
				return fail(run, "pid %d (%s) still exists", run->procs[i].pid,
					    run->procs[i].role);
			it_msleep(5);
		}
	}
	return 0;
}

static pid_t root_pid(struct run *run)
{
	int i;

	for (i = 0; i < run->nr_procs; i++)
		if (!strcmp(run->procs[i].role, "root"))
			return run->procs[i].pid;
	return -1;
}

static void kill_tree(struct run *run)
{
	int i;

	for (i = 0; i < run->nr_procs; i++)
		kill(run->procs[i].pid, SIGKILL);
	if (run->root > 0)
		kill(run->root, SIGKILL);
	wait_tree_gone(run);
}

/* --- files --------------------------------------------------------------- */

static int mkdirs(struct run *run)
{
	const char *tmp = getenv("TMPDIR");

	if (run->scn->flags & SC_EXPORT) {
		snprintf(run->dir, sizeof(run->dir), "%s", opt.dir);
		if (mkdir(run->dir, 0755))
			return fail(run, "mkdir %s: %s", run->dir, strerror(errno));
	} else {
		snprintf(run->dir, sizeof(run->dir), "%s/criu-guard-it-%s.XXXXXX",
			 tmp ? tmp : "/tmp", run->scn->name);
		if (!mkdtemp(run->dir))
			return fail(run, "mkdtemp %s: %s", run->dir, strerror(errno));
	}
	snprintf(run->img, sizeof(run->img), "%s/img", run->dir);
	snprintf(run->results, sizeof(run->results), "%s/results", run->dir);
	snprintf(run->work, sizeof(run->work), "%s/work", run->dir);
	if (mkdir(run->img, 0755) || mkdir(run->results, 0755) || mkdir(run->work, 0755))
		return fail(run, "mkdir in %s: %s", run->dir, strerror(errno));
	return 0;
}

static void remove_tree(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd))
		fprintf(stderr, "# cannot remove %s\n", path);
}

static void print_tail(const char *path, int lines)
{
	size_t len;
	char *text = it_read_file(path, &len), *p;
	int n = 0;

	if (!text) {
		printf("# (no %s)\n", path);
		return;
	}
	for (p = text + len; p > text; p--)
		if (p[-1] == '\n' && ++n > lines)
			break;
	printf("# --- tail of %s\n", path);
	while (*p) {
		char *nl = strchrnul(p, '\n');

		printf("#   %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
	free(text);
}

/* Prints the lines of @path that hold one of @needles (at most @max). */
static void print_matching(const char *path, const char *const *needles, int max)
{
	char *text = it_read_file(path, NULL), *line, *save;
	int i;

	if (!text)
		return;
	printf("# --- errors and plugin lines of %s\n", path);
	for (line = strtok_r(text, "\n", &save); line && max; line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; needles[i]; i++) {
			if (strstr(line, needles[i])) {
				printf("#   %s\n", line);
				max--;
				break;
			}
		}
	}
	free(text);
}

/* Copies the first failure line of the results directory into the reason. */
static int check_no_results(struct run *run)
{
	struct dirent *de;
	char path[600], *text;
	DIR *d = opendir(run->results);

	if (!d)
		return fail(run, "opendir %s: %s", run->results, strerror(errno));
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, IT_RESULT_SUFFIX))
			continue;
		snprintf(path, sizeof(path), "%s/%s", run->results, de->d_name);
		text = it_read_file(path, NULL);
		fail(run, "%s: %s", de->d_name, text ? strtok(text, "\n") : "?");
		free(text);
	}
	closedir(d);
	return run->reason[0] ? -1 : 0;
}

/* --- workload -------------------------------------------------------------- */

static int start_workload(struct run *run)
{
	char out[300];
	char *argv[] = {(char *)opt.workload, (char *)run->scn->workload, run->results, NULL};
	uint64_t deadline = it_now_ms() + READY_TIMEOUT_MS;
	char path[400], *text;
	int status;

	snprintf(out, sizeof(out), "%s/workload.out", run->dir);
	run->root = start(argv, run->work, out, -1);
	if (run->root < 0)
		return fail(run, "fork: %s", strerror(errno));

	snprintf(path, sizeof(path), "%s/%s", run->results, IT_READY_FILE);
	while (!(text = it_read_file(path, NULL))) {
		if (exited(run->root, &status) || it_now_ms() > deadline) {
			check_no_results(run);
			return fail(run, "workload did not get ready");
		}
		it_msleep(5);
	}
	run->nr_procs = it_parse_procs(text, run->procs, MAX_PROCS);
	free(text);
	if (run->nr_procs <= 0)
		return fail(run, "bad ready file %s", path);
	return check_no_results(run);
}

/* The tree "export" dumped into --dir: its paths and its processes. */
static int load_export(struct run *run)
{
	char path[400], *text;

	snprintf(run->dir, sizeof(run->dir), "%s", opt.dir);
	snprintf(run->img, sizeof(run->img), "%s/img", run->dir);
	snprintf(run->results, sizeof(run->results), "%s/results", run->dir);
	snprintf(run->work, sizeof(run->work), "%s/work", run->dir);
	snprintf(path, sizeof(path), "%s/%s", run->results, IT_READY_FILE);
	text = it_read_file(path, NULL);
	if (!text)
		return fail(run, "no exported dump: cannot read %s", path);
	run->nr_procs = it_parse_procs(text, run->procs, MAX_PROCS);
	free(text);
	if (run->nr_procs <= 0)
		return fail(run, "bad ready file %s", path);
	return 0;
}

/* Signals every process to check itself and collects the verdicts. */
static int collect_results(struct run *run)
{
	uint64_t deadline = it_now_ms() + RESULT_TIMEOUT_MS;
	char path[600], *text;
	int i;

	for (i = 0; i < run->nr_procs; i++)
		if (kill(run->procs[i].pid, SIGUSR1))
			return fail(run, "%s (pid %d) is not running after restore",
				    run->procs[i].role, run->procs[i].pid);

	for (i = 0; i < run->nr_procs; i++) {
		struct it_proc *p = &run->procs[i];

		snprintf(path, sizeof(path), "%s/%s%s", run->results, p->role, IT_RESULT_SUFFIX);
		while (!(text = it_read_file(path, NULL))) {
			if (it_now_ms() > deadline)
				return fail(run, "%s (pid %d) reported nothing after restore",
					    p->role, p->pid);
			reap_all();
			it_msleep(5);
		}
		if (strncmp(text, IT_RESULT_OK "\n", 3))
			fail(run, "%s: %s", p->role, strtok(text, "\n"));
		free(text);
	}
	return run->reason[0] ? -1 : 0;
}

/* --- criu ---------------------------------------------------------------- */

/* Sets (or unsets) the "NAME=VALUE ..." of @env in our environment. */
static void set_env(const char *env, bool set)
{
	char *copy, *var, *save, *eq;

	if (!env)
		return;
	copy = strdup(env);
	for (var = strtok_r(copy, " ", &save); var; var = strtok_r(NULL, " ", &save)) {
		eq = strchr(var, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (set)
			setenv(var, eq + 1, 1);
		else
			unsetenv(var);
	}
	free(copy);
}

static int criu(struct run *run, const char *action, char **extra, int nr_extra)
{
	char *argv[32], log[32];
	const char *env;
	int n = 0, i, ret;

	snprintf(log, sizeof(log), "%s.log", action);
	snprintf(run->log, sizeof(run->log), "%s", log);
	argv[n++] = (char *)opt.criu;
	argv[n++] = (char *)action;
	argv[n++] = "-D";
	argv[n++] = run->img;
	argv[n++] = "-o";
	argv[n++] = log;
	argv[n++] = "-v4";
	argv[n++] = "--libdir";
	argv[n++] = opt.libdir ? (char *)opt.libdir : no_plugins_dir(run);
	if (!argv[n - 1])
		return -1;
	for (i = 0; i < nr_extra; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	env = !strcmp(action, "dump") ? run->scn->dump_env : run->scn->restore_env;
	set_env(env, true);
	ret = run_cmd(run, argv);
	set_env(env, false);
	if (ret)
		fail(run, "criu %s exited with %d", action, ret);
	return ret ? -1 : 0;
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int sk, port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sk = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return -1;
	if (!bind(sk, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(sk, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	close(sk);
	return port;
}

/* Starts criu page-server on the images dir; returns its pid once it listens. */
static pid_t start_page_server(struct run *run, char *port)
{
	char fd_str[16], out[300], c;
	int pfd[2], p = free_port();
	char *argv[] = {(char *)opt.criu, "page-server", "-D", run->img, "-o", "page-server.log",
			"-v4", "--address", "127.0.0.1", "--port", port, "--status-fd", fd_str, NULL};
	pid_t pid;

	if (p < 0 || pipe2(pfd, O_CLOEXEC)) {
		fail(run, "page server setup: %s", strerror(errno));
		return -1;
	}
	snprintf(port, 8, "%d", p);
	snprintf(fd_str, sizeof(fd_str), "%d", CHILD_STATUS_FD);
	snprintf(out, sizeof(out), "%s/page-server.out", run->dir);
	pid = start(argv, NULL, out, pfd[1]);
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1) {
		snprintf(run->log, sizeof(run->log), "page-server.log");
		fail(run, "criu page-server did not start");
		pid = -1;
	}
	close(pfd[0]);
	return pid;
}

/*
 * criu pre-dump into pre/ with memory tracking: the dump that follows saves
 * only what changed since and links pre/ as its parent.
 */
static int pre_dump(struct run *run, char *pid)
{
	char *extra[] = {"-t", pid, "--track-mem"};
	char img[300];
	int ret;

	snprintf(img, sizeof(img), "%s", run->img);
	snprintf(run->img, sizeof(run->img), "%s/pre", run->dir);
	if (mkdir(run->img, 0755))
		ret = fail(run, "mkdir %s: %s", run->img, strerror(errno));
	else
		ret = criu(run, "pre-dump", extra, 3);
	snprintf(run->img, sizeof(run->img), "%s", img);
	return ret;
}

/* The dump after a pre-dump must name pre/ as its parent. */
static int check_parent_link(struct run *run)
{
	char path[400], target[64];
	ssize_t len;

	snprintf(path, sizeof(path), "%s/parent", run->img);
	len = readlink(path, target, sizeof(target) - 1);
	if (len < 0)
		return fail(run, "the dump has no parent link %s: %s", path, strerror(errno));
	target[len] = '\0';
	if (strcmp(target, "../pre"))
		return fail(run, "%s points to %s, not ../pre", path, target);
	return 0;
}

static int dump(struct run *run)
{
	char pid[16], port[8];
	char *extra[12] = {"-t", pid};
	int status, ret, n = 2;
	pid_t ps = -1;

	snprintf(pid, sizeof(pid), "%d", run->root);
	if (run->scn->flags & SC_PRE_DUMP) {
		if (pre_dump(run, pid))
			return -1;
		extra[n++] = "--prev-images-dir";
		extra[n++] = "../pre";
		extra[n++] = "--track-mem";
	}
	if (run->scn->flags & SC_PAGE_SERVER) {
		ps = start_page_server(run, port);
		if (ps < 0)
			return -1;
		extra[n++] = "--page-server";
		extra[n++] = "--address";
		extra[n++] = "127.0.0.1";
		extra[n++] = "--port";
		extra[n++] = port;
	}
	if (run->scn->flags & SC_LEAVE_RUNNING)
		extra[n++] = "--leave-running";
	ret = criu(run, "dump", extra, n);
	if (ps > 0) {
		status = wait_child(ps, CRIU_TIMEOUT_MS);
		if (!ret && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			snprintf(run->log, sizeof(run->log), "page-server.log");
			ret = fail(run, "criu page-server failed (status %#x)", status);
		}
	}
	if (!ret && (run->scn->flags & SC_PRE_DUMP))
		ret = check_parent_link(run);
	if (ret || (run->scn->flags & SC_LEAVE_RUNNING))
		return ret;
	run->root = -1; /* dumped and killed */
	return wait_tree_gone(run);
}

/* The dump must not have disturbed the tree: it checks itself, then dies. */
static int check_left_running(struct run *run)
{
	char path[600];
	int i;

	if (collect_results(run))
		return -1;
	for (i = 0; i < run->nr_procs; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", run->results, run->procs[i].role,
			 IT_RESULT_SUFFIX);
		unlink(path);
	}
	kill_tree(run);
	run->root = -1;
	return run->reason[0] ? -1 : 0;
}

static int restore(struct run *run)
{
	char *extra[] = {"-d"};

	return criu(run, "restore", extra, 1);
}

/* With the plugin and guards, both logs must carry its summary lines. */
static int check_plugin_logged(struct run *run, const char *log)
{
	char path[400], *text;
	int ret = 0;
	int i;

	for (i = 0; i < run->nr_procs && !run->procs[i].guard_pages; i++)
		;
	if (!opt.libdir || i == run->nr_procs)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", run->img, log);
	text = it_read_file(path, NULL);
	if (!text || !strstr(text, PLUGIN_LOG_PREFIX))
		ret = fail(run, "%s has no \"%s\" line", log, PLUGIN_LOG_PREFIX);
	free(text);
	return ret;
}

/* --- image checks ------------------------------------------------------- */

static void img_name(struct run *run, char *buf, size_t size, const char *kind, int pid)
{
	snprintf(buf, size, "%s/%s-%d.img", run->img, kind, pid);
}

/* Counts the VMA entries CRIU marked VMA_AREA_GUARD in mm-<pid>.img. */
/* CRIU's own guard entries (VMA_AREA_GUARD) of an mm.img */
struct mm_guards {
	int nr;
	uint64_t pages;
	int overlaps; /* entries that start below the end of an earlier one */
};

static void add_mm_guard(struct mm_guards *g, const uint8_t *data, size_t len, uint64_t *prev_end)
{
	uint64_t start = 0, end = 0, status = 0;
	struct pb_field f;
	struct pb_iter it;

	pb_init(&it, data, len);
	while (pb_next(&it, &f) == 1) {
		if (f.num == VMA_START_FIELD)
			start = f.varint;
		else if (f.num == VMA_END_FIELD)
			end = f.varint;
		else if (f.num == VMA_STATUS_FIELD)
			status = f.varint;
	}
	if (!(status & VMA_AREA_GUARD))
		return;
	g->nr++;
	g->pages += end > start ? (end - start) / IT_PAGE_SIZE : 0;
	if (g->nr > 1 && start < *prev_end)
		g->overlaps++;
	if (end > *prev_end)
		*prev_end = end;
}

static int read_mm_guards(const char *path, struct mm_guards *g)
{
	uint64_t prev_end = 0;
	struct img_entry e;
	struct pb_field f;
	struct pb_iter it;
	struct img img;

	memset(g, 0, sizeof(*g));
	if (img_open(&img, path))
		return -1;
	while (img_next(&img, &e) == 1) {
		pb_init(&it, e.data, e.len);
		while (pb_next(&it, &f) == 1)
			if (f.num == MM_VMAS_FIELD && f.wire == PB_LEN)
				add_mm_guard(g, f.data, f.len, &prev_end);
	}
	img_close(&img);
	return 0;
}

static bool has_string(const struct pb_field *f, const char *s)
{
	return f->wire == PB_LEN && f->len == strlen(s) && !memcmp(f->data, s, f->len);
}

/* Does inventory.img list the plugin? */
static int inventory_has_plugin(struct run *run)
{
	struct pb_field f, pf;
	struct img_entry e;
	struct pb_iter it, pit;
	struct img img;
	char path[400];
	int found = 0;

	snprintf(path, sizeof(path), "%s/inventory.img", run->img);
	if (img_open(&img, path))
		return -1;
	while (img_next(&img, &e) == 1) {
		pb_init(&it, e.data, e.len);
		while (pb_next(&it, &f) == 1) {
			if (f.num != INV_PLUGINS_FIELD || f.wire != PB_LEN)
				continue;
			pb_init(&pit, f.data, f.len);
			while (pb_next(&pit, &pf) == 1)
				if (pf.num == INV_PLUGINS_FIELD && has_string(&pf, GUARD_PLUGIN_NAME))
					found = 1;
		}
	}
	img_close(&img);
	return found;
}

/* Reads nr_ranges and nr_pages from the head of a guard image. */
static int guard_image_totals(const char *path, uint64_t *ranges, uint64_t *pages)
{
	uint64_t parent = 0, full_ranges, full_pages;
	struct img_entry e;
	struct pb_field f;
	struct pb_iter it;
	struct img img;
	int ret = -1;

	*ranges = *pages = full_ranges = full_pages = UINT64_MAX;
	if (img_open(&img, path))
		return -1;
	if (img.magic[0] == IMG_COMMON_MAGIC && img_next(&img, &e) == 1) {
		pb_init(&it, e.data, e.len);
		while (pb_next(&it, &f) == 1) {
			if (f.wire != PB_VARINT)
				continue;
			if (f.num == GUARD_HEAD_NR_RANGES)
				*ranges = f.varint;
			if (f.num == GUARD_HEAD_NR_PAGES)
				*pages = f.varint;
			if (f.num == GUARD_HEAD_PARENT)
				parent = f.varint;
			if (f.num == GUARD_HEAD_FULL_RANGES)
				full_ranges = f.varint;
			if (f.num == GUARD_HEAD_FULL_PAGES)
				full_pages = f.varint;
		}
		if (parent) {
			*ranges = full_ranges;
			*pages = full_pages;
		}
		ret = 0;
	}
	img_close(&img);
	return ret;
}

static int check_guard_image(struct run *run, const struct it_proc *p)
{
	uint64_t ranges, pages;
	char path[400];

	img_name(run, path, sizeof(path), "guard-regions", p->pid);
	if (access(path, F_OK)) {
		if (p->guard_pages)
			return fail(run, "%s: no guard-regions-%d.img but %lu guard pages", p->role,
				    p->pid, p->guard_pages);
		return 0;
	}
	if (guard_image_totals(path, &ranges, &pages))
		return fail(run, "%s: cannot decode the head of %s", p->role, path);
	if (pages != p->guard_pages)
		return fail(run, "%s: %s holds %llu guard pages, the process had %lu", p->role,
			    path, (unsigned long long)pages, p->guard_pages);
	if (!p->guard_pages && ranges)
		return fail(run, "%s: %s holds %llu ranges, expected none", p->role, path,
			    (unsigned long long)ranges);
	return 0;
}

/* After the dump: where the guards went. */
static int check_images(struct run *run)
{
	unsigned long total = 0;
	char path[400];
	struct mm_guards g;
	int i;

	for (i = 0; i < run->nr_procs; i++) {
		const struct it_proc *p = &run->procs[i];

		total += p->guard_pages;
		img_name(run, path, sizeof(path), "mm", p->pid);
		if (read_mm_guards(path, &g))
			return fail(run, "cannot read %s", path);
		if (!opt.libdir) {
			/* Each guard page once: PAGEMAP_SCAN re-reports must not be stored */
			if (g.overlaps || g.pages != p->guard_pages)
				return fail(run, "%s: mm-%d.img has %d guard entries, %d overlapping, for %" PRIu64 " pages; the task has %lu guard pages",
					    p->role, p->pid, g.nr, g.overlaps, g.pages, p->guard_pages);
			continue;
		}
		if (g.nr)
			return fail(run, "%s: mm-%d.img has %d VMA_AREA_GUARD entries", p->role,
				    p->pid, g.nr);
		if (check_guard_image(run, p))
			return -1;
	}
	if (opt.libdir && total && inventory_has_plugin(run) != 1)
		return fail(run, "inventory.img does not list plugin \"%s\"", GUARD_PLUGIN_NAME);
	return 0;
}

/* --- corruption ------------------------------------------------------------ */

/*
 * Offset in the file of the first varint of the first ranges entry's
 * "pages" (gap, length, gap, length...) that @pick accepts, or -1.
 */
static long find_varint(struct img *img, bool (*pick)(int idx, uint64_t v))
{
	struct img_entry e;
	struct pb_field f;
	struct pb_iter it;
	const uint8_t *p, *q;
	uint64_t v;
	int idx;

	if (img_next(img, &e) != 1 || img_next(img, &e) != 1) /* head, ranges */
		return -1;
	pb_init(&it, e.data, e.len);
	while (pb_next(&it, &f) == 1) {
		if (f.num != GUARD_RANGES_PAGES || f.wire != PB_LEN)
			continue;
		for (p = f.data, idx = 0; p < f.data + f.len; p = q, idx++) {
			q = p;
			if (pb_varint(&q, f.data + f.len, &v))
				return -1;
			if (pick(idx, v))
				return p - img->buf;
		}
	}
	return -1;
}

static bool first_length(int idx, uint64_t v)
{
	return idx == 1;
}

/* A one-byte gap that can shrink: the ranges move down, still valid */
static bool shrinkable_gap(int idx, uint64_t v)
{
	return !(idx & 1) && v > 0 && v < 0x80;
}

static int corrupt_buf(struct run *run, struct img *img)
{
	unsigned int flags = run->scn->flags;
	long off;

	if (flags & SC_CORRUPT_MAGIC) {
		img->buf[5] ^= 0x5a;
	} else if (flags & SC_CORRUPT_TRUNC) {
		img->len -= 3; /* cut the last entry */
	} else if (flags & SC_CORRUPT_RANGE) {
		off = find_varint(img, first_length);
		if (off < 0)
			return -1;
		img->buf[off] |= 0x7f; /* at least 127 pages: past any VMA here */
	} else if (flags & SC_TAMPER_SHIFT) {
		off = find_varint(img, shrinkable_gap);
		if (off < 0)
			return -1;
		img->buf[off]--;
	}
	return 0;
}

static int corrupt(struct run *run, const char *path)
{
	struct img img;
	int ret = 0;

	if (run->scn->flags & SC_CORRUPT_GONE)
		return unlink(path) ? fail(run, "unlink %s: %s", path, strerror(errno)) : 0;
	if (img_open(&img, path))
		return fail(run, "cannot read %s", path);
	if (corrupt_buf(run, &img))
		ret = fail(run, "nothing to corrupt in %s", path);
	else if (it_write_file(path, (char *)img.buf, img.len))
		ret = fail(run, "cannot write %s", path);
	img_close(&img);
	return ret;
}

/* Does @log (in the images dir) contain @needle? */
/* Whether criu's @log says @needle; prints the line that does (TAP comment). */
static bool log_has(struct run *run, const char *log, const char *needle)
{
	char path[400], *text, *hit = NULL, *bol, *eol;

	snprintf(path, sizeof(path), "%s/%s", run->img, log);
	text = it_read_file(path, NULL);
	if (text)
		hit = strstr(text, needle);
	if (hit) {
		for (bol = hit; bol > text && bol[-1] != '\n'; bol--)
			;
		eol = strchrnul(hit, '\n');
		printf("# %s says: %.*s\n", log, (int)(eol - bol), bol);
	}
	free(text);
	return hit != NULL;
}

/* criu @action failed as it must: its log says @needle, nothing is left. */
static int must_have_refused(struct run *run, int ret, const char *action, const char *needle)
{
	char log[32];

	if (!ret) {
		kill_tree(run);
		return fail(run, "criu %s succeeded but must refuse", action);
	}
	run->reason[0] = '\0';
	snprintf(log, sizeof(log), "%s.log", action);
	if (!log_has(run, log, needle))
		return fail(run, "%s does not say \"%s\"", log, needle);
	if (!strcmp(action, "restore") && wait_tree_gone(run))
		return fail(run, "a failed restore left tasks behind");
	return 0;
}

/* The restored tree must fail its checks with @needle in a verdict. */
static int checks_must_fail(struct run *run, const char *needle)
{
	if (!collect_results(run))
		return fail(run, "every process passed its checks: expected \"%s\"", needle);
	if (!strstr(run->reason, needle))
		return -1;
	printf("# as expected: %s\n", run->reason);
	run->reason[0] = '\0';
	return 0;
}

/* Images that need the plugin: a restore without it must refuse. */
static int restore_without_plugin(struct run *run)
{
	const char *libdir = opt.libdir;
	int ret;

	opt.libdir = no_plugins_dir(run);
	if (!opt.libdir) {
		opt.libdir = libdir;
		return -1;
	}
	ret = restore(run);
	opt.libdir = libdir;
	return must_have_refused(run, ret, "restore", MISSING_PLUGIN_MSG);
}

/* Restore must refuse the corrupted image and name it in its log. */
static int restore_corrupted(struct run *run)
{
	char path[400];

	img_name(run, path, sizeof(path), "guard-regions", root_pid(run));
	if (corrupt(run, path))
		return -1;
	return must_have_refused(run, restore(run), "restore", strrchr(path, '/') + 1);
}

/*
 * Self-test of the checks: a valid image whose guard moved one page (onto
 * a zero page, which the pages image does not hold) must restore, and the
 * root must notice that its guard set differs.
 */
static int restore_tampered(struct run *run)
{
	char path[400];

	img_name(run, path, sizeof(path), "guard-regions", root_pid(run));
	if (corrupt(run, path) || restore(run))
		return -1;
	return checks_must_fail(run, "guard set differs");
}

/* A kernel without MADV_GUARD_INSTALL, and the variable that allows it */
static int restore_without_guards(struct run *run)
{
	int ret = restore(run);

	if (run->scn->flags & SC_RESTORE_REFUSED)
		return must_have_refused(run, ret, "restore", run->scn->expect);
	if (ret)
		return -1;
	if (!log_has(run, "restore.log", run->scn->expect))
		return fail(run, "restore.log does not say \"%s\"", run->scn->expect);
	return checks_must_fail(run, run->scn->verdict);
}

/* --- scenarios ----------------------------------------------------------- */

/* Checkpoint and restore the restored tree again, into img2/. */
static int second_round(struct run *run)
{
	char path[600];
	int i;

	for (i = 0; i < run->nr_procs; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", run->results, run->procs[i].role,
			 IT_RESULT_SUFFIX);
		unlink(path);
	}
	run->root = root_pid(run);
	snprintf(run->img, sizeof(run->img), "%s/img2", run->dir);
	if (mkdir(run->img, 0755))
		return fail(run, "mkdir %s: %s", run->img, strerror(errno));
	if (dump(run) || check_images(run) || restore(run))
		return -1;
	return collect_results(run);
}

static int run_steps(struct run *run)
{
	if (run->scn->flags & SC_IMPORT)
		return load_export(run) ? -1 : restore_without_guards(run);
	if (mkdirs(run) || start_workload(run))
		return -1;
	if (run->scn->flags & SC_DUMP_REFUSED)
		return must_have_refused(run, dump(run), "dump", run->scn->expect);
	if (dump(run) || check_images(run) || check_plugin_logged(run, "dump.log"))
		return -1;
	if (run->scn->flags & SC_EXPORT)
		return 0;
	if ((run->scn->flags & SC_LEAVE_RUNNING) && check_left_running(run))
		return -1;
	if (run->scn->flags & SC_CORRUPT)
		return restore_corrupted(run);
	if (run->scn->flags & SC_TAMPER_SHIFT)
		return restore_tampered(run);
	if (run->scn->flags & SC_NO_PLUGIN_RST)
		return restore_without_plugin(run);
	if (run->scn->flags & (SC_RESTORE_REFUSED | SC_GUARDS_DROPPED))
		return restore_without_guards(run);
	if (restore(run) || check_plugin_logged(run, "restore.log") || collect_results(run))
		return -1;
	if ((run->scn->flags & SC_OBSERVER) &&
	    check_observed(run->img, run->procs, run->nr_procs, run->reason, sizeof(run->reason)))
		return -1;
	if (run->scn->flags & SC_TWICE)
		return second_round(run);
	return 0;
}

static void report(int n, struct run *run, uint64_t ms)
{
	char path[600];

	if (!run->reason[0]) {
		printf("ok %d - %s (%llu ms)\n", n, run->scn->name, (unsigned long long)ms);
		return;
	}
	printf("not ok %d - %s # %s\n", n, run->scn->name, run->reason);
	printf("# kept in %s\n", run->dir);
	if (run->log[0]) {
		static const char *const needles[] = {"Error", "BUG", PLUGIN_LOG_PREFIX, NULL};

		snprintf(path, sizeof(path), "%s/%s", run->img, run->log);
		print_matching(path, needles, LOG_MATCH_LINES);
		print_tail(path, LOG_TAIL_LINES);
	}
	snprintf(path, sizeof(path), "%s/workload.out", run->dir);
	print_tail(path, 10);
}

/* Can criu track dirty memory here (soft-dirty)? */
static bool dirty_tracking(void)
{
	char *argv[] = {(char *)opt.criu, "check", "--feature", "mem_dirty_track", NULL};
	pid_t pid = start(argv, NULL, "/dev/null", -1);
	int status;

	if (pid < 0)
		return false;
	status = wait_child(pid, CRIU_TIMEOUT_MS);
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

static bool has_observer(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/vma_observer.so", opt.libdir);
	return !access(path, F_OK);
}

static int run_scenario(int n, const struct scenario *scn)
{
	struct run run = {.scn = scn, .root = -1};
	uint64_t t0 = it_now_ms();

	if ((scn->flags & SC_PLUGIN_ONLY) && !opt.libdir) {
		printf("ok %d - %s # SKIP needs the plugin (--libdir)\n", n, scn->name);
		return 0;
	}
	if ((scn->flags & (SC_EXPORT | SC_IMPORT)) && !opt.dir) {
		printf("ok %d - %s # SKIP needs a directory to exchange the dump (--dir)\n", n,
		       scn->name);
		return 0;
	}
	if ((scn->flags & SC_PRE_DUMP) && !dirty_tracking()) {
		printf("ok %d - %s # SKIP kernel lacks soft-dirty tracking "
		       "(criu check --feature mem_dirty_track)\n",
		       n, scn->name);
		return 0;
	}
	if ((scn->flags & SC_OBSERVER) && !has_observer()) {
		printf("ok %d - %s # SKIP needs vma_observer.so in --libdir (build/tests/observer)\n", n, scn->name);
		return 0;
	}
	run_steps(&run);
	kill_tree(&run);
	unwatch_all();
	report(n, &run, it_now_ms() - t0);
	fflush(stdout);
	if (!run.reason[0] && !opt.keep && run.dir[0] && !(scn->flags & (SC_EXPORT | SC_IMPORT)))
		remove_tree(run.dir);
	return run.reason[0] ? -1 : 0;
}

static const struct scenario *find_scenario(const char *name)
{
	size_t i;

	for (i = 0; i < NR_SCENARIOS; i++)
		if (!strcmp(scenarios[i].name, name))
			return &scenarios[i];
	return NULL;
}

static int usage(const char *prog)
{
	size_t i;

	fprintf(stderr, "usage: %s --criu PATH --workload PATH [--libdir DIR] [--keep] [--dir DIR] "
			"[SCENARIO...]\n"
			"scenarios:",
		prog);
	for (i = 0; i < NR_SCENARIOS; i++)
		fprintf(stderr, " %s", scenarios[i].name);
	fprintf(stderr, "\n");
	return 2;
}

static int parse_args(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"criu", required_argument, NULL, 'c'},
		{"libdir", required_argument, NULL, 'L'},
		{"workload", required_argument, NULL, 'w'},
		{"keep", no_argument, NULL, 'k'},
		{"dir", required_argument, NULL, 'd'},
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opt.criu = optarg;
			break;
		case 'L':
			opt.libdir = optarg;
			break;
		case 'w':
			opt.workload = optarg;
			break;
		case 'k':
			opt.keep = true;
			break;
		case 'd':
			opt.dir = optarg;
			break;
		default:
			return -1;
		}
	}
	return opt.criu && opt.workload ? 0 : -1;
}

int main(int argc, char **argv)
{
	const struct scenario *list[NR_SCENARIOS];
	int i, nr = 0, failed = 0;

	if (parse_args(argc, argv))
		return usage(argv[0]);
	for (i = optind; i < argc; i++) {
		if (nr == (int)NR_SCENARIOS || !(list[nr++] = find_scenario(argv[i])))
			return usage(argv[0]);
	}
	for (i = 0; !nr && i < (int)NR_SCENARIOS; i++)
		list[i] = &scenarios[i];
	if (!nr)
		nr = NR_SCENARIOS;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		printf("Bail out! PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", nr);
	for (i = 0; i < nr; i++)
		failed += run_scenario(i + 1, list[i]) ? 1 : 0;
	return failed ? 1 : 0;
}
