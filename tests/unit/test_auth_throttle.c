/*
 * Unit tests of the brute-force brake: distinct failures count per client,
 * per login (case folded) and per pair, a retry of the same login and
 * password counts once, the delay grows from the second failure up to its
 * cap, a known pair answers only for its own failures, the window
 * forgets, and a full table reuses the stalest slot instead of growing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "lookup/auth_throttle.h"

static const struct auth_throttle_limits LIM = {
	.limit = 5, .window = 600, .delay = 1, .delay_max = 15,
};

/* One failure; 1 if it counted against the client. */
static int
fail_one(struct auth_throttle *t, const char *client, const char *login,
    const char *password, time_t now)
{
	struct auth_attempt a;

	auth_throttle_attempt(t, client, login, password, &a);
	return auth_throttle_fail(t, &a, &LIM, now);
}

static struct auth_verdict
check(struct auth_throttle *t, const char *client, const char *login,
    int known, time_t now)
{
	struct auth_attempt a;
	struct auth_verdict v;

	auth_throttle_attempt(t, client, login, "any password", &a);
	auth_throttle_check(t, &a, known, &LIM, now, &v);
	return v;
}

static void
test_retry_counts_once(void **state)
{
	struct auth_throttle *t = auth_throttle_new();

	(void)state;
	assert_int_equal(fail_one(t, "192.0.2.1", "Alice", "stale-pw", 1000), 1);
	for (int i = 0; i < 50; i++)
		assert_int_equal(fail_one(t, "192.0.2.1", "Alice", "stale-pw",
		    1001 + i), 0);
	assert_int_equal(check(t, "192.0.2.1", "bob", 0, 1100).failures, 1);
	assert_int_equal(check(t, "192.0.2.1", "bob", 0, 1100).delay, 0);
	/* The same password under another login, or another password
	 * under the same login, is another attempt. */
	assert_int_equal(fail_one(t, "192.0.2.1", "alice", "stale-pw", 1101), 1);
	assert_int_equal(fail_one(t, "192.0.2.1", "Alice", "stale-pw2", 1102), 1);
	assert_int_equal(check(t, "192.0.2.1", "bob", 0, 1103).failures, 3);
	/* A repeat from elsewhere is new for that client, not for the
	 * login. */
	assert_int_equal(fail_one(t, "192.0.2.2", "Alice", "stale-pw", 1104), 1);
	assert_int_equal(check(t, "192.0.2.3", "alice", 0, 1105).failures, 3);
	auth_throttle_free(&t);
	assert_null(t);
}

static void
test_delay_grows_then_refuses(void **state)
{
	struct auth_throttle *t = auth_throttle_new();
	const unsigned want[] = { 0, 0, 1, 2, 4 };
	char pw[32];

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		struct auth_verdict v = check(t, "198.51.100.1", "x", 0, 2000);
		if (v.refused || v.delay != want[i] || v.failures != i)
			fail_msg("after %u failures: refused %d delay %u, "
			    "want 0 and %u", i, v.refused, v.delay, want[i]);
		snprintf(pw, sizeof(pw), "guess-%u", i);
		fail_one(t, "198.51.100.1", i % 2 ? "x" : "y", pw, 2000);
	}
	struct auth_verdict v = check(t, "198.51.100.1", "z", 0, 2000);
	assert_true(v.refused);
	assert_true(v.first_refusal);
	assert_int_equal(v.delay, LIM.delay_max);
	/* One refusal per count and window is the first, worth a row. */
	v = check(t, "198.51.100.1", "w", 0, 2001);
	assert_true(v.refused);
	assert_false(v.first_refusal);
	/* The cap. */
	struct auth_throttle_limits lim = LIM;
	struct auth_attempt a;
	lim.limit = 100;
	for (unsigned i = 5; i < 12; i++) {
		snprintf(pw, sizeof(pw), "guess-%u", i);
		fail_one(t, "198.51.100.1", "x", pw, 2000);
	}
	auth_throttle_attempt(t, "198.51.100.1", "x", "p", &a);
	auth_throttle_check(t, &a, 0, &lim, 2000, &v);
	assert_false(v.refused);
	assert_int_equal(v.delay, 15);
	/* delay 0: never slowed, still refused at the limit. */
	lim = LIM;
	lim.delay = 0;
	auth_throttle_check(t, &a, 0, &lim, 2000, &v);
	assert_true(v.refused);
	lim.limit = 100;
	auth_throttle_check(t, &a, 0, &lim, 2000, &v);
	assert_int_equal(v.delay, 0);
	/* The window passes: forgotten. */
	v = check(t, "198.51.100.1", "z", 0, 2000 + 600);
	assert_false(v.refused);
	assert_int_equal(v.failures, 0);
	auth_throttle_free(&t);
}

