/*
 * Unit tests for authentication, sender binding, grants and the audit
 * (lookup/directory_auth.c, directory_grant.c, directory_audit.c) on a
 * real SQLite directory in a fresh temporary folder: logins are exact and
 * a case variant is told apart; an account sends only as its addresses
 * and grants; deleting it revokes both at once; the audit counts and
 * stays under its cap.
 */
#include "dir_fixture.h"
#include "lookup/password.h"

static void
collect_audit(void *arg, const struct dir_audit_row *r)
{
	(void)arg;
	listing_add("%s|%s|%s|%s|%s|%llu;", r->kind, r->login,
	    r->existing_login, r->address, r->client_ip, r->count);
}

/* ---- dir_auth_verify ---- */

static void
add_user(struct directory *dir, const char *addr, const char *login,
    const char *password)
{
	char hash[PASSWORD_HASH_BUF];

	if (password != NULL)
		assert_int_equal(password_hash(password, hash, sizeof(hash)),
		    0);
	MUST(dir_user_add(dir, addr, login, password ? hash : NULL, err));
}

static const struct {
	const char *login, *password;
	enum dir_auth_status want;
	const char *want_existing;
	int want_ok;
} auth_cases[] = {
	{ "alice", "alice-password", DIR_AUTH_OK, "", 0 },
	{ "alice", "Alice-password", DIR_AUTH_PASSWORD, "", 0 },
	{ "alice", "", DIR_AUTH_PASSWORD, "", 0 },
	{ "Alice", "alice-password", DIR_AUTH_CASE_MISMATCH, "alice", 1 },
	{ "ALICE", "wrong-password", DIR_AUTH_CASE_MISMATCH, "alice", 0 },
	{ "nobody", "alice-password", DIR_AUTH_UNKNOWN, "", 0 },
	{ "alice ", "alice-password", DIR_AUTH_UNKNOWN, "", 0 },
	{ "", "x", DIR_AUTH_UNKNOWN, "", 0 },
	/* Two case variants: exact ones log in, others meet the first. */
	{ "Carol", "carol-one-password", DIR_AUTH_OK, "", 0 },
	{ "CAROL", "carol-two-password", DIR_AUTH_OK, "", 0 },
	{ "carol", "carol-one-password", DIR_AUTH_CASE_MISMATCH, "Carol", 1 },
	{ "carol", "carol-two-password", DIR_AUTH_CASE_MISMATCH, "Carol", 0 },
	/* No password: never logs in, whatever is typed. */
	{ "nopass", "", DIR_AUTH_PASSWORD, "", 0 },
	{ "nopass", "anything", DIR_AUTH_PASSWORD, "", 0 },
	{ "NOPASS", "", DIR_AUTH_CASE_MISMATCH, "nopass", 0 },
	/* An imported hash that crypt cannot use matches nothing. */
	{ "broken", "", DIR_AUTH_PASSWORD, "", 0 },
};

static void
test_auth_verify(void **state)
{
	struct directory *dir = ((struct fixture *)*state)->dir;
	char existing[DIR_LOGIN_MAX], long_login[DIR_LOGIN_MAX + 10];
	int ok;

	MUST(dir_domain_add(dir, "x.test", err));
	add_user(dir, "alice@x.test", "alice", "alice-password");
	add_user(dir, "c1@x.test", "Carol", "carol-one-password");
	add_user(dir, "c2@x.test", "CAROL", "carol-two-password");
	add_user(dir, "np@x.test", "nopass", NULL);
	MUST(dir_user_add(dir, "b@x.test", "broken", "$6$abc$short", err));
	for (size_t i = 0; i < sizeof(auth_cases) / sizeof(auth_cases[0]);
	    i++) {
		enum dir_auth_status st;

		memset(existing, 'z', sizeof(existing));
		ok = -1;
		st = dir_auth_verify(dir, auth_cases[i].login,
		    auth_cases[i].password, existing, &ok);
		if (st != auth_cases[i].want ||
		    strcmp(existing, auth_cases[i].want_existing) != 0 ||
		    ok != auth_cases[i].want_ok)
			fail_msg("'%s' / '%s': got status %d existing '%s' "
			    "ok %d, want %d '%s' %d", auth_cases[i].login,
			    auth_cases[i].password, st, existing, ok,
			    auth_cases[i].want, auth_cases[i].want_existing,
			    auth_cases[i].want_ok);
	}
	memset(long_login, 'a', sizeof(long_login) - 1);
	long_login[sizeof(long_login) - 1] = '\0';
	assert_int_equal(dir_auth_verify(dir, long_login, "x", existing, &ok),
	    DIR_AUTH_UNKNOWN);
}

