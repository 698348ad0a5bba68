// SPDX-License-Identifier: MIT
/*
 * The guard sets of the tasks dumped so far, kept until the end of the
 * dump: CRIU dumps a parent before its children, and a child's image can
 * then be the difference from its parent's set (guard-delta.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard-lineage.h"

struct dumped {
	int pid; /* as criu sees it */
	int vpid;
	struct guard_set set;
};

static struct dumped *dumped;
static size_t nr_dumped, cap_dumped;

int guard_lineage_keep(int pid, int vpid, struct guard_set *s)
{
	struct dumped *d;

	if (nr_dumped == cap_dumped) {
		size_t cap = cap_dumped ? 2 * cap_dumped : 16;

		d = realloc(dumped, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		dumped = d;
		cap_dumped = cap;
	}
	d = &dumped[nr_dumped++];
	d->pid = pid;
	d->vpid = vpid;
	d->set = *s;
	memset(s, 0, sizeof(*s));
	return 0;
}

/* The parent pid of @pid from /proc/PID/stat, or 0 */
static int parent_of(int pid)
{
	char path[64], buf[512], *p;
	int fd, ppid = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything but ends at the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

const struct guard_set *guard_lineage_parent(int pid, int *parent_vpid)
{
	size_t i;
	int ppid;

	if (!nr_dumped)
		return NULL;
	ppid = parent_of(pid);
	for (i = 0; ppid && i < nr_dumped; i++) {
		if (dumped[i].pid == ppid) {
			*parent_vpid = dumped[i].vpid;
			return &dumped[i].set;
		}
	}
	return NULL;
}

void guard_lineage_free(void)
{
	size_t i;

	for (i = 0; i < nr_dumped; i++)
		guard_set_free(&dumped[i].set);
	free(dumped);
	dumped = NULL;
	nr_dumped = cap_dumped = 0;
}
