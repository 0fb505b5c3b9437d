/*
 * The auth.sock line protocol (mailbox/login_proto.c): requests and
 * answers parsed and written, every rule of login_proto.h refused when
 * broken, escapes undone exactly, and what is written parses back to the
 * same fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mailbox/login_proto.h"

static int
req(const char *line, struct login_request *r)
{
	return login_request_parse(line, strlen(line), r);
}

static void
test_request_good(void **state)
{
	struct login_request r;

	(void)state;
	assert_int_equal(req("auth\timap\t192.0.2.1\talice@x.test\tpw\n", &r), 0);
	assert_int_equal(r.verb, LOGIN_AUTH);
	assert_string_equal(r.service, "imap");
	assert_string_equal(r.client, "192.0.2.1");
	assert_string_equal(r.login, "alice@x.test");
	assert_string_equal(r.password, "pw");
	/* Without its LF, an empty client and an empty password. */
	assert_int_equal(req("auth\tpop3\t\ta+b@x.test\t", &r), 0);
	assert_string_equal(r.client, "");
	assert_string_equal(r.password, "");
	assert_int_equal(req("user\tdoveadm\t\talice@x.test\n", &r), 0);
	assert_int_equal(r.verb, LOGIN_USER);
	assert_string_equal(r.password, "");
	/* Escapes undone. */
	assert_int_equal(req("auth\timap\t2001:db8::1\ta\\\\b\tp\\tq\\nr\\rs\\\\\n",
	    &r), 0);
	assert_string_equal(r.login, "a\\b");
	assert_string_equal(r.password, "p\tq\nr\rs\\");
}

static void
test_request_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"auth\timap\t127.0.0.1\talice\n",               /* no password */
		"user\timap\t127.0.0.1\talice\tpw\n",           /* a password */
		"auth\timap\t127.0.0.1\talice\tpw\textra\n",
		"AUTH\timap\t127.0.0.1\talice\tpw\n",
		"auth\tsmtp\t127.0.0.1\talice\tpw\n",           /* not a door here */
		"auth\tIMAP\t127.0.0.1\talice\tpw\n",
		"user\tdove adm\t\talice\n",
		"auth\timap\t127.0.0.1\t\tpw\n",                /* empty login */
		"auth\timap\t127.0.0.1 \talice\tpw\n",
		"auth\timap\t127.0.0.1\\t\talice\tpw\n",
		"auth\timap\t127.0.0.1\ta\\qb\tpw\n",           /* unknown escape */
		"auth\timap\t127.0.0.1\talice\tpw\\\n",         /* escape cut off */
		"auth\timap\t127.0.0.1\tal\rice\tpw\n",         /* raw CR */
		"auth\timap\t127.0.0.1\talice\tp\nw\n",         /* raw LF inside */
	};
	struct login_request r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (req(bad[i], &r) == 0)
			fail_msg("accepted: '%s'", bad[i]);
	/* A NUL inside. */
	assert_int_equal(login_request_parse("auth\timap\t\ta\0b\tpw\n", 16,
	    &r), -1);
}