/* ---- sender binding ---- */

static const struct {
	const char *login, *address;
	int want;
} sender_cases[] = {
	/* Its own addresses, in any case. */
	{ "alice", "alice@x.test", 1 },
	{ "alice", "ALICE@X.Test", 1 },
	{ "alice", "a2@y.test", 1 },
	{ "alice", "A2@Y.TEST", 1 },
	/* Not another account's, nor anything else. */
	{ "alice", "bob@x.test", 0 },
	{ "alice", "stranger@x.test", 0 },
	{ "alice", "alice@y.test", 0 },
	{ "alice", "", 0 },
	/* Logins are exact. */
	{ "Alice", "alice@x.test", 0 },
	{ "nobody", "alice@x.test", 0 },
	/* Grants: a whole domain, one address, the null sender. */
	{ "bob", "bob@x.test", 1 },
	{ "bob", "anyone@company.example", 1 },
	{ "bob", "Anyone@COMPANY.Example", 1 },
	{ "bob", "x@sub.company.example", 0 },
	{ "bob", "x@company.example.org", 0 },
	{ "bob", "boss@other.example", 1 },
	{ "bob", "BOSS@Other.Example", 1 },
	{ "bob", "boss2@other.example", 0 },
	{ "bob", "", 1 },
	{ "bob", "alice@x.test", 0 },
	/* A pattern is not a wildcard for anyone else. */
	{ "alice", "*@company.example", 0 },
	{ "alice", "anyone@company.example", 0 },
	{ "alice", "<>", 0 },
};

static void
setup_senders(struct directory *dir)
{
	MUST(dir_domain_add(dir, "x.test", err));
	MUST(dir_domain_add(dir, "y.test", err));
	add_user(dir, "alice@x.test", "alice", NULL);
	add_user(dir, "bob@x.test", "bob", NULL);
	MUST(dir_address_add(dir, "a2@y.test", "alice", err));
	MUST(dir_sender_allow(dir, "bob", "*@Company.Example", err));
	MUST(dir_sender_allow(dir, "bob", "Boss@other.example", err));
	MUST(dir_sender_allow(dir, "bob", "<>", err));
}

static void
test_sender_allowed(void **state)
{
	struct directory *dir = ((struct fixture *)*state)->dir;
	char long_addr[ADDR_BUF + 10];

	setup_senders(dir);
	for (size_t i = 0; i < sizeof(sender_cases) / sizeof(sender_cases[0]);
	    i++) {
		int got = dir_sender_allowed(dir, sender_cases[i].login,
		    sender_cases[i].address);

		if (got != sender_cases[i].want)
			fail_msg("'%s' as '%s': got %d, want %d",
			    sender_cases[i].login, sender_cases[i].address,
			    got, sender_cases[i].want);
	}
	memset(long_addr, 'a', sizeof(long_addr) - 1);
	long_addr[sizeof(long_addr) - 1] = '\0';
	memcpy(long_addr + sizeof(long_addr) - 20, "@company.example", 17);
	assert_int_equal(dir_sender_allowed(dir, "bob", long_addr), 0);
}

