/*
 * Authentication and sender binding, for the lookup process: is this the
 * password of this login, and may this login's account send as this
 * address.  Trusts what the directory holds; trusts nothing of the login,
 * password or address, which come from the network through smtpd: each
 * is bounded and reaches SQL only as a bound parameter.  Logins compare
 * byte for byte; a login that differs only in case is found and told
 * apart, so that the log can name the clients that use the wrong case.
 */
#include <stdio.h>
#include <string.h>

#include "lookup/directory_int.h"
#include "lookup/password.h"
#include "util/log.h"

/* A yescrypt hash at libxcrypt's default cost, verified (and its answer
 * ignored) when the login is unknown: an unknown login then costs as
 * much time as a known one, and the delay of the answer tells nothing. */
static const char auth_dummy_hash[] =
    "$y$j9T$F1omYbcStuqSW7bjN8djL.$i28uudq99fGqSjlTEJGDybUARgHCXlMCPA5MT7fS0hA";

/* The password checked against hash: 1, 0, or -1 logged. */
static int
auth_password(const char *login, const char *password, const char *hash)
{
	char esc[DIR_LOGIN_MAX * 4];
	int rc;

	if ((rc = password_verify(password, hash)) < 0)
		log_warn("directory: cannot verify the password of '%s': "
		    "out of memory", log_escape(esc, sizeof(esc), login,
		    strlen(login)));
	return rc;
}

/* The first account (by id) whose login equals login but for ASCII
 * case: its login to existing_r and its hash to hash_r.  1, 0 or -1. */
static int
auth_case_variant(struct directory *dir, const char *login,
    char existing_r[DIR_LOGIN_MAX], char hash_r[PASSWORD_HASH_BUF],
    char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_stmt(dir, "SELECT login, coalesce(password, '') "
	    "FROM accounts WHERE login = ?1 COLLATE NOCASE ORDER BY id "
	    "LIMIT 1", DIR_P(login), &st, err) < 0)
		return -1;
	rc = dir_step(dir, st, err);
	if (rc == 1 && (sqlite3_column_bytes(st, 0) >= DIR_LOGIN_MAX ||
	    sqlite3_column_bytes(st, 1) >= PASSWORD_HASH_BUF))
		rc = dir_fail(err, "database error: login or hash too long");
	if (rc == 1) {
		memcpy(existing_r, dir_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0) + 1);
		memcpy(hash_r, dir_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1) + 1);
	}
	return dir_finalize(dir, st, rc, err);
}

enum dir_auth_status
dir_auth_lookup(struct directory *dir, const char *login,
    char *hash_r, char existing_r[DIR_LOGIN_MAX])
{
	char err[DIR_ERR_MAX];
	int rc;

	existing_r[0] = '\0';
	/* Unknown logins are checked against a dummy hash, so that the time
	 * of the answer tells nothing. */
	snprintf(hash_r, PASSWORD_HASH_BUF, "%s", auth_dummy_hash);
	/* A login too long to store cannot exist, in any case. */
	if (strnlen(login, DIR_LOGIN_MAX) >= DIR_LOGIN_MAX)
		return DIR_AUTH_UNKNOWN;
	/* An account without a password cannot log in: its hash is "",
	 * which nothing matches. */
	rc = dir_fetch_text(dir, "SELECT coalesce(password, '') FROM accounts "
	    "WHERE login = ?1", DIR_P(login), hash_r, PASSWORD_HASH_BUF, err);
	if (rc == 1)
		return DIR_AUTH_OK;
	if (rc == 0)
		rc = auth_case_variant(dir, login, existing_r, hash_r, err);
	if (rc < 0) {
		existing_r[0] = '\0';
		explicit_bzero(hash_r, PASSWORD_HASH_BUF);
		log_warn("directory: %s", err);
		return DIR_AUTH_TEMPFAIL;
	}
	if (rc == 0) {
		snprintf(hash_r, PASSWORD_HASH_BUF, "%s", auth_dummy_hash);
		return DIR_AUTH_UNKNOWN;
	}
	return DIR_AUTH_CASE_MISMATCH;
}

