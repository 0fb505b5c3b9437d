/*
 * Unit tests of the forbidden command lines (smtpd/smtp_forbidden.c): the
 * words of screen_forbidden_commands as verbs, lines shaped like a header
 * field, the SMTP commands that only look like one (MAIL FROM:, RCPT
 * TO:), and the config check of the list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "smtpd/smtp_forbidden.h"

#define WORDS "CONNECT GET POST"

static void
test_lines(void **state)
{
	static const struct {
		const char *line, *words;
		enum smtp_forbidden want;
	} cases[] = {
		{ "CONNECT mx.example:25 HTTP/1.0", WORDS, SMTP_FORBIDDEN_COMMAND },
		{ "GET / HTTP/1.0", WORDS, SMTP_FORBIDDEN_COMMAND },
		{ "get / HTTP/1.1", WORDS, SMTP_FORBIDDEN_COMMAND },
		{ "POST /x HTTP/1.1", WORDS, SMTP_FORBIDDEN_COMMAND },
		{ "POST", WORDS, SMTP_FORBIDDEN_COMMAND },
		{ "GETX / HTTP/1.0", WORDS, SMTP_FORBIDDEN_NONE },
		{ "GE / HTTP/1.0", WORDS, SMTP_FORBIDDEN_NONE },
		{ "USER bob", "CONNECT,GET, POST,USER", SMTP_FORBIDDEN_COMMAND },
		{ "GET / HTTP/1.0", "", SMTP_FORBIDDEN_NONE },
		{ "Host: mx.example", WORDS, SMTP_FORBIDDEN_HEADER },
		{ "Subject: hello", WORDS, SMTP_FORBIDDEN_HEADER },
		{ "X-Mailer:x", WORDS, SMTP_FORBIDDEN_HEADER },
		{ "Host: x", "", SMTP_FORBIDDEN_HEADER },
		{ "MAIL FROM:<a@b.example>", WORDS, SMTP_FORBIDDEN_NONE },
		{ "mail from:<a@b.example>", WORDS, SMTP_FORBIDDEN_NONE },
		{ "RCPT TO:<b@c.example>", WORDS, SMTP_FORBIDDEN_NONE },
		{ "EHLO host:25", WORDS, SMTP_FORBIDDEN_NONE },
		{ "AUTH PLAIN dGVzdA==", WORDS, SMTP_FORBIDDEN_NONE },
		{ "NOOP", WORDS, SMTP_FORBIDDEN_NONE },
		{ "", WORDS, SMTP_FORBIDDEN_NONE },
		{ ":", WORDS, SMTP_FORBIDDEN_NONE },
		{ " Host: x", WORDS, SMTP_FORBIDDEN_NONE },
		{ "Ho\tst: x", WORDS, SMTP_FORBIDDEN_NONE },
		{ "H\xc3\xb6st: x", WORDS, SMTP_FORBIDDEN_NONE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum smtp_forbidden got = smtp_forbidden_line(cases[i].line,
		    cases[i].words);
		if (got != cases[i].want)
			fail_msg("'%s' with '%s': got %d, want %d",
			    cases[i].line, cases[i].words, (int)got,
			    (int)cases[i].want);
	}
}

static void
test_check(void **state)
{
	static const struct {
		const char *value;
		int want;
	} cases[] = {
		{ "CONNECT GET POST", 0 }, { "CONNECT, GET,POST", 0 },
		{ "X-FOO x_bar 123", 0 }, { "", 0 },
		{ "GET:", -1 }, { "regexp:{{/^[^ ]+:/}}", -1 }, { "GE\xc3\xa9T", -1 },
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", -1 },     /* 33 bytes */
		{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 },       /* 32 */
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		int got = smtp_forbidden_check(cases[i].value, why, sizeof(why));
		if (got != cases[i].want)
			fail_msg("'%s': got %d, want %d", cases[i].value, got,
			    cases[i].want);
		if (got < 0 && why[0] == '\0')
			fail_msg("'%s': refused without a reason", cases[i].value);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
