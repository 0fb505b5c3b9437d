/*
 * Where a session's lines are, around one of them: tern log's second pass
 * reads only these spans instead of the whole file.  A session runs from
 * its "connect from" line to its "disconnect from" line; a message it
 * queued, from its "queued id=QID" line to the queue's "QID: removed".
 * Pure: works on a buffer (the mapped file), bounded by LOG_WINDOW_MAX.
 */
#ifndef TERN_CLI_LOG_WINDOW_H
#define TERN_CLI_LOG_WINDOW_H

#include <stddef.h>

#define LOG_WINDOW_MAX   (64u << 20)  /* bytes searched each way */
#define LOG_WINDOW_QUEUED 16          /* messages followed per session */

/* The span [*start_r, *end_r) of buf[lo, size) holding every line of the
 * session whose line starts at hit, and of the messages it queued.  0; or
 * -1 when that cannot be told: not a session's line, a session or message
 * that goes on past LOG_WINDOW_MAX or past the end of buf (into the next
 * file), more than LOG_WINDOW_QUEUED messages.  A session cut by lo (the
 * start of --since) starts at lo. */
int log_window(const char *buf, size_t lo, size_t size, size_t hit,
    size_t *start_r, size_t *end_r);

#endif
