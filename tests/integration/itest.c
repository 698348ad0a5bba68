// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the integration test harness and its workload.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "itest.h"

uint64_t it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_msleep(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

int it_write_file(const char *path, const char *buf, size_t len)
{
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ret = write_all(fd, buf, len);
	if (close(fd))
		ret = -1;
	return ret;
}

/* Readers polling for @path never see it half written. */
int it_write_file_atomic(const char *path, const char *buf, size_t len)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	if (it_write_file(tmp, buf, len))
		return -1;
	return rename(tmp, path);
}

/* Returns a NUL-terminated malloc()ed copy of the file, or NULL. */
char *it_read_file(const char *path, size_t *len)
{
	size_t size = 0, cap = 4096;
	char *buf = NULL, *tmp;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	do {
		if (size + 1 >= cap || !buf) {
			cap *= 2;
			tmp = realloc(buf, cap);
			if (!tmp)
				goto err;
			buf = tmp;
		}
		n = read(fd, buf + size, cap - size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err;
		size += n;
	} while (n > 0);
	close(fd);
	buf[size] = '\0';
	if (len)
		*len = size;
	return buf;
err:
	free(buf);
	close(fd);
	return NULL;
}

int it_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Parses the ready file; returns the number of processes or -1. */
int it_parse_procs(const char *text, struct it_proc *procs, int max)
{
	const char *line = text;
	int nr = 0;

	while (*line) {
		struct it_proc *p = &procs[nr];

		if (nr == max)
			return -1;
		if (sscanf(line, "%31s %d %lu", p->role, &p->pid, &p->guard_pages) != 3)
			return -1;
		nr++;
		line = strchr(line, '\n');
		if (!line)
			break;
		line++;
	}
	return nr;
}
