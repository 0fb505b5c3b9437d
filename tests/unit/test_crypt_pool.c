/*
 * Unit tests of the crypt pool: jobs submitted from the loop come back to
 * the loop checked, right and wrong passwords told apart, and the pool
 * refuses work past its bound instead of queueing without end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/crypt_pool.h"
#include "lookup/password.h"

struct result {
	int done;
	int verified[8];
	struct event_base *base;
	int want;
};

struct tagged_job {
	struct crypt_job job;
	int index;
};

static void
job_done(struct crypt_job *job, void *arg)
{
	struct result *res = arg;
	struct tagged_job *t = (struct tagged_job *)job;

	res->verified[t->index] = job->verified;
	if (++res->done == res->want)
		event_base_loopbreak(res->base);
}

static void
test_jobs_come_back_checked(void **state)
{
	struct event_base *base = event_base_new();
	struct crypt_pool *pool = crypt_pool_new(base);
	struct result res = { .base = base, .want = 6 };
	char hash[PASSWORD_HASH_BUF];

	(void)state;
	assert_int_equal(password_hash("right password", hash, sizeof(hash)), 0);
	for (int i = 0; i < 6; i++) {
		struct tagged_job *t = calloc(1, sizeof(*t));
		t->index = i;
		snprintf(t->job.hash, sizeof(t->job.hash), "%s", hash);
		snprintf(t->job.password, sizeof(t->job.password), "%s",
		    i % 2 ? "wrong password" : "right password");
		t->job.done = job_done;
		t->job.arg = &res;
		assert_int_equal(crypt_pool_submit(pool, &t->job), 0);
	}
	struct timeval limit = { 30, 0 };
	event_base_loopexit(base, &limit);
	event_base_dispatch(base);
	assert_int_equal(res.done, 6);
	for (int i = 0; i < 6; i++)
		if (res.verified[i] != (i % 2 ? 0 : 1))
			fail_msg("job %d: got %d, want %d", i, res.verified[i],
			    i % 2 ? 0 : 1);
	crypt_pool_free(&pool);
	assert_null(pool);
	event_base_free(base);
}

static void
test_bounded(void **state)
{
	struct event_base *base = event_base_new();
	struct crypt_pool *pool = crypt_pool_new(base);
	struct result res = { .base = base, .want = -1 };
	int refused = 0;

	(void)state;
	/* Slow hashes keep the workers busy while the queue fills. */
	for (int i = 0; i < CRYPT_POOL_MAX_JOBS + 10; i++) {
		struct tagged_job *t = calloc(1, sizeof(*t));
		snprintf(t->job.hash, sizeof(t->job.hash), "%s",
		    "$y$j9T$F1omYbcStuqSW7bjN8djL.$i28uudq99fGqSjlTEJGDybUARgHCXlMCPA5MT7fS0hA");
		t->job.done = job_done;
		t->job.arg = &res;
		if (crypt_pool_submit(pool, &t->job) < 0) {
			refused++;
			free(t);
		}
	}
	assert_true(refused >= 10);
	/* Freed with work outstanding: nothing leaks, nothing is called. */
	crypt_pool_free(&pool);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jobs_come_back_checked),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
