/*
 * Unit tests of screen_access: the action words, first match wins, and
 * the lists a config check refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "screen/screen_access.h"

static void
test_first_match_wins(void **state)
{
	static const struct {
		const char *ip;
		enum screen_access_action want;
	} cases[] = {
		{ "192.0.2.1", SCREEN_ACCESS_PERMIT },
		{ "192.0.2.200", SCREEN_ACCESS_PERMIT },  /* permit comes first */
		{ "192.0.3.1", SCREEN_ACCESS_REJECT },
		{ "198.51.100.9", SCREEN_ACCESS_PERMIT },
		{ "2001:db8::1", SCREEN_ACCESS_REJECT },
		{ "::ffff:192.0.2.7", SCREEN_ACCESS_PERMIT },
		{ "203.0.113.1", SCREEN_ACCESS_NONE },
		{ "garbage", SCREEN_ACCESS_NONE },
	};
	struct screen_access *list = malloc(sizeof(*list));
	char why[256];

	(void)state;
	assert_int_equal(screen_access_parse("permit 192.0.2.0/24, reject "
	    "192.0.2.0/23 2001:db8::/32 permit 198.51.100.9", list, why,
	    sizeof(why)), 0);
	assert_int_equal(list->n, 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (screen_access_match(list, cases[i].ip) != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].ip,
			    (int)screen_access_match(list, cases[i].ip),
			    (int)cases[i].want);
	assert_int_equal(screen_access_parse("", list, why, sizeof(why)), 0);
	assert_int_equal(list->n, 0);
	assert_int_equal(screen_access_match(list, "192.0.2.1"), SCREEN_ACCESS_NONE);
	free(list);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"192.0.2.0/24",                 /* no action word */
		"allow 192.0.2.0/24",           /* not an action: read as a network */
		"permit 192.0.2.1/24",          /* host bits past the prefix */
		"reject 300.0.0.1",
		"permit 2001:db8::/129",
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (screen_access_check(bad[i], why, sizeof(why)) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(why[0] != '\0');
	}
	assert_int_equal(screen_access_check("permit reject", why, sizeof(why)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
