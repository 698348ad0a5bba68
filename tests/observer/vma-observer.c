// SPDX-License-Identifier: MIT
/*
 * A test plugin that only observes the VMA hooks: it shares DUMP_VMAS and
 * RESTORE_VMAS with guard_plugin (both loaded from one --libdir) and claims
 * nothing. Per task it writes what it saw into the image directory:
 *
 *   observer-dump-<vpid>.txt     "claims <hex>" (claims of the plugins called
 *                                before it), then "<start> <end> <kind> <attrs>"
 *                                per VMA
 *   observer-restore-<vpid>.txt  "<start> <end> <kind> <attrs> <premapped?>"
 *                                per VMA
 *
 * The integration harness (scenario two-plugins) compares both with the
 * task's VMAs in mm.img. Hook arguments are CRIU's and valid during the call
 * only: everything is written out before the hook returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "criu-plugin.h"

static int write_vmas(const char *what, int vpid, uint32_t claims, const struct cr_plugin_vma *vmas,
		      const struct cr_plugin_rst_vma *rst, unsigned int nr)
{
	char name[64];
	unsigned int i;
	FILE *f;
	int fd;

	snprintf(name, sizeof(name), "observer-%s-%d.txt", what, vpid);
	fd = openat(criu_get_image_dir(), name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	if (vmas)
		fprintf(f, "claims %#x\n", claims);
	for (i = 0; i < nr; i++) {
		const struct cr_plugin_vma *v = vmas ? &vmas[i] : &rst[i].vma;

		fprintf(f, "%#" PRIx64 " %#" PRIx64 " %u %#x", v->start, v->end, v->kind, v->attrs);
		if (rst)
			fprintf(f, " %d", rst[i].premapped != 0);
		fprintf(f, "\n");
	}
	return fclose(f) ? -EIO : 0;
}

static int observe_dump(int pid, int vpid, const struct cr_plugin_vma *vmas, unsigned int nr_vmas, uint32_t *claims)
{
	return write_vmas("dump", vpid, *claims, vmas, NULL, nr_vmas);
}

static int observe_restore(int vpid, const struct cr_plugin_rst_vma *vmas, unsigned int nr_vmas,
			   cr_plugin_add_guard_t add_guard, void *ctx)
{
	return write_vmas("restore", vpid, 0, NULL, vmas, nr_vmas);
}

static int observer_init(int stage)
{
	return 0;
}

static void observer_exit(int stage, int ret)
{
}

CR_PLUGIN_REGISTER("vma_observer", observer_init, observer_exit)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__DUMP_VMAS, observe_dump)
CR_PLUGIN_REGISTER_HOOK(CR_PLUGIN_HOOK__RESTORE_VMAS, observe_restore)
