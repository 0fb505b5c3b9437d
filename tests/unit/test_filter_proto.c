/*
 * Unit tests of tern's filter protocol (plugin/filter_proto.c) and of the
 * filter settings (plugin/filter_conf.c): the field escaping (no client
 * byte can make a space or a line end), every line a filter may write,
 * the lines that must be refused, and a line fed one byte at a time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "plugin/filter_conf.h"
#include "plugin/filter_proto.h"
#include "util/buf.h"

static void
test_field_escape(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "a@b.example", "a@b.example" },
		{ "", "-" },
		{ "-", "%2D" },
		{ "--", "--" },
		{ "a b", "a%20b" },
		{ "x\r\nreport forged", "x%0D%0Areport%20forged" },
		{ "100%", "100%25" },
		{ "\x1b[31m", "%1B[31m" },
		{ "j\xc3\xb6rg", "j%C3%B6rg" },
		{ "\x7f", "%7F" },
		{ "\t", "%09" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		char back[256];
		long n;
		buf_init(&b, 1024);
		assert_int_equal(filter_field(&b, cases[i].in,
		    strlen(cases[i].in)), 0);
		if (strcmp(b.data, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].in,
			    b.data, cases[i].want);
		n = filter_field_decode(b.data, b.len, back, sizeof(back));
		if (n != (long)strlen(cases[i].in) || strcmp(back, cases[i].in) != 0)
			fail_msg("'%s' does not decode back (got %ld)", b.data, n);
		buf_free(&b);
	}
}

static void
test_field_decode_refuses(void **state)
{
	static const char *const bad[] = {
		"%41", "a b", "%2", "%zz", "%0a", "a\nb", "", "%2D%2D",
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (filter_field_decode(bad[i], strlen(bad[i]), out, sizeof(out)) != -1)
			fail_msg("'%s' decoded", bad[i]);
}

static void
test_field_bounded(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(filter_field(&b, "abc", 3), 0);
	assert_int_equal(filter_field(&b, "     ", 5), -1);
	assert_string_equal(b.data, "abc");   /* never half a field */
	buf_free(&b);
}

static struct filter_line
parse_ok(const char *line)
{
	struct filter_line l;
	char err[128];

	if (filter_line_parse(line, strlen(line), &l, err, sizeof(err)) < 0)
		fail_msg("'%s' refused: %s", line, err);
	return l;
}

static void
test_handshake_lines(void **state)
{
	struct filter_line l;

	(void)state;
	l = parse_ok("tern-filter 1");
	assert_int_equal(l.kind, FILTER_LINE_VERSION);
	assert_int_equal(l.version, 1);
	l = parse_ok("tern-filter 2");
	assert_int_equal(l.version, 2);
	l = parse_ok("register report auth");
	assert_int_equal(l.kind, FILTER_LINE_REPORT);
	assert_int_equal(l.which, FILTER_EV_AUTH);
	l = parse_ok("register hook data-end");
	assert_int_equal(l.kind, FILTER_LINE_HOOK);
	assert_int_equal(l.which, FILTER_HOOK_DATA_END);
	l = parse_ok("ready\r");
	assert_int_equal(l.kind, FILTER_LINE_READY);
}

static void
test_replies(void **state)
{
	struct filter_line l;

	(void)state;
	l = parse_ok("reply 7 proceed");
	assert_int_equal(l.kind, FILTER_LINE_REPLY);
	assert_int_equal(l.token, 7);
	assert_int_equal(l.action, FILTER_PROCEED);
	l = parse_ok("reply 18446744073 reject 550 5.7.1 No thanks");
	assert_int_equal(l.token, 18446744073ULL);
	assert_int_equal(l.code, 550);
	assert_string_equal(l.text, "5.7.1 No thanks");
	l = parse_ok("reply 1 reject 554 go away");
	assert_string_equal(l.text, "5.7.1 go away");
	l = parse_ok("reply 1 reject 550");
	assert_string_equal(l.text, "5.7.1");
	l = parse_ok("reply 2 defer 451 4.7.1 Rate limit: 3 per hour");
	assert_int_equal(l.action, FILTER_DEFER);
	assert_string_equal(l.text, "4.7.1 Rate limit: 3 per hour");
	l = parse_ok("reply 3 disconnect 421 bye");
	assert_int_equal(l.action, FILTER_DISCONNECT);
	assert_string_equal(l.text, "4.7.0 bye");
	l = parse_ok("reply 4 add-header X-Filter yes it \tworked");
	assert_int_equal(l.action, FILTER_ADD_HEADER);
	assert_string_equal(l.hname, "X-Filter");
	assert_string_equal(l.hvalue, "yes it \tworked");
	l = parse_ok("reply 5 hold");
	assert_int_equal(l.action, FILTER_HOLD);
	assert_string_equal(l.text, "");
	l = parse_ok("reply 5 hold looks odd");
	assert_string_equal(l.text, "looks odd");
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"", "hello", "tern-filter", "tern-filter one", "tern-filter 01",
		"tern-filter 1 2", "register", "register report", "register "
		"report nothing", "register hook queued", "register  report auth",
		"ready now", "reply", "reply x proceed", "reply -1 proceed",
		"reply 1", "reply 1 accept", "reply 1 proceed now",
		"reply 1 proceed ", "reply 1 reject", "reply 1 reject 450 no",
		"reply 1 reject 5x0 no", "reply 1 reject 5500 no",
		"reply 1 reject 590 no", "reply 1 defer 550 no",
		"reply 1 defer 451 5.7.1 class", "reply 1 disconnect 450 no",
		"reply 1 reject 550 bad\x01text", "reply 1 reject 550 \xc3\xa9",
		"reply 1 add-header", "reply 1 add-header Bad:Name v",
		"reply 1 add-header X v\x01", "reply 1 hold \x1b",
		"reply 99999999999999999999 proceed",
	};
	struct filter_line l;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (filter_line_parse(bad[i], strlen(bad[i]), &l, err,
		    sizeof(err)) != -1)
			fail_msg("'%s' taken", bad[i]);
		if (err[0] == '\0')
			fail_msg("'%s': no reason", bad[i]);
	}
	/* A NUL inside, and a line past the bound. */
	assert_int_equal(filter_line_parse("ready\0", 6, &l, err, sizeof(err)), -1);
	{
		static char big[FILTER_LINE_MAX + 8];
		memset(big, 'a', sizeof(big));
		memcpy(big, "reply 1 hold ", 13);
		assert_int_equal(filter_line_parse(big, sizeof(big), &l, err,
		    sizeof(err)), -1);
	}
}

