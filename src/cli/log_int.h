/*
 * Private to `tern log` (log.c: the files and the two passes;
 * log_follow.c: --follow; log_print.c: text and JSON output).
 */
#ifndef TERN_CLI_LOG_INT_H
#define TERN_CLI_LOG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli/log_group.h"
#include "cli/log_line.h"

struct log_opts {
	struct log_filter f;
	unsigned want;          /* log_filter_want(&f) */
	int follow, json;
	int has_since;
	time_t since;
	char path[4096];        /* log_file */
};

/* Prints one line: as it is, or as a JSON object (group: "session:ID",
 * "queue:ID" or NULL); with --failures, the failure's summary. */
void log_print_line(const struct log_opts *o, const struct log_line *l,
    const char *group);
/* The group name of g ("session:ID", "queue:ID") into buf. */
const char *log_group_name(const struct log_group *g, char *buf, size_t len);

/* Runs --follow on o->path: never returns but on an error (1). */
int log_follow(const struct log_opts *o);

/* The rotations of path, oldest first, then path: into names (each
 * malloc'd, the caller frees); returns how many. */
size_t log_files(const char *path, char ***names_r);

#endif
