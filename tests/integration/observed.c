// SPDX-License-Identifier: MIT
/*
 * Scenario two-plugins: guard_plugin and the test plugin vma_observer
 * (tests/observer) share DUMP_VMAS and RESTORE_VMAS. Every task's VMAs as
 * the observer saw them in each hook must be exactly its VMAs in mm.img
 * (CRIU's own guard entries aside, and guard_plugin claims the guards, so
 * there are none).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "itest.h"
#include "observed.h"

#define MM_VMAS_FIELD	 14 /* mm_entry.vmas */
#define VMA_START_FIELD	 1
#define VMA_END_FIELD	 2
#define VMA_STATUS_FIELD 7
#define VMA_AREA_GUARD	 (1U << 16)
#define MAX_VMAS	 4096

struct range {
	uint64_t start, end;
};

static int mm_vmas(const char *path, struct range *r, int max)
{
	struct pb_field f, vf;
	struct img_entry e;
	struct pb_iter it, vit;
	struct img img;
	int nr = 0;

	if (img_open(&img, path))
		return -1;
	while (img_next(&img, &e) == 1) {
		pb_init(&it, e.data, e.len);
		while (pb_next(&it, &f) == 1) {
			uint64_t start = 0, end = 0, status = 0;

			if (f.num != MM_VMAS_FIELD || f.wire != PB_LEN)
				continue;
			pb_init(&vit, f.data, f.len);
			while (pb_next(&vit, &vf) == 1) {
				if (vf.num == VMA_START_FIELD)
					start = vf.varint;
				else if (vf.num == VMA_END_FIELD)
					end = vf.varint;
				else if (vf.num == VMA_STATUS_FIELD)
					status = vf.varint;
			}
			if (status & VMA_AREA_GUARD)
				continue;
			if (nr == max)
				break;
			r[nr].start = start;
			r[nr].end = end;
			nr++;
		}
	}
	img_close(&img);
	return nr;
}

/* The observer's file: VMA ranges, and how many it marked premapped */
static int observed_vmas(const char *path, struct range *r, int max, int *premapped, unsigned int *claims)
{
	char line[256];
	int nr = 0, p;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	*premapped = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned int kind, attrs;

		if (sscanf(line, "claims %x", claims) == 1)
			continue;
		if (nr == max || sscanf(line, "%" SCNx64 " %" SCNx64 " %u %x", &r[nr].start, &r[nr].end, &kind, &attrs) != 4)
			break;
		if (sscanf(line, "%*x %*x %*u %*x %d", &p) == 1)
			*premapped += p;
		nr++;
	}
	fclose(f);
	return nr;
}

static int compare(const struct range *a, int na, const struct range *b, int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i].start != b[i].start || a[i].end != b[i].end)
			return 0;
	return 1;
}

int check_observed(const char *img_dir, const struct it_proc *procs, int nr_procs, char *why, size_t size)
{
	static const char *const hooks[2][2] = {{"dump", "DUMP_VMAS"}, {"restore", "RESTORE_VMAS"}};
	static struct range mm[MAX_VMAS], seen[MAX_VMAS];
	char path[600];
	int i, h, nr_mm, nr, premapped, total_premapped = 0;
	unsigned int claims = 0;

	for (i = 0; i < nr_procs; i++) {
		snprintf(path, sizeof(path), "%s/mm-%d.img", img_dir, procs[i].pid);
		nr_mm = mm_vmas(path, mm, MAX_VMAS);
		if (nr_mm <= 0) {
			snprintf(why, size, "cannot read the VMAs of %s", path);
			return -1;
		}

		for (h = 0; h < 2; h++) {
			snprintf(path, sizeof(path), "%s/observer-%s-%d.txt", img_dir, hooks[h][0], procs[i].pid);
			nr = observed_vmas(path, seen, MAX_VMAS, &premapped, &claims);
			if (!compare(mm, nr_mm, seen, nr)) {
				snprintf(why, size, "%s: the observer saw %d VMAs in %s, mm.img has %d (or others)",
					 procs[i].role, nr, hooks[h][1], nr_mm);
				return -1;
			}
		}
		total_premapped += premapped;
		printf("# %s: the observer saw all %d VMAs in DUMP_VMAS and RESTORE_VMAS (%d premapped)\n",
		       procs[i].role, nr_mm, premapped);
	}
	if (!total_premapped) {
		snprintf(why, size, "no task had a premapped VMA: the scenario tests too little");
		return -1;
	}
	return 0;
}
