/*
 * The directory's handle: opening state_dir/tern.db (WAL, foreign keys,
 * a busy timeout so that the admin commands and the lookup process can
 * share it), the numbered schema migrations, and the statement and
 * transaction helpers the other directory_*.c files use.  Trusts the
 * database file to be ours (it lives in state_dir, owned by the server's
 * user); refuses one with a schema newer than this code knows.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/directory_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DIR_BUSY_TIMEOUT_MS 5000

/*
 * Migration N brings the schema from version N-1 to N; each runs in the
 * transaction that also records it, so a crash leaves the old version or
 * the new one, never half of it.  Append, never edit: a database out there
 * is at some version and expects the next step to be the one it knows.
 *
 * Addresses, alias sources and targets and domain names compare with
 * COLLATE NOCASE, which folds ASCII only, exactly as addr_fold() does;
 * logins compare BINARY, byte for byte.
 */
static const char *const migrations[] = {
	/* 1: domains, accounts, their addresses, aliases. */
	"CREATE TABLE domains ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE COLLATE NOCASE);"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  login TEXT NOT NULL UNIQUE COLLATE BINARY,"
	"  password TEXT,"
	"  mailbox TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE addresses ("
	"  id INTEGER PRIMARY KEY,"
	"  address TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	"  account_id INTEGER NOT NULL"
	"    REFERENCES accounts(id) ON DELETE CASCADE,"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id));"
	"CREATE INDEX addresses_account ON addresses(account_id);"
	"CREATE INDEX addresses_domain ON addresses(domain_id);"
	"CREATE TABLE aliases ("
	"  id INTEGER PRIMARY KEY,"
	"  source TEXT NOT NULL COLLATE NOCASE,"
	"  target TEXT NOT NULL COLLATE NOCASE,"
	"  domain_id INTEGER NOT NULL REFERENCES domains(id),"
	"  UNIQUE (source, target));"
	"CREATE INDEX aliases_domain ON aliases(domain_id);",

	/* 2: grants (what an account may send as beyond its own
	 * addresses: an address, "*@domain" or "<>"), and the audit of
	 * what enforcing would refuse, one row per distinct event with
	 * its count.  audit_rows keeps the audit's row count, so that the
	 * cap costs no count(*).  Logins in the audit are kept as they
	 * were tried (BINARY), addresses as mailboxes (NOCASE). */
	"CREATE TABLE grants ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL"
	"    REFERENCES accounts(id) ON DELETE CASCADE,"
	"  pattern TEXT NOT NULL COLLATE NOCASE,"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (account_id, pattern));"
	"CREATE INDEX accounts_login_nocase ON accounts(login COLLATE NOCASE);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  login TEXT NOT NULL COLLATE BINARY,"
	"  existing_login TEXT NOT NULL COLLATE BINARY,"
	"  address TEXT NOT NULL COLLATE NOCASE,"
	"  client_ip TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  UNIQUE (kind, login, existing_login, address, client_ip));"
	"CREATE INDEX audit_last_seen ON audit(last_seen);"
	"CREATE TABLE audit_rows (n INTEGER NOT NULL);"
	"INSERT INTO audit_rows (n) VALUES (0);"
	"CREATE TRIGGER audit_row_added AFTER INSERT ON audit"
	"  BEGIN UPDATE audit_rows SET n = n + 1; END;"
	"CREATE TRIGGER audit_row_dropped AFTER DELETE ON audit"
	"  BEGIN UPDATE audit_rows SET n = n - 1; END;",

	/* 3: outbound TLS policies per destination domain (the domain of
	 * a recipient, exactly; stored in lower case), overriding
	 * smtp_tls_policy.  NOT NULL on the key: SQLite would let a TEXT
	 * PRIMARY KEY hold NULL otherwise. */
	"CREATE TABLE tls_policies ("
	"  domain TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,"
	"  policy TEXT NOT NULL"
	"    CHECK (policy IN ('may', 'encrypt', 'verify')),"
	"  created INTEGER NOT NULL);",

	/* 4: known clients, for the brute-force brake: the client
	 * addresses each account logged in from, with the last time.
	 * Failures of other addresses against the login never refuse a
	 * known one.  Gone with the account. */
	"CREATE TABLE known_clients ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL"
	"    REFERENCES accounts(id) ON DELETE CASCADE,"
	"  client_ip TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  UNIQUE (account_id, client_ip));"
	"CREATE INDEX known_clients_last_seen ON known_clients(last_seen);",

	/* 5: the protocol of each audit event (smtp, imap, pop3), so that
	 * tern audit tells an IMAP client from an SMTP one; the rows from
	 * before were all SMTP AUTH.  SQLite cannot change a UNIQUE
	 * constraint: the table is rebuilt, its triggers and index with
	 * it (DROP TABLE fires no trigger; the row count is set anew). */
	"CREATE TABLE audit_v5 ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  login TEXT NOT NULL COLLATE BINARY,"
	"  existing_login TEXT NOT NULL COLLATE BINARY,"
	"  address TEXT NOT NULL COLLATE NOCASE,"
	"  client_ip TEXT NOT NULL,"
	"  protocol TEXT NOT NULL DEFAULT 'smtp',"
	"  count INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  UNIQUE (kind, login, existing_login, address, client_ip,"
	"    protocol));"
	"INSERT INTO audit_v5 (id, kind, login, existing_login, address,"
	"  client_ip, protocol, count, first_seen, last_seen)"
	"  SELECT id, kind, login, existing_login, address, client_ip,"
	"  'smtp', count, first_seen, last_seen FROM audit;"
	"DROP TABLE audit;"
	"ALTER TABLE audit_v5 RENAME TO audit;"
	"CREATE INDEX audit_last_seen ON audit(last_seen);"
	"CREATE TRIGGER audit_row_added AFTER INSERT ON audit"
	"  BEGIN UPDATE audit_rows SET n = n + 1; END;"
	"CREATE TRIGGER audit_row_dropped AFTER DELETE ON audit"
	"  BEGIN UPDATE audit_rows SET n = n - 1; END;"
	"UPDATE audit_rows SET n = (SELECT count(*) FROM audit);",

	/* 6: how often warn mode let an audited event through (a miscased
	 * login with its password, a sender outside the binding), and
	 * when last: what enforce will refuse, for tern audit --ready. */
	"ALTER TABLE audit ADD COLUMN let_in INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE audit ADD COLUMN last_let_in INTEGER NOT NULL DEFAULT 0;",

	/* 7: the legacy mark: a login tern import kept although it breaks
	 * login_pattern (--keep-logins), so that tern audit lists it. */
	"ALTER TABLE accounts ADD COLUMN legacy INTEGER NOT NULL DEFAULT 0;",
};

