/*
 * Blocking calls side by side: a few threads and the caller each take the
 * next item of a set and run one call on it (an fsync) until none is left.
 * A disk holds several syncs in flight, so n syncs made this way cost
 * about one wait, not n.  The Maildir delivery and smtpd's group commit
 * both sync their batches through it.
 */
#ifndef TERN_SIDE_BY_SIDE_H
#define TERN_SIDE_BY_SIDE_H

#include <stddef.h>

struct side_by_side;

/* Up to nthreads threads besides the caller; fewer if some cannot start
 * (then fewer calls run at once, nothing else changes). */
struct side_by_side *side_by_side_new(size_t nthreads);
/* Runs fn(items, i) once for every i < n and returns when all have
 * returned.  fn runs on any of the threads: it must touch item i only. */
void side_by_side_run(struct side_by_side *sb,
    void (*fn)(void *items, size_t i), void *items, size_t n);
void side_by_side_free(struct side_by_side **sbp);

#endif
