/*
 * Logging: one line per event on stderr, "proc[pid]: message".  Three tiers
 * of failure: bug() for our own mistakes (abort), fatal() for conditions a
 * process cannot go on from (exit; master restarts it), log_warn() for the
 * rest.  Bytes that come from the network go through log_escape() first.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stddef.h>
#include <stdnoreturn.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_init(const char *procname);
void log_set_level(int level);
/* Every line is also written to fd (the logger's pipe, master_log.c);
 * -1: stderr alone.  A process forked after the call inherits it. */
void log_set_copy_fd(int fd);
int log_level_parse(const char *name);          /* -1 when unknown */
const char *log_level_name(int level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most len bytes of src into dst (size dstlen, always terminated),
 * escaping anything outside printable ASCII as \xNN and truncating with
 * "..." so that client bytes can be logged safely. Returns dst. */
char *log_escape(char *dst, size_t dstlen, const char *src, size_t len);

#endif
