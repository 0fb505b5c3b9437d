/*
 * Unit tests of the queue's items: added, found and updated by id; taken
 * when due, earliest first, the rest left; forced by a flush, or one by a
 * release; never due while an attempt is under way, due again once the
 * last has ended; removed while being walked through; 100 000 of them;
 * ids that share a slot of the table still found after their neighbours
 * leave.  After each step the table and the heap are checked against each other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_items.h"

#define NOW 1700000000

/* A queue id made of n, so that the runs are the same every time. */
static void
make_id(size_t n, char id[QUEUE_ID_BUF])
{
	snprintf(id, QUEUE_ID_BUF, "%012zx", n);
}

static void
check(const struct queue_items *qi)
{
	char err[256];

	if (queue_items_check(qi, err, sizeof(err)) < 0)
		fail_msg("queue items inconsistent: %s", err);
}

/* Takes what is due at now; checks it comes earliest first. */
static size_t
take_all(struct queue_items *qi, time_t now, struct queue_item *out,
    size_t max)
{
	size_t n = queue_items_take_due(qi, now, out, max);

	for (size_t i = 0; i < n; i++) {
		time_t due = out[i].force ? 0 : out[i].next;
		if (due > now)
			fail_msg("%s due at %lld taken at %lld", out[i].id,
			    (long long)due, (long long)now);
		if (i > 0 && (out[i - 1].force ? 0 : out[i - 1].next) > due)
			fail_msg("%s (due %lld) came after %s (due %lld)", out[i].id,
			    (long long)due, out[i - 1].id, (long long)out[i - 1].next);
	}
	check(qi);
	return n;
}

static void
test_add_find_update(void **state)
{
	struct queue_items *qi = queue_items_new();
	char id[QUEUE_ID_BUF];
	struct queue_item *it;

	(void)state;
	for (size_t i = 0; i < 200; i++) {
		make_id(i, id);
		it = queue_items_add(qi, id, NOW + (time_t)i);
		assert_string_equal(it->id, id);
		assert_int_equal(it->next, NOW + (time_t)i);
		assert_int_equal(it->force, 0);
		assert_int_equal(it->inflight, 0);
	}
	check(qi);
	assert_int_equal(queue_items_count(qi), 200);
	for (size_t i = 0; i < 200; i++) {
		make_id(i, id);
		it = queue_items_find(qi, id);
		assert_non_null(it);
		assert_string_equal(it->id, id);
	}
	make_id(200, id);
	assert_null(queue_items_find(qi, id));
	assert_null(queue_items_find(qi, ""));
	/* Known again: the same item, due at the new time. */
	make_id(7, id);
	it = queue_items_find(qi, id);
	queue_items_flight_start(qi, it, 1);
	assert_ptr_equal(queue_items_add(qi, id, 0), it);
	assert_int_equal(it->next, 0);
	assert_int_equal(it->inflight, 1);
	assert_int_equal(queue_items_count(qi), 200);
	check(qi);
	queue_items_free(&qi);
	assert_null(qi);
	queue_items_free(&qi);
}

static void
test_due_in_order_rest_stays(void **state)
{
	struct queue_items *qi = queue_items_new();
	struct queue_item out[64];
	char id[QUEUE_ID_BUF];
	size_t n;

	(void)state;
	/* Due times in a scrambled order: 0, then NOW - 37 .. NOW + 61. */
	for (size_t i = 0; i < 100; i++) {
		make_id(i, id);
		queue_items_add(qi, id, i == 0 ? 0 : NOW - 38 + (time_t)((i * 37) % 100));
	}
	check(qi);
	/* Due at NOW: 0 and NOW - 37 .. NOW, 39 of them, taken 10 at most. */
	n = take_all(qi, NOW, out, 10);
	assert_int_equal(n, 10);
	assert_int_equal(out[0].next, 0);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(out[i].next, NOW - 38 + (time_t)i);
	n = take_all(qi, NOW, out, 64);
	assert_int_equal(n, 29);
	assert_int_equal(out[n - 1].next, NOW);
	/* Gone from the table too. */
	assert_null(queue_items_find(qi, out[0].id));
	assert_int_equal(queue_items_count(qi), 61);
	assert_int_equal(take_all(qi, NOW, out, 64), 0);
	/* An item made due earlier moves ahead; one made due later stays. */
	for (size_t i = 2; i < 100; i++) {
		make_id(i, id);
		struct queue_item *it = queue_items_find(qi, id);
		if (it != NULL && it->next == NOW + 50)
			queue_items_set_next(qi, it, NOW - 100);
		else if (it != NULL && it->next == NOW + 1)
			queue_items_add(qi, id, NOW + 1000);
	}
	check(qi);
	n = take_all(qi, NOW + 1, out, 64);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].next, NOW - 100);
	n = take_all(qi, NOW + 62, out, 64);
	assert_int_equal(n, 59);
	assert_int_equal(out[0].next, NOW + 2);
	assert_int_equal(queue_items_count(qi), 1);
	n = take_all(qi, NOW + 1000, out, 64);
	assert_int_equal(n, 1);
	assert_int_equal(queue_items_count(qi), 0);
	queue_items_free(&qi);
}

