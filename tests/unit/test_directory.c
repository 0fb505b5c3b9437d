/*
 * Unit tests for the directory's administration (lookup/directory.c,
 * directory_admin.c, directory_alias.c) and for lookup/password.c, on a
 * real SQLite directory in a fresh temporary folder: what each command
 * refuses and why, that logins are exact and addresses are not, that a
 * refused command leaves nothing behind, and the schema's versioning.
 */
#include <crypt.h>

#include "dir_fixture.h"
#include "lookup/password.h"

static void
test_domains(void **state)
{
	struct directory *dir = ((struct fixture *)*state)->dir;
	static const char *const t[] = { "u1@b.test" };

	MUST(dir_domain_add(dir, "B.Test", err));
	MUST(dir_domain_add(dir, "a.test", err));
	REFUSED(dir_domain_add(dir, "b.TEST", err),
	    "domain b.test already exists");
	REFUSED(dir_domain_add(dir, "bad..test", err),
	    "bad domain 'bad..test': empty domain label");
	REFUSED(dir_domain_add(dir, "", err), "bad domain '': empty domain");
	MUST(dir_domain_list(dir, collect1, NULL, err));
	want_listing("domain list", "a.test;b.test;");

	MUST(dir_user_add(dir, "u1@b.test", "u1", NULL, err));
	MUST(dir_user_add(dir, "u2@a.test", "u2", NULL, err));
	MUST(dir_address_add(dir, "u2@b.test", "u2", err));
	MUST(dir_alias_add(dir, "x@b.test", t, 1, err));
	MUST(dir_alias_add(dir, "@b.test", t, 1, err));
	REFUSED(dir_domain_del(dir, "B.test", err), "domain b.test still has "
	    "1 account, 1 address, 2 aliases: delete them first");
	MUST(dir_address_del(dir, "U2@B.TEST", err));
	MUST(dir_alias_del(dir, "X@b.test", err));
	MUST(dir_alias_del(dir, "@B.test", err));
	REFUSED(dir_domain_del(dir, "b.test", err),
	    "domain b.test still has 1 account: delete them first");
	MUST(dir_user_del(dir, "u1", NULL, err));
	MUST(dir_domain_del(dir, "b.test", err));
	REFUSED(dir_domain_del(dir, "b.test", err), "no domain b.test");
	MUST(dir_domain_list(dir, collect1, NULL, err));
	want_listing("domain list", "a.test;");
	assert_int_equal(dir_is_local_domain(dir, "A.TEST"), 1);
	assert_int_equal(dir_is_local_domain(dir, "b.test"), 0);
}

static void
test_users(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	char mailbox[ADDR_BUF];

	MUST(dir_domain_add(dir, "x.test", err));
	REFUSED(dir_user_add(dir, "a@y.test", "a", NULL, err),
	    "unknown domain y.test: add it with tern domain add");
	REFUSED(dir_user_add(dir, "a b@x.test", "a", NULL, err),
	    "bad address 'a b@x.test': invalid character in local part");
	MUST(dir_user_add(dir, "alice@X.test", "Alice", "$y$hash", err));
	/* Logins are exact: "alice" is another login. */
	MUST(dir_user_add(dir, "alice2@x.test", "alice", NULL, err));
	REFUSED(dir_user_add(dir, "alice3@x.test", "Alice", NULL, err),
	    "login 'Alice' already exists");
	/* Addresses are not: any case variant is the same address. */
	REFUSED(dir_user_add(dir, "ALICE@x.test", "other", NULL, err),
	    "address ALICE@x.test already exists (as alice@x.test)");
	REFUSED(dir_user_add(dir, "alice@x.test", "other", NULL, err),
	    "address alice@x.test already exists");
	REFUSED(dir_user_add(dir, "b@x.test", "", NULL, err), "empty login");
	REFUSED(dir_user_add(dir, "b@x.test", "a\tb", NULL, err),
	    "login contains a control character");
	REFUSED(dir_user_add(dir, "b@x.test", "b", "two words", err),
	    "bad password hash: not printable");
	MUST(dir_user_add(dir, "Bob@x.test", "bob@x.test", NULL, err));

	MUST(dir_user_list(dir, collect3, NULL, err));
	want_listing("user list", "Alice|alice@x.test|alice@x.test;"
	    "alice|alice2@x.test|alice2@x.test;"
	    "bob@x.test|Bob@x.test|Bob@x.test;");
	MUST(dir_user_passwd(dir, "alice", "$y$new", err));
	REFUSED(dir_user_passwd(dir, "ALICE", "$y$new", err),
	    "no account with login 'ALICE' (did you mean 'Alice'?)");
	assert_int_equal(raw_count(f, "SELECT count(*) FROM accounts WHERE "
	    "login = 'alice' AND password = '$y$new'"), 1);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM accounts WHERE "
	    "login = 'Alice' AND password = '$y$hash'"), 1);

	REFUSED(dir_user_del(dir, "ALICE", mailbox, err),
	    "no account with login 'ALICE' (did you mean 'Alice'?)");
	REFUSED(dir_user_del(dir, "nobody", mailbox, err),
	    "no account with login 'nobody'");
	MUST(dir_user_del(dir, "Alice", mailbox, err));
	assert_string_equal(mailbox, "alice@x.test");
	MUST(dir_user_list(dir, collect3, NULL, err));
	want_listing("user list after del", "alice|alice2@x.test|alice2@x.test;"
	    "bob@x.test|Bob@x.test|Bob@x.test;");
}