#define DIR_SCHEMA_VERSION \
	((long long)(sizeof(migrations) / sizeof(migrations[0])))

long long
dir_schema_latest(void)
{
	return DIR_SCHEMA_VERSION;
}

int
dir_fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, DIR_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

int
dir_db_fail(struct directory *dir, char *err)
{
	return dir_fail(err, "database error: %s", sqlite3_errmsg(dir->db));
}

int
dir_stmt(struct directory *dir, const char *sql, const char *const *p,
    size_t np, sqlite3_stmt **st_r, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(dir->db, sql, -1, &st, NULL) != SQLITE_OK)
		return dir_db_fail(dir, err);
	/* TRANSIENT: SQLite keeps its own copy, so the statement never
	 * depends on how long the caller's buffers live. */
	for (size_t i = 0; i < np; i++) {
		if (p[i] == NULL)
			rc = sqlite3_bind_null(st, (int)i + 1);
		else
			rc = sqlite3_bind_text(st, (int)i + 1, p[i], -1,
			    SQLITE_TRANSIENT);
		if (rc != SQLITE_OK)
			return dir_finalize(dir, st, dir_db_fail(dir, err),
			    err);
	}
	*st_r = st;
	return 0;
}

int
dir_step(struct directory *dir, sqlite3_stmt *st, char *err)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	default:
		return dir_db_fail(dir, err);
	}
}