static void
test_force(void **state)
{
	struct queue_items *qi = queue_items_new();
	struct queue_item out[64], *held;
	char id[QUEUE_ID_BUF];

	(void)state;
	for (size_t i = 0; i < 40; i++) {
		make_id(i, id);
		queue_items_add(qi, id, NOW + 3600 + (time_t)(i % 7));
	}
	make_id(0, id);
	held = queue_items_find(qi, id);
	queue_items_flight_start(qi, held, 1);
	assert_int_equal(take_all(qi, NOW, out, 64), 0);
	queue_items_force_all(qi);
	check(qi);
	/* Known before the flush: forced.  After it: not. */
	make_id(40, id);
	queue_items_add(qi, id, NOW + 10);
	check(qi);
	assert_int_equal(take_all(qi, NOW, out, 64), 39);
	for (size_t i = 0; i < 39; i++)
		assert_int_equal(out[i].force, 1);
	/* A known item given a new time stays forced. */
	assert_int_equal(held->force, 1);
	queue_items_set_next(qi, held, NOW + 7200);
	assert_int_equal(take_all(qi, NOW, out, 64), 0);
	/* The one in flight is due as soon as its attempt has ended. */
	assert_int_equal(queue_items_flight_end(qi, held), 0);
	check(qi);
	assert_int_equal(take_all(qi, NOW, out, 64), 1);
	make_id(0, id);
	assert_string_equal(out[0].id, id);
	assert_int_equal(out[0].force, 1);
	assert_int_equal(queue_items_count(qi), 1);
	assert_int_equal(take_all(qi, NOW + 10, out, 64), 1);
	assert_int_equal(out[0].force, 0);
	queue_items_free(&qi);
}

/* tern queue release: one item forced, due now; the others keep their
 * times. */
static void
test_force_one(void **state)
{
	struct queue_items *qi = queue_items_new();
	struct queue_item out[64];
	char id[QUEUE_ID_BUF];

	(void)state;
	for (size_t i = 0; i < 20; i++) {
		make_id(i, id);
		queue_items_add(qi, id, NOW + 3600 + (time_t)i);
	}
	make_id(13, id);
	queue_items_force(qi, queue_items_find(qi, id));
	check(qi);
	assert_int_equal(take_all(qi, NOW, out, 64), 1);
	assert_string_equal(out[0].id, id);
	assert_int_equal(take_all(qi, NOW, out, 64), 0);
	assert_int_equal(take_all(qi, NOW + 3600 + 19, out, 64), 19);
	queue_items_free(&qi);
}

static void
test_in_flight_never_due(void **state)
{
	struct queue_items *qi = queue_items_new();
	struct queue_item out[64], *it, *gone;
	char id[QUEUE_ID_BUF], gone_id[QUEUE_ID_BUF];

	(void)state;
	for (size_t i = 0; i < 10; i++) {
		make_id(i, id);
		queue_items_add(qi, id, 0);
	}
	make_id(3, id);
	it = queue_items_find(qi, id);
	queue_items_flight_start(qi, it, 2);
	make_id(4, gone_id);
	gone = queue_items_find(qi, gone_id);
	queue_items_flight_start(qi, gone, 1);
	check(qi);
	assert_int_equal(take_all(qi, NOW, out, 64), 8);
	for (size_t i = 0; i < 8; i++)
		assert_true(strcmp(out[i].id, id) != 0 && strcmp(out[i].id, gone_id) != 0);
	/* Still known, just not due. */
	assert_ptr_equal(queue_items_find(qi, id), it);
	assert_int_equal(queue_items_count(qi), 2);
	/* One attempt of two ended: still not due. */
	assert_int_equal(queue_items_flight_end(qi, it), 1);
	check(qi);
	assert_int_equal(take_all(qi, NOW, out, 64), 0);
	/* Rescheduled while in flight, then the last attempt ends. */
	queue_items_set_next(qi, it, NOW + 60);
	assert_int_equal(queue_items_flight_end(qi, it), 0);
	check(qi);
	assert_int_equal(take_all(qi, NOW, out, 64), 0);
	assert_int_equal(take_all(qi, NOW + 60, out, 64), 1);
	assert_string_equal(out[0].id, id);
	/* The message left with its attempt: forgotten, never taken. */
	assert_int_equal(queue_items_flight_end(qi, gone), 0);
	queue_items_remove(qi, gone);
	check(qi);
	assert_null(queue_items_find(qi, gone_id));
	assert_int_equal(queue_items_count(qi), 0);
	assert_int_equal(take_all(qi, NOW + 3600, out, 64), 0);
	queue_items_free(&qi);
}

