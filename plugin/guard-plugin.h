/* SPDX-License-Identifier: MIT */
/*
 * What the plugin's parts share: the hook entry points of the dump and
 * restore sides, and the CRIU functions a plugin may call that
 * criu-plugin.h does not declare.
 */
#ifndef GUARD_PLUGIN_H
#define GUARD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "criu-plugin.h"

#define GUARD_PLUGIN_NAME "guard"

/* Lets a restore go on without guards on a kernel that cannot install them */
#define GUARD_ENV_ALLOW_NO_GUARDS "CRIU_GUARD_ALLOW_NO_GUARDS"

/* Exported by criu (criu/image.c) */
extern int add_inventory_plugin(const char *name);
extern bool check_and_remove_inventory_plugin(const char *name, size_t n);

int guard_dump_task(int pid, int vpid, const struct cr_plugin_vma *vmas, unsigned int nr_vmas, uint32_t *claims);

int guard_restore_init(void);
void guard_restore_fini(void);
void guard_dump_fini(void);
int guard_restore_task(int vpid, const struct cr_plugin_rst_vma *vmas, unsigned int nr_vmas,
		       cr_plugin_add_guard_t add_guard, void *ctx);

unsigned int guard_page_shift(void);

static inline long guard_elapsed_us(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000000L + (now.tv_nsec - since->tv_nsec) / 1000;
}

#endif /* GUARD_PLUGIN_H */
