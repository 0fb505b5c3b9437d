/*
 * Unit tests for lookup/password.c: importing hashes made elsewhere
 * (every accepted scheme, bare and behind each Dovecot prefix, made fresh
 * with libxcrypt; malformed, mismatched and unknown ones refused with the
 * reason) and verifying passwords against them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/password.h"

#define PASSWORD "sesame-sesame"
#define ERR_MAX 512
#define HELP "use one of $y$, $2b$, $2y$, $6$, $5$, bare or behind " \
	"{YESCRYPT}, {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT} or {CRYPT}"

/* The schemes, the cost to make their test hashes with (cheap), and the
 * prefixes that may stand before them. */
static const struct {
	const char *id;
	unsigned long count;
	const char *prefix;
} schemes[] = {
	{ "$y$", 0, "{YESCRYPT}" },
	{ "$2b$", 4, "{BLF-CRYPT}" },
	{ "$6$", 1000, "{SHA512-CRYPT}" },
	{ "$5$", 1000, "{SHA256-CRYPT}" },
};

#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* A fresh hash of PASSWORD in scheme id. */
static void
make_hash(const char *id, unsigned long count, char out[PASSWORD_HASH_BUF])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(cd);
	if (crypt_gensalt_rn(id, count, NULL, 0, salt, sizeof(salt)) == NULL)
		fail_msg("crypt_gensalt_rn(%s) failed", id);
	h = crypt_r(PASSWORD, salt, cd);
	if (h == NULL || h[0] == '*')
		fail_msg("crypt_r(%s) failed", salt);
	snprintf(out, PASSWORD_HASH_BUF, "%s", h);
	free(cd);
}

static void
want_import(const char *given, const char *want_stored)
{
	char stored[PASSWORD_HASH_BUF], err[ERR_MAX] = "";

	if (password_import(given, stored, sizeof(stored), err,
	    sizeof(err)) < 0)
		fail_msg("import '%s': refused: %s", given, err);
	if (strcmp(stored, want_stored) != 0)
		fail_msg("import '%s':\n got '%s'\nwant '%s'", given, stored,
		    want_stored);
}

static void
want_refused(const char *given, const char *want_err)
{
	char stored[PASSWORD_HASH_BUF], err[ERR_MAX] = "";

	if (password_import(given, stored, sizeof(stored), err,
	    sizeof(err)) == 0)
		fail_msg("import '%s': accepted, want '%s'", given, want_err);
	if (strcmp(err, want_err) != 0)
		fail_msg("import '%s':\n got '%s'\nwant '%s'", given, err,
		    want_err);
}

/* Each scheme bare, behind its own prefix in any case, and behind
 * {CRYPT}; $2y$ is $2b$ under another name. */
