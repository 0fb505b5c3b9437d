/*
 * Blocking calls side by side: see side_by_side.h.
 */
#include "util/side_by_side.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/xmalloc.h"

#define SIDE_BY_SIDE_THREADS_MAX 8

struct side_by_side {
	pthread_mutex_t lock;
	pthread_cond_t work;    /* to the threads: items to take, or stop */
	pthread_cond_t done;    /* to the caller: every item done */
	void (*fn)(void *items, size_t i);
	void *items;
	size_t n, next, finished;
	int stopping;
	pthread_t threads[SIDE_BY_SIDE_THREADS_MAX];
	size_t nthreads;
};

/* Takes and runs items until none is left; called with the lock held. */
static void
side_by_side_take(struct side_by_side *sb)
{
	while (sb->next < sb->n) {
		size_t i = sb->next++;
		pthread_mutex_unlock(&sb->lock);
		sb->fn(sb->items, i);
		pthread_mutex_lock(&sb->lock);
		if (++sb->finished == sb->n)
			pthread_cond_signal(&sb->done);
	}
}

static void *
side_by_side_thread(void *arg)
{
	struct side_by_side *sb = arg;

	pthread_mutex_lock(&sb->lock);
	while (!sb->stopping) {
		if (sb->next < sb->n)
			side_by_side_take(sb);
		else
			pthread_cond_wait(&sb->work, &sb->lock);
	}
	pthread_mutex_unlock(&sb->lock);
	return NULL;
}

struct side_by_side *
side_by_side_new(size_t nthreads)
{
	struct side_by_side *sb = xcalloc(1, sizeof(*sb));

	if (nthreads > SIDE_BY_SIDE_THREADS_MAX)
		nthreads = SIDE_BY_SIDE_THREADS_MAX;
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->work, NULL);
	pthread_cond_init(&sb->done, NULL);
	for (size_t i = 0; i < nthreads; i++) {
		if (pthread_create(&sb->threads[i], NULL, side_by_side_thread,
		    sb) != 0)
			break;
		sb->nthreads++;
	}
	return sb;
}

void
side_by_side_run(struct side_by_side *sb, void (*fn)(void *items, size_t i),
    void *items, size_t n)
{
	pthread_mutex_lock(&sb->lock);
	sb->fn = fn;
	sb->items = items;
	sb->n = n;
	sb->next = sb->finished = 0;
	if (n > 1)
		pthread_cond_broadcast(&sb->work);
	side_by_side_take(sb);
	while (sb->finished < sb->n)
		pthread_cond_wait(&sb->done, &sb->lock);
	sb->fn = NULL;
	sb->items = NULL;
	sb->n = sb->next = sb->finished = 0;
	pthread_mutex_unlock(&sb->lock);
}

void
side_by_side_free(struct side_by_side **sbp)
{
	struct side_by_side *sb = *sbp;

	if (sb == NULL)
		return;
	pthread_mutex_lock(&sb->lock);
	sb->stopping = 1;
	pthread_cond_broadcast(&sb->work);
	pthread_mutex_unlock(&sb->lock);
	for (size_t i = 0; i < sb->nthreads; i++)
		pthread_join(sb->threads[i], NULL);
	pthread_cond_destroy(&sb->work);
	pthread_cond_destroy(&sb->done);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
	*sbp = NULL;
}
