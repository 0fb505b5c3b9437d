/*
 * The password-checking threads: see crypt_pool.h.  Jobs go in through a
 * mutex-guarded list; finished ones come back through another, and a byte
 * on a pipe wakes the loop.
 */
#include "lookup/crypt_pool.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xmalloc.h"

struct crypt_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct crypt_job *todo, **todo_tail;
	struct crypt_job *done;
	size_t jobs;            /* waiting, under way or done unreported */
	int stopping;
	int wake[2];            /* workers -> loop */
	struct event *wake_ev;
	pthread_t threads[CRYPT_POOL_THREADS];
	size_t nthreads;
};

static void
crypt_job_free(struct crypt_job *job)
{
	explicit_bzero(job->password, sizeof(job->password));
	explicit_bzero(job->hash, sizeof(job->hash));
	free(job);
}

static void *
crypt_pool_worker(void *arg)
{
	struct crypt_pool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		while (pool->todo == NULL && !pool->stopping)
			pthread_cond_wait(&pool->work, &pool->lock);
		if (pool->stopping)
			break;
		struct crypt_job *job = pool->todo;
		pool->todo = job->next;
		if (pool->todo == NULL)
			pool->todo_tail = &pool->todo;
		pthread_mutex_unlock(&pool->lock);

		job->verified = password_verify(job->password, job->hash);
		explicit_bzero(job->password, sizeof(job->password));
		explicit_bzero(job->hash, sizeof(job->hash));

		pthread_mutex_lock(&pool->lock);
		job->next = pool->done;
		pool->done = job;
		/* A full pipe already holds a wake-up: nothing is lost
		 * when this write fails. */
		ssize_t w = write(pool->wake[1], "", 1);
		(void)w;
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* In the loop: hands every finished job to its done function. */
static void
crypt_pool_wake(evutil_socket_t fd, short what, void *arg)
{
	struct crypt_pool *pool = arg;
	struct crypt_job *done;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
	pthread_mutex_lock(&pool->lock);
	done = pool->done;
	pool->done = NULL;
	pthread_mutex_unlock(&pool->lock);
	while (done != NULL) {
		struct crypt_job *job = done;
		done = job->next;
		job->done(job, job->arg);
		pthread_mutex_lock(&pool->lock);
		pool->jobs--;
		pthread_mutex_unlock(&pool->lock);
		crypt_job_free(job);
	}
}

struct crypt_pool *
crypt_pool_new(struct event_base *base)
{
	struct crypt_pool *pool = xcalloc(1, sizeof(*pool));

	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	pool->todo_tail = &pool->todo;
	if (pipe2(pool->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		fatal("crypt pool: pipe: %s", strerror(errno));
	pool->wake_ev = event_new(base, pool->wake[0], EV_READ | EV_PERSIST,
	    crypt_pool_wake, pool);
	if (pool->wake_ev == NULL || event_add(pool->wake_ev, NULL) < 0)
		fatal("crypt pool: cannot watch its pipe");
	for (size_t i = 0; i < CRYPT_POOL_THREADS; i++) {
		int rc = pthread_create(&pool->threads[i], NULL,
		    crypt_pool_worker, pool);
		if (rc != 0)
			fatal("crypt pool: cannot start a thread: %s", strerror(rc));
		pool->nthreads++;
	}
	return pool;
}

int
crypt_pool_submit(struct crypt_pool *pool, struct crypt_job *job)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->jobs >= CRYPT_POOL_MAX_JOBS) {
		pthread_mutex_unlock(&pool->lock);
		return -1;
	}
	pool->jobs++;
	job->next = NULL;
	*pool->todo_tail = job;
	pool->todo_tail = &job->next;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	return 0;
}

void
crypt_pool_free(struct crypt_pool **poolp)
{
	struct crypt_pool *pool = *poolp;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (size_t i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	for (struct crypt_job *j = pool->todo, *n; j != NULL; j = n) {
		n = j->next;
		crypt_job_free(j);
	}
	for (struct crypt_job *j = pool->done, *n; j != NULL; j = n) {
		n = j->next;
		crypt_job_free(j);
	}
	event_free(pool->wake_ev);
	close(pool->wake[0]);
	close(pool->wake[1]);
	pthread_cond_destroy(&pool->work);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
	*poolp = NULL;
}
