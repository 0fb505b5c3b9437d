/*
 * Unit tests for the per-destination TLS policies (lookup/directory_tls.c
 * and migration 3), on a real SQLite directory in a fresh temporary
 * folder: set, replace, get, delete and list; domains without regard to
 * case and never their subdomains; what is refused and why, and that a
 * refusal leaves nothing behind; a version 2 directory brought to version
 * 3 with its data.
 */
#include "dir_fixture.h"
#include "conf/conf.h"

/* Lists the policies as "domain|policy;" and compares with want. */
static void
want_list(struct directory *dir, const char *what, const char *want)
{
	char err[DIR_ERR_MAX];

	listing[0] = '\0';
	if (dir_tls_policy_list(dir, collect2, NULL, err) < 0)
		fail_msg("%s: list: %s", what, err);
	want_listing(what, want);
}

/* dir_tls_policy_get()'s answer for domain: -2 for "none", else the
 * policy; an error fails the test. */
static int
get(struct directory *dir, const char *domain)
{
	int policy = -3;

	switch (dir_tls_policy_get(dir, domain, &policy)) {
	case 1:
		return policy;
	case 0:
		if (policy != -3)
			fail_msg("get %s: none, but policy_r was set", domain);
		return -2;
	default:
		fail_msg("get %s: error", domain);
		return -1;
	}
}

static void
test_set_get(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *domain, *policy;
		int want;
	} cases[] = {
		{ "may.test", "may", CONF_TLS_MAY },
		{ "encrypt.test", "encrypt", CONF_TLS_ENCRYPT },
		{ "verify.test", "verify", CONF_TLS_VERIFY },
		{ "upper.test", "VERIFY", CONF_TLS_VERIFY },
		{ "Mixed.Example.ORG", "Encrypt", CONF_TLS_ENCRYPT },
	};
	int got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		MUST(dir_tls_policy_set(f->dir, cases[i].domain,
		    cases[i].policy, err));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((got = get(f->dir, cases[i].domain)) != cases[i].want)
			fail_msg("get %s: got %d, want %d", cases[i].domain,
			    got, cases[i].want);
	}
	/* Stored in lower case, listed in domain order, words lower case. */
	want_list(f->dir, "list", "encrypt.test|encrypt;may.test|may;"
	    "mixed.example.org|encrypt;upper.test|verify;verify.test|verify;");
	/* Looked up in any case; exact domains only: neither a subdomain
	 * nor a parent shares the policy. */
	assert_int_equal(get(f->dir, "VERIFY.Test"), CONF_TLS_VERIFY);
	assert_int_equal(get(f->dir, "mixed.example.org"), CONF_TLS_ENCRYPT);
	assert_int_equal(get(f->dir, "mx.verify.test"), -2);
	assert_int_equal(get(f->dir, "example.org"), -2);
	assert_int_equal(get(f->dir, "other.test"), -2);
	assert_int_equal(get(f->dir, ""), -2);
	assert_int_equal(get(f->dir, "[192.0.2.1]"), -2);
}

/* A name longer than any domain has no policy, and is not read past its
 * bound. */
static void
test_get_long(void **state)
{
	struct fixture *f = *state;
	char name[ADDR_DOMAIN_MAX + 2];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(get(f->dir, name), -2);
}

static void
test_replace(void **state)
{
	struct fixture *f = *state;

	MUST(dir_tls_policy_set(f->dir, "example.org", "may", err));
	assert_int_equal(get(f->dir, "example.org"), CONF_TLS_MAY);
	MUST(dir_tls_policy_set(f->dir, "EXAMPLE.org", "verify", err));
	assert_int_equal(get(f->dir, "example.org"), CONF_TLS_VERIFY);
	want_list(f->dir, "after replace", "example.org|verify;");
	MUST(dir_tls_policy_set(f->dir, "example.org", "encrypt", err));
	assert_int_equal(get(f->dir, "Example.Org"), CONF_TLS_ENCRYPT);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM tls_policies"), 1);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM tls_policies "
	    "WHERE created > 0"), 1);
}

static void
test_del(void **state)
{
	struct fixture *f = *state;

	MUST(dir_tls_policy_set(f->dir, "a.test", "verify", err));
	MUST(dir_tls_policy_set(f->dir, "b.test", "encrypt", err));
	MUST(dir_tls_policy_del(f->dir, "A.TEST", err));
	assert_int_equal(get(f->dir, "a.test"), -2);
	assert_int_equal(get(f->dir, "b.test"), CONF_TLS_ENCRYPT);
	want_list(f->dir, "after del", "b.test|encrypt;");
	REFUSED(dir_tls_policy_del(f->dir, "a.test", err),
	    "no TLS policy for a.test");
	REFUSED(dir_tls_policy_del(f->dir, "C.Test", err),
	    "no TLS policy for c.test");
	REFUSED(dir_tls_policy_del(f->dir, "b..test", err),
	    "bad domain 'b..test': empty domain label");
	/* A subdomain's policy is not its parent's. */
	REFUSED(dir_tls_policy_del(f->dir, "mx.b.test", err),
	    "no TLS policy for mx.b.test");
	MUST(dir_tls_policy_del(f->dir, "b.test", err));
	want_list(f->dir, "empty", "");
}

