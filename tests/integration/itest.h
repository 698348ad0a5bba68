/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the integration test harness and its workload.
 */
#ifndef ITEST_H
#define ITEST_H

#include <stddef.h>
#include <stdint.h>

#define IT_PAGE_SIZE 4096UL

/* File names inside a scenario's results directory */
#define IT_READY_FILE	 "ready"
#define IT_RESULT_SUFFIX ".result"
#define IT_RESULT_OK	 "ok"
#define IT_ROLE_MAX	 32
#define IT_MSG_MAX	 1024

/*
 * One line of the ready file per process of the workload tree:
 * "<role> <pid> <guard pages>\n".
 */
struct it_proc {
	char role[IT_ROLE_MAX];
	int pid;
	unsigned long guard_pages;
};

uint64_t it_now_ms(void);
void it_msleep(unsigned int ms);

int it_write_file(const char *path, const char *buf, size_t len);
int it_write_file_atomic(const char *path, const char *buf, size_t len);
char *it_read_file(const char *path, size_t *len);
int it_path(char *buf, size_t size, const char *dir, const char *name);

int it_parse_procs(const char *text, struct it_proc *procs, int max);

#endif /* ITEST_H */