int
dir_finalize(struct directory *dir, sqlite3_stmt *st, int rc, char *err)
{
	if (sqlite3_finalize(st) != SQLITE_OK && rc >= 0)
		return dir_db_fail(dir, err);
	return rc;
}

const char *
dir_text(sqlite3_stmt *st, int col)
{
	const unsigned char *v = sqlite3_column_text(st, col);

	return v != NULL ? (const char *)v : "";
}

int
dir_exec(struct directory *dir, const char *sql, const char *const *p,
    size_t np, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_stmt(dir, sql, p, np, &st, err) < 0)
		return -1;
	rc = dir_step(dir, st, err);
	return dir_finalize(dir, st, rc < 0 ? -1 : 0, err);
}

int
dir_fetch_text(struct directory *dir, const char *sql, const char *const *p,
    size_t np, char *out, size_t outlen, char *err)
{
	sqlite3_stmt *st;
	const unsigned char *v;
	int rc;

	if (dir_stmt(dir, sql, p, np, &st, err) < 0)
		return -1;
	rc = dir_step(dir, st, err);
	if (rc == 1 && out != NULL) {
		v = sqlite3_column_text(st, 0);
		if (v == NULL)
			v = (const unsigned char *)"";
		if ((size_t)sqlite3_column_bytes(st, 0) >= outlen)
			rc = dir_fail(err, "database error: value too long");
		else
			memcpy(out, v, (size_t)sqlite3_column_bytes(st, 0) + 1);
	}
	return dir_finalize(dir, st, rc, err);
}

int
dir_fetch_int(struct directory *dir, const char *sql, const char *const *p,
    size_t np, long long *out, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_stmt(dir, sql, p, np, &st, err) < 0)
		return -1;
	rc = dir_step(dir, st, err);
	if (rc == 1 && out != NULL)
		*out = sqlite3_column_int64(st, 0);
	return dir_finalize(dir, st, rc, err);
}

int
dir_begin(struct directory *dir, char *err)
{
	return dir_exec(dir, "BEGIN IMMEDIATE", DIR_NOP, err);
}

int
dir_begin_read(struct directory *dir, char *err)
{
	return dir_exec(dir, "BEGIN", DIR_NOP, err);
}

int
dir_end(struct directory *dir, int rc, char *err)
{
	char ignored[DIR_ERR_MAX];

	if (rc == 0 && dir_exec(dir, "COMMIT", DIR_NOP, err) == 0)
		return 0;
	/* A failed statement may already have ended the transaction
	 * (SQLite rolls back on SQLITE_FULL, for one); the first reason
	 * stays in err either way. */
	if (!sqlite3_get_autocommit(dir->db) &&
	    dir_exec(dir, "ROLLBACK", DIR_NOP, ignored) < 0)
		log_warn("directory: %s", ignored);
	return -1;
}

int
dir_parse_addr(const char *what, const char *s, char out[ADDR_BUF], char *err)
{
	const char *reason;

	if (addr_parse(s, strnlen(s, ADDR_MAX + 1), 1, out, &reason) < 0)
		return dir_fail(err, "bad %s '%s': %s", what, s, reason);
	return 0;
}

int
dir_need_local(struct directory *dir, const char *domain, char *err)
{
	switch (dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(domain), NULL, err)) {
	case 1:
		return 0;
	case 0:
		return dir_fail(err,
		    "unknown domain %s: add it with tern domain add", domain);
	default:
		return -1;
	}
}

/* Applies the next migration if the database needs one: 1 if it did, 0
 * if the schema is current, -1 on error.  The version is read inside the
 * write transaction, so two processes opening a new tern.db at once
 * cannot both apply the same step. */
