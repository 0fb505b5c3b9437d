/*
 * Work off the event loop: a few threads run jobs that block (crypt(3),
 * fsync), and hand each finished job back to the loop, where its done
 * function runs.  A thread takes up to max_batch waiting jobs at once and,
 * after running them, calls batch_end once: that is how one directory
 * sync covers a whole batch of queue files.  The threads touch only the
 * jobs they hold and what batch_end is given: no loop, no log.
 */
#ifndef TERN_WORKPOOL_H
#define TERN_WORKPOOL_H

#include <stddef.h>

struct event_base;
struct workpool;

struct work {
	struct work *next;
	void (*run)(struct work *w);            /* on a thread; NULL: none */
	void (*done)(struct work *w, void *arg); /* on the loop; frees w */
	void *arg;
};

struct workpool *workpool_new(struct event_base *base, size_t nthreads,
    size_t max_batch, size_t max_jobs,
    void (*batch_end)(struct work *batch, void *arg), void *batch_arg);
/* Queues w, or returns -1 when max_jobs wait or run already. */
int workpool_submit(struct workpool *pool, struct work *w);
/* Stops the threads after the batches they hold; jobs not done are
 * passed to discard (on the caller's thread), which frees them. */
void workpool_free(struct workpool **pool, void (*discard)(struct work *w));

#endif