/* Refused, with the reason; nothing is stored. */
static void
test_refused(void **state)
{
	struct fixture *f = *state;
	char longlabel[80], longname[300];

	memset(longlabel, 'a', 64);
	snprintf(longlabel + 64, sizeof(longlabel) - 64, ".test");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (size_t i = 1; i < sizeof(longname) - 1; i += 2)
		longname[i] = '.';

	REFUSED(dir_tls_policy_set(f->dir, "", "may", err),
	    "bad domain '': empty domain");
	REFUSED(dir_tls_policy_set(f->dir, "a..test", "may", err),
	    "bad domain 'a..test': empty domain label");
	REFUSED(dir_tls_policy_set(f->dir, ".test", "may", err),
	    "bad domain '.test': empty domain label");
	REFUSED(dir_tls_policy_set(f->dir, "-a.test", "may", err),
	    "bad domain '-a.test': domain label starts or ends with '-'");
	REFUSED(dir_tls_policy_set(f->dir, "a_b.test", "may", err),
	    "bad domain 'a_b.test': invalid character in domain");
	REFUSED(dir_tls_policy_set(f->dir, "*.test", "may", err),
	    "bad domain '*.test': invalid character in domain");
	REFUSED(dir_tls_policy_set(f->dir, "[192.0.2.1]", "may", err),
	    "bad domain '[192.0.2.1]': invalid character in domain");
	REFUSED(dir_tls_policy_set(f->dir, "b\xc3\xbc" "cher.test", "may",
	    err), "bad domain 'b\xc3\xbc" "cher.test': non-ASCII domain "
	    "without SMTPUTF8");
	REFUSED(dir_tls_policy_set(f->dir, longlabel, "may", err),
	    "bad domain 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaa.test': domain label too long");
	{
		char err[DIR_ERR_MAX] = "";

		if (dir_tls_policy_set(f->dir, longname, "may", err) == 0)
			fail_msg("set of a 299-byte name succeeded");
		if (strncmp(err, "bad domain 'a.a.a.", 18) != 0 ||
		    strstr(err, "...': domain too long") == NULL)
			fail_msg("long name: got '%s'", err);
	}

	REFUSED(dir_tls_policy_set(f->dir, "example.org", "strict", err),
	    "bad TLS policy 'strict': use may, encrypt or verify");
	REFUSED(dir_tls_policy_set(f->dir, "example.org", "", err),
	    "bad TLS policy '': use may, encrypt or verify");
	REFUSED(dir_tls_policy_set(f->dir, "example.org", "verify ", err),
	    "bad TLS policy 'verify ': use may, encrypt or verify");
	REFUSED(dir_tls_policy_set(f->dir, "example.org", "none", err),
	    "bad TLS policy 'none': use may, encrypt or verify");
	REFUSED(dir_tls_policy_set(f->dir, "example.org", longname, err),
	    "bad TLS policy 'a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a."
	    "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a....': use may, encrypt or verify");
	want_list(f->dir, "after refusals", "");
	assert_int_equal(raw_count(f, "SELECT count(*) FROM tls_policies"), 0);
}

/* The table itself refuses words the code would never store, and a word
 * that got past it anyway is an error for the queue, not "may". */
static void
test_table_check(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO tls_policies VALUES "
	    "('x.test', 'none', 0)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO tls_policies VALUES "
	    "(NULL, 'may', 0)", NULL, NULL, NULL), SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db, "PRAGMA ignore_check_constraints = "
	    "ON; INSERT INTO tls_policies VALUES ('x.test', 'none', 0)",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(dir_tls_policy_get(f->dir, "x.test", &(int){ 0 }),
	    -1);
}

/* A directory at version 2, with a domain, an account and a grant, is
 * brought to version 3 on open: its data stays, and policies work. */
static void
test_migrate_v2(void **state)
{
	struct fixture *f = *state;
	char why[DIR_ERR_MAX];

	MUST(dir_domain_add(f->dir, "x.test", err));
	MUST(dir_user_add(f->dir, "a@x.test", "a", NULL, err));
	MUST(dir_sender_allow(f->dir, "a", "*@x.test", err));
	dir_close(&f->dir);
	raw_exec(f, "DROP TABLE tls_policies; DROP TABLE known_clients; "
	    "ALTER TABLE accounts DROP COLUMN legacy; "
	    "DELETE FROM schema_version WHERE version >= 3");
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), 2);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'tls_policies'"), 0);

	if (dir_open(f->tmp, &f->dir, why, sizeof(why)) < 0)
		fail_msg("reopen: %s", why);
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), dir_schema_latest());
	assert_int_equal(dir_is_local_domain(f->dir, "x.test"), 1);
	assert_int_equal(dir_sender_allowed(f->dir, "a", "b@x.test"), 1);
	assert_int_equal(get(f->dir, "x.test"), -2);
	MUST(dir_tls_policy_set(f->dir, "remote.test", "verify", err));
	assert_int_equal(get(f->dir, "remote.test"), CONF_TLS_VERIFY);

	/* Opening again changes nothing. */
	dir_close(&f->dir);
	if (dir_open(f->tmp, &f->dir, why, sizeof(why)) < 0)
		fail_msg("reopen: %s", why);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM schema_version"),
	    dir_schema_latest());
	want_list(f->dir, "after reopen", "remote.test|verify;");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_long, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_check, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
