/*
 * tern import's side of the directory: a batch of domains, accounts and
 * aliases written in one transaction that the command commits only when
 * nothing conflicts (and never for a dry run), so the same code decides
 * what a dry run reports and what a real run writes.  Each item says
 * whether it was created, updated, already there, or conflicts (with the
 * reason); only a database failure is an error.  The inputs were parsed
 * by the command (import/import_check.c); here they meet what exists.
 * Also the legacy mark: logins kept with --keep-logins although they
 * break login_pattern, listed by tern audit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lookup/directory_int.h"
#include "util/xmalloc.h"


int
dir_import_begin(struct directory *dir, char *err)
{
	return dir_begin(dir, err);
}

int
dir_import_end(struct directory *dir, int commit, char *err)
{
	char ignored[DIR_ERR_MAX];

	if (commit)
		return dir_end(dir, 0, err);
	/* A rollback asked for is no failure. */
	(void)dir_end(dir, -1, ignored);
	return 0;
}

static int
import_conflict(enum dir_import_result *res_r, char *why, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
import_conflict(enum dir_import_result *res_r, char *why, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, DIR_ERR_MAX, fmt, ap);
	va_end(ap);
	*res_r = DIR_IMPORT_CONFLICT;
	return 0;
}

int
dir_import_domain(struct directory *dir, const char *domain, int create,
    enum dir_import_result *res_r, char *err)
{
	switch (dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(domain), NULL, err)) {
	case 1:
		*res_r = DIR_IMPORT_UNCHANGED;
		return 0;
	case 0:
		break;
	default:
		return -1;
	}
	if (!create) {
		*res_r = DIR_IMPORT_CONFLICT;
		return 0;
	}
	*res_r = DIR_IMPORT_CREATED;
	return dir_exec(dir, "INSERT INTO domains (name) VALUES (?1)",
	    DIR_P(domain), err);
}

int
dir_import_login(struct directory *dir, const char *login,
    char mailbox_r[ADDR_BUF], char other_r[DIR_LOGIN_MAX], char *err)
{
	switch (dir_fetch_text(dir, "SELECT mailbox FROM accounts WHERE "
	    "login = ?1", DIR_P(login), mailbox_r, ADDR_BUF, err)) {
	case 1:
		return 2;
	case 0:
		break;
	default:
		return -1;
	}
	return dir_fetch_text(dir, "SELECT login FROM accounts WHERE "
	    "login = ?1 COLLATE NOCASE ORDER BY id LIMIT 1", DIR_P(login),
	    other_r, DIR_LOGIN_MAX, err);
}

int
dir_import_hash(struct directory *dir, const char *login,
    char hash_r[DIR_IMPORT_HASH_BUF], char *err)
{
	return dir_fetch_text(dir, "SELECT password FROM accounts WHERE "
	    "login = ?1 AND password IS NOT NULL", DIR_P(login), hash_r,
	    DIR_IMPORT_HASH_BUF, err);
}

/* 1 when addr may go to login's account (it is free, or the account's
 * already: *own_r says which), 0 with why set when it may not. */
static int
import_address_ok(struct directory *dir, const char *addr, const char *login,
    int *own_r, char *why, char *err)
{
	char owner[DIR_LOGIN_MAX];
	enum dir_import_result ignored;
	int rc;

	*own_r = 0;
	if ((rc = dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(addr_domain(addr)), NULL, err)) <= 0)
		return rc < 0 ? -1 : import_conflict(&ignored, why, "domain %s "
		    "is not local (tern domain add it, or give "
		    "--create-domains)", addr_domain(addr));
	rc = dir_fetch_text(dir, "SELECT a.login FROM addresses ad JOIN "
	    "accounts a ON a.id = ad.account_id WHERE ad.address = ?1",
	    DIR_P(addr), owner, sizeof(owner), err);
	if (rc == 1 && strcmp(owner, login) == 0)
		*own_r = 1;
	else if (rc == 1)
		return import_conflict(&ignored, why, "address %s belongs to "
		    "the account '%s' already", addr, owner);
	if (rc < 0)
		return -1;
	if ((rc = dir_fetch_int(dir, "SELECT 1 FROM aliases WHERE source = ?1 "
	    "LIMIT 1", DIR_P(addr), NULL, err)) != 0)
		return rc < 0 ? -1 : import_conflict(&ignored, why, "address "
		    "%s is an alias already (tern alias del it first)", addr);
	return 1;
}

