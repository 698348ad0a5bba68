/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP harness for the plugin's unit tests, and the log sink that
 * stands in for criu's print_on_level() (the plugin's modules log through
 * it): it keeps the last message so tests can check what an error names.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stdio.h>

extern char unit_last_log[1024];
extern int unit_failed;

void unit_ok(bool cond, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool unit_log_has(const char *needle);
void unit_log_clear(void);
int unit_done(void);

#define UNIT_CHECK(cond, name) unit_ok((cond), (name), "%s", #cond)

#endif /* UNIT_H */
