/* SPDX-License-Identifier: MIT */
/*
 * A task's guards as the difference from its parent's (image version 3).
 */
#ifndef GUARD_DELTA_H
#define GUARD_DELTA_H

#include "guard-set.h"

/* Why guard_delta_apply() refused a difference */
enum {
	GUARD_DELTA_NOMEM = 1,
	GUARD_DELTA_REMOVES_UNHELD, /* removes a range the parent does not have */
	GUARD_DELTA_ADDS_HELD,	    /* adds a range the parent already has */
};

/*
 * The ranges @child removed from (@del) and added to (@add) the set of its
 * @parent, group by group. 0 or -ENOMEM.
 */
int guard_delta_make(const struct guard_set *parent, const struct guard_set *child, struct guard_set *add,
		     struct guard_set *del);

/*
 * @out = @base without @del, with @add: the set guard_delta_make() took
 * apart. Refuses (GUARD_DELTA_*, the VMA in @bad_vma, the index of the
 * refused range of @del or @add in @bad_range) a removal that @base does
 * not hold and an addition that overlaps what it keeps.
 */
int guard_delta_apply(const struct guard_set *base, const struct guard_set *add, const struct guard_set *del,
		      struct guard_set *out, uint64_t *bad_vma, size_t *bad_range);

/* Where the sets of a task's ancestors come from */
struct guard_lineage_src {
	const struct guard_set *known; /* a whole set already at hand ... */
	int known_vpid;		       /* ... of this task (0: none) */
	/* Read the image @name of @vpid into @s; 0 or -1 (and say why) */
	int (*read)(void *arg, int vpid, const char *name, struct guard_set *s);
	void *arg;
	unsigned int page_shift;
};

/* Longest chain of difference images followed back to an image of a whole set */
#define GUARD_LINEAGE_MAX 1024

/*
 * Turn the difference image @img held in @s into its task's whole set,
 * applied to the parent's set: the known one, or else the parent's image
 * (itself resolved, up to GUARD_LINEAGE_MAX levels). The result is
 * checked against the totals the head recorded. The difference itself
 * goes to @diff if set (else it is freed). 0 or -1.
 */
int guard_delta_resolve(const struct guard_lineage_src *src, const char *img, struct guard_set *s, int depth,
			struct guard_set *diff);

#endif /* GUARD_DELTA_H */
