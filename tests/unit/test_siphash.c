/*
 * Unit test of SipHash-2-4 against the reference vectors (key 00..0f,
 * input 00..n-1), and of the random key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/siphash.h"

static void
test_reference_vectors(void **state)
{
	struct siphash_key k = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
	uint8_t in[15];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	assert_true(siphash24(&k, in, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(siphash24(&k, in, 15) == 0xa129ca6149be45e5ULL);
}

static void
test_random_keys_differ(void **state)
{
	struct siphash_key a, b;

	(void)state;
	siphash_key_random(&a);
	siphash_key_random(&b);
	assert_true(a.k0 != b.k0 || a.k1 != b.k1);
	assert_true(siphash24(&a, "x", 1) != siphash24(&b, "x", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_random_keys_differ),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
