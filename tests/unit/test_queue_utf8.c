/*
 * Unit tests of the scan for UTF-8 in a message's header section (does it
 * need SMTPUTF8?): whole and a byte at a time, where the section ends,
 * bare LF, and 8-bit bytes only after the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "queue/queue_utf8.h"

static const struct {
	const char *msg;
	int utf8;       /* a byte >= 0x80 in the header section */
	int ends;       /* the section ends in msg */
} cases[] = {
	{ "Subject: hi\r\n\r\nbody\r\n", 0, 1 },
	{ "Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\nbody\r\n", 1, 0 },
	{ "Subject: hi\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n", 0, 1 },
	{ "Subject: hi\r\n folded \xc3\xa9\r\n\r\n", 1, 0 },
	{ "\r\nSubject: \xc3\xa9\r\n", 0, 1 },          /* no header at all */
	{ "Subject: hi\n\n\xff", 0, 1 },                /* bare LF */
	{ "Subject: hi\r\nTo: <a@b>\r\n", 0, 0 },        /* no end */
	{ "Subject: hi\r\r\n\r\n\xff", 0, 1 },
	{ "X: \x80\r\n", 1, 0 },
};

static void
test_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t line_len = 0;
		int end;
		int r = queue_utf8_header_scan((const unsigned char *)cases[i].msg,
		    strlen(cases[i].msg), &line_len, &end);
		if (r != cases[i].utf8 || (!r && end != cases[i].ends))
			fail_msg("case %zu: got utf8 %d end %d, want %d %d", i, r,
			    end, cases[i].utf8, cases[i].ends);
	}
}

static void
test_byte_at_a_time(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const unsigned char *p = (const unsigned char *)cases[i].msg;
		size_t n = strlen(cases[i].msg), line_len = 0;
		int r = 0, end = 0;
		for (size_t k = 0; k < n && !r && !end; k++)
			r = queue_utf8_header_scan(p + k, 1, &line_len, &end);
		if (r != cases[i].utf8 || (!r && end != cases[i].ends))
			fail_msg("case %zu: got utf8 %d end %d, want %d %d", i, r,
			    end, cases[i].utf8, cases[i].ends);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_byte_at_a_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
