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

#endif /* GUARD_LOG_H */
