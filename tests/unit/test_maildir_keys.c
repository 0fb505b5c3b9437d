/*
 * Unit tests for mailbox/maildir_keys.c: keys found where they were first
 * seen, through several growths of the table; absent keys not found.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mailbox/maildir_keys.h"

#define KEYS 5000       /* past 1024 slots, so the table grows thrice */

static void
test_add_find(void **state)
{
	struct mdkeys s;
	char key[64], where[64];
	const char *got;

	(void)state;
	mdkeys_init(&s);
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "%d.M%dP1.host", 1600000000 + i, i);
		snprintf(where, sizeof(where), "cur/%s:2,S", key);
		mdkeys_add(&s, key, where);
	}
	/* A key seen again keeps its first place. */
	mdkeys_add(&s, "1600000000.M0P1.host", "new/elsewhere");
	assert_int_equal(s.n, KEYS);
	for (int i = 0; i < KEYS; i++) {
		snprintf(key, sizeof(key), "%d.M%dP1.host", 1600000000 + i, i);
		snprintf(where, sizeof(where), "cur/%s:2,S", key);
		got = mdkeys_find(&s, key);
		if (got == NULL || strcmp(got, where) != 0)
			fail_msg("%s: got %s, want %s", key, got ? got : "NULL",
			    where);
	}
	assert_null(mdkeys_find(&s, "1600000000.M0P1.hos"));
	assert_null(mdkeys_find(&s, ""));
	mdkeys_free(&s);
	assert_null(s.slot);
	mdkeys_free(&s);        /* twice is harmless */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
