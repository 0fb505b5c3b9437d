/*
 * The queue's counters for the metrics page and tern status: recipients
 * delivered, deferred and bounced, counted where the log says
 * status=sent, status=deferred or status=bounced (one recipient each);
 * and the age of the oldest message.  They start again at 0 when the
 * queue restarts (a counter reset).
 */
#ifndef TERN_QUEUE_COUNTS_H
#define TERN_QUEUE_COUNTS_H

#include <time.h>

struct queue_items;
struct stats;

enum queue_count { QUEUE_COUNT_SENT, QUEUE_COUNT_DEFERRED,
    QUEUE_COUNT_BOUNCED, QUEUE_COUNT_N };

void queue_count(enum queue_count what);
/* The message id was accepted at created (its envelope says so): its
 * item, if known, gets that age rather than the time it became known. */
void queue_counts_created(struct queue_items *qi, const char *id,
    time_t created);
/* Appends the counters, the number of messages and the age of the oldest
 * (seconds, 0 for none) to a stats report. */
void queue_counts_stats(struct queue_items *qi, time_t now,
    struct stats *st);

#endif
