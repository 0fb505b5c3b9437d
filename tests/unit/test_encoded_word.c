/*
 * Unit tests for smtpd/encoded_word.c: RFC 2047 words decoded as leniently
 * as mail readers do, everything else copied, and never a byte longer
 * than the input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/encoded_word.h"

static const struct {
	const char *in;
	const char *want;
} cases[] = {
	{ "", "" },
	{ "plain text", "plain text" },
	{ "=?utf-8?B?Ym9iQGV4YW1wbGUudGVzdA==?=", "bob@example.test" },
	/* No padding, lower-case b, junk outside the alphabet skipped. */
	{ "=?UTF-8?b?Ym9iQGV4YW1wbGUudGVzdA?=", "bob@example.test" },
	{ "=?utf-8?B?Ym9i!QGV4YW1wbGUudGVzdA==?=", "bob@example.test" },
	{ "=?iso-8859-1?Q?bob=40example=2Etest?=", "bob@example.test" },
	{ "=?utf-8?q?J=C3=B6rg_Doe?=", "J\xc3\xb6rg Doe" },
	/* Only white space between two words goes (RFC 2047 6.2). */
	{ "=?a?q?bob?= =?a?q?=40x.test?=", "bob@x.test" },
	{ "=?a?q?bob?=\t \t=?a?q?=40x.test?=", "bob@x.test" },
	{ "=?a?q?bob?= and =?a?q?x?=", "bob and x" },
	{ "a =?a?q?b?= c", "a b c" },
	/* Not words: copied as they are. */
	{ "=?utf-8?X?abc?=", "=?utf-8?X?abc?=" },
	{ "=?utf-8?Q?a b?=", "=?utf-8?Q?a b?=" },
	{ "=?utf-8?Q?abc", "=?utf-8?Q?abc" },
	{ "=??Q?abc?=", "=??Q?abc?=" },
	{ "=?", "=?" },
	{ "=?utf-8?Q?=4?=", "=4" },
	{ "=?utf-8?Q?=ZZ?=", "=ZZ" },
};

static void
test_encoded_word_table(void **state)
{
	char out[256];
	int failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].in);
		size_t n;

		memset(out, 'X', sizeof(out));
		n = encoded_word_decode(cases[i].in, len, out);
		if (n > len || n != strlen(cases[i].want) ||
		    memcmp(out, cases[i].want, n) != 0) {
			print_error("%s: got \"%.*s\", want \"%s\"\n",
			    cases[i].in, (int)(n <= len ? n : len), out,
			    cases[i].want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* Every prefix of a word decodes within its own length. */
static void
test_encoded_word_never_longer(void **state)
{
	static const char word[] = "=?utf-8?B?Ym9iQGV4YW1wbGUudGVzdA==?= "
	    "=?utf-8?Q?=40=40_x?=";
	char *out;

	(void)state;
	for (size_t len = 0; len <= sizeof(word) - 1; len++) {
		out = malloc(len + 1);
		assert_non_null(out);
		assert_true(encoded_word_decode(word, len, out) <= len);
		free(out);
	}
}

/* The encoded text is looked at for its end only so far: a longer one is
 * not a word, and copied as it is. */
static void
test_encoded_text_bounded(void **state)
{
	static char in[1200], out[1200];
	size_t n;

	(void)state;
	memcpy(in, "=?a?q?", 6);
	memset(in + 6, 'x', sizeof(in) - 8);
	memcpy(in + sizeof(in) - 2, "?=", 2);
	n = encoded_word_decode(in, sizeof(in), out);
	assert_int_equal(n, sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoded_word_table),
		cmocka_unit_test(test_encoded_text_bounded),
		cmocka_unit_test(test_encoded_word_never_longer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
