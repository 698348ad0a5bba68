/* SPDX-License-Identifier: MIT */
/*
 * Checking a task's guard image against the VMAs it is restored with.
 */
#ifndef GUARD_RESTORE_H
#define GUARD_RESTORE_H

#include <stddef.h>

#include "criu-plugin.h"
#include "guard-set.h"

/*
 * Every group of @s must belong to a VMA of the task that starts where the
 * group says and can hold guards, and all its ranges must lie inside that
 * VMA. On success vma_group[i] is the group of VMA i, or SIZE_MAX. Anything
 * else is refused with a message naming @img.
 */
int guard_validate(const char *img, const struct guard_set *s, const struct cr_plugin_rst_vma *vmas,
		   unsigned int nr_vmas, size_t *vma_group);

#endif /* GUARD_RESTORE_H */
