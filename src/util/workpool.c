/*
 * The thread pool: see workpool.h.  Jobs go in through a mutex-guarded
 * list and come back through another; a byte on a pipe wakes the loop.
 */
#include "util/workpool.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define WORKPOOL_THREADS_MAX 8

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t wake_workers;
	struct work *todo, **todo_tail;
	struct work *done, **done_tail;
	size_t jobs;            /* waiting, running or done unreported */
	size_t max_jobs, max_batch;
	int stopping;
	void (*batch_end)(struct work *batch, void *arg);
	void *batch_arg;
	int wake[2];            /* threads -> loop */
	struct event *wake_ev;
	pthread_t threads[WORKPOOL_THREADS_MAX];
	size_t nthreads;
};

static void *
workpool_thread(void *arg)
{
	struct workpool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->todo == NULL && !pool->stopping)
			pthread_cond_wait(&pool->wake_workers, &pool->lock);
		if (pool->stopping)
			break;
		/* Up to max_batch jobs, in order. */
		struct work *batch = pool->todo, **end = &batch;
		for (size_t n = 0; *end != NULL && n < pool->max_batch; n++)
			end = &(*end)->next;
		pool->todo = *end;
		*end = NULL;
		if (pool->todo == NULL)
			pool->todo_tail = &pool->todo;
		pthread_mutex_unlock(&pool->lock);

		for (struct work *w = batch; w != NULL; w = w->next)
			if (w->run != NULL)
				w->run(w);
		if (pool->batch_end != NULL)
			pool->batch_end(batch, pool->batch_arg);

		pthread_mutex_lock(&pool->lock);
		*pool->done_tail = batch;
		while (*pool->done_tail != NULL)
			pool->done_tail = &(*pool->done_tail)->next;
		/* A full pipe already holds a wake-up: a failed write loses
		 * nothing. */
		ssize_t n = write(pool->wake[1], "", 1);
		(void)n;
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* On the loop: every finished job to its done function. */
static void
workpool_wake(evutil_socket_t fd, short what, void *arg)
{
	struct workpool *pool = arg;
	struct work *done;
	char buf[64];
	size_t n = 0;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
	pthread_mutex_lock(&pool->lock);
	done = pool->done;
	pool->done = NULL;
	pool->done_tail = &pool->done;
	pthread_mutex_unlock(&pool->lock);
	while (done != NULL) {
		struct work *w = done;
		done = w->next;
		w->done(w, w->arg);
		n++;
	}
	pthread_mutex_lock(&pool->lock);
	pool->jobs -= n;
	pthread_mutex_unlock(&pool->lock);
}

struct workpool *
workpool_new(struct event_base *base, size_t nthreads, size_t max_batch,
    size_t max_jobs, void (*batch_end)(struct work *batch, void *arg),
    void *batch_arg)
{
	struct workpool *pool = xcalloc(1, sizeof(*pool));

	if (nthreads == 0 || nthreads > WORKPOOL_THREADS_MAX || max_batch == 0)
		bug("workpool_new: %zu threads, batches of %zu", nthreads, max_batch);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake_workers, NULL);
	pool->todo_tail = &pool->todo;
	pool->done_tail = &pool->done;
	pool->max_jobs = max_jobs;
	pool->max_batch = max_batch;
	pool->batch_end = batch_end;
	pool->batch_arg = batch_arg;
	if (pipe2(pool->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		fatal("workpool: pipe: %s", strerror(errno));
	pool->wake_ev = event_new(base, pool->wake[0], EV_READ | EV_PERSIST,
	    workpool_wake, pool);
	if (pool->wake_ev == NULL || event_add(pool->wake_ev, NULL) < 0)
		fatal("workpool: cannot watch its pipe");
	for (size_t i = 0; i < nthreads; i++) {
		int rc = pthread_create(&pool->threads[i], NULL, workpool_thread,
		    pool);
		if (rc != 0)
			fatal("workpool: cannot start a thread: %s", strerror(rc));
		pool->nthreads++;
	}
	return pool;
}

int
workpool_submit(struct workpool *pool, struct work *w)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->jobs >= pool->max_jobs) {
		pthread_mutex_unlock(&pool->lock);
		return -1;
	}
	pool->jobs++;
	w->next = NULL;
	*pool->todo_tail = w;
	pool->todo_tail = &w->next;
	pthread_cond_signal(&pool->wake_workers);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void
workpool_free(struct workpool **poolp, void (*discard)(struct work *w))
{
	struct workpool *pool = *poolp;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->wake_workers);
	pthread_mutex_unlock(&pool->lock);
	for (size_t i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	struct work *lists[2] = { pool->todo, pool->done };
	for (size_t k = 0; k < 2; k++) {
		for (struct work *w = lists[k], *n; w != NULL; w = n) {
			n = w->next;
			discard(w);
		}
	}
	event_free(pool->wake_ev);
	close(pool->wake[0]);
	close(pool->wake[1]);
	pthread_cond_destroy(&pool->wake_workers);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	*poolp = NULL;
}
