/*
 * Unit tests for plugin/milter_conf.c: the milter lists of the config.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "plugin/milter_conf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct { const char *list; int n; } cases[] = {
	{ "", 0 },
	{ "inet:127.0.0.1:8891", 1 },
	{ "inet:[::1]:8891, unix:/run/m.sock inet:127.0.0.1:1", 3 },
	{ "inet:localhost:8891", 1 },
	{ "inet:127.0.0.1", -1 },
	{ "inet:127.0.0.1:", -1 },
	{ "inet::25", -1 },
	{ "inet:127.0.0.1:0", -1 },
	{ "inet:127.0.0.1:65536", -1 },
	{ "inet:127.0.0.1:8x", -1 },
	{ "inet:[::1:25", -1 },
	{ "unix:relative.sock", -1 },
	{ "unix:", -1 },
	{ "local:/run/m.sock", -1 },
	{ "127.0.0.1:8891", -1 },
};

static void
test_lists(void **state)
{
	struct milter_endpoint eps[MILTER_MAX];
	char why[256];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int ok = milter_list_check(cases[i].list, why, sizeof(why));
		if ((ok == 0) != (cases[i].n >= 0))
			fail_msg("%s: check gave %d (%s)", cases[i].list, ok, why);
		if (cases[i].n < 0)
			continue;
		int n = milter_list_resolve(cases[i].list, eps, why, sizeof(why));
		if (n != cases[i].n)
			fail_msg("%s: got %d endpoints (%s)", cases[i].list, n, why);
	}
}

static void
test_resolved(void **state)
{
	struct milter_endpoint eps[MILTER_MAX];
	char why[256];

	(void)state;
	assert_int_equal(milter_list_resolve("inet:127.0.0.1:8891 unix:/a/b",
	    eps, why, sizeof(why)), 2);
	assert_string_equal(eps[0].name, "inet:127.0.0.1:8891");
	assert_int_equal(eps[0].sa.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&eps[0].sa)->sin_port),
	    8891);
	assert_int_equal(eps[1].sa.ss_family, AF_UNIX);
	assert_string_equal(((struct sockaddr_un *)&eps[1].sa)->sun_path,
	    "/a/b");
}

static void
test_too_many(void **state)
{
	char list[2048] = "", why[256];

	(void)state;
	for (int i = 0; i <= MILTER_MAX; i++)
		strcat(list, "inet:127.0.0.1:1 ");
	assert_int_equal(milter_list_check(list, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than"));
}

static void
test_fds(void **state)
{
	(void)state;
	assert_int_equal(milter_fds_per_session("", ""), 0);
	assert_int_equal(milter_fds_per_session("inet:127.0.0.1:1", ""), 2);
	assert_int_equal(milter_fds_per_session("inet:127.0.0.1:1",
	    "unix:/a unix:/b inet:[::1]:2"), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_resolved),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