enum dir_auth_status
dir_auth_result(enum dir_auth_status found, int verified, int *password_ok_r)
{
	*password_ok_r = 0;
	if (verified < 0)
		return DIR_AUTH_TEMPFAIL;
	switch (found) {
	case DIR_AUTH_OK:
		return verified == 1 ? DIR_AUTH_OK : DIR_AUTH_PASSWORD;
	case DIR_AUTH_CASE_MISMATCH:
		*password_ok_r = verified == 1;
		return DIR_AUTH_CASE_MISMATCH;
	default:
		return found;
	}
}

enum dir_auth_status
dir_auth_verify(struct directory *dir, const char *login,
    const char *password, char existing_r[DIR_LOGIN_MAX], int *password_ok_r)
{
	char hash[PASSWORD_HASH_BUF];
	enum dir_auth_status found = dir_auth_lookup(dir, login, hash,
	    existing_r);
	int rc = found == DIR_AUTH_TEMPFAIL ? -1 :
	    auth_password(*existing_r ? existing_r : login, password, hash);

	explicit_bzero(hash, sizeof(hash));
	found = dir_auth_result(found, rc, password_ok_r);
	if (found == DIR_AUTH_TEMPFAIL)
		existing_r[0] = '\0';
	return found;
}

/*
 * One query: the account by its exact login, then one of its addresses
 * equal to address, or one of its grants equal to address or to the
 * pattern that covers it ("*@domain", or "<>" for the null sender).  The
 * address and pattern columns are NOCASE, so these compare as addresses
 * do; the login column is BINARY.
 */
int
dir_sender_allowed(struct directory *dir, const char *login,
    const char *address)
{
	char pattern[ADDR_DOMAIN_MAX + 3];
	char err[DIR_ERR_MAX];
	int rc;

	if (strnlen(login, DIR_LOGIN_MAX) >= DIR_LOGIN_MAX ||
	    strnlen(address, ADDR_BUF) >= ADDR_BUF)
		return 0;
	if (address[0] == '\0')
		snprintf(pattern, sizeof(pattern), "<>");
	else if (strlen(addr_domain(address)) <= ADDR_DOMAIN_MAX)
		snprintf(pattern, sizeof(pattern), "*@%s",
		    addr_domain(address));
	else
		return 0;
	rc = dir_fetch_int(dir, "SELECT 1 FROM accounts a WHERE a.login = ?1 "
	    "AND (EXISTS (SELECT 1 FROM addresses ad WHERE "
	    "ad.account_id = a.id AND ad.address = ?2) "
	    "OR EXISTS (SELECT 1 FROM grants g WHERE g.account_id = a.id "
	    "AND g.pattern IN (?2, ?3)))",
	    DIR_P(login, address, pattern), NULL, err);
	if (rc < 0)
		log_warn("directory: %s", err);
	return rc;
}

int
dir_account_mailbox(struct directory *dir, const char *login,
    char mailbox_r[ADDR_BUF])
{
	char err[DIR_ERR_MAX];
	int rc;

	if (strnlen(login, DIR_LOGIN_MAX) >= DIR_LOGIN_MAX)
		return 0;
	rc = dir_fetch_text(dir, "SELECT mailbox FROM accounts WHERE "
	    "login = ?1", DIR_P(login), mailbox_r, ADDR_BUF, err);
	if (rc < 0)
		log_warn("directory: %s", err);
	return rc;
}

const char *
dir_auth_reason(enum dir_auth_status st)
{
	switch (st) {
	case DIR_AUTH_UNKNOWN:
		return "unknown";
	case DIR_AUTH_PASSWORD:
		return "password";
	case DIR_AUTH_CASE_MISMATCH:
		return "case-mismatch";
	default:
		return "tempfail";
	}
}
