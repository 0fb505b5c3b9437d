/*
 * Unit tests of base64 as AUTH uses it: round trips, the RFC 4648 test
 * vectors, and everything non-canonical refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/base64.h"

static void
test_vectors(void **state)
{
	static const struct {
		const char *plain, *encoded;
	} cases[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
		{ "Username:", "VXNlcm5hbWU6" }, { "Password:", "UGFzc3dvcmQ6" },
	};
	char enc[64];
	unsigned char dec[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].plain);
		assert_int_equal(base64_encode((const unsigned char *)cases[i].plain,
		    len, enc, sizeof(enc)), 0);
		if (strcmp(enc, cases[i].encoded) != 0)
			fail_msg("encode '%s': got '%s', want '%s'", cases[i].plain,
			    enc, cases[i].encoded);
		long n = base64_decode(cases[i].encoded, strlen(cases[i].encoded),
		    dec, sizeof(dec));
		if (n != (long)len || memcmp(dec, cases[i].plain, len) != 0)
			fail_msg("decode '%s': got %ld bytes, want '%s'",
			    cases[i].encoded, n, cases[i].plain);
	}
}

static void
test_plain_with_nuls(void **state)
{
	const unsigned char plain[] = "\0alice@example.test\0secret password";
	char enc[128];
	unsigned char dec[128];

	(void)state;
	assert_int_equal(base64_encode(plain, sizeof(plain) - 1, enc, sizeof(enc)), 0);
	assert_int_equal(base64_decode(enc, strlen(enc), dec, sizeof(dec)),
	    (long)sizeof(plain) - 1);
	assert_memory_equal(dec, plain, sizeof(plain) - 1);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "====", "Zm9v Zm9v", "Zm9v\r\n", "Zh==",
		"Zm9=", "Zg==Zg==", "Zm.v", "Zm9v=", "=Zm9",
	};
	unsigned char dec[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long n = base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec));
		if (n != -1)
			fail_msg("'%s': got %ld, want -1 (refused)", bad[i], n);
	}
	/* Does not fit. */
	assert_int_equal(base64_decode("Zm9vYmFy", 8, dec, 5), -1);
	char small[4];
	assert_int_equal(base64_encode((const unsigned char *)"foo", 3, small,
	    sizeof(small)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_plain_with_nuls),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
