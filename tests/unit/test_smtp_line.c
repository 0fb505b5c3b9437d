/*
 * The command-line cutter (smtpd/smtp_line.c), fed whole and one byte at a
 * time: the same lines and verdicts come out either way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "smtpd/smtp_line.h"

#define MAX 16

/* Cuts input, fed in chunks of step bytes (0: whole), into a text such as
 * "OK(NOOP) LONG LF CR" naming each line's verdict. */
static void
cut_all(const char *input, size_t len, size_t step, char *out, size_t outlen)
{
	struct smtp_line_cutter cut = { MAX, 0 };
	struct evbuffer *in = evbuffer_new();
	char line[MAX + 1];
	size_t fed = 0, got;

	out[0] = '\0';
	assert_non_null(in);
	while (fed < len || evbuffer_get_length(in) > 0) {
		size_t n = step == 0 || len - fed < step ? len - fed : step;
		assert_int_equal(evbuffer_add(in, input + fed, n), 0);
		fed += n;
		for (;;) {
			enum smtp_line_result r = smtp_line_take(&cut, in, line, &got);
			size_t o = strlen(out);
			if (r == SMTP_LINE_MORE)
				break;
			snprintf(out + o, outlen - o, "%s%s", o ? " " : "",
			    r == SMTP_LINE_OK ? "OK(" : r == SMTP_LINE_TOO_LONG ?
			    "LONG" : r == SMTP_LINE_BARE_LF ? "LF" : "CR");
			if (r == SMTP_LINE_OK) {
				o = strlen(out);
				snprintf(out + o, outlen - o, "%s)", line);
				assert_int_equal(got, strlen(line) + 2);
			}
		}
		if (fed == len)
			break;
	}
	evbuffer_free(in);
}

static void
test_lines(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} sc[] = {
		{ "NOOP\r\nQUIT\r\n", 12, "OK(NOOP) OK(QUIT)" },
		{ "NOOP\nQUIT\r\n", 11, "LF OK(QUIT)" },
		{ "NO\rOP\r\n", 7, "CR" },
		{ "NO\0OP\r\n", 7, "CR" },
		{ "\r\n", 2, "OK()" },
		{ "\n", 1, "LF" },
		{ "12345678901234\r\n", 16, "OK(12345678901234)" },
		{ "123456789012345\r\nNOOP\r\n", 23, "LONG OK(NOOP)" },
		{ "1234567890123456789012345678901234567890\r\nQUIT\r\n", 48,
		    "LONG OK(QUIT)" },
		{ "NOOP", 4, "" },
	};
	char whole[256], bytes[256];

	(void)state;
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		cut_all(sc[i].in, sc[i].len, 0, whole, sizeof(whole));
		cut_all(sc[i].in, sc[i].len, 1, bytes, sizeof(bytes));
		if (strcmp(whole, sc[i].want) != 0)
			fail_msg("case %zu whole: got \"%s\", want \"%s\"", i,
			    whole, sc[i].want);
		if (strcmp(bytes, sc[i].want) != 0)
			fail_msg("case %zu byte by byte: got \"%s\", want \"%s\"",
			    i, bytes, sc[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
