/* SPDX-License-Identifier: MIT */
/* Scenario two-plugins: what the test plugin vma_observer saw (observed.c) */
#ifndef OBSERVED_H
#define OBSERVED_H

#include <stddef.h>

#include "itest.h"

int check_observed(const char *img_dir, const struct it_proc *procs, int nr_procs, char *why, size_t size);

#endif /* OBSERVED_H */
