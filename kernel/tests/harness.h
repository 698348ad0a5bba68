/* SPDX-License-Identifier: MIT */
/*
 * Test harness of the guard-region conformance suite, in the spirit of the
 * kernel's kselftest_harness.h: every test runs in its own forked process
 * group with a timeout, prints TAP 13, and either passes, fails with the
 * file, line and values of the failed assertion, or skips with a reason.
 *
 * Also holds the helpers every area needs: mappings, a SIGSEGV probe,
 * a fork-and-wait runner, and smaps/pagemap readers.
 */
#ifndef GUARD_HARNESS_H
#define GUARD_HARNESS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "guard-probe.h"
#include "guard-procfs.h"
#include "guard-uapi.h"

#define TEST_TIMEOUT_SEC 30

struct guard_test {
	const char *name;
	void (*fn)(void);
};

#define GUARD_TEST(fn)  \
	{               \
#fn, fn \
	}
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Run @tests as a TAP stream; the return value is the exit status. */
int guard_test_main(const struct guard_test *tests, size_t nr, int argc,
		    char **argv);

void __attribute__((noreturn, format(printf, 3, 4)))
test_fail_at(const char *file, int line, const char *fmt, ...);
void __attribute__((noreturn, format(printf, 1, 2))) test_skip(const char *fmt, ...);
void __attribute__((format(printf, 1, 2))) test_note(const char *fmt, ...);

/* Skip the test unless the probe says the kernel has @feat. */
void require_feature(enum guard_feature feat);

#define ASSERT_TRUE(c)                                                       \
	do {                                                                 \
		if (!(c))                                                    \
			test_fail_at(__FILE__, __LINE__, "expected %s", #c); \
	} while (0)

#define ASSERT_FALSE(c) ASSERT_TRUE(!(c))

#define ASSERT_EQ(a, b)                                                         \
	do {                                                                    \
		long long __a = (long long)(a), __b = (long long)(b);           \
		if (__a != __b)                                                 \
			test_fail_at(__FILE__, __LINE__,                        \
				     "%s == %s: 0x%llx != 0x%llx", #a, #b, __a, \
				     __b);                                      \
	} while (0)

/* @call must return 0; otherwise report errno. */
#define ASSERT_OK(call)                                                   \
	do {                                                              \
		if ((call) != 0)                                          \
			test_fail_at(__FILE__, __LINE__, "%s failed: %s", \
				     #call, errno_name(errno));           \
	} while (0)

/* @call must fail with -1 and exactly errno @err. */
#define ASSERT_ERRNO(call, err)                                            \
	do {                                                               \
		long __r;                                                  \
		int __e;                                                   \
		errno = 0;                                                 \
		__r = (long)(call);                                        \
		__e = errno;                                               \
		if (__r != -1 || __e != (err))                             \
			test_fail_at(__FILE__, __LINE__,                   \
				     "%s: expected -1 (%s), got %ld (%s)", \
				     #call, errno_name(err), __r,          \
				     errno_name(__e));                     \
	} while (0)

const char *errno_name(int err);

extern size_t psize;

/* Map @pages pages (aborting the test on failure). */
char *map_anon(size_t pages);
char *map_anon_shared(size_t pages);
/*
 * A private anonymous read-write VMA between two PROT_NONE pages, so that
 * it cannot merge with unrelated VMAs: smaps checks see only our VMA.
 */
char *map_anon_isolated(size_t pages);
/* A private mapping of a fresh O_TMPFILE filled with page_pattern(). */
char *map_file_private(size_t pages, int prot);
/* A shared mapping of a fresh memfd. */
char *map_memfd_shared(size_t pages);

/* Byte written to page @i of file-backed test mappings. */
static inline char page_pattern(size_t i)
{
	return (char)('a' + i % 26);
}

void fill_pages(char *p, size_t pages);
bool page_is(const char *p, char c);

int guard_install(char *p, size_t pages);
int guard_remove(char *p, size_t pages);

/* True when a read (write) of @p completes, false when it raises SIGSEGV. */
bool try_read(const char *p);
bool try_write(char *p);

/*
 * Run @fn(@arg) in a forked child and return its exit status, or 128 plus
 * the signal that killed it. The child inherits the SIGSEGV probe.
 */
int run_in_child(int (*fn)(void *), void *arg);

/* Start and end of the VMA containing @p, from /proc/self/maps. */
int vma_bounds(const void *p, unsigned long *start, unsigned long *end);
/* 1/0 whether the VMA of @p shows VmFlags @flag (test fails on errors). */
bool vma_has_flag(const void *p, const char *flag);

/* Open /proc/self/pagemap, aborting the test on failure. */
int pagemap_open(void);
uint64_t pagemap_entry(int fd, const void *p);
/* PAGEMAP_SCAN for guards over [@p, @p + @pages pages) (fails the test on error). */
long scan_guards(int fd, const void *p, size_t pages, struct page_region *vec,
		 size_t vec_len, unsigned long max_pages, unsigned long *walk_end);

#define ASSERT_REGION(r, base, first, last)                                  \
	do {                                                                 \
		ASSERT_EQ((r).start, (unsigned long)(base) + (first)*psize); \
		ASSERT_EQ((r).end, (unsigned long)(base) + (last)*psize);    \
	} while (0)

#endif /* GUARD_HARNESS_H */
