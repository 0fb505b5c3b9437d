/*
 * Unit tests for lookup/login_rules.c: the default login_pattern and a
 * custom one, password_min_length, and that a password must differ from
 * its login in any case; each refusal names the rule it broke.  The
 * settings come from conf_load() of an empty file, so the defaults tested
 * are the real ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lookup/login_rules.h"

#define ERR_MAX 512
#define DEFAULT_PATTERN "^[a-z0-9._+-]+(@[a-z0-9.-]+)?$"

static int
setup(void **state)
{
	struct conf *c = calloc(1, sizeof(*c));
	char path[64], err[ERR_MAX];
	int fd;

	assert_non_null(c);
	snprintf(path, sizeof(path), "/tmp/tern-test-rules.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(close(fd), 0);
	if (conf_load(c, path, err, sizeof(err)) < 0)
		fail_msg("conf_load: %s", err);
	assert_int_equal(unlink(path), 0);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	conf_free(*state);
	free(*state);
	return 0;
}

static const struct {
	const char *login;
	const char *want;       /* NULL: accepted */
} login_cases[] = {
	{ "alice", NULL },
	{ "alice@example.test", NULL },
	{ "a.b+c-d_e9", NULL },
	{ "alice@mail-1.example.test", NULL },
	{ "Alice", "login 'Alice' does not match login_pattern "
	    DEFAULT_PATTERN },
	{ "alice@Example.test", "login 'alice@Example.test' does not match "
	    "login_pattern " DEFAULT_PATTERN },
	{ "", "login '' does not match login_pattern " DEFAULT_PATTERN },
	{ "al ice", "login 'al ice' does not match login_pattern "
	    DEFAULT_PATTERN },
	{ "alice@", "login 'alice@' does not match login_pattern "
	    DEFAULT_PATTERN },
	{ "a@b@c", "login 'a@b@c' does not match login_pattern "
	    DEFAULT_PATTERN },
	{ "a\tb", "login 'a\\x09b' does not match login_pattern "
	    DEFAULT_PATTERN },
	{ "j\xc3\xb6rg", "login 'j\\xc3\\xb6rg' does not match login_pattern "
	    DEFAULT_PATTERN },
};

static void
test_login_default(void **state)
{
	const struct conf *c = *state;
	char err[ERR_MAX];

	assert_string_equal(c->login_pattern, DEFAULT_PATTERN);
	for (size_t i = 0; i < sizeof(login_cases) / sizeof(login_cases[0]);
	    i++) {
		int rc;

		err[0] = '\0';
		rc = login_check(c, login_cases[i].login, err, sizeof(err));
		if (login_cases[i].want == NULL && rc != 0)
			fail_msg("'%s': refused: %s", login_cases[i].login,
			    err);
		if (login_cases[i].want == NULL)
			continue;
		if (rc == 0)
			fail_msg("'%s': accepted, want '%s'",
			    login_cases[i].login, login_cases[i].want);
		if (strcmp(err, login_cases[i].want) != 0)
			fail_msg("'%s':\n got '%s'\nwant '%s'",
			    login_cases[i].login, err, login_cases[i].want);
	}
}

static void
test_login_custom(void **state)
{
	struct conf *c = *state;
	char *saved = c->login_pattern;
	char pattern[] = "^[A-Za-z]+$";
	char err[ERR_MAX];

	c->login_pattern = pattern;
	assert_int_equal(login_check(c, "Alice", err, sizeof(err)), 0);
	assert_int_equal(login_check(c, "alice@x.test", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "login 'alice@x.test' does not match "
	    "login_pattern ^[A-Za-z]+$");
	c->login_pattern = saved;
}

static const struct {
	unsigned min;
	const char *login, *password;
	const char *want;       /* NULL: accepted */
} password_cases[] = {
	{ 10, "alice", "0123456789", NULL },
	{ 10, "alice", "correct horse", NULL },
	{ 10, "alice", "012345678", "password too short: at least 10 "
	    "characters (password_min_length)" },
	{ 10, "alice", "", "password too short: at least 10 characters "
	    "(password_min_length)" },
	{ 10, "alice@example.test", "alice@example.test",
	    "password must differ from the login" },
	{ 10, "alice@example.test", "ALICE@Example.TEST",
	    "password must differ from the login" },
	{ 10, "alice@example.test", "alice@example.tes", NULL },
	{ 1, "a", "A", "password must differ from the login" },
	{ 1, "a", "b", NULL },
	{ 3, "x", "\xc3\xa9t\xc3\xa9", NULL },       /* bytes, not letters */
	{ 6, "x", "\xc3\xa9t\xc3\xa9", "password too short: at least 6 "
	    "characters (password_min_length)" },
};

static void
test_password_rules(void **state)
{
	struct conf *c = *state;
	char err[ERR_MAX];

	assert_int_equal(c->password_min_length, 10);
	for (size_t i = 0; i < sizeof(password_cases) /
	    sizeof(password_cases[0]); i++) {
		int rc;

		c->password_min_length = password_cases[i].min;
		err[0] = '\0';
		rc = password_check(c, password_cases[i].login,
		    password_cases[i].password, err, sizeof(err));
		if (password_cases[i].want == NULL && rc != 0)
			fail_msg("case %zu: refused: %s", i, err);
		if (password_cases[i].want == NULL)
			continue;
		if (rc == 0)
			fail_msg("case %zu: accepted, want '%s'", i,
			    password_cases[i].want);
		if (strcmp(err, password_cases[i].want) != 0)
			fail_msg("case %zu:\n got '%s'\nwant '%s'", i, err,
			    password_cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_default, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_login_custom, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_password_rules, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
