/*
 * The password-checking threads: see crypt_pool.h.  A workpool of
 * CRYPT_POOL_THREADS threads taking one job at a time.
 */
#include "lookup/crypt_pool.h"

#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

struct crypt_pool {
	struct workpool *pool;
};

static void
crypt_job_free(struct crypt_job *job)
{
	explicit_bzero(job->password, sizeof(job->password));
	explicit_bzero(job->hash, sizeof(job->hash));
	free(job);
}

/* On a thread: the slow part, with nothing but the job's own copies. */
static void
crypt_job_run(struct work *w)
{
	struct crypt_job *job = (struct crypt_job *)w;

	job->verified = password_verify(job->password, job->hash);
	explicit_bzero(job->password, sizeof(job->password));
	explicit_bzero(job->hash, sizeof(job->hash));
}

static void
crypt_job_done(struct work *w, void *arg)
{
	struct crypt_job *job = (struct crypt_job *)w;

	(void)arg;
	job->done(job, job->arg);
	crypt_job_free(job);
}

static void
crypt_job_discard(struct work *w)
{
	crypt_job_free((struct crypt_job *)w);
}

struct crypt_pool *
crypt_pool_new(struct event_base *base)
{
	struct crypt_pool *cp = xcalloc(1, sizeof(*cp));

	cp->pool = workpool_new(base, CRYPT_POOL_THREADS, 1, CRYPT_POOL_MAX_JOBS,
	    NULL, NULL);
	return cp;
}

int
crypt_pool_submit(struct crypt_pool *cp, struct crypt_job *job)
{
	job->work.run = crypt_job_run;
	job->work.done = crypt_job_done;
	job->work.arg = NULL;
	return workpool_submit(cp->pool, &job->work);
}

void
crypt_pool_free(struct crypt_pool **cpp)
{
	struct crypt_pool *cp = *cpp;

	if (cp == NULL)
		return;
	workpool_free(&cp->pool, crypt_job_discard);
	free(cp);
	*cpp = NULL;
}
