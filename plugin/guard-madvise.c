// SPDX-License-Identifier: MIT
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "guard-madvise.h"
#include "guard-probe.h"
#include "guard-uapi.h"

/* UIO_MAXIOV: the most ranges process_madvise() takes per call */
#define GUARD_MADV_BATCH 1024

static uint64_t nr_calls;

uint64_t guard_madvise_calls(void)
{
	return nr_calls;
}

static int madvise_each(const struct guard_range *r, size_t nr, uint64_t delta, int advice, size_t *bad)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		nr_calls++;
		if (madvise((void *)(uintptr_t)(r[i].start + delta), r[i].end - r[i].start, advice)) {
			*bad = i;
			return -errno;
		}
	}
	return 0;
}

/* Returns 0 when the whole batch was advised, -1 to fall back */
static int process_madvise_batch(int pidfd, const struct guard_range *r, size_t nr, uint64_t delta, int advice)
{
	struct iovec iov[GUARD_MADV_BATCH];
	size_t i, total = 0;
	ssize_t done;

	for (i = 0; i < nr; i++) {
		iov[i].iov_base = (void *)(uintptr_t)(r[i].start + delta);
		iov[i].iov_len = r[i].end - r[i].start;
		total += iov[i].iov_len;
	}
	nr_calls++;
	done = syscall(__NR_process_madvise, pidfd, iov, nr, advice, 0);
	return done == (ssize_t)total ? 0 : -1;
}

int guard_madvise(const struct guard_range *r, size_t nr, uint64_t delta, int advice, size_t *bad)
{
	int batch = guard_probe(GUARD_FEAT_PROCESS_MADVISE_SELF) == GUARD_PROBE_YES;
	size_t off, n;
	int pidfd = -1, ret = 0;

	/*
	 * Opened per call and closed before returning: the restoring task is
	 * about to get its own descriptors back, in whatever slots they had.
	 */
	if (batch && nr > 1)
		pidfd = syscall(__NR_pidfd_open, getpid(), 0);

	for (off = 0; off < nr; off += n) {
		n = nr - off < GUARD_MADV_BATCH ? nr - off : GUARD_MADV_BATCH;
		/* Guard install and remove are idempotent: a partly done batch is simply redone */
		if (pidfd >= 0 && !process_madvise_batch(pidfd, r + off, n, delta, advice))
			continue;
		ret = madvise_each(r + off, n, delta, advice, bad);
		if (ret) {
			*bad += off;
			break;
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}
