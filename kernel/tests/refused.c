// SPDX-License-Identifier: MIT
/*
 * Mappings and arguments MADV_GUARD_INSTALL refuses, with the exact errno:
 * the plugin must not try to restore guards there, and must recognise the
 * errors it may see.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define HUGE_2M (2UL << 20)

/* Assert that hugetlb mappings are refused with EINVAL. */
static void guard_install_on_hugetlb_fails_einval(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	/* MAP_NORESERVE: no huge page has to be free to get the VMA. */
	p = mmap(NULL, HUGE_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		test_skip("no 2 MiB hugetlb mapping: %s", errno_name(errno));
	ASSERT_ERRNO(madvise(p, HUGE_2M, MADV_GUARD_INSTALL), EINVAL);
}

/* Find the special mapping called @name (e.g. "[vdso]") or skip. */
static char *special_mapping(const char *name, size_t *len)
{
	unsigned long start, end;
	char line[512], *found = NULL;
	FILE *f;

	f = fopen("/proc/self/maps", "re");
	ASSERT_TRUE(f != NULL);
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) > strlen(name) &&
		    !strcmp(line + strlen(line) - strlen(name), name) &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2) {
			found = (char *)start;
			*len = end - start;
		}
	}
	fclose(f);
	if (!found)
		test_skip("no %s mapping in this process", name);
	return found;
}

/*
 * Install over the whole of the kernel-provided mapping @name must fail
 * with EINVAL. The three tests differ only in the mapping, so that each
 * one still passes, fails or skips (mapping absent) on its own.
 */
static void assert_install_on_special_mapping_fails_einval(const char *name)
{
	size_t len;
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = special_mapping(name, &len);
	ASSERT_ERRNO(madvise(p, len, MADV_GUARD_INSTALL), EINVAL);
}

/* Assert that the vDSO (a special mapping) is refused with EINVAL. */
static void guard_install_on_vdso_fails_einval(void)
{
	assert_install_on_special_mapping_fails_einval("[vdso]");
}

/* Assert that the vvar data page (VM_PFNMAP) is refused with EINVAL. */
static void guard_install_on_vvar_fails_einval(void)
{
	assert_install_on_special_mapping_fails_einval("[vvar]");
}

/* Assert that the vvar clock pages are refused with EINVAL. */
static void guard_install_on_vvar_vclock_fails_einval(void)
{
	assert_install_on_special_mapping_fails_einval("[vvar_vclock]");
}

/* Assert that memfd_secret() memory is refused with EINVAL. */
static void guard_install_on_memfd_secret_fails_einval(void)
{
	char *p;
	int fd;

	require_feature(GUARD_FEAT_MADV_GUARD);
	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0)
		test_skip("memfd_secret unavailable: %s", errno_name(errno));
	ASSERT_OK(ftruncate(fd, psize));
	p = mmap(NULL, psize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		test_skip("cannot map memfd_secret: %s", errno_name(errno));
	ASSERT_ERRNO(guard_install(p, 1), EINVAL);
}

/* Assert that a start address that is not page aligned gives EINVAL. */
static void guard_install_on_unaligned_start_fails_einval(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(2);
	ASSERT_ERRNO(madvise(p + 1, psize, MADV_GUARD_INSTALL), EINVAL);
	ASSERT_TRUE(try_read(p));
}

/*
 * Assert that a range with a hole fails with ENOMEM, but only after
 * guarding the mapped parts: a failed install is not a no-op.
 */
static void guard_install_over_a_hole_fails_enomem_after_guarding(void)
{
	char *p;

	require_feature(GUARD_FEAT_MADV_GUARD);
	p = map_anon(3);
	ASSERT_OK(munmap(p + psize, psize));
	ASSERT_ERRNO(guard_install(p, 3), ENOMEM);
	ASSERT_FALSE(try_read(p));
	ASSERT_FALSE(try_read(p + 2 * psize));
}

static const struct guard_test tests[] = {
	GUARD_TEST(guard_install_on_hugetlb_fails_einval),
	GUARD_TEST(guard_install_on_vdso_fails_einval),
	GUARD_TEST(guard_install_on_vvar_fails_einval),
	GUARD_TEST(guard_install_on_vvar_vclock_fails_einval),
	GUARD_TEST(guard_install_on_memfd_secret_fails_einval),
	GUARD_TEST(guard_install_on_unaligned_start_fails_einval),
	GUARD_TEST(guard_install_over_a_hole_fails_enomem_after_guarding),
};

int main(int argc, char **argv)
{
	return guard_test_main(tests, ARRAY_SIZE(tests), argc, argv);
}
