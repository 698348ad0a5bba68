// SPDX-License-Identifier: MIT
/*
 * plugin-leak-check: drive the shipped plugin's hooks in one process, as
 * criu would, so that valgrind can tell whether its exit frees all it kept.
 *
 *   plugin-leak-check PLUGIN_SO [--skip-exit]
 *
 * A real criu cannot run under valgrind to the end of a restore (the
 * restored tasks become the dumped program), so this stands in for criu:
 * it provides the four functions the plugin imports, dumps a guarded VMA
 * of its own with DUMP_VMAS, removes the guards, and restores them with
 * RESTORE_VMAS as if the VMA were premapped. The restore keeps the guard
 * set for the children a task forks next; the plugin's exit must free it.
 * --skip-exit leaves the exit out, to show that the check sees the set.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "criu-plugin.h"
#include "guard-procfs.h"
#include "guard-uapi.h"

#define NR_PAGES 16

static int image_dir = -1;

/* What criu exports to plugins */
int criu_get_image_dir(void)
{
	return image_dir;
}

int add_inventory_plugin(const char *name)
{
	return 0;
}

bool check_and_remove_inventory_plugin(const char *name, size_t n)
{
	return true;
}

void print_on_level(unsigned int loglevel, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
}

static int fail(const char *what)
{
	fprintf(stderr, "plugin-leak-check: %s\n", what);
	return 1;
}

/* Private anonymous, fenced so that it merges with nothing; guards on 2, 5-6, 10 */
static char *map_guarded(size_t ps)
{
	char *p = mmap(NULL, (NR_PAGES + 2) * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + ps, NR_PAGES * ps, PROT_READ | PROT_WRITE))
		return NULL;
	p += ps;
	memset(p, 1, NR_PAGES * ps);
	if (madvise(p + 2 * ps, ps, MADV_GUARD_INSTALL) || madvise(p + 5 * ps, 2 * ps, MADV_GUARD_INSTALL) ||
	    madvise(p + 10 * ps, ps, MADV_GUARD_INSTALL))
		return NULL;
	return p;
}

static bool is_guard(char *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd >= 0)
		guard_pagemap_entry(fd, (unsigned long)addr, &e);
	close(fd);
	return e & PM_ENTRY_GUARD_REGION;
}

/*
 * The restore checks guards against the pages CRIU dumped and against the
 * guard VMAs of mm.img: give it a pagemap-1.img that lists no pages (the
 * pagemap_head entry {pages_id: 1}) and an mm-1.img with no VMA (an empty
 * mm_entry), each after the common and its own magic.
 */
static int write_image(const char *name, uint32_t magic, const uint8_t *entry, uint32_t size)
{
	uint32_t words[] = {0x54564319, magic, size};
	int fd = openat(image_dir, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ret = -1;

	if (fd < 0)
		return -1;
	if (write(fd, words, sizeof(words)) == sizeof(words) && write(fd, entry, size) == size)
		ret = 0;
	close(fd);
	return ret;
}

static int write_criu_images(void)
{
	static const uint8_t pagemap_head[] = {0x08, 0x01};

	if (write_image("pagemap-1.img", 0x56084025, pagemap_head, sizeof(pagemap_head)))
		return -1;
	return write_image("mm-1.img", 0x57492820, NULL, 0);
}

/* The VMA is premapped: nothing is handed over to the restorer */
static int no_late_guard(void *ctx, uint64_t start, uint64_t end)
{
	(*(unsigned int *)ctx)++;
	return 0;
}

static int run(cr_plugin_desc_t *d, char *p, size_t ps, bool skip_exit)
{
	struct cr_plugin_rst_vma rst = {};
	unsigned int nr_late = 0;
	uint32_t claims = 0;
	int ret;

	rst.vma.start = (uintptr_t)p;
	rst.vma.end = (uintptr_t)p + NR_PAGES * ps;
	rst.vma.kind = CR_PLUGIN_VMA_ANON_PRIVATE;
	rst.vma.attrs = CR_PLUGIN_VMA_MAYBE_GUARD;
	rst.premapped = rst.vma.start;

	if (d->init(CR_PLUGIN_STAGE__DUMP))
		return fail("init(DUMP) failed");
	ret = ((CR_PLUGIN_HOOK__DUMP_VMAS_t *)d->hooks[CR_PLUGIN_HOOK__DUMP_VMAS])(getpid(), 1, &rst.vma, 1, &claims);
	d->exit(CR_PLUGIN_STAGE__DUMP, ret);
	if (ret || !(claims & CR_PLUGIN_CLAIM_GUARDS))
		return fail("DUMP_VMAS failed or did not claim the guards");

	if (madvise(p, NR_PAGES * ps, MADV_GUARD_REMOVE) || is_guard(p + 2 * ps))
		return fail("can't remove the guards");

	if (write_criu_images())
		return fail("can't write pagemap-1.img and mm-1.img");
	if (d->init(CR_PLUGIN_STAGE__RESTORE))
		return fail("init(RESTORE) failed");
	ret = ((CR_PLUGIN_HOOK__RESTORE_VMAS_t *)d->hooks[CR_PLUGIN_HOOK__RESTORE_VMAS])(1, &rst, 1, no_late_guard,
											 &nr_late);
	if (ret || nr_late)
		return fail("RESTORE_VMAS failed or handed over guards of a premapped VMA");
	if (!is_guard(p + 2 * ps) || !is_guard(p + 6 * ps) || !is_guard(p + 10 * ps) || is_guard(p + 3 * ps))
		return fail("RESTORE_VMAS did not put the guards back");
	if (!skip_exit)
		d->exit(CR_PLUGIN_STAGE__RESTORE, 0);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/plugin-leak-check.XXXXXX";
	size_t ps = sysconf(_SC_PAGESIZE);
	cr_plugin_desc_t *d;
	void *h;
	char *p;
	int ret;

	if (argc < 2)
		return fail("usage: plugin-leak-check PLUGIN_SO [--skip-exit]");
	/* Not closed: valgrind names the plugin's frames only while it is loaded */
	h = dlopen(argv[1], RTLD_NOW);
	d = h ? dlsym(h, "CR_PLUGIN_DESC") : NULL;
	if (!d)
		return fail(dlerror());
	p = map_guarded(ps);
	if (!p)
		return fail("can't map guarded memory");
	if (!mkdtemp(dir) || (image_dir = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return fail("can't make an image directory");

	ret = run(d, p, ps, argc > 2 && !strcmp(argv[2], "--skip-exit"));

	unlinkat(image_dir, "guard-regions-1.img", 0);
	unlinkat(image_dir, "pagemap-1.img", 0);
	unlinkat(image_dir, "mm-1.img", 0);
	close(image_dir);
	rmdir(dir);
	return ret;
}
