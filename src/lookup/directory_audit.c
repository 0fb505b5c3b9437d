/*
 * The audit for tern audit: what enforcing refused or would have refused
 * (a login in the wrong case, a sender outside its account, a failed
 * login), one row per distinct (kind, login, existing login, address,
 * client, protocol) with a count and the first and last time seen.  Counting is
 * bounded: each value is cut to its size before it is stored, and past
 * max_rows rows the ones seen least recently are dropped, so a flood of
 * made-up logins cannot fill the disk.  The values come from the network
 * through smtpd and reach SQL only as bound parameters.
 */
#include <stdio.h>
#include <string.h>

#include "lookup/directory_int.h"
#include "util/log.h"

#define AUDIT_CLIENT_MAX 64     /* bytes of a client address, with NUL */

static const char *const audit_kinds[] = {
	"case-mismatch", "sender-outside-binding", "auth-failure",
	"auth-slowed", "auth-refused",
};

/* The doors a login comes through. */
static const char *const audit_protocols[] = { "smtp", "imap", "pop3" };

/* 1 if s is one of the n words of list. */
static int
audit_known(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* s cut to fit out (size len): the audit keeps a prefix of a value too
 * long to store rather than losing the event. */
static const char *
audit_cut(const char *s, char *out, size_t len)
{
	size_t n = strnlen(s, len - 1);

	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

/* One more of the event: a new row, or its count and last seen. */
static int
audit_count(struct directory *dir, const char *const *v, char *err)
{
	return dir_exec(dir, "INSERT INTO audit (kind, login, existing_login, "
	    "address, client_ip, protocol, count, first_seen, last_seen, "
	    "let_in, last_let_in) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, "
	    "CAST(strftime('%s', 'now') AS INTEGER), "
	    "CAST(strftime('%s', 'now') AS INTEGER), CAST(?7 AS INTEGER), "
	    "CASE WHEN ?7 = '1' THEN CAST(strftime('%s', 'now') AS INTEGER) "
	    "ELSE 0 END) "
	    "ON CONFLICT (kind, login, existing_login, address, client_ip, "
	    "protocol) "
	    "DO UPDATE SET count = count + 1, last_seen = excluded.last_seen, "
	    "let_in = let_in + excluded.let_in, "
	    "last_let_in = max(last_let_in, excluded.last_let_in)",
	    DIR_P(v[0], v[1], v[2], v[3], v[4], v[5], v[6]), err);
}

/* Drops the rows past max, the least recently seen first.  The row count
 * is kept in audit_rows by triggers, and last_seen is indexed: below the
 * cap this reads one row, above it deletes only the surplus. */
static int
audit_trim(struct directory *dir, unsigned max, char *err)
{
	char num[32];

	snprintf(num, sizeof(num), "%u", max);
	return dir_exec(dir, "DELETE FROM audit WHERE id IN (SELECT id "
	    "FROM audit ORDER BY last_seen, id LIMIT max(0, "
	    "(SELECT n FROM audit_rows) - CAST(?1 AS INTEGER)))",
	    DIR_P(num), err);
}

static int
audit_record(struct directory *dir, const char *kind, const char *login,
    const char *existing_login, const char *address, const char *client_ip,
    const char *protocol, int let_in, unsigned max_rows)
{
	char l[DIR_LOGIN_MAX], e[DIR_LOGIN_MAX], a[ADDR_BUF];
	char c[AUDIT_CLIENT_MAX];
	char err[DIR_ERR_MAX];
	const char *v[7];
	int rc;

	if (!audit_known(kind, audit_kinds,
	    sizeof(audit_kinds) / sizeof(audit_kinds[0])))
		bug("dir_audit_record: unknown kind %s", kind);
	if (!audit_known(protocol, audit_protocols,
	    sizeof(audit_protocols) / sizeof(audit_protocols[0])))
		bug("dir_audit_record: unknown protocol %s", protocol);
	v[0] = kind;
	v[1] = audit_cut(login, l, sizeof(l));
	v[2] = audit_cut(existing_login, e, sizeof(e));
	v[3] = audit_cut(address, a, sizeof(a));
	v[4] = audit_cut(client_ip, c, sizeof(c));
	v[5] = protocol;
	v[6] = let_in ? "1" : "0";
	if (dir_begin(dir, err) < 0) {
		log_warn("directory: %s", err);
		return -1;
	}
	rc = audit_count(dir, v, err);
	if (rc == 0 && max_rows > 0)
		rc = audit_trim(dir, max_rows, err);
	if (dir_end(dir, rc, err) < 0) {
		log_warn("directory: %s", err);
		return -1;
	}
	return 0;
}

int
dir_audit_record(struct directory *dir, const char *kind,
    const char *login, const char *existing_login, const char *address,
    const char *client_ip, const char *protocol, unsigned max_rows)
{
	return audit_record(dir, kind, login, existing_login, address,
	    client_ip, protocol, 0, max_rows);
}

int
dir_audit_let_in(struct directory *dir, const char *kind,
    const char *login, const char *existing_login, const char *address,
    const char *client_ip, const char *protocol, unsigned max_rows)
{
	return audit_record(dir, kind, login, existing_login, address,
	    client_ip, protocol, 1, max_rows);
}

/* The blocks tern audit prints, one per login and client, the busiest
 * first; inside a block, the most frequent event first. */
int
dir_audit_list(struct directory *dir, long long since,
    void (*fn)(void *arg, const struct dir_audit_row *row), void *arg,
    char *err)
{
	struct dir_audit_row row;
	sqlite3_stmt *st;
	char num[32];
	int rc;

	snprintf(num, sizeof(num), "%lld", since);
	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (dir_stmt(dir, "SELECT kind, login, existing_login, address, "
	    "client_ip, count, first_seen, last_seen, protocol, let_in, "
	    "last_let_in FROM audit "
	    "WHERE last_seen >= CAST(?1 AS INTEGER) "
	    "ORDER BY sum(count) OVER (PARTITION BY login, client_ip) DESC, "
	    "login, client_ip, count DESC, kind, protocol, address, "
	    "existing_login",
	    DIR_P(num), &st, err) < 0)
		return dir_end(dir, -1, err);
	while ((rc = dir_step(dir, st, err)) == 1) {
		row.kind = dir_text(st, 0);
		row.login = dir_text(st, 1);
		row.existing_login = dir_text(st, 2);
		row.address = dir_text(st, 3);
		row.client_ip = dir_text(st, 4);
		row.count = (unsigned long long)sqlite3_column_int64(st, 5);
		row.first_seen = sqlite3_column_int64(st, 6);
		row.last_seen = sqlite3_column_int64(st, 7);
		row.protocol = dir_text(st, 8);
		row.let_in = (unsigned long long)sqlite3_column_int64(st, 9);
		row.last_let_in = sqlite3_column_int64(st, 10);
		fn(arg, &row);
	}
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}