/* Deleting an account takes all of its addresses with it. */
static void
test_user_del_addresses(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	char mailbox[ADDR_BUF];

	MUST(dir_domain_add(dir, "x.test", err));
	MUST(dir_domain_add(dir, "y.test", err));
	MUST(dir_user_add(dir, "a@x.test", "a", NULL, err));
	MUST(dir_user_add(dir, "keep@x.test", "keep", NULL, err));
	MUST(dir_address_add(dir, "a2@x.test", "a", err));
	MUST(dir_address_add(dir, "A@y.test", "a", err));
	MUST(dir_user_list(dir, collect3, NULL, err));
	want_listing("user list", "a|a@x.test|a@x.test,a2@x.test,A@y.test;"
	    "keep|keep@x.test|keep@x.test;");
	MUST(dir_user_del(dir, "a", mailbox, err));
	assert_int_equal(raw_count(f, "SELECT count(*) FROM addresses"), 1);
	MUST(dir_address_add(dir, "a2@X.test", "keep", err));
}

static void
test_addresses(void **state)
{
	struct directory *dir = ((struct fixture *)*state)->dir;
	static const char *const t[] = { "a@x.test" };

	MUST(dir_domain_add(dir, "x.test", err));
	MUST(dir_user_add(dir, "a@x.test", "a", NULL, err));
	MUST(dir_alias_add(dir, "list@x.test", t, 1, err));
	REFUSED(dir_address_add(dir, "b@y.test", "a", err),
	    "unknown domain y.test: add it with tern domain add");
	REFUSED(dir_address_add(dir, "A@x.test", "a", err),
	    "address A@x.test already exists (as a@x.test)");
	REFUSED(dir_address_add(dir, "LIST@x.test", "a", err),
	    "address LIST@x.test is an alias (list@x.test): delete it with "
	    "tern alias del first");
	REFUSED(dir_address_add(dir, "b@x.test", "A", err),
	    "no account with login 'A' (did you mean 'a'?)");
	MUST(dir_address_add(dir, "b@x.test", "a", err));
	REFUSED(dir_address_del(dir, "A@X.TEST", err),
	    "A@x.test is the account's own address: use tern user del");
	REFUSED(dir_address_del(dir, "c@x.test", err), "no address c@x.test");
	MUST(dir_address_del(dir, "B@x.test", err));
	REFUSED(dir_address_del(dir, "b@x.test", err), "no address b@x.test");
}

static void
test_aliases(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	static const char *const two[] = { "a@x.test", "Far@Remote.test" };
	static const char *const bad[] = { "b@x.test", "ghost@x.test" };
	static const char *const bad_syntax[] = { "b@x.test", "no-at-sign" };
	static const char *const a[] = { "a@x.test" };

	MUST(dir_domain_add(dir, "x.test", err));
	MUST(dir_user_add(dir, "a@x.test", "a", NULL, err));
	MUST(dir_user_add(dir, "b@x.test", "b", NULL, err));
	REFUSED(dir_alias_add(dir, "l@remote.test", a, 1, err),
	    "alias source must be in a local domain (remote.test is not)");
	REFUSED(dir_alias_add(dir, "@remote.test", a, 1, err),
	    "alias source must be in a local domain (remote.test is not)");
	REFUSED(dir_alias_add(dir, "@", a, 1, err),
	    "bad alias source '@': empty domain");
	REFUSED(dir_alias_add(dir, "B@x.test", a, 1, err),
	    "B@x.test is an account's address (b@x.test): it cannot be an "
	    "alias source");
	REFUSED(dir_alias_add(dir, "l@x.test", a, 0, err),
	    "alias without a target");
	MUST(dir_alias_add(dir, "l@x.test", two, 2, err));
	/* Adding an existing pair again changes nothing. */
	MUST(dir_alias_add(dir, "L@X.test", two, 2, err));
	/* One command, one transaction: a bad target leaves nothing of the
	 * good one before it. */
	REFUSED(dir_alias_add(dir, "l@x.test", bad, 2, err),
	    "alias l@x.test refused: target ghost@x.test does not exist");
	REFUSED(dir_alias_add(dir, "new@x.test", bad_syntax, 2, err),
	    "bad alias target 'no-at-sign': missing '@'");
	assert_int_equal(raw_count(f, "SELECT count(*) FROM aliases"), 2);
	MUST(dir_alias_add(dir, "@x.test", a, 1, err));
	MUST(dir_alias_list(dir, collect2, NULL, err));
	want_listing("alias list", "@x.test|a@x.test;"
	    "l@x.test|a@x.test;l@x.test|Far@remote.test;");
	REFUSED(dir_alias_del(dir, "nope@x.test", err), "no alias nope@x.test");
	MUST(dir_alias_del(dir, "L@x.test", err));
	MUST(dir_alias_list(dir, collect2, NULL, err));
	want_listing("alias list after del", "@x.test|a@x.test;");
}