static int
dir_migrate_step(struct directory *dir, char *err)
{
	long long have = 0;
	char num[32];
	int rc;

	if (dir_begin(dir, err) < 0)
		return -1;
	rc = dir_exec(dir, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
	    DIR_NOP, err);
	if (rc == 0)
		rc = dir_fetch_int(dir, "SELECT coalesce(max(version), 0) "
		    "FROM schema_version", DIR_NOP, &have, err) < 0 ? -1 : 0;
	if (rc == 0 && have > DIR_SCHEMA_VERSION)
		rc = dir_fail(err, "tern.db has schema version %lld, newer "
		    "than this tern knows (%lld)", have, DIR_SCHEMA_VERSION);
	if (rc < 0 || have == DIR_SCHEMA_VERSION)
		return dir_end(dir, rc, err);
	if (sqlite3_exec(dir->db, migrations[have], NULL, NULL, NULL) !=
	    SQLITE_OK)
		rc = dir_db_fail(dir, err);
	snprintf(num, sizeof(num), "%lld", have + 1);
	if (rc == 0)
		rc = dir_exec(dir, "INSERT INTO schema_version (version, "
		    "applied) VALUES (?1, CAST(strftime('%s', 'now') AS "
		    "INTEGER))", DIR_P(num), err);
	return dir_end(dir, rc, err) < 0 ? -1 : 1;
}

static int
dir_migrate(struct directory *dir, char *err)
{
	int rc;

	while ((rc = dir_migrate_step(dir, err)) == 1)
		;
	return rc;
}

/* The connection's settings: they are per connection, not stored in the
 * file, so every open sets them again. */
static int
dir_configure(struct directory *dir, char *err)
{
	char mode[16];
	long long fk = 0;

	if (sqlite3_busy_timeout(dir->db, DIR_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_db_config(dir->db, SQLITE_DBCONFIG_DEFENSIVE, 1,
	    NULL) != SQLITE_OK)
		return dir_db_fail(dir, err);
	if (dir_fetch_text(dir, "PRAGMA journal_mode = WAL", DIR_NOP, mode,
	    sizeof(mode), err) < 0)
		return -1;
	if (strcmp(mode, "wal") != 0)
		log_warn("directory: tern.db stays in journal mode %s, "
		    "not wal", mode);
	/* FULL: a change the admin command reported is on disk. */
	if (dir_exec(dir, "PRAGMA synchronous = FULL", DIR_NOP, err) < 0 ||
	    dir_exec(dir, "PRAGMA foreign_keys = ON", DIR_NOP, err) < 0 ||
	    dir_fetch_int(dir, "PRAGMA foreign_keys", DIR_NOP, &fk, err) < 0)
		return -1;
	if (fk != 1)
		return dir_fail(err, "SQLite was built without foreign keys");
	return 0;
}

int
dir_open(const char *state_dir, struct directory **dir_r, char *err,
    size_t errlen)
{
	struct directory *dir;
	char path[PATH_MAX];
	char why[DIR_ERR_MAX];
	int n;

	*dir_r = NULL;
	n = snprintf(path, sizeof(path), "%s/tern.db", state_dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "state_dir too long: %s", state_dir);
		return -1;
	}
	dir = xcalloc(1, sizeof(*dir));
	if (sqlite3_open_v2(path, &dir->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, dir->db !=
		    NULL ? sqlite3_errmsg(dir->db) : "out of memory");
		dir_close(&dir);
		return -1;
	}
	if (dir_configure(dir, why) < 0 || dir_migrate(dir, why) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		dir_close(&dir);
		return -1;
	}
	*dir_r = dir;
	return 0;
}

void
dir_close(struct directory **dirp)
{
	struct directory *dir = *dirp;

	if (dir == NULL)
		return;
	/* Every statement is finalized where it was made, so close can
	 * only fail on our own bug. */
	if (dir->db != NULL && sqlite3_close(dir->db) != SQLITE_OK)
		bug("directory: close: %s", sqlite3_errmsg(dir->db));
	free(dir);
	*dirp = NULL;
}
