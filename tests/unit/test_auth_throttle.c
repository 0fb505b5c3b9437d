/*
 * Unit tests of the brute-force brake: failures count per client and per
 * login (case folded), the window forgets them, and a full table reuses
 * the stalest slot instead of growing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "lookup/auth_throttle.h"

static void
test_per_client_and_login(void **state)
{
	struct auth_throttle *t = calloc(1, sizeof(*t));
	time_t now = 1000;

	(void)state;
	for (int i = 0; i < 2; i++)
		auth_throttle_fail(t, "192.0.2.1", "alice", 600, now);
	assert_false(auth_throttle_blocked(t, "192.0.2.1", "bob", 3, 600, now));
	auth_throttle_fail(t, "192.0.2.1", "carol", 600, now);
	/* Three from one client, whatever the logins. */
	assert_true(auth_throttle_blocked(t, "192.0.2.1", "dave", 3, 600, now));
	assert_false(auth_throttle_blocked(t, "192.0.2.2", "dave", 3, 600, now));
	/* Against one login from elsewhere, in any case. */
	auth_throttle_fail(t, "192.0.2.9", "ALICE", 600, now);
	assert_true(auth_throttle_blocked(t, "192.0.2.3", "Alice", 3, 600, now));
	/* The window passes: forgotten. */
	assert_false(auth_throttle_blocked(t, "192.0.2.1", "alice", 3, 600, now + 600));
	free(t);
}

static void
test_full_table_reuses_stalest(void **state)
{
	struct auth_throttle *t = calloc(1, sizeof(*t));
	char ip[32];

	(void)state;
	for (int i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		auth_throttle_fail(t, ip, "x", 600, 1000 + i);
	}
	/* One more client pushes out the stalest (the first), not a newer. */
	for (int k = 0; k < 3; k++)
		auth_throttle_fail(t, "203.0.113.7", "y", 600, 5000 + k);
	assert_true(auth_throttle_blocked(t, "203.0.113.7", "z", 3, 600, 5010));
	snprintf(ip, sizeof(ip), "10.0.%d.%d", (AUTH_THROTTLE_SLOTS - 1) / 256,
	    (AUTH_THROTTLE_SLOTS - 1) % 256);
	auth_throttle_fail(t, ip, "w", 600, 5011);
	auth_throttle_fail(t, ip, "w", 600, 5012);
	assert_true(auth_throttle_blocked(t, ip, "v", 3, 600, 5013));
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_client_and_login),
		cmocka_unit_test(test_full_table_reuses_stalest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
