/*
 * The messages the queue process knows, and when each is due.  A hash
 * table (open addressing, linear probing, backward-shift deletion) finds
 * an item by its queue id; a binary min-heap holds the items that wait,
 * none of their attempts under way, earliest due first.  Every operation
 * costs O(1) or O(log n), so that a queue of 100 000 deferred messages
 * costs a new message no more than an empty one.  Items are allocated one
 * by one: a pointer stays good until the item is taken or removed.  The
 * ids come from the queue's own files and from smtpd's announcements,
 * already checked; an id too long for an item is our own bug.
 */
#ifndef TERN_QUEUE_ITEMS_H
#define TERN_QUEUE_ITEMS_H

#include <stddef.h>
#include <time.h>

#include "queue/queue_file.h"

#define QUEUE_ITEMS_MIN 64      /* table slots at first; doubles at half full */

/* Read the fields freely; change them only through the functions below,
 * which keep the table and the heap right. */
struct queue_item {
	char id[QUEUE_ID_BUF];
	time_t next;            /* due at; 0 = now */
	int force;              /* tern queue flush: due now, whatever next says */
	unsigned inflight;      /* outbound attempts under way: not due */
	time_t created;         /* accepted at, for its age: when first known
	                         * here until queue_counts_created (which may
	                         * set it: the table does not depend on it) */
	/* queue_items.c's own: */
	size_t hash;            /* queue_items_hash(id) */
	size_t heap;            /* place in the heap; SIZE_MAX while in flight */
};

struct queue_items;

struct queue_items *queue_items_new(void);
void queue_items_free(struct queue_items **qi);
size_t queue_items_count(const struct queue_items *qi);

struct queue_item *queue_items_find(const struct queue_items *qi,
    const char *id);
/* Knows id, due at next (0: now).  A known id keeps its force and its
 * attempts and is now due at next.  Returns the item. */
struct queue_item *queue_items_add(struct queue_items *qi, const char *id,
    time_t next);
/* it is due at next (0: now). */
void queue_items_set_next(struct queue_items *qi, struct queue_item *it,
    time_t next);

/* Takes out the waiting items that are due at now (forced, or next <= now),
 * earliest first, at most max: each is copied to out and forgotten.
 * Returns how many. */
size_t queue_items_take_due(struct queue_items *qi, time_t now,
    struct queue_item *out, size_t max);

/* n attempts started for it: it is not due until each has ended. */
void queue_items_flight_start(struct queue_items *qi, struct queue_item *it,
    unsigned n);
/* One attempt of it (which has one under way) ended.  Returns how many
 * are still under way; at 0 it waits again, due at its next. */
unsigned queue_items_flight_end(struct queue_items *qi, struct queue_item *it);

/* Forgets it; it is freed. */
void queue_items_remove(struct queue_items *qi, struct queue_item *it);

/* tern queue release: it is due now, whatever next says, as at a flush. */
void queue_items_force(struct queue_items *qi, struct queue_item *it);

/* tern queue flush: every item is due now, those in flight as soon as
 * their attempts have ended. */
void queue_items_force_all(struct queue_items *qi);

/* Calls keep for each item once, in no particular order, and forgets
 * those it returns 0 for.  keep must not change qi. */
void queue_items_filter(struct queue_items *qi,
    int (*keep)(const struct queue_item *it, void *arg), void *arg);

/* The hash of an id; its slot is hash modulo the table size (a power of
 * two).  For the tests, which look for ids that share a slot. */
size_t queue_items_hash(const char *id);

/* For the tests: 0 when the table, the heap and the items agree; -1 with
 * what is wrong in err. */
int queue_items_check(const struct queue_items *qi, char *err, size_t errlen);

#endif
