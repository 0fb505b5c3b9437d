/*
 * Grants: what an account may send as beyond its own addresses.  A grant
 * is an address, "*@domain" for a whole domain (the company server that
 * relays its domain's mail through one account), or "<>" for the null
 * sender.  Trusts its caller to be the postmaster, not its input: the
 * pattern is parsed and stored in one form, its domain folded, and the
 * login must exist exactly.  Grants go with their account (ON DELETE
 * CASCADE), in the statement that deletes it.
 */
#include <stdio.h>
#include <string.h>

#include "lookup/directory_int.h"

#define GRANT_BUF ADDR_BUF      /* "*@" and a domain fit as well */

/* Parses pattern into out: "<>", "*@" and a domain name, or an address
 * (UTF-8 allowed); domains folded. */
static int
grant_pattern(const char *pattern, char out[GRANT_BUF], char *err)
{
	const char *reason;

	if (strcmp(pattern, "<>") == 0) {
		snprintf(out, GRANT_BUF, "<>");
		return 0;
	}
	if (strncmp(pattern, "*@", 2) == 0) {
		if (addr_domain_valid(pattern + 2, &reason) < 0)
			return dir_fail(err, "bad sender pattern '%s': %s",
			    pattern, reason);
		snprintf(out, GRANT_BUF, "*@%s", pattern + 2);
		addr_fold(out);
		return 0;
	}
	if (addr_parse(pattern, strnlen(pattern, ADDR_MAX + 1), 1, out,
	    &reason) < 0)
		return dir_fail(err, "bad sender pattern '%s': %s (use an "
		    "address, *@domain or <>)", pattern, reason);
	return 0;
}

/* 1 if the account of login holds the grant pattern (in any case),
 * 0 if not, -1 on error. */
static int
grant_exists(struct directory *dir, const char *login, const char *pattern,
    char *err)
{
	return dir_fetch_int(dir, "SELECT 1 FROM grants WHERE account_id = "
	    "(SELECT id FROM accounts WHERE login = ?1) AND pattern = ?2",
	    DIR_P(login, pattern), NULL, err);
}

static int
sender_allow(struct directory *dir, const char *login, const char *pattern,
    char *err)
{
	char p[GRANT_BUF];

	if (grant_pattern(pattern, p, err) < 0 ||
	    dir_need_account(dir, login, NULL, err) < 0)
		return -1;
	switch (grant_exists(dir, login, p, err)) {
	case 0:
		break;
	case 1:
		return dir_fail(err, "grant already exists: '%s' may send as "
		    "%s", login, p);
	default:
		return -1;
	}
	return dir_exec(dir, "INSERT INTO grants (account_id, pattern, "
	    "created) VALUES ((SELECT id FROM accounts WHERE login = ?1), ?2, "
	    "CAST(strftime('%s', 'now') AS INTEGER))", DIR_P(login, p), err);
}

int
dir_sender_allow(struct directory *dir, const char *login,
    const char *pattern, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, sender_allow(dir, login, pattern, err), err);
}

static int
sender_revoke(struct directory *dir, const char *login, const char *pattern,
    char *err)
{
	char p[GRANT_BUF];

	if (grant_pattern(pattern, p, err) < 0 ||
	    dir_need_account(dir, login, NULL, err) < 0)
		return -1;
	switch (grant_exists(dir, login, p, err)) {
	case 1:
		break;
	case 0:
		return dir_fail(err, "no grant %s for '%s'", p, login);
	default:
		return -1;
	}
	return dir_exec(dir, "DELETE FROM grants WHERE account_id = "
	    "(SELECT id FROM accounts WHERE login = ?1) AND pattern = ?2",
	    DIR_P(login, p), err);
}

int
dir_sender_revoke(struct directory *dir, const char *login,
    const char *pattern, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, sender_revoke(dir, login, pattern, err), err);
}

int
dir_sender_list(struct directory *dir, const char *login,
    void (*fn)(void *arg, const char *login, const char *pattern), void *arg,
    char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (login != NULL && dir_need_account(dir, login, NULL, err) < 0)
		return dir_end(dir, -1, err);
	if (dir_stmt(dir, "SELECT a.login, g.pattern FROM grants g "
	    "JOIN accounts a ON a.id = g.account_id "
	    "WHERE ?1 IS NULL OR a.login = ?1 ORDER BY a.login, g.pattern",
	    DIR_P(login), &st, err) < 0)
		return dir_end(dir, -1, err);
	while ((rc = dir_step(dir, st, err)) == 1)
		fn(arg, dir_text(st, 0), dir_text(st, 1));
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}