/* Each field at its bound passes; one byte more is refused. */
static void
test_request_bounds(void **state)
{
	char line[2 * LOGIN_PROTO_REQUEST_MAX], login[LOGIN_PROTO_LOGIN_MAX + 2];
	char pw[LOGIN_PROTO_PASSWORD_MAX + 2];
	struct login_request r;

	(void)state;
	memset(login, 'l', sizeof(login));
	memset(pw, 'p', sizeof(pw));
	login[LOGIN_PROTO_LOGIN_MAX] = '\0';
	pw[LOGIN_PROTO_PASSWORD_MAX] = '\0';
	snprintf(line, sizeof(line), "auth\timap\t\t%s\t%s\n", login, pw);
	assert_int_equal(req(line, &r), 0);
	login[LOGIN_PROTO_LOGIN_MAX] = 'l';
	login[LOGIN_PROTO_LOGIN_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "auth\timap\t\t%s\t%s\n", login, pw);
	assert_int_equal(req(line, &r), -1);
	login[LOGIN_PROTO_LOGIN_MAX] = '\0';
	pw[LOGIN_PROTO_PASSWORD_MAX] = 'p';
	pw[LOGIN_PROTO_PASSWORD_MAX + 1] = '\0';
	snprintf(line, sizeof(line), "auth\timap\t\t%s\t%s\n", login, pw);
	assert_int_equal(req(line, &r), -1);
	/* The longest line, every byte escaped, fits the request buffer. */
	memset(login, '\t', LOGIN_PROTO_LOGIN_MAX);
	memset(pw, '\\', LOGIN_PROTO_PASSWORD_MAX);
	pw[LOGIN_PROTO_PASSWORD_MAX] = '\0';
	memset(&r, 0, sizeof(r));
	r.verb = LOGIN_AUTH;
	memcpy(r.service, "imap", 5);
	memset(r.client, '1', LOGIN_PROTO_CLIENT_MAX);
	memcpy(r.login, login, LOGIN_PROTO_LOGIN_MAX);
	memcpy(r.password, pw, LOGIN_PROTO_PASSWORD_MAX + 1);
	long n = login_request_format(&r, line, LOGIN_PROTO_REQUEST_MAX);
	assert_true(n > 0 && (size_t)n <= LOGIN_PROTO_REQUEST_MAX);
}

static void
test_request_round_trip(void **state)
{
	struct login_request r = { LOGIN_AUTH, "pop3", "::1", "x\\y\tz",
	    "a\rb\nc\\" }, back;
	char line[LOGIN_PROTO_REQUEST_MAX];
	long n;

	(void)state;
	n = login_request_format(&r, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_int_equal(login_request_parse(line, (size_t)n, &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));
	/* Too small a buffer, and a field out of its rules: refused. */
	assert_int_equal(login_request_format(&r, line, 10), -1);
	memcpy(r.service, "smtp", 5);
	assert_int_equal(login_request_format(&r, line, sizeof(line)), -1);
}

static void
test_answers(void **state)
{
	struct login_answer a = { LOGIN_OK, 3, "alice@x.test",
	    "/var/lib/tern/mail/x.test/alice" }, back;
	char line[LOGIN_PROTO_ANSWER_MAX];
	long n;

	(void)state;
	n = login_answer_format(&a, line, sizeof(line));
	assert_true(n > 0);
	line[n] = '\0';
	assert_string_equal(line,
	    "ok\t3\talice@x.test\t/var/lib/tern/mail/x.test/alice\n");
	assert_int_equal(login_answer_parse(line, (size_t)n, &back), 0);
	assert_memory_equal(&a, &back, sizeof(a));
	assert_int_equal(login_answer_parse("fail\t120\n", 9, &back), 0);
	assert_int_equal(back.result, LOGIN_FAIL);
	assert_int_equal(back.delay, 120);
	assert_int_equal(login_answer_parse("unknown\n", 8, &back), 0);
	assert_int_equal(back.result, LOGIN_UNKNOWN);
	assert_int_equal(login_answer_parse("tempfail", 8, &back), 0);
	assert_int_equal(back.result, LOGIN_TEMPFAIL);
}

static void
test_answers_refused(void **state)
{
	static const char *const bad[] = {
		"fail\t121\n", "fail\t\n", "fail\t-1\n", "fail\t0001\n",
		"fail\n", "ok\t0\talice\trelative/path\n", "ok\t0\t\t/p\n",
		"ok\t0\talice\n", "unknown\t0\n", "OK\t0\ta\t/p\n", "",
	};
	struct login_answer a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (login_answer_parse(bad[i], strlen(bad[i]), &a) == 0)
			fail_msg("accepted: '%s'", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_good),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_bounds),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_answers_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