/* Every prefix of a good line is either refused or a different good line:
 * the parser never reads past what it was given. */
static void
test_prefixes(void **state)
{
	const char *line = "reply 42 reject 550 5.7.1 Spam score too high";
	struct filter_line l;
	char err[128], copy[128];

	(void)state;
	for (size_t n = 0; n <= strlen(line); n++) {
		memcpy(copy, line, n);
		(void)filter_line_parse(copy, n, &l, err, sizeof(err));
	}
	l = parse_ok(line);
	assert_int_equal(l.token, 42);
}

static void
test_conf(void **state)
{
	struct filter_confs fc;
	char why[256];

	(void)state;
	assert_int_equal(filter_confs_parse("rate /usr/bin/python3 /x/r.py "
	    "--limit 3, authfail /bin/true", &fc, why, sizeof(why)), 0);
	assert_int_equal(fc.n, 2);
	assert_string_equal(fc.items[0].name, "rate");
	assert_int_equal(fc.items[0].argc, 4);
	assert_string_equal(fc.items[0].argv[0], "/usr/bin/python3");
	assert_string_equal(fc.items[0].argv[3], "3");
	assert_null(fc.items[0].argv[4]);
	assert_string_equal(fc.items[1].argv[0], "/bin/true");
	filter_confs_free(&fc);
	assert_int_equal(filter_confs_parse("", &fc, why, sizeof(why)), 0);
	assert_int_equal(fc.n, 0);
	filter_confs_free(&fc);
	assert_int_equal(filter_conf_check("x relative", why, sizeof(why)), -1);
	assert_int_equal(filter_conf_check("x", why, sizeof(why)), -1);
	assert_int_equal(filter_conf_check("X /bin/true", why, sizeof(why)), -1);
	assert_int_equal(filter_conf_check("a /bin/true,,", why, sizeof(why)), -1);
	assert_int_equal(filter_conf_check("a /bin/true, a /bin/false", why,
	    sizeof(why)), -1);

	assert_int_equal(filter_timeout_check("30s", why, sizeof(why)), 0);
	assert_int_equal(filter_timeout_check("10s, rate=2s", why, sizeof(why)), 0);
	assert_int_equal(filter_timeout_check("0", why, sizeof(why)), -1);
	assert_int_equal(filter_timeout_check("rate=x", why, sizeof(why)), -1);
	assert_int_equal(filter_timeout_for("10s, rate=2s", "rate"), 2);
	assert_int_equal(filter_timeout_for("10s, rate=2s", "other"), 10);
	assert_int_equal(filter_timeout_for("rate=2s", "other"), 30);
	assert_int_equal(filter_default_check("proceed rate=reject", why,
	    sizeof(why)), 0);
	assert_int_equal(filter_default_check("accept", why, sizeof(why)), -1);
	assert_int_equal(filter_default_for("proceed, rate=reject", "rate"),
	    FILTER_DEFAULT_REJECT);
	assert_int_equal(filter_default_for("proceed, rate=reject", "x"),
	    FILTER_DEFAULT_PROCEED);
	assert_int_equal(filter_default_for("", "x"), FILTER_DEFAULT_DEFER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_escape),
		cmocka_unit_test(test_field_decode_refuses),
		cmocka_unit_test(test_field_bounded),
		cmocka_unit_test(test_handshake_lines),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
