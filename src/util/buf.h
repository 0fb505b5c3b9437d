/*
 * Length-counted growable byte buffer with a hard maximum: an append that
 * would pass the maximum fails and leaves the buffer as it was.  The data is
 * always NUL-terminated for convenience, the NUL not counted in len.
 */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);   /* 0, or -1 past max */
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
