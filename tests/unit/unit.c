// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <string.h>

#include "unit.h"

char unit_last_log[1024];
int unit_failed;
static int unit_nr;

/* criu's logger, as the plugin's modules call it */
void print_on_level(unsigned int loglevel, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	vsnprintf(unit_last_log, sizeof(unit_last_log), format, args);
	va_end(args);
	fprintf(stderr, "# log: %s", unit_last_log);
}

void unit_ok(bool cond, const char *name, const char *fmt, ...)
{
	va_list args;

	unit_nr++;
	printf("%sok %d %s\n", cond ? "" : "not ", unit_nr, name);
	if (!cond) {
		unit_failed++;
		printf("# failed: ");
		va_start(args, fmt);
		vprintf(fmt, args);
		va_end(args);
		printf("\n");
	}
}

bool unit_log_has(const char *needle)
{
	return strstr(unit_last_log, needle) != NULL;
}

void unit_log_clear(void)
{
	unit_last_log[0] = '\0';
}

int unit_done(void)
{
	printf("1..%d\n", unit_nr);
	return unit_failed ? 1 : 0;
}
