// SPDX-License-Identifier: MIT
/*
 * LD_PRELOAD shim for the fault tests (tests/hostile/faults.py), never
 * shipped: it interposes write() and openat() in criu and so in the plugin
 * it loads, and injects the fault named by HOSTILE_FAULT into what touches
 * guard images only:
 *
 *   zero          every write() to a guard image returns 0
 *   enospc        ... fails with ENOSPC
 *   eintr         the first write() to each guard image fails with EINTR
 *   short         ... writes at most 7 bytes
 *   kill:PID      the first write() of a guard image SIGKILLs task PID
 *   rst-die:VPID  the task restoring VPID SIGKILLs itself opening its image
 *   rst-criu:VPID ... SIGKILLs the criu process instead
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GUARD_IMG "guard-regions-"

static pid_t criu_pid;
static int eintr_fd = -1;
static int killed;

__attribute__((constructor)) static void shim_init(void)
{
	criu_pid = getpid();
}

static const char *fault(const char *name)
{
	const char *f = getenv("HOSTILE_FAULT");

	if (!f || strncmp(f, name, strlen(name)))
		return NULL;
	return f + strlen(name);
}

static int is_guard_image(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strstr(path, "/" GUARD_IMG) != NULL;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *arg;

	if (!real)
		real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (!getenv("HOSTILE_FAULT") || !is_guard_image(fd))
		return real(fd, buf, len);
	if (fault("zero"))
		return 0;
	if (fault("enospc")) {
		errno = ENOSPC;
		return -1;
	}
	if (fault("eintr") && eintr_fd != fd) {
		eintr_fd = fd;
		errno = EINTR;
		return -1;
	}
	if (fault("short") && len > 7)
		len = 7;
	arg = fault("kill:");
	if (arg && !killed++)
		kill(atoi(arg), SIGKILL);
	return real(fd, buf, len);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	char name[64];
	const char *arg;
	mode_t mode = 0;
	va_list ap;

	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	arg = fault("rst-die:");
	if (!arg)
		arg = fault("rst-criu:");
	if (arg) {
		snprintf(name, sizeof(name), GUARD_IMG "%d.img", atoi(arg));
		if (!strcmp(path, name) && !(flags & O_CREAT))
			kill(fault("rst-die:") ? getpid() : criu_pid, SIGKILL);
	}
	return real(dirfd, path, flags, mode);
}
