/* SPDX-License-Identifier: MIT */
/*
 * The guard sets of the tasks dumped so far, for their children.
 */
#ifndef GUARD_LINEAGE_H
#define GUARD_LINEAGE_H

#include "guard-set.h"

/* Keep the set of the task @pid (@vpid) for its children; takes over @s. */
int guard_lineage_keep(int pid, int vpid, struct guard_set *s);

/* The kept set of the parent of @pid, with its vpid, or NULL */
const struct guard_set *guard_lineage_parent(int pid, int *parent_vpid);

void guard_lineage_free(void);

#endif /* GUARD_LINEAGE_H */
