/*
 * The logger: the one process that writes the log file.  Every other
 * process writes each line to stderr, as always, and to one pipe; the
 * logger reads the pipe, stamps each line, appends it to log_file, rotates
 * the file at log_file_size, and sends each line to syslog when asked.
 * master starts it (master_log.c) and starts it again if it dies.
 */
#ifndef TERN_LOGGER_H
#define TERN_LOGGER_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

#define LOGGER_LINE_MAX 4096    /* longer lines are cut, marked "..." */

/* The log file of conf into path (size len): log_file, under state_dir
 * when relative; for "auto", state_dir/log/tern.log, but only when
 * foreground is 0 (auto_anyway 1: whatever foreground says, for tern log).
 * 1 with a path, 0 when there is no file, -1 when it does not fit. */
int logger_path(const struct conf *conf, int foreground, char *path,
    size_t len);

/* The config check of log_file: no ".." in the path (the folder inside
 * state_dir is given to the user), no control bytes.  0, or -1 with why. */
int logger_file_check(const char *value, char *why, size_t whylen);

/* The name of rotation n (1..) of path: "path.n".  0, or -1 too long. */
int logger_rotation_name(const char *path, unsigned n, char *dst,
    size_t len);

/* The logger process: reads in until every writer has closed it, then
 * returns the exit status.  path: the file, or NULL for none.  Its own
 * trouble goes to its stderr. */
int logger_main(const struct conf *conf, int in, const char *path);

#endif