static int
import_address_insert(struct directory *dir, const char *addr,
    const char *login, char *err)
{
	return dir_exec(dir, "INSERT INTO addresses (address, account_id, "
	    "domain_id) VALUES (?1, (SELECT id FROM accounts WHERE login = ?2),"
	    " (SELECT id FROM domains WHERE name = ?3))",
	    DIR_P(addr, login, addr_domain(addr)), err);
}

/* Every address of a checked first, then the ones not yet its own
 * added: *added_r counts them. */
static int
import_addresses(struct directory *dir, const struct dir_import_account *a,
    size_t *added_r, enum dir_import_result *res_r, char *why, char *err)
{
	int own, rc;

	*added_r = 0;
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i <= a->naddrs; i++) {
			const char *addr = i == 0 ? a->mailbox : a->addrs[i - 1];

			if ((rc = import_address_ok(dir, addr, a->login, &own,
			    why, err)) <= 0) {
				if (rc == 0)
					*res_r = DIR_IMPORT_CONFLICT;
				return rc;
			}
			if (pass == 0 || own)
				continue;
			if (import_address_insert(dir, addr, a->login, err) < 0)
				return -1;
			++*added_r;
		}
	}
	return 1;
}

static int
import_account_new(struct directory *dir, const struct dir_import_account *a,
    enum dir_import_result *res_r, char *why, char *err)
{
	int rc;

	/* The checks before the insert, so that a conflict costs none. */
	for (size_t i = 0; i <= a->naddrs; i++) {
		const char *addr = i == 0 ? a->mailbox : a->addrs[i - 1];
		int own;

		if ((rc = import_address_ok(dir, addr, a->login, &own, why,
		    err)) <= 0) {
			*res_r = DIR_IMPORT_CONFLICT;
			return rc;
		}
	}
	if (dir_exec(dir, "INSERT INTO accounts (login, password, mailbox, "
	    "created, legacy) VALUES (?1, ?2, ?3, "
	    "CAST(strftime('%s', 'now') AS INTEGER), ?4)",
	    DIR_P(a->login, a->hash, a->mailbox, a->legacy ? "1" : "0"),
	    err) < 0)
		return -1;
	for (size_t i = 0; i <= a->naddrs; i++)
		if (import_address_insert(dir, i == 0 ? a->mailbox :
		    a->addrs[i - 1], a->login, err) < 0)
			return -1;
	*res_r = DIR_IMPORT_CREATED;
	return 0;
}

/* The account exists with this login: the same mailbox, or a conflict;
 * a new hash and addresses it lacks make it updated.  Addresses it has
 * beyond the file's are kept: import adds, it never takes away. */
static int
import_account_old(struct directory *dir, const struct dir_import_account *a,
    const char *mailbox, enum dir_import_result *res_r, char *why, char *err)
{
	char have[DIR_IMPORT_HASH_BUF] = "";
	size_t added;
	int rc, new_hash;

	if (strcasecmp(mailbox, a->mailbox) != 0)
		return import_conflict(res_r, why, "login '%s' exists with "
		    "the address %s, not %s", a->login, mailbox, a->mailbox);
	if (dir_fetch_text(dir, "SELECT password FROM accounts WHERE "
	    "login = ?1", DIR_P(a->login), have, sizeof(have), err) < 0)
		return -1;
	new_hash = a->hash != NULL && strcmp(a->hash, have) != 0;
	if ((rc = import_addresses(dir, a, &added, res_r, why, err)) <= 0)
		return rc;
	if (new_hash && (dir_exec(dir, "UPDATE accounts SET password = ?2 "
	    "WHERE login = ?1", DIR_P(a->login, a->hash), err) < 0 ||
	    dir_exec(dir, "DELETE FROM known_clients WHERE account_id = "
	    "(SELECT id FROM accounts WHERE login = ?1)", DIR_P(a->login),
	    err) < 0))
		return -1;
	*res_r = new_hash || added > 0 ? DIR_IMPORT_UPDATED :
	    DIR_IMPORT_UNCHANGED;
	return 0;
}

