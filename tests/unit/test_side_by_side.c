/*
 * Unit test of side_by_side: every item's call runs once, for any count,
 * the set can be run again, and the calls do run at the same time (the
 * point of it: several fsyncs in flight, not one after another).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "util/side_by_side.h"

static void
count_call(void *items, size_t i)
{
	__atomic_add_fetch(&((int *)items)[i], 1, __ATOMIC_SEQ_CST);
}

static void
test_each_item_once(void **state)
{
	static int calls[1000];
	const size_t counts[] = { 0, 1, 2, 5, 1000 };
	struct side_by_side *sb = side_by_side_new(4);

	(void)state;
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (size_t i = 0; i < 1000; i++)
			calls[i] = 0;
		side_by_side_run(sb, count_call, calls, counts[c]);
		for (size_t i = 0; i < 1000; i++)
			assert_int_equal(calls[i], i < counts[c] ? 1 : 0);
	}
	side_by_side_free(&sb);
	assert_null(sb);
	side_by_side_free(&sb);         /* freeing nothing is fine */
}

/* Each call waits (5 s at most) until another is under way too, and
 * notes how many ran at once. */
static pthread_mutex_t meet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_cond = PTHREAD_COND_INITIALIZER;
static int in_flight, most_in_flight;

static void
meet_call(void *items, size_t i)
{
	struct timespec until;

	(void)items;
	(void)i;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&meet_lock);
	if (++in_flight > most_in_flight)
		most_in_flight = in_flight;
	pthread_cond_broadcast(&meet_cond);
	while (in_flight < 2 && most_in_flight < 2 &&
	    pthread_cond_timedwait(&meet_cond, &meet_lock, &until) == 0)
		;
	in_flight--;
	pthread_mutex_unlock(&meet_lock);
}

static void
test_calls_overlap(void **state)
{
	struct side_by_side *sb = side_by_side_new(3);

	(void)state;
	side_by_side_run(sb, meet_call, NULL, 4);
	assert_true(most_in_flight >= 2);
	assert_int_equal(in_flight, 0);
	side_by_side_free(&sb);
}

/* With no thread of its own, the caller runs every call itself. */
static void
test_no_threads(void **state)
{
	int calls[3] = { 0, 0, 0 };
	struct side_by_side *sb = side_by_side_new(0);

	(void)state;
	side_by_side_run(sb, count_call, calls, 3);
	assert_int_equal(calls[0] + calls[1] + calls[2], 3);
	side_by_side_free(&sb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_item_once),
		cmocka_unit_test(test_calls_overlap),
		cmocka_unit_test(test_no_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