/* Reopening finds the schema in place; a newer schema is refused. */
static void
test_schema(void **state)
{
	struct fixture *f = *state;
	char err[DIR_ERR_MAX], want[128];
	sqlite3 *db;

	if (dir_domain_add(f->dir, "x.test", err) < 0)
		fail_msg("domain add: %s", err);
	dir_close(&f->dir);
	if (dir_open(f->tmp, &f->dir, err, sizeof(err)) < 0)
		fail_msg("reopen: %s", err);
	assert_int_equal(dir_is_local_domain(f->dir, "x.test"), 1);
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), dir_schema_latest());
	assert_int_equal(raw_count(f, "SELECT count(*) FROM "
	    "pragma_journal_mode() WHERE journal_mode = 'wal'"), 1);
	dir_close(&f->dir);

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version "
	    "VALUES (99, 0)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(dir_open(f->tmp, &f->dir, err, sizeof(err)), -1);
	assert_null(f->dir);
	snprintf(want, sizeof(want),
	    "schema version 99, newer than this tern knows (%lld)",
	    dir_schema_latest());
	if (strstr(err, want) == NULL)
		fail_msg("newer schema: got '%s'", err);
}

/* A directory at version 1, with an account in it, is brought to the
 * current version on open: the account stays, and gets grants and the
 * audit. */
static void
test_schema_v1_to_v2(void **state)
{
	struct fixture *f = *state;
	char err[DIR_ERR_MAX];
	sqlite3 *db;

	if (dir_domain_add(f->dir, "x.test", err) < 0 ||
	    dir_user_add(f->dir, "a@x.test", "a", NULL, err) < 0)
		fail_msg("setup: %s", err);
	dir_close(&f->dir);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE grants; DROP TABLE "
	    "audit; DROP TABLE audit_rows; DROP INDEX accounts_login_nocase; "
	    "DROP TABLE tls_policies; DROP TABLE known_clients; "
	    "ALTER TABLE accounts DROP COLUMN legacy; "
	    "DELETE FROM schema_version WHERE version >= 2", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), 1);

	if (dir_open(f->tmp, &f->dir, err, sizeof(err)) < 0)
		fail_msg("reopen: %s", err);
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), dir_schema_latest());
	if (dir_sender_allow(f->dir, "a", "*@x.test", err) < 0)
		fail_msg("grant after migration: %s", err);
	assert_int_equal(dir_sender_allowed(f->dir, "a", "b@X.test"), 1);
	assert_int_equal(dir_audit_record(f->dir, "auth-failure", "A", "a",
	    "", "192.0.2.1", "smtp", 100), 0);
	assert_int_equal(raw_count(f, "SELECT n FROM audit_rows"), 1);
}

/* An audit written at version 4 (no protocol) reads as SMTP at version
 * 5, keeps its count, and an IMAP event of the same login and client is
 * a row of its own. */
