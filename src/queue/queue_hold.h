/*
 * The hold queue: state_dir/queue/hold holds messages "on hold" (a milter's
 * quarantine, a policy service's HOLD, a filter's hold, tern queue hold),
 * as Postfix's hold queue does.  The queue process never reads this folder,
 * so a held message is never delivered, retried or expired; tern queue
 * release moves it back into the queue, where it is delivered as any other
 * (its arrival time unchanged: queue_lifetime counts from it, as Postfix's
 * maximal_queue_lifetime does after postsuper -H).
 *
 * A message moves with its ID.state file beside it.  Holding renames the
 * message first and its state after it; releasing renames the state first
 * and the message after it.  So a crash half-way leaves the state where
 * the message is next found (the queue, in both cases), and a state file
 * without its message is ignored by everyone.
 */
#ifndef TERN_QUEUE_HOLD_H
#define TERN_QUEUE_HOLD_H

#include <stddef.h>

#define QUEUE_HOLD_SUBDIR "hold"

/* queue_dir/hold into hold_r. */
void queue_hold_dir(const char *queue_dir, char *hold_r, size_t len);

/* 1 if queue_dir/hold/ID exists, 0 if not, -1 on another error (errno). */
int queue_hold_has(const char *queue_dir, const char *id);

/* Moves ID (and its state) from the queue into hold, or back (release);
 * both folders are synced.  0, or -1 with errno (ENOENT: no such message
 * where it was looked for). */
int queue_hold_put(const char *queue_dir, const char *id);
int queue_hold_release(const char *queue_dir, const char *id);

/* Deletes a held message and its state.  0, or -1 with errno. */
int queue_hold_remove(const char *queue_dir, const char *id);

#endif