static void
test_known_pair_answers_for_itself(void **state)
{
	struct auth_throttle *t = auth_throttle_new();
	char ip[32], pw[32];

	(void)state;
	/* Five failures against alice from five addresses, one in
	 * another case. */
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		snprintf(pw, sizeof(pw), "guess-%d", i);
		fail_one(t, ip, i == 4 ? "ALICE" : "alice", pw, 3000);
	}
	/* Refused to any other address... */
	assert_true(check(t, "192.0.2.77", "alice", 0, 3001).refused);
	assert_true(check(t, "192.0.2.77", "Alice", 0, 3001).refused);
	/* ...but not to alice's known one, nor slowed there. */
	struct auth_verdict v = check(t, "192.0.2.10", "alice", 1, 3001);
	assert_false(v.refused);
	assert_int_equal(v.delay, 0);
	/* Nor by its own address's failures against other logins. */
	for (int i = 0; i < 5; i++) {
		snprintf(pw, sizeof(pw), "other-%d", i);
		fail_one(t, "192.0.2.10", "bob", pw, 3002);
	}
	assert_true(check(t, "192.0.2.10", "carol", 0, 3003).refused);
	assert_false(check(t, "192.0.2.10", "alice", 1, 3003).refused);
	/* Its own failures against alice do count. */
	for (int i = 0; i < 5; i++) {
		snprintf(pw, sizeof(pw), "own-%d", i);
		fail_one(t, "192.0.2.10", "alice", pw, 3004);
	}
	assert_true(check(t, "192.0.2.10", "alice", 1, 3005).refused);
	/* A success forgets the pair's failures, not the address's. */
	struct auth_attempt a;
	auth_throttle_attempt(t, "192.0.2.10", "alice", "right", &a);
	auth_throttle_ok(t, &a);
	assert_false(check(t, "192.0.2.10", "alice", 1, 3006).refused);
	assert_true(check(t, "192.0.2.10", "alice", 0, 3006).refused);
	auth_throttle_free(&t);
}

static void
test_full_table_reuses_stalest(void **state)
{
	struct auth_throttle *t = auth_throttle_new();
	char ip[32];

	(void)state;
	for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		fail_one(t, ip, "x", "p", 4600 + i / 16);
	}
	/* One more client pushes out the stalest (the first), not a newer. */
	fail_one(t, "203.0.113.7", "y", "p1", 5000);
	fail_one(t, "203.0.113.7", "y", "p2", 5001);
	assert_int_equal(check(t, "203.0.113.7", "z", 0, 5010).failures, 2);
	assert_int_equal(check(t, "10.0.0.0", "z", 0, 5010).failures, 0);
	snprintf(ip, sizeof(ip), "10.0.%d.%d", (AUTH_THROTTLE_SLOTS - 1) / 256,
	    (AUTH_THROTTLE_SLOTS - 1) % 256);
	assert_int_equal(check(t, ip, "z", 0, 5010).failures, 1);
	auth_throttle_free(&t);
}

/* A flood of new clients, each failing once, does not push out a
 * guesser near the limit: that would reset its count. */
static void
test_flood_keeps_the_heavy_counts(void **state)
{
	struct auth_throttle *t = auth_throttle_new();
	char ip[32], pw[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(pw, sizeof(pw), "guess%d", i);
		fail_one(t, "203.0.113.9", "alice", pw, 4000 + i);
	}
	for (int i = 0; i < AUTH_THROTTLE_SLOTS + 10; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 256, i % 256);
		snprintf(pw, sizeof(pw), "p%d", i);
		fail_one(t, ip, ip, pw, 4100);
	}
	assert_int_equal(check(t, "203.0.113.9", "bob", 0, 4200).failures, 4);
	assert_int_equal(check(t, "198.51.100.3", "alice", 0, 4200).failures, 4);
	auth_throttle_free(&t);
}

/* The keys are keyed: two brakes hash the same attempt differently. */
static void
test_hashes_are_keyed(void **state)
{
	struct auth_throttle *t1 = auth_throttle_new();
	struct auth_throttle *t2 = auth_throttle_new();
	struct auth_attempt a1, a2, b1;

	(void)state;
	auth_throttle_attempt(t1, "192.0.2.1", "alice", "pw", &a1);
	auth_throttle_attempt(t2, "192.0.2.1", "alice", "pw", &a2);
	auth_throttle_attempt(t1, "192.0.2.1", "alice", "pw", &b1);
	assert_memory_equal(&a1, &b1, sizeof(a1));
	assert_memory_not_equal(a1.secret, a2.secret, sizeof(a1.secret));
	/* Parts cannot trade bytes. */
	auth_throttle_attempt(t1, "192.0.2.1", "alicep", "w", &b1);
	assert_memory_not_equal(a1.secret, b1.secret, sizeof(a1.secret));
	auth_throttle_free(&t1);
	auth_throttle_free(&t2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_counts_once),
		cmocka_unit_test(test_delay_grows_then_refuses),
		cmocka_unit_test(test_known_pair_answers_for_itself),
		cmocka_unit_test(test_full_table_reuses_stalest),
		cmocka_unit_test(test_flood_keeps_the_heavy_counts),
		cmocka_unit_test(test_hashes_are_keyed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
