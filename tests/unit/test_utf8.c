/*
 * utf8_char(): the one definition of a valid UTF-8 character, with and
 * without the C1 controls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/utf8.h"

static void
test_chars(void **state)
{
	static const struct {
		const char *in;
		size_t n;               /* bytes available */
		size_t want;            /* length, or 0 */
		size_t want_no_c1;
		unsigned long cp;
	} sc[] = {
		{ "a", 1, 1, 1, 'a' },
		{ "\xc3\xa9", 2, 2, 2, 0xe9 },                  /* é */
		{ "\xc2\x85", 2, 2, 0, 0x85 },                  /* C1: NEL */
		{ "\xc2\xa0", 2, 2, 2, 0xa0 },
		{ "\xe2\x82\xac", 3, 3, 3, 0x20ac },            /* € */
		{ "\xf0\x9f\x90\xa6", 4, 4, 4, 0x1f426 },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 4, 0x10ffff },
		{ "\xf4\x90\x80\x80", 4, 0, 0, 0 },             /* past U+10FFFF */
		{ "\xed\xa0\x80", 3, 0, 0, 0 },                 /* surrogate */
		{ "\xc0\xaf", 2, 0, 0, 0 },                     /* overlong '/' */
		{ "\xe0\x80\xaf", 3, 0, 0, 0 },                 /* overlong */
		{ "\xf0\x80\x80\xaf", 4, 0, 0, 0 },             /* overlong */
		{ "\x80", 1, 0, 0, 0 },                         /* stray */
		{ "\xc3", 1, 0, 0, 0 },                         /* cut short */
		{ "\xe2\x82\xac", 2, 0, 0, 0 },                 /* n too small */
		{ "\xc3\x28", 2, 0, 0, 0 },
		{ "\xf8\x88\x80\x80\x80", 5, 0, 0, 0 },
		{ "\xff", 1, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		const unsigned char *p = (const unsigned char *)sc[i].in;
		unsigned long cp = 0;
		size_t got = utf8_char(p, sc[i].n, 0, &cp);
		size_t got_no_c1 = utf8_char(p, sc[i].n, UTF8_NO_C1, NULL);

		if (got != sc[i].want || got_no_c1 != sc[i].want_no_c1)
			fail_msg("case %zu: got %zu/%zu, want %zu/%zu", i, got,
			    got_no_c1, sc[i].want, sc[i].want_no_c1);
		if (got > 0 && cp != sc[i].cp)
			fail_msg("case %zu: code point %lx, want %lx", i, cp,
			    sc[i].cp);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