static void
test_grants_admin(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;

	setup_senders(dir);
	REFUSED(dir_sender_allow(dir, "bob", "*@company.EXAMPLE", err),
	    "grant already exists: 'bob' may send as *@company.example");
	REFUSED(dir_sender_allow(dir, "bob", "boss@OTHER.example", err),
	    "grant already exists: 'bob' may send as boss@other.example");
	REFUSED(dir_sender_allow(dir, "BOB", "x@y.test", err),
	    "no account with login 'BOB' (did you mean 'bob'?)");
	REFUSED(dir_sender_allow(dir, "nobody", "x@y.test", err),
	    "no account with login 'nobody'");
	REFUSED(dir_sender_allow(dir, "alice", "*@", err),
	    "bad sender pattern '*@': empty domain");
	REFUSED(dir_sender_allow(dir, "alice", "*@bad..example", err),
	    "bad sender pattern '*@bad..example': empty domain label");
	REFUSED(dir_sender_allow(dir, "alice", "*", err),
	    "bad sender pattern '*': missing '@' (use an address, *@domain "
	    "or <>)");
	REFUSED(dir_sender_allow(dir, "alice", "@x.test", err),
	    "bad sender pattern '@x.test': empty local part (use an address, "
	    "*@domain or <>)");
	REFUSED(dir_sender_allow(dir, "alice", "< >", err),
	    "bad sender pattern '< >': empty local part (use an address, "
	    "*@domain or <>)");
	MUST(dir_sender_allow(dir, "alice", "J\xc3\xb6rg@Example.ORG", err));
	MUST(dir_sender_list(dir, NULL, collect2, NULL, err));
	want_listing("sender list", "alice|J\xc3\xb6rg@example.org;"
	    "bob|*@company.example;bob|<>;bob|Boss@other.example;");
	MUST(dir_sender_list(dir, "alice", collect2, NULL, err));
	want_listing("sender list alice", "alice|J\xc3\xb6rg@example.org;");
	REFUSED(dir_sender_list(dir, "Alice", collect2, NULL, err),
	    "no account with login 'Alice' (did you mean 'alice'?)");

	REFUSED(dir_sender_revoke(dir, "bob", "*@other.example", err),
	    "no grant *@other.example for 'bob'");
	REFUSED(dir_sender_revoke(dir, "alice", "<>", err),
	    "no grant <> for 'alice'");
	REFUSED(dir_sender_revoke(dir, "Bob", "<>", err),
	    "no account with login 'Bob' (did you mean 'bob'?)");
	MUST(dir_sender_revoke(dir, "bob", "*@COMPANY.example", err));
	MUST(dir_sender_revoke(dir, "bob", "<>", err));
	assert_int_equal(dir_sender_allowed(dir, "bob", "a@company.example"),
	    0);
	assert_int_equal(dir_sender_allowed(dir, "bob", ""), 0);
	assert_int_equal(dir_sender_allowed(dir, "bob", "boss@other.example"),
	    1);
	MUST(dir_sender_list(dir, "bob", collect2, NULL, err));
	want_listing("sender list bob", "bob|Boss@other.example;");
	assert_int_equal(raw_count(f, "SELECT count(*) FROM grants"), 2);
}

/* tern user del takes the addresses and the grants in one statement:
 * from then on nobody sends as them, and the other accounts are as they
 * were.  The cascade works only with foreign keys on, which dir_open
 * insists on. */
static void
test_user_del_revokes(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;

	setup_senders(dir);
	MUST(dir_sender_allow(dir, "alice", "*@company.example", err));
	assert_int_equal(dir_sender_allowed(dir, "alice", "a2@y.test"), 1);
	assert_int_equal(dir_sender_allowed(dir, "alice", "x@company.example"),
	    1);
	MUST(dir_user_del(dir, "bob", NULL, err));
	assert_int_equal(raw_count(f, "SELECT count(*) FROM grants"), 1);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM grants WHERE "
	    "account_id NOT IN (SELECT id FROM accounts)"), 0);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM addresses WHERE "
	    "account_id NOT IN (SELECT id FROM accounts)"), 0);
	for (size_t i = 0; i < sizeof(sender_cases) / sizeof(sender_cases[0]);
	    i++)
		if (strcmp(sender_cases[i].login, "bob") == 0 &&
		    dir_sender_allowed(dir, "bob", sender_cases[i].address))
			fail_msg("deleted bob still sends as '%s'",
			    sender_cases[i].address);
	assert_int_equal(dir_sender_allowed(dir, "alice", "x@company.example"),
	    1);
	assert_int_equal(dir_sender_allowed(dir, "alice", "bob@x.test"), 0);

	/* A new account of the same login starts with nothing. */
	add_user(dir, "bob2@x.test", "bob", NULL);
	assert_int_equal(dir_sender_allowed(dir, "bob", "bob@x.test"), 0);
	assert_int_equal(dir_sender_allowed(dir, "bob", "a@company.example"),
	    0);
	assert_int_equal(dir_sender_allowed(dir, "bob", ""), 0);
	MUST(dir_sender_list(dir, "bob", collect2, NULL, err));
	want_listing("grants of the new bob", "");

	/* Alice's go too, with her. */
	MUST(dir_user_del(dir, "alice", NULL, err));
	assert_int_equal(raw_count(f, "SELECT count(*) FROM grants"), 0);
	assert_int_equal(dir_sender_allowed(dir, "alice", "a2@y.test"), 0);
}

/* ---- the audit ---- */

static void
audit(struct directory *dir, const char *kind, const char *login,
    const char *existing, const char *address, const char *client,
    unsigned max)
{
	if (dir_audit_record(dir, kind, login, existing, address, client,
	    "smtp", max) < 0)
		fail_msg("dir_audit_record(%s, %s) failed", kind, login);
}

#define AUDIT_ALL "sender-outside-binding|co||Boss@X.test|198.51.100.7|5;" \
	"sender-outside-binding|co||other@x.test|198.51.100.7|1;" \
	"case-mismatch|Demo|demo||192.0.2.1|3;" \
	"auth-failure|Demo|demo||192.0.2.1|1;" \
	"auth-failure|CO|||198.51.100.7|1;" \
	"case-mismatch|Demo|demo||192.0.2.2|1;"

