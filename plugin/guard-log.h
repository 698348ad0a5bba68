/* SPDX-License-Identifier: MIT */
/*
 * Logging through CRIU's log, so that plugin lines land in dump.log and
 * restore.log at the right level.
 */
#ifndef GUARD_LOG_H
#define GUARD_LOG_H

#include "criu-log.h"

#undef LOG_PREFIX
#define LOG_PREFIX "guard_plugin: "

#include <stdlib.h>

/*
 * The per-task summary lines (VMAs scanned, ranges, time) are INFO. With
 * CRIU_GUARD_SUMMARY=1 they are logged at CRIU's default verbosity too,
 * so that they can be collected without -v3, whose extra lines cost CRIU
 * time of their own (used by the benchmarks, tests/bench).
 */
#define GUARD_ENV_SUMMARY "CRIU_GUARD_SUMMARY"

static inline unsigned int guard_summary_level(void)
{
	const char *v = getenv(GUARD_ENV_SUMMARY);

	return v && v[0] == '1' && !v[1] ? LOG_WARN : LOG_INFO;
}

#define pr_summary(fmt, ...) print_on_level(guard_summary_level(), LOG_PREFIX fmt, ##__VA_ARGS__)

#endif /* GUARD_LOG_H */