int
dir_import_account(struct directory *dir, const struct dir_import_account *a,
    enum dir_import_result *res_r, char why[DIR_ERR_MAX], char *err)
{
	char mailbox[ADDR_BUF];

	switch (dir_fetch_text(dir, "SELECT mailbox FROM accounts WHERE "
	    "login = ?1", DIR_P(a->login), mailbox, sizeof(mailbox), err)) {
	case 1:
		return import_account_old(dir, a, mailbox, res_r, why, err);
	case 0:
		return import_account_new(dir, a, res_r, why, err);
	default:
		return -1;
	}
}

/* ---- aliases ---- */

int
dir_import_alias(struct directory *dir, const char *source,
    const char *target, enum dir_import_result *res_r, char why[DIR_ERR_MAX],
    char *err)
{
	char src[ADDR_BUF];
	int rc;

	if ((rc = dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(addr_domain(source)), NULL, err)) <= 0)
		return rc < 0 ? -1 : import_conflict(res_r, why, "domain %s "
		    "is not local (tern domain add it, or give "
		    "--create-domains)", addr_domain(source));
	if ((rc = dir_fetch_int(dir, "SELECT 1 FROM addresses WHERE "
	    "address = ?1", DIR_P(source), NULL, err)) != 0)
		return rc < 0 ? -1 : import_conflict(res_r, why, "%s is an "
		    "account's address: it cannot be an alias source", source);
	/* An existing alias keeps the spelling it was first given. */
	switch (dir_fetch_text(dir, "SELECT source FROM aliases WHERE "
	    "source = ?1 ORDER BY id LIMIT 1", DIR_P(source), src, sizeof(src),
	    err)) {
	case 0:
		snprintf(src, sizeof(src), "%s", source);
		break;
	case 1:
		break;
	default:
		return -1;
	}
	if (dir_exec(dir, "INSERT OR IGNORE INTO aliases (source, target, "
	    "domain_id) VALUES (?1, ?2, (SELECT id FROM domains WHERE "
	    "name = ?3))", DIR_P(src, target, addr_domain(src)), err) < 0)
		return -1;
	*res_r = sqlite3_changes(dir->db) > 0 ? DIR_IMPORT_CREATED :
	    DIR_IMPORT_UNCHANGED;
	return 0;
}

int
dir_import_alias_check(struct directory *dir, const char *source,
    enum dir_import_result *res_r, char why[DIR_ERR_MAX], char *err)
{
	struct dir_target *targets;
	size_t n;
	enum dir_resolve_status st;

	targets = xcalloc(DIR_RESOLVE_MAX, sizeof(*targets));
	st = dir_resolve_in(dir, source, targets, DIR_RESOLVE_MAX, &n, why);
	free(targets);
	switch (st) {
	case DIR_RESOLVE_OK:
		*res_r = DIR_IMPORT_UNCHANGED;
		return 0;
	case DIR_RESOLVE_TEMPFAIL:
		return dir_fail(err, "%s", why);
	default:
		*res_r = DIR_IMPORT_CONFLICT;
		return 0;
	}
}

/* ---- the legacy mark ---- */

int
dir_legacy_list(struct directory *dir,
    void (*fn)(void *arg, const char *login, const char *mailbox), void *arg,
    char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (dir_stmt(dir, "SELECT login, mailbox FROM accounts WHERE "
	    "legacy = 1 ORDER BY login", DIR_NOP, &st, err) < 0)
		return dir_end(dir, -1, err);
	while ((rc = dir_step(dir, st, err)) == 1)
		fn(arg, dir_text(st, 0), dir_text(st, 1));
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}
