/*
 * Does a message need SMTPUTF8 at the next hop?  Only what its client
 * declared SMTPUTF8 for can; of that, only a message with UTF-8 where a
 * server without the extension cannot take it: a non-ASCII envelope
 * sender or recipient address, or a byte >= 0x80 in its header section.
 * The rest goes without the SMTPUTF8 parameter, as Postfix does
 * (smtputf8_autodetect_classes), instead of bouncing for nothing.
 *
 * Decided when an attempt starts, from the queue file: it costs a read of
 * the header section, and only for messages declared SMTPUTF8, while
 * the queue file (and every file queued before) stays as it is.
 */
#ifndef TERN_QUEUE_UTF8_H
#define TERN_QUEUE_UTF8_H

#include "queue/queue_file.h"

/* 1 if env (of the file at path) needs SMTPUTF8, 0 if not.  When the
 * file cannot be read, 1: what was declared stands. */
int queue_needs_smtputf8(const char *path, const struct queue_env *env);

/* For the tests: 1 if the header section at the start of the n bytes at
 * p holds a byte >= 0x80; *end_r is set when the section ended in them. */
int queue_utf8_header_scan(const unsigned char *p, size_t n,
    size_t *line_len, int *end_r);

#endif
