// SPDX-License-Identifier: MIT
/*
 * libFuzzer target over what the restore reads: a guard image is decoded,
 * validated against VMAs made from its own groups (and against ones that
 * cut it short), checked against a pagemap, encoded again and decoded
 * again, which must give the same set. An input that starts with CRIU's
 * pagemap magic is read as a pagemap image against a fixed guard set.
 *
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard-image.h"
#include "guard-criu-img.h"
#include "guard-pagemap.h"
#include "guard-restore.h"

#define SHIFT 12

/* criu's logger, as the plugin's modules call it: formats, prints nothing */
void print_on_level(unsigned int loglevel, const char *format, ...)
{
	char buf[512];
	va_list args;

	va_start(args, format);
	vsnprintf(buf, sizeof(buf), format, args);
	va_end(args);
}

static void same_or_die(const struct guard_set *a, const struct guard_set *b)
{
	size_t i;

	if (a->ranges.nr != b->ranges.nr || a->nr_groups != b->nr_groups || a->pid != b->pid)
		abort();
	if (a->ranges.nr && memcmp(a->ranges.r, b->ranges.r, a->ranges.nr * sizeof(*a->ranges.r)))
		abort();
	for (i = 0; i < a->nr_groups; i++)
		if (a->groups[i].vma_start != b->groups[i].vma_start || a->groups[i].nr != b->groups[i].nr)
			abort();
}

/* VMAs that fit the groups exactly; @shrink: the last one ends a page early */
static void validate(const struct guard_set *s, bool shrink)
{
	struct cr_plugin_rst_vma *vmas = calloc(s->nr_groups + 1, sizeof(*vmas));
	size_t *groups = calloc(s->nr_groups + 1, sizeof(*groups));
	size_t i;

	for (i = 0; i < s->nr_groups; i++) {
		const struct guard_group *g = &s->groups[i];

		vmas[i].vma.start = g->vma_start;
		vmas[i].vma.end = s->ranges.r[g->first + g->nr - 1].end;
		vmas[i].vma.kind = CR_PLUGIN_VMA_ANON_PRIVATE;
		vmas[i].premapped = vmas[i].vma.start;
	}
	if (shrink && s->nr_groups)
		vmas[s->nr_groups - 1].vma.end -= 1UL << SHIFT;
	/* Groups in one VMA each: all must be accepted; a cut one refused */
	if ((guard_validate("fuzz.img", s, vmas, s->nr_groups, groups) != 0) != (shrink && s->nr_groups))
		abort();
	free(vmas);
	free(groups);
}

static void round_trip(const struct guard_set *decoded)
{
	struct guard_set copy = *decoded, again = {};
	const struct guard_set *s = &copy;
	struct guard_buf b1 = {}, b2 = {};

	/* A version 1 image has no pid; the encoder writes the current version */
	if (!copy.pid)
		copy.pid = 1;
	if (guard_image_encode(s, SHIFT, &b1))
		return;
	if (guard_image_decode(b1.data, b1.len, "again.img", SHIFT, &again))
		abort(); /* what we wrote we must read */
	same_or_die(s, &again);
	if (guard_image_encode(&again, SHIFT, &b2) || b1.len != b2.len || memcmp(b1.data, b2.data, b1.len))
		abort(); /* encoding is canonical */
	guard_set_free(&again);
	guard_buf_free(&b1);
	guard_buf_free(&b2);
}

static void pagemap_input(const uint8_t *data, size_t size)
{
	struct guard_set s = {};

	guard_set_begin_vma(&s, 0x10000);
	guard_set_begin_entry(&s, 1);
	guard_set_add(&s, 0x10000, 0x11000);
	guard_set_add(&s, 0x400000, 0x402000);
	guard_pagemap_check_buf(data, size, "pagemap-1.img", SHIFT, "guard-regions-1.img", &s);
	guard_set_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard_set s = {};
	uint32_t magic[2];

	if (size >= 8) {
		memcpy(magic, data, sizeof(magic));
		if (magic[0] == GUARD_IMG_COMMON_MAGIC && magic[1] == CRIU_PAGEMAP_MAGIC) {
			pagemap_input(data, size);
			return 0;
		}
	}
	if (guard_image_decode(data, size, "fuzz.img", SHIFT, &s))
		return 0;
	validate(&s, false);
	validate(&s, true);
	round_trip(&s);
	guard_set_free(&s);
	return 0;
}