struct walk {
	unsigned char *seen;    /* per item number: times keep saw it */
	size_t n;
};

/* Drops the items whose number is a multiple of 3, and those in flight
 * whose number is odd. */
static int
keep_some(const struct queue_item *it, void *arg)
{
	struct walk *w = arg;
	size_t n = strtoul(it->id, NULL, 16);

	assert_true(n < w->n);
	w->seen[n]++;
	return n % 3 != 0 && !(it->inflight > 0 && n % 2 == 1);
}

static void
test_remove_while_walking(void **state)
{
	struct queue_items *qi = queue_items_new();
	struct walk w = { calloc(5000, 1), 5000 };
	struct queue_item out[256];
	char id[QUEUE_ID_BUF];
	size_t kept = 0, taken = 0, n;

	(void)state;
	for (size_t i = 0; i < w.n; i++) {
		make_id(i, id);
		struct queue_item *it = queue_items_add(qi, id, NOW - (time_t)(i % 11));
		if (i % 5 == 0)
			queue_items_flight_start(qi, it, 1);
	}
	queue_items_filter(qi, keep_some, &w);
	check(qi);
	for (size_t i = 0; i < w.n; i++) {
		if (w.seen[i] != 1)
			fail_msg("item %zu seen %u times", i, w.seen[i]);
		int want = i % 3 != 0 && !(i % 5 == 0 && i % 2 == 1);
		make_id(i, id);
		struct queue_item *it = queue_items_find(qi, id);
		if ((it != NULL) != want)
			fail_msg("item %zu: found %d, want %d", i, it != NULL, want);
		kept += want;
	}
	assert_int_equal(queue_items_count(qi), kept);
	/* Nothing kept: an empty table, still good to use. */
	memset(w.seen, 0, w.n);
	queue_items_force_all(qi);
	while ((n = take_all(qi, NOW, out, 256)) > 0)
		taken += n;
	assert_int_equal(taken, kept - queue_items_count(qi));
	queue_items_filter(qi, keep_some, &w);
	for (size_t i = 0; i < w.n; i += 5) {
		make_id(i, id);
		struct queue_item *it = queue_items_find(qi, id);
		if (it != NULL)
			queue_items_remove(qi, it);
	}
	check(qi);
	assert_int_equal(queue_items_count(qi), 0);
	make_id(1, id);
	queue_items_add(qi, id, 0);
	assert_int_equal(take_all(qi, NOW, out, 256), 1);
	free(w.seen);
	queue_items_free(&qi);
}

static void
test_hundred_thousand(void **state)
{
	const size_t total = 100000;
	struct queue_items *qi = queue_items_new();
	struct queue_item out[256];
	char id[QUEUE_ID_BUF];
	time_t last = 0;
	size_t taken = 0, n;

	(void)state;
	/* Spread over a day, in a scrambled order. */
	for (size_t i = 0; i < total; i++) {
		make_id(i, id);
		queue_items_add(qi, id, NOW + (time_t)((i * 7919) % 86400));
	}
	check(qi);
	assert_int_equal(queue_items_count(qi), total);
	for (size_t i = 0; i < total; i++) {
		make_id(i, id);
		struct queue_item *it = queue_items_find(qi, id);
		if (it == NULL || strcmp(it->id, id) != 0)
			fail_msg("item %zu not found", i);
	}
	/* A new message into the full queue, due now: taken first. */
	make_id(total, id);
	queue_items_add(qi, id, 0);
	assert_int_equal(queue_items_take_due(qi, NOW - 1, out, 256), 1);
	assert_string_equal(out[0].id, id);
	/* The rest, a batch at a time, never out of order. */
	while ((n = queue_items_take_due(qi, NOW + 86400, out, 256)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (out[i].next < last)
				fail_msg("%s due at %lld after one due at %lld",
				    out[i].id, (long long)out[i].next, (long long)last);
			last = out[i].next;
		}
		taken += n;
	}
	assert_int_equal(taken, total);
	assert_int_equal(queue_items_count(qi), 0);
	check(qi);
	queue_items_free(&qi);
}

