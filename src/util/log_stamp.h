/*
 * The timestamp at the start of each line of the log file: RFC 3339 with
 * milliseconds and the UTC offset, "2026-12-06T04:38:22.123+01:00".  The
 * logger writes it, `tern log --since` reads it back.  Trusts nothing it
 * parses: a malformed stamp is refused, never guessed.
 */
#ifndef TERN_LOG_STAMP_H
#define TERN_LOG_STAMP_H

#include <stddef.h>
#include <time.h>

/* The length of a stamp, without the space that follows it in a line. */
#define LOG_STAMP_LEN 29

/* Writes the stamp of ts in the local time zone into dst (at least
 * LOG_STAMP_LEN + 1 bytes, terminated).  Returns LOG_STAMP_LEN, or -1 when
 * the time cannot be broken down (dst then holds a stamp of the epoch). */
int log_stamp_format(const struct timespec *ts, char *dst, size_t dstlen);

/* Reads a stamp at the start of s (len bytes, no terminator needed) into
 * seconds since the epoch.  0, or -1 when s does not start with one. */
int log_stamp_parse(const char *s, size_t len, time_t *when_r);

#endif