static void
test_import_accepted(void **state)
{
	char hash[PASSWORD_HASH_BUF], given[PASSWORD_HASH_BUF + 32];

	(void)state;
	for (size_t i = 0; i < NSCHEMES; i++) {
		make_hash(schemes[i].id, schemes[i].count, hash);
		want_import(hash, hash);
		snprintf(given, sizeof(given), "%s%s", schemes[i].prefix, hash);
		want_import(given, hash);
		for (char *p = given; *p != '}'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		want_import(given, hash);
		snprintf(given, sizeof(given), "{Crypt}%s", hash);
		want_import(given, hash);
		assert_int_equal(password_verify(PASSWORD, hash), 1);
	}
	make_hash("$2b$", 4, hash);
	memcpy(hash, "$2y$", 4);
	want_import(hash, hash);
	snprintf(given, sizeof(given), "{BLF-CRYPT}%s", hash);
	want_import(given, hash);
	assert_int_equal(password_verify(PASSWORD, hash), 1);
}

/* A prefix that names another scheme than the hash's own. */
static void
test_import_mismatch(void **state)
{
	static const struct {
		const char *prefix, *id;
		unsigned long count;
		const char *want;
	} cases[] = {
		{ "{SHA512-CRYPT}", "$5$", 1000,
		    "{SHA512-CRYPT} does not match a $5$ hash" },
		{ "{sha256-crypt}", "$6$", 1000,
		    "{SHA256-CRYPT} does not match a $6$ hash" },
		{ "{BLF-CRYPT}", "$y$", 0,
		    "{BLF-CRYPT} does not match a $y$ hash" },
		{ "{YESCRYPT}", "$2b$", 4,
		    "{YESCRYPT} does not match a $2b$ hash" },
	};
	char hash[PASSWORD_HASH_BUF], given[PASSWORD_HASH_BUF + 32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_hash(cases[i].id, cases[i].count, hash);
		snprintf(given, sizeof(given), "%s%s", cases[i].prefix, hash);
		want_refused(given, cases[i].want);
	}
}

#define SUM43 "i28uudq99fGqSjlTEJGDybUARgHCXlMCPA5MT7fS0hA"
#define SUM86 SUM43 SUM43
#define BCRYPT_BODY "nOjHxnmXyWe4KqaQ/84k3ebG.m63OV69Tb3SzZuNGZrpHxs0gc6B2"

static const struct {
	const char *given;
	const char *want;
} refused[] = {
	{ "", "empty password hash" },
	{ "{MD5}1B2M2Y8AsgTpgAmY7PhCfg==",
	    "unknown hash scheme '{MD5}': " HELP },
	{ "{SSHA}abcdef", "unknown hash scheme '{SSHA}': " HELP },
	{ "{SHA512-CRYPT$6$abc", "unknown hash scheme: an unclosed '{' "
	    "prefix; " HELP },
	{ "$1$UnpvrvgT$lziOOem24vTx944n6I5840",
	    "unknown hash scheme '$1$': " HELP },
	{ "{CRYPT}$1$UnpvrvgT$lziOOem24vTx944n6I5840",
	    "unknown hash scheme '$1$': " HELP },
	{ "abJnggxhB/yWI", "unknown hash scheme: not a crypt(3) hash; " HELP },
	{ "a plain password", "unknown hash scheme: not a crypt(3) hash; "
	    HELP },
	{ "$2a$05$" BCRYPT_BODY, "$2a$ bcrypt hashes are refused: the variant "
	    "is ambiguous, some were made by a bcrypt with the 8-bit bug "
	    "(CVE-2011-2483); rehash as $2b$ or set a new password" },
	{ "$6$", "malformed $6$ hash: no salt" },
	{ "$6$$" SUM86, "malformed $6$ hash: no salt" },
	{ "$6$abc$short", "malformed $6$ hash: the checksum after the last "
	    "'$' must be 86 characters of [./0-9A-Za-z]" },
	{ "$5$abc$" SUM86, "malformed $5$ hash: the checksum after the last "
	    "'$' must be 43 characters of [./0-9A-Za-z]" },
	{ "$y$j9T$F1omYbcStuqSW7bjN8djL.$" SUM43 "!", "malformed $y$ hash: "
	    "the checksum after the last '$' must be 43 characters of "
	    "[./0-9A-Za-z]" },
	{ "$y$j9T$F1omYbcStuqSW7bjN8djL.$i28uudq99fGqSjlTEJGDybUA!gHCXlMCPA"
	    "5MT7fS0hA", "malformed $y$ hash: the checksum after the last "
	    "'$' must be 43 characters of [./0-9A-Za-z]" },
	{ "$y$!!!$F1omYbcStuqSW7bjN8djL.$" SUM43, "malformed $y$ hash: "
	    "libxcrypt refuses its salt or parameters" },
	{ "$6$salt$extra$" SUM86, "malformed $6$ hash: its salt or "
	    "parameters are not as libxcrypt writes them" },
	{ "$6$rounds=10$salt$" SUM86, "malformed $6$ hash: libxcrypt "
	    "refuses its salt or parameters" },
	{ "$6$rounds=999999999$salt$" SUM86, "$6$ hash with more than "
	    "rounds=1000000: every login would stall" },
	{ "$2b$05$" BCRYPT_BODY "x", "malformed $2b$ hash: want $2b$NN$ and "
	    "53 characters of [./0-9A-Za-z]" },
	{ "$2b$5$" BCRYPT_BODY "x", "malformed $2b$ hash: want $2b$NN$ and "
	    "53 characters of [./0-9A-Za-z]" },
	{ "$2b$31$" BCRYPT_BODY, "$2b$ hash with cost 31: at most 16, or "
	    "every login stalls" },
	{ "$2b$02$" BCRYPT_BODY, "malformed $2b$ hash: libxcrypt refuses "
	    "its salt or parameters" },
	{ " $6$salt$" SUM86, "unknown hash scheme: not a crypt(3) hash; "
	    HELP },
};

static void
test_import_refused(void **state)
{
	char stored[PASSWORD_HASH_BUF], err[ERR_MAX];
	char big[PASSWORD_HASH_BUF + 8], hash[PASSWORD_HASH_BUF];

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		want_refused(refused[i].given, refused[i].want);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "$6$", 3);
	want_refused(big, "password hash longer than 383 bytes");
	/* No room for the result: refused, never cut. */
	make_hash("$6$", 1000, hash);
	assert_int_equal(password_import(hash, stored, 20, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "password hash too long");
}

static void
test_verify(void **state)
{
	char hash[PASSWORD_HASH_BUF], long_pw[PASSWORD_MAX + 2];

	(void)state;
	memset(long_pw, 'x', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	for (size_t i = 0; i < NSCHEMES; i++) {
		make_hash(schemes[i].id, schemes[i].count, hash);
		if (password_verify(PASSWORD, hash) != 1)
			fail_msg("%s: the right password does not match",
			    schemes[i].id);
		if (password_verify("Sesame-sesame", hash) != 0 ||
		    password_verify(PASSWORD "x", hash) != 0 ||
		    password_verify("", hash) != 0 ||
		    password_verify(long_pw, hash) != 0)
			fail_msg("%s: a wrong password matches",
			    schemes[i].id);
	}
	assert_int_equal(password_hash(PASSWORD, hash, sizeof(hash)), 0);
	assert_int_equal(password_verify(PASSWORD, hash), 1);
	assert_int_equal(password_verify("other", hash), 0);
	/* The longest password: hashed and verified whole. */
	long_pw[PASSWORD_MAX] = '\0';
	assert_int_equal(password_hash(long_pw, hash, sizeof(hash)), 0);
	assert_int_equal(password_verify(long_pw, hash), 1);
	long_pw[PASSWORD_MAX - 1] = 'y';
	assert_int_equal(password_verify(long_pw, hash), 0);
	/* Nothing ever matches a missing, empty or unusable hash. */
	assert_int_equal(password_verify(PASSWORD, NULL), 0);
	assert_int_equal(password_verify(PASSWORD, ""), 0);
	assert_int_equal(password_verify("", ""), 0);
	assert_int_equal(password_verify(PASSWORD, "*0"), 0);
	assert_int_equal(password_verify(PASSWORD, "!"), 0);
	assert_int_equal(password_verify(PASSWORD, "$6$abc$short"), 0);
	assert_int_equal(password_verify(PASSWORD, "$y$"), 0);
	assert_int_equal(password_verify(NULL, hash), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_accepted),
		cmocka_unit_test(test_import_mismatch),
		cmocka_unit_test(test_import_refused),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