struct walk_ids {
	char (*ids)[QUEUE_ID_BUF];
	unsigned seen[16];
	size_t n;
	const char *drop;
};

/* Counts the visits to each of the ids, and drops one. */
static int
keep_but_one(const struct queue_item *it, void *arg)
{
	struct walk_ids *w = arg;

	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->ids[i], it->id) == 0)
			w->seen[i]++;
	return strcmp(it->id, w->drop) != 0;
}

/* Walks the items, dropping ids[drop] (known): those of ids that are
 * known are each seen once, and only ids[drop] is forgotten. */
static void
walk_dropping(struct queue_items *qi, char (*ids)[QUEUE_ID_BUF], size_t n,
    size_t drop)
{
	struct walk_ids w = { .ids = ids, .n = n, .drop = ids[drop] };
	size_t count = queue_items_count(qi);
	int known[16];

	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		known[i] = queue_items_find(qi, ids[i]) != NULL;
	assert_true(known[drop]);
	queue_items_filter(qi, keep_but_one, &w);
	check(qi);
	for (size_t i = 0; i < n; i++) {
		int found = queue_items_find(qi, ids[i]) != NULL;
		if (w.seen[i] != (unsigned)known[i])
			fail_msg("%s seen %u times", ids[i], w.seen[i]);
		if (found != (known[i] && i != drop))
			fail_msg("%s: found %d after the walk", ids[i], found);
	}
	assert_int_equal(queue_items_count(qi), count - 1);
}

/* Items whose home slot in a fresh table is the last one, so that their
 * cluster runs round to the table's start. */
static void
test_ids_sharing_a_slot(void **state)
{
	enum { NSAME = 12 };
	struct queue_items *qi = queue_items_new();
	char same[NSAME + 3][QUEUE_ID_BUF], id[QUEUE_ID_BUF];
	struct queue_item out[64];
	size_t found = 0, slot0 = 0;

	(void)state;
	for (size_t i = 0; found < NSAME; i++) {
		make_id(i, id);
		if ((queue_items_hash(id) & (QUEUE_ITEMS_MIN - 1)) == QUEUE_ITEMS_MIN - 1)
			memcpy(same[found++], id, QUEUE_ID_BUF);
	}
	for (size_t i = 0; i < NSAME; i++)
		queue_items_add(qi, same[i], NOW + (time_t)i);
	/* And a few whose home is at the table's start, where the cluster
	 * has spilled over. */
	for (size_t i = 1000000; slot0 < 3; i++) {
		make_id(i, id);
		if ((queue_items_hash(id) & (QUEUE_ITEMS_MIN - 1)) == 0) {
			queue_items_add(qi, id, NOW + 100);
			memcpy(same[NSAME + slot0++], id, QUEUE_ID_BUF);
		}
	}
	check(qi);
	for (size_t i = 0; i < NSAME + 3; i++)
		assert_non_null(queue_items_find(qi, same[i]));
	/* Walked through, round the table's end, the one dropped in the
	 * middle of the cluster: each seen once, the others still found. */
	walk_dropping(qi, same, NSAME + 3, NSAME + 1);
	queue_items_add(qi, same[NSAME + 1], NOW + 100);
	/* Take out every other one from the middle of the cluster. */
	for (size_t i = 1; i < NSAME; i += 2) {
		queue_items_remove(qi, queue_items_find(qi, same[i]));
		check(qi);
	}
	for (size_t i = 0; i < NSAME; i++) {
		struct queue_item *it = queue_items_find(qi, same[i]);
		if ((it != NULL) != (i % 2 == 0))
			fail_msg("%s (%zu): found %d", same[i], i, it != NULL);
	}
	/* The first, through the heap: the others are still found. */
	assert_int_equal(take_all(qi, NOW, out, 64), 1);
	assert_string_equal(out[0].id, same[0]);
	for (size_t i = 2; i < NSAME; i += 2)
		assert_non_null(queue_items_find(qi, same[i]));
	assert_int_equal(queue_items_count(qi), NSAME / 2 - 1 + 3);
	/* Known again, not twice. */
	queue_items_add(qi, same[2], 0);
	assert_int_equal(queue_items_count(qi), NSAME / 2 - 1 + 3);
	check(qi);
	walk_dropping(qi, same, NSAME + 3, 4);
	queue_items_free(&qi);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_update),
		cmocka_unit_test(test_due_in_order_rest_stays),
		cmocka_unit_test(test_force),
		cmocka_unit_test(test_force_one),
		cmocka_unit_test(test_in_flight_never_due),
		cmocka_unit_test(test_remove_while_walking),
		cmocka_unit_test(test_hundred_thousand),
		cmocka_unit_test(test_ids_sharing_a_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
