/*
 * Unit tests of the known clients (lookup/directory_known.c) on a real
 * SQLite directory: a pair is known once seen and only to the exact
 * login, forgotten after its ttl, bounded by max (the least recently
 * seen go first), and gone with its account.
 */
#include "dir_fixture.h"

static void
test_known_pairs(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	long long last = 0;

	MUST(dir_domain_add(dir, "x.test", err));
	MUST(dir_user_add(dir, "a@x.test", "alice", NULL, err));
	MUST(dir_user_add(dir, "b@x.test", "bob", NULL, err));
	assert_int_equal(dir_known_client_get(dir, "alice", "192.0.2.1", 3600,
	    &last), 0);
	assert_int_equal(dir_known_client_seen(dir, "alice", "192.0.2.1",
	    3600, 10), 0);
	assert_int_equal(dir_known_client_get(dir, "alice", "192.0.2.1", 3600,
	    &last), 1);
	assert_true(last > 0);
	/* Exact: not to another login, another case, another address. */
	assert_int_equal(dir_known_client_get(dir, "Alice", "192.0.2.1", 3600,
	    &last), 0);
	assert_int_equal(dir_known_client_get(dir, "bob", "192.0.2.1", 3600,
	    &last), 0);
	assert_int_equal(dir_known_client_get(dir, "alice", "192.0.2.2", 3600,
	    &last), 0);
	/* A login that is no account is never remembered. */
	assert_int_equal(dir_known_client_seen(dir, "nobody", "192.0.2.1",
	    3600, 10), 0);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM known_clients"), 1);
	/* Seen again: still one row. */
	assert_int_equal(dir_known_client_seen(dir, "alice", "192.0.2.1",
	    3600, 10), 0);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM known_clients"), 1);
}

static void
test_ttl_and_max(void **state)
{
	struct fixture *f = *state;
	struct directory *dir = f->dir;
	char ip[32];
	long long last;

	MUST(dir_domain_add(dir, "x.test", err));
	MUST(dir_user_add(dir, "a@x.test", "alice", NULL, err));
	assert_int_equal(dir_known_client_seen(dir, "alice", "192.0.2.1",
	    3600, 10), 0);
	/* Seen two hours ago: past a ttl of one hour. */
	raw_exec(f, "UPDATE known_clients SET last_seen = last_seen - 7200");
	assert_int_equal(dir_known_client_get(dir, "alice", "192.0.2.1", 3600,
	    &last), 0);
	assert_int_equal(dir_known_client_get(dir, "alice", "192.0.2.1", 86400,
	    &last), 1);
	/* The next write drops it, and keeps no more than max pairs, the
	 * least recently seen going first. */
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		assert_int_equal(dir_known_client_seen(dir, "alice", ip, 3600,
		    3), 0);
		raw_exec(f, "UPDATE known_clients SET last_seen = last_seen - 1");
	}
	assert_int_equal(raw_count(f, "SELECT count(*) FROM known_clients"), 3);
	assert_int_equal(raw_count(f, "SELECT count(*) FROM known_clients "
	    "WHERE client_ip IN ('198.51.100.2', '198.51.100.3', "
	    "'198.51.100.4')"), 3);
	/* Gone with the account. */
	MUST(dir_user_del(dir, "alice", NULL, err));
	assert_int_equal(raw_count(f, "SELECT count(*) FROM known_clients"), 0);
}

/* A directory at version 3 gets the table on open, its accounts kept. */
static void
test_migrate_v3(void **state)
{
	struct fixture *f = *state;
	char why[DIR_ERR_MAX];
	long long last;

	MUST(dir_domain_add(f->dir, "x.test", err));
	MUST(dir_user_add(f->dir, "a@x.test", "alice", NULL, err));
	dir_close(&f->dir);
	raw_exec(f, "DROP TABLE known_clients; "
	    "ALTER TABLE accounts DROP COLUMN legacy; "
	    "DELETE FROM schema_version WHERE version >= 4");
	if (dir_open(f->tmp, &f->dir, why, sizeof(why)) < 0)
		fail_msg("reopen: %s", why);
	assert_int_equal(raw_count(f, "SELECT max(version) FROM "
	    "schema_version"), dir_schema_latest());
	assert_int_equal(dir_known_client_seen(f->dir, "alice", "192.0.2.1",
	    3600, 10), 0);
	assert_int_equal(dir_known_client_get(f->dir, "alice", "192.0.2.1",
	    3600, &last), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_pairs, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ttl_and_max, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v3, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
