/*
 * Unit tests of what the SMTP client reads from servers: reply lines
 * (code, last line or not, text), lines that are refused, EHLO keywords,
 * and reply text made safe for logs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "deliver/smtp_reply.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static int
parse(const char *line, struct smtp_reply_line *rl)
{
	return smtp_reply_line_parse(line, strlen(line), rl);
}

static void
test_reply_lines(void **state)
{
	struct smtp_reply_line rl;

	(void)state;
	assert_int_equal(parse("250-mx.example.org Hello", &rl), 0);
	assert_int_equal(rl.code, 250);
	assert_false(rl.last);
	assert_string_equal(rl.text, "mx.example.org Hello");
	assert_int_equal(parse("550 5.1.1 No such user", &rl), 0);
	assert_int_equal(rl.code, 550);
	assert_true(rl.last);
	assert_string_equal(rl.text, "5.1.1 No such user");
	assert_int_equal(parse("221", &rl), 0);
	assert_true(rl.last);
	assert_string_equal(rl.text, "");
	assert_int_equal(parse("354 ", &rl), 0);
	assert_true(rl.last);
}

static void
test_malformed_lines(void **state)
{
	static const char *const bad[] = {
		"", "25", "150 too low", "650 too high", "2x0 letters",
		"250xtext", "250_text", " 250 space first",
	};
	struct smtp_reply_line rl;
	char big[SMTP_REPLY_LINE_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &rl), -1);
	/* A NUL inside the line. */
	assert_int_equal(smtp_reply_line_parse("250 a\0b", 7, &rl), -1);
	memset(big, 'x', sizeof(big));
	memcpy(big, "250 ", 4);
	assert_int_equal(smtp_reply_line_parse(big, sizeof(big), &rl), -1);
	assert_int_equal(smtp_reply_line_parse(big, SMTP_REPLY_LINE_MAX, &rl), 0);
}

static void
test_ehlo_keywords(void **state)
{
	struct smtp_ext ext;

	(void)state;
	memset(&ext, 0, sizeof(ext));
	smtp_ext_keyword(&ext, "PIPELINING");
	smtp_ext_keyword(&ext, "starttls");
	smtp_ext_keyword(&ext, "8BITMIME");
	smtp_ext_keyword(&ext, "SMTPUTF8");
	smtp_ext_keyword(&ext, "SIZE 10240000");
	smtp_ext_keyword(&ext, "AUTH LOGIN PLAIN");
	assert_true(ext.pipelining && ext.starttls && ext.eightbit && ext.smtputf8);
	assert_true(ext.auth_plain);
	assert_int_equal(ext.size_max, 10240000);

	memset(&ext, 0, sizeof(ext));
	smtp_ext_keyword(&ext, "AUTH=LOGIN XPLAINX");       /* not PLAIN */
	smtp_ext_keyword(&ext, "SIZE");                     /* no limit */
	smtp_ext_keyword(&ext, "PIPELININGX");
	assert_false(ext.auth_plain);
	assert_int_equal(ext.size_max, 0);
	assert_false(ext.pipelining);
	smtp_ext_keyword(&ext, "SIZE 12abc");               /* junk: no limit */
	assert_int_equal(ext.size_max, 0);
	smtp_ext_keyword(&ext, "AUTH=PLAIN");
	assert_true(ext.auth_plain);
}

static void
test_reply_text_is_safe(void **state)
{
	char out[64];

	(void)state;
	smtp_reply_text("451 x", "4.3.0 try\tlater\x7f", out, sizeof(out));
	assert_string_equal(out, "451 4.3.0 try later ");
	smtp_reply_text("250", "", out, 8);
	assert_string_equal(out, "250 ");
}

static void
test_status(void **state)
{
	static const struct {
		const char *reply;
		char dflt;
		const char *want;
		int want_rc;
	} sc[] = {
		{ "550 5.1.1 <a@b>: unknown", '5', "5.1.1", 1 },
		{ "550-5.1.1 first line", '5', "5.1.1", 1 },
		{ "450 4.2.2 mailbox full", '4', "4.2.2", 1 },
		{ "450 4.2.2 mailbox full", '5', "4.2.2", 1 },
		{ "550 5.1.1", '5', "5.1.1", 1 },
		{ "552 5.3.4", '4', "5.3.4", 1 },
		{ "550 4.1.1 class disagrees", '5', "5.1.1", 1 },
		{ "451 5.7.1 class disagrees", '4', "4.7.1", 1 },
		{ "5.7.1 our own reason", '5', "5.7.1", 1 },
		{ "550 5.123.456 x", '5', "5.123.456", 1 },
		{ "550 user unknown", '5', "5.0.0", 0 },
		{ "451 try later", '4', "4.0.0", 0 },
		{ "550 5.1.1234 x", '5', "5.0.0", 0 },
		{ "550 5.1.1x", '5', "5.0.0", 0 },
		{ "550 5.1", '5', "5.0.0", 0 },
		{ "550 5..1", '5', "5.0.0", 0 },
		{ "550 2.0.0 odd", '5', "5.0.0", 0 },
		{ "550  5.1.1 two spaces", '5', "5.0.0", 0 },
		{ "connection refused", '4', "4.0.0", 0 },
		{ "", '5', "5.0.0", 0 },
		{ NULL, '4', "4.0.0", 0 },
		{ "55", '5', "5.0.0", 0 },
		{ "250 2.0.0 ok", '2', "2.0.0", 1 },
		{ "250 5.0.0 disagrees", '2', "2.0.0", 0 },
		{ "250 ok", '2', "2.0.0", 0 },
		{ "2.1.5 our own", '2', "2.1.5", 1 },
	};

	(void)state;
	for (size_t i = 0; i < N(sc); i++) {
		char got[SMTP_STATUS_BUF];
		int rc = smtp_reply_status(sc[i].reply, sc[i].dflt, got);
		if (rc != sc[i].want_rc || strcmp(got, sc[i].want) != 0)
			fail_msg("\"%s\" default %c: got %d %s, want %d %s",
			    sc[i].reply ? sc[i].reply : "(null)",
			    sc[i].dflt, rc, got, sc[i].want_rc,
			    sc[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_lines),
		cmocka_unit_test(test_malformed_lines),
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_reply_text_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
