/* SPDX-License-Identifier: MIT */
/*
 * The workload's model of its own memory: regions whose guard pages and
 * page contents the process knows, and the checks that compare the model
 * with what the kernel reports.
 */
#ifndef REGION_H
#define REGION_H

#include <stddef.h>
#include <stdint.h>

/* Every VMA of the region must show "lo" in smaps, or must not */
#define REGION_LOCKED	(1U << 0)
#define REGION_UNLOCKED (1U << 1)

/* Page seeds: 0 means a zero page, SEED_ANY a page nobody checks */
#define SEED_ZERO 0U
#define SEED_ANY  0xffffffffU

struct region {
	char name[32];
	char *addr;
	size_t nr_pages;
	unsigned int flags;
	uint8_t *guard; /* expected guard marker per page */
	uint32_t *seed; /* expected content per page */
};

struct region *region_add(const char *name, void *addr, size_t nr_pages, unsigned int flags);
struct region *region_map(const char *name, size_t nr_pages, int prot, int flags, int fd);
void region_fill(struct region *r, size_t first, size_t nr, uint32_t seed);
void region_expect(struct region *r, size_t first, size_t nr, uint32_t seed);
void region_wiped(struct region *r);
void region_forget(struct region *r);
void region_copy_model(struct region *dst, const struct region *src);
int region_guard(struct region *r, size_t first, size_t nr);
int region_unguard(struct region *r, size_t first, size_t nr, uint32_t seed);
void region_page_content(uint64_t *words, uint32_t seed, size_t idx);

unsigned long regions_guard_pages(void);
int regions_verify(char *msg, size_t size);
/* The next regions_verify() records the "gu" VMAs anew (a tree checkpointed again) */
void regions_record_gu(void);

#endif /* REGION_H */