static void
test_audit_counts(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	char long_login[1000];

	for (int i = 0; i < 3; i++)
		audit(dir, "case-mismatch", "Demo", "demo", "", "192.0.2.1",
		    100);
	audit(dir, "auth-failure", "Demo", "demo", "", "192.0.2.1", 100);
	audit(dir, "case-mismatch", "Demo", "demo", "", "192.0.2.2", 100);
	/* Addresses count as one whatever their case; logins do not. */
	audit(dir, "sender-outside-binding", "co", "", "Boss@X.test",
	    "198.51.100.7", 100);
	for (int i = 0; i < 4; i++)
		audit(dir, "sender-outside-binding", "co", "", "boss@x.test",
		    "198.51.100.7", 100);
	audit(dir, "sender-outside-binding", "co", "", "other@x.test",
	    "198.51.100.7", 100);
	audit(dir, "auth-failure", "CO", "", "", "198.51.100.7", 100);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit"), 6);
	assert_int_equal(raw_count(f, "SELECT n FROM audit_rows"), 6);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE "
	    "first_seen > last_seen OR last_seen = 0"), 0);

	/* A block per login and client, the busiest block first (ties by
	 * login, bytewise), the most frequent event first inside. */
	MUST(dir_audit_list(dir, 0, collect_audit, NULL, err));
	want_listing("audit", AUDIT_ALL);

	/* since: only what was seen at or after it. */
	raw_exec(f, "UPDATE audit SET first_seen = 1000, last_seen = 2000 "
	    "WHERE login = 'co'");
	MUST(dir_audit_list(dir, 2000, collect_audit, NULL, err));
	want_listing("audit since 2000", AUDIT_ALL);
	MUST(dir_audit_list(dir, 2001, collect_audit, NULL, err));
	want_listing("audit since 2001", "case-mismatch|Demo|demo||192.0.2.1|3;"
	    "auth-failure|Demo|demo||192.0.2.1|1;"
	    "auth-failure|CO|||198.51.100.7|1;"
	    "case-mismatch|Demo|demo||192.0.2.2|1;");
	/* Counting again moves last_seen, not first_seen. */
	audit(dir, "sender-outside-binding", "co", "", "BOSS@x.test",
	    "198.51.100.7", 100);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE "
	    "login = 'co' AND count = 6 AND first_seen = 1000 AND "
	    "last_seen > 2000"), 1);

	/* A value too long to store is cut, not lost. */
	memset(long_login, 'L', sizeof(long_login) - 1);
	long_login[sizeof(long_login) - 1] = '\0';
	audit(dir, "auth-failure", long_login, "", "", "192.0.2.9", 100);
	assert_int_equal(raw_count(f, "SELECT length(login) FROM audit WHERE "
	    "client_ip = '192.0.2.9'"), DIR_LOGIN_MAX - 1);
}

/* Past the cap, the rows seen least recently go first. */
static void
test_audit_cap(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	char login[32];

	for (int i = 0; i < 150; i++) {
		snprintf(login, sizeof(login), "user%03d", i);
		audit(dir, "auth-failure", login, "", "", "192.0.2.1", 100);
	}
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit"), 100);
	assert_int_equal(raw_count(f, "SELECT n FROM audit_rows"), 100);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE "
	    "login < 'user050'"), 0);

	/* Seen again recently, an old row survives; the oldest go. */
	raw_exec(f, "UPDATE audit SET last_seen = last_seen - 100");
	raw_exec(f, "UPDATE audit SET last_seen = last_seen - 100 "
	    "WHERE login < 'user060'");
	audit(dir, "auth-failure", "user050", "", "", "192.0.2.1", 100);
	for (int i = 0; i < 5; i++) {
		snprintf(login, sizeof(login), "new%d", i);
		audit(dir, "auth-failure", login, "", "", "192.0.2.1", 100);
	}
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit"), 100);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE "
	    "login = 'user050' AND count = 2"), 1);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE "
	    "login IN ('user051', 'user052', 'user053', 'user054', "
	    "'user055')"), 0);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit WHERE "
	    "login = 'user056'"), 1);

	/* A lower cap trims at the next event; 0 means no cap. */
	audit(dir, "auth-failure", "user099", "", "", "192.0.2.1", 10);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit"), 10);
	audit(dir, "auth-failure", "more", "", "", "192.0.2.1", 0);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM audit"), 11);
	assert_int_equal(raw_count(f, "SELECT n FROM audit_rows"), 11);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_verify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sender_allowed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_grants_admin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_user_del_revokes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_counts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_cap, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