static void
test_schema_v4_to_v5(void **state)
{
	struct fixture *f = *state;
	char err[DIR_ERR_MAX];
	sqlite3 *db;

	dir_close(&f->dir);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE audit; "
	    "CREATE TABLE audit (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
	    " login TEXT NOT NULL COLLATE BINARY, existing_login TEXT NOT NULL"
	    " COLLATE BINARY, address TEXT NOT NULL COLLATE NOCASE,"
	    " client_ip TEXT NOT NULL, count INTEGER NOT NULL,"
	    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	    " UNIQUE (kind, login, existing_login, address, client_ip));"
	    "INSERT INTO audit VALUES (1, 'case-mismatch', 'A', 'a', '',"
	    " '192.0.2.1', 7, 1, 2);"
	    "UPDATE audit_rows SET n = 1;"
	    "ALTER TABLE accounts DROP COLUMN legacy; "
	    "DELETE FROM schema_version WHERE version >= 5", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	if (dir_open(f->tmp, &f->dir, err, sizeof(err)) < 0)
		fail_msg("reopen: %s", err);
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), dir_schema_latest());
	assert_int_equal(raw_count(f, "SELECT count FROM audit WHERE "
	    "protocol = 'smtp' AND login = 'A'"), 7);
	assert_int_equal(dir_audit_record(f->dir, "case-mismatch", "A", "a",
	    "", "192.0.2.1", "imap", 100), 0);
	assert_int_equal(dir_audit_record(f->dir, "case-mismatch", "A", "a",
	    "", "192.0.2.1", "smtp", 100), 0);
	assert_int_equal(raw_count(f, "SELECT count FROM audit WHERE "
	    "protocol = 'imap'"), 1);
	assert_int_equal(raw_count(f, "SELECT count FROM audit WHERE "
	    "protocol = 'smtp'"), 8);
	/* Version 6: a let-in counts in its row, not in a row of its own. */
	assert_int_equal(dir_audit_let_in(f->dir, "case-mismatch", "A", "a",
	    "", "192.0.2.1", "smtp", 100), 0);
	assert_int_equal(raw_count(f, "SELECT let_in FROM audit WHERE "
	    "protocol = 'smtp'"), 1);
	assert_int_equal(raw_count(f, "SELECT count FROM audit WHERE "
	    "protocol = 'smtp'"), 9);
	/* The triggers came back with the table. */
	assert_int_equal(raw_count(f, "SELECT n FROM audit_rows"), 2);
}

static void
test_password_hash(void **state)
{
	char hash[PASSWORD_HASH_BUF], hash2[PASSWORD_HASH_BUF];
	struct crypt_data *cd = calloc(1, sizeof(*cd));

	(void)state;
	assert_non_null(cd);
	assert_int_equal(password_hash("sesame", hash, sizeof(hash)), 0);
	assert_memory_equal(hash, "$y$", 3);
	assert_int_equal(password_hash("sesame", hash2, sizeof(hash2)), 0);
	/* A fresh salt each time. */
	assert_string_not_equal(hash, hash2);
	assert_string_equal(crypt_r("sesame", hash, cd), hash);
	assert_string_not_equal(crypt_r("Sesame", hash, cd), hash);
	free(cd);
	assert_int_equal(password_hash("sesame", hash, 10), -1);
}

/* Feeds input to password_read_stdin through a pipe on fd 0. */
static int
read_from(const char *input, size_t len, char *out, size_t outlen)
{
	int p[2], saved, rc;

	saved = dup(0);
	assert_true(saved >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], input, len), (ssize_t)len);
	close(p[1]);
	assert_int_equal(dup2(p[0], 0), 0);
	close(p[0]);
	rc = password_read_stdin(out, outlen);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	return rc;
}

static const struct {
	const char *in;
	size_t len;
	size_t outlen;
	int want_rc;
	const char *want;
} read_cases[] = {
	{ "secret\n", 7, 64, 0, "secret" },
	{ "secret\r\nrest", 13, 64, 0, "secret" },
	{ "no newline", 10, 64, 0, "no newline" },
	{ "with space \n", 12, 64, 0, "with space " },
	{ "\n", 1, 64, -1, NULL },
	{ "\r\n", 2, 64, -1, NULL },
	{ "", 0, 64, -1, NULL },
	{ "a\0b\n", 4, 64, -1, NULL },
	{ "12345\n", 6, 6, 0, "12345" },
	{ "123456\n", 7, 6, -1, NULL },
};

static void
test_password_read(void **state)
{
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]);
	    i++) {
		int rc = read_from(read_cases[i].in, read_cases[i].len, out,
		    read_cases[i].outlen);

		if (rc != read_cases[i].want_rc)
			fail_msg("case %zu: got rc %d, want %d", i, rc,
			    read_cases[i].want_rc);
		if (rc == 0 && strcmp(out, read_cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, out,
			    read_cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_del_addresses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_addresses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_v4_to_v5, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schema_v1_to_v2, setup,
		    teardown),
		cmocka_unit_test(test_password_hash),
		cmocka_unit_test(test_password_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
