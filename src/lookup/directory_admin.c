/*
 * Administration of domains, accounts and their addresses, for the tern
 * command.  Trusts its caller to be the postmaster, not its input: every
 * name is parsed and checked before it is stored, and each command runs
 * as one transaction, so a refused change leaves nothing behind.
 * Addresses are unique without regard to case; logins are exact.
 */
#include <stdio.h>
#include <string.h>

#include "lookup/directory_int.h"
#include "util/buf.h"

#define DIR_LOGIN_LEN   (DIR_LOGIN_MAX - 1)     /* bytes, without the NUL */
#define DIR_HASH_MAX    383     /* crypt(3)'s CRYPT_OUTPUT_SIZE - 1 */
#define DIR_LIST_MAX    (1024 * 1024)   /* one account's address list */

/* ---- domains ---- */

static int
domain_add(struct directory *dir, const char *domain, char *err)
{
	char name[ADDR_DOMAIN_MAX + 1];
	const char *reason;

	if (addr_domain_valid(domain, &reason) < 0)
		return dir_fail(err, "bad domain '%s': %s", domain, reason);
	snprintf(name, sizeof(name), "%s", domain);
	addr_fold(name);
	switch (dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(name), NULL, err)) {
	case 0:
		break;
	case 1:
		return dir_fail(err, "domain %s already exists", name);
	default:
		return -1;
	}
	return dir_exec(dir, "INSERT INTO domains (name) VALUES (?1)",
	    DIR_P(name), err);
}

int
dir_domain_add(struct directory *dir, const char *domain, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, domain_add(dir, domain, err), err);
}

/* What still lives in the domain: its accounts (by mailbox), the other
 * addresses in it, its aliases (by source, the catch-all included). */
static const struct {
	const char *one;
	const char *many;
	const char *sql;
} domain_users[] = {
	{ "account", "accounts", "SELECT count(*) FROM accounts a "
	    "JOIN addresses ad ON ad.account_id = a.id AND "
	    "ad.address = a.mailbox JOIN domains d ON d.id = ad.domain_id "
	    "WHERE d.name = ?1" },
	{ "address", "addresses", "SELECT count(*) FROM addresses ad "
	    "JOIN accounts a ON a.id = ad.account_id AND "
	    "ad.address <> a.mailbox JOIN domains d ON d.id = ad.domain_id "
	    "WHERE d.name = ?1" },
	{ "alias", "aliases", "SELECT count(DISTINCT al.source) "
	    "FROM aliases al JOIN domains d ON d.id = al.domain_id "
	    "WHERE d.name = ?1" },
};

static int
domain_del(struct directory *dir, const char *domain, char *err)
{
	char in_use[DIR_ERR_MAX] = "";
	char name[ADDR_DOMAIN_MAX + 1];
	long long n;
	size_t used;

	snprintf(name, sizeof(name), "%s", domain);
	addr_fold(name);
	domain = name;
	switch (dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(domain), NULL, err)) {
	case 1:
		break;
	case 0:
		return dir_fail(err, "no domain %s", domain);
	default:
		return -1;
	}
	for (size_t i = 0; i < sizeof(domain_users) / sizeof(domain_users[0]);
	    i++) {
		if (dir_fetch_int(dir, domain_users[i].sql, DIR_P(domain), &n,
		    err) < 0)
			return -1;
		if (n == 0)
			continue;
		used = strlen(in_use);
		snprintf(in_use + used, sizeof(in_use) - used, "%s%lld %s",
		    used ? ", " : "", n, n == 1 ? domain_users[i].one :
		    domain_users[i].many);
	}
	if (in_use[0] != '\0')
		return dir_fail(err, "domain %s still has %s: delete them "
		    "first", domain, in_use);
	return dir_exec(dir, "DELETE FROM domains WHERE name = ?1",
	    DIR_P(domain), err);
}

int
dir_domain_del(struct directory *dir, const char *domain, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, domain_del(dir, domain, err), err);
}

int
dir_domain_list(struct directory *dir,
    void (*fn)(void *arg, const char *domain), void *arg, char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (dir_stmt(dir, "SELECT name FROM domains ORDER BY name", DIR_NOP,
	    &st, err) < 0)
		return dir_end(dir, -1, err);
	while ((rc = dir_step(dir, st, err)) == 1)
		fn(arg, dir_text(st, 0));
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}

/* ---- checks shared by accounts and addresses ---- */

/* Logins are compared byte for byte, so any bytes would do; control
 * characters are refused because a login is printed, one per line.  The
 * configurable format rules come on top of this. */
static int
login_valid(const char *login, char *err)
{
	size_t len = strnlen(login, DIR_LOGIN_LEN + 1);

	if (len == 0)
		return dir_fail(err, "empty login");
	if (len > DIR_LOGIN_LEN)
		return dir_fail(err, "login longer than %d bytes",
		    DIR_LOGIN_LEN);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)login[i] < 0x20 || login[i] == 0x7f)
			return dir_fail(err, "login contains a control "
			    "character");
	return 0;
}

/* A hash is stored as given (its formats are checked elsewhere); here
 * only that it is one printable word that crypt(3) could have made. */
static int
hash_check(const char *hash, char *err)
{
	size_t len;

	if (hash == NULL)
		return 0;
	len = strnlen(hash, DIR_HASH_MAX + 1);
	if (len == 0 || len > DIR_HASH_MAX)
		return dir_fail(err, "bad password hash: empty or too long");
	for (size_t i = 0; i < len; i++)
		if (hash[i] <= ' ' || hash[i] > '~')
			return dir_fail(err, "bad password hash: not "
			    "printable");
	return 0;
}

/* 0 when addr is not taken, in any case variant, as an address or as an
 * alias source; else -1 saying which. */
static int
address_free(struct directory *dir, const char *addr, char *err)
{
	char have[ADDR_BUF];

	switch (dir_fetch_text(dir, "SELECT address FROM addresses "
	    "WHERE address = ?1", DIR_P(addr), have, sizeof(have), err)) {
	case 0:
		break;
	case 1:
		if (strcmp(have, addr) == 0)
			return dir_fail(err, "address %s already exists", addr);
		return dir_fail(err, "address %s already exists (as %s)", addr,
		    have);
	default:
		return -1;
	}
	switch (dir_fetch_text(dir, "SELECT source FROM aliases WHERE "
	    "source = ?1 LIMIT 1", DIR_P(addr), have, sizeof(have), err)) {
	case 0:
		return 0;
	case 1:
		return dir_fail(err, "address %s is an alias (%s): delete it "
		    "with tern alias del first", addr, have);
	default:
		return -1;
	}
}

int
dir_need_account(struct directory *dir, const char *login, char *mailbox_r,
    char *err)
{
	char mailbox[ADDR_BUF];
	char other[DIR_LOGIN_MAX];

	switch (dir_fetch_text(dir, "SELECT mailbox FROM accounts "
	    "WHERE login = ?1", DIR_P(login), mailbox, sizeof(mailbox), err)) {
	case 1:
		if (mailbox_r != NULL)
			memcpy(mailbox_r, mailbox, strlen(mailbox) + 1);
		return 0;
	case 0:
		break;
	default:
		return -1;
	}
	switch (dir_fetch_text(dir, "SELECT login FROM accounts "
	    "WHERE login = ?1 COLLATE NOCASE ORDER BY id LIMIT 1",
	    DIR_P(login), other, sizeof(other), err)) {
	case 0:
		return dir_fail(err, "no account with login '%s'", login);
	case 1:
		return dir_fail(err, "no account with login '%s' "
		    "(did you mean '%s'?)", login, other);
	default:
		return -1;
	}
}

int
dir_user_mailbox(struct directory *dir, const char *login, char *mailbox_r,
    char *err)
{
	return dir_need_account(dir, login, mailbox_r, err);
}

/* Gives addr (parsed, free, in a local domain) to the account. */
static int
address_insert(struct directory *dir, const char *addr, const char *login,
    char *err)
{
	return dir_exec(dir, "INSERT INTO addresses (address, account_id, "
	    "domain_id) VALUES (?1, (SELECT id FROM accounts WHERE login = ?2),"
	    " (SELECT id FROM domains WHERE name = ?3))",
	    DIR_P(addr, login, addr_domain(addr)), err);
}

/* ---- accounts ---- */

static int
user_add(struct directory *dir, const char *address, const char *login,
    const char *hash, char *err)
{
	char addr[ADDR_BUF];

	if (dir_parse_addr("address", address, addr, err) < 0 ||
	    login_valid(login, err) < 0 || hash_check(hash, err) < 0 ||
	    dir_need_local(dir, addr_domain(addr), err) < 0 ||
	    address_free(dir, addr, err) < 0)
		return -1;
	switch (dir_fetch_int(dir, "SELECT 1 FROM accounts WHERE login = ?1",
	    DIR_P(login), NULL, err)) {
	case 0:
		break;
	case 1:
		return dir_fail(err, "login '%s' already exists", login);
	default:
		return -1;
	}
	if (dir_exec(dir, "INSERT INTO accounts (login, password, mailbox, "
	    "created) VALUES (?1, ?2, ?3, "
	    "CAST(strftime('%s', 'now') AS INTEGER))",
	    DIR_P(login, hash, addr), err) < 0)
		return -1;
	return address_insert(dir, addr, login, err);
}

int
dir_user_add(struct directory *dir, const char *address, const char *login,
    const char *password_hash, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, user_add(dir, address, login, password_hash, err),
	    err);
}

/* The addresses and the grants go with the account (ON DELETE CASCADE),
 * in the same statement: no session can send as them from then on. */
static int
user_del(struct directory *dir, const char *login, char *mailbox_r,
    char *err)
{
	if (dir_need_account(dir, login, mailbox_r, err) < 0)
		return -1;
	return dir_exec(dir, "DELETE FROM accounts WHERE login = ?1",
	    DIR_P(login), err);
}

int
dir_user_del(struct directory *dir, const char *login, char *mailbox_r,
    char *err)
{
	char mailbox[ADDR_BUF];

	if (dir_begin(dir, err) < 0)
		return -1;
	if (dir_end(dir, user_del(dir, login, mailbox, err), err) < 0)
		return -1;
	if (mailbox_r != NULL)
		memcpy(mailbox_r, mailbox, strlen(mailbox) + 1);
	return 0;
}

static int
user_passwd(struct directory *dir, const char *login, const char *hash,
    char *err)
{
	if (hash_check(hash, err) < 0 ||
	    dir_need_account(dir, login, NULL, err) < 0)
		return -1;
	if (dir_exec(dir, "UPDATE accounts SET password = ?2 "
	    "WHERE login = ?1", DIR_P(login, hash), err) < 0)
		return -1;
	/* A new password after a break-in: the addresses that logged in
	 * with the old one (the intruder's among them) are known no more,
	 * so the brake's per-login limit holds them again. */
	return dir_exec(dir, "DELETE FROM known_clients WHERE account_id = "
	    "(SELECT id FROM accounts WHERE login = ?1)", DIR_P(login), err);
}

int
dir_user_passwd(struct directory *dir, const char *login,
    const char *password_hash, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, user_passwd(dir, login, password_hash, err), err);
}

/* The account's addresses, its mailbox first, joined with commas. */
static int
user_addresses(struct directory *dir, const char *login, struct buf *b,
    char *err)
{
	sqlite3_stmt *st;
	int rc;

	buf_reset(b);
	/* The empty append makes b->data a string even with no rows. */
	if (buf_append(b, "", 0) < 0 || dir_stmt(dir, "SELECT ad.address "
	    "FROM addresses ad JOIN accounts a ON a.id = ad.account_id "
	    "WHERE a.login = ?1 ORDER BY ad.address = a.mailbox DESC, "
	    "ad.address", DIR_P(login), &st, err) < 0)
		return -1;
	while ((rc = dir_step(dir, st, err)) == 1) {
		if ((b->len > 0 && buf_append(b, ",", 1) < 0) ||
		    buf_append(b, sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) < 0) {
			rc = dir_fail(err, "account '%s' has too many "
			    "addresses to list", login);
			break;
		}
	}
	return dir_finalize(dir, st, rc, err);
}

int
dir_user_list(struct directory *dir,
    void (*fn)(void *arg, const char *login, const char *mailbox,
        const char *addresses), void *arg, char *err)
{
	sqlite3_stmt *st;
	struct buf b;
	int rc;

	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (dir_stmt(dir, "SELECT login, mailbox FROM accounts ORDER BY login",
	    DIR_NOP, &st, err) < 0)
		return dir_end(dir, -1, err);
	buf_init(&b, DIR_LIST_MAX);
	while ((rc = dir_step(dir, st, err)) == 1) {
		const char *login = dir_text(st, 0);

		if ((rc = user_addresses(dir, login, &b, err)) < 0)
			break;
		fn(arg, login, dir_text(st, 1), b.data);
	}
	buf_free(&b);
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}

/* ---- addresses of an account ---- */

static int
address_add(struct directory *dir, const char *address, const char *login,
    char *err)
{
	char addr[ADDR_BUF];

	if (dir_parse_addr("address", address, addr, err) < 0 ||
	    dir_need_local(dir, addr_domain(addr), err) < 0 ||
	    address_free(dir, addr, err) < 0 ||
	    dir_need_account(dir, login, NULL, err) < 0)
		return -1;
	return address_insert(dir, addr, login, err);
}

int
dir_address_add(struct directory *dir, const char *address,
    const char *login, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, address_add(dir, address, login, err), err);
}

static int
address_del(struct directory *dir, const char *address, char *err)
{
	char addr[ADDR_BUF];

	if (dir_parse_addr("address", address, addr, err) < 0)
		return -1;
	switch (dir_fetch_int(dir, "SELECT 1 FROM addresses WHERE address = ?1",
	    DIR_P(addr), NULL, err)) {
	case 1:
		break;
	case 0:
		return dir_fail(err, "no address %s", addr);
	default:
		return -1;
	}
	switch (dir_fetch_int(dir, "SELECT 1 FROM accounts WHERE mailbox = ?1",
	    DIR_P(addr), NULL, err)) {
	case 0:
		break;
	case 1:
		return dir_fail(err, "%s is the account's own address: use "
		    "tern user del", addr);
	default:
		return -1;
	}
	return dir_exec(dir, "DELETE FROM addresses WHERE address = ?1",
	    DIR_P(addr), err);
}

int
dir_address_del(struct directory *dir, const char *address, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, address_del(dir, address, err), err);
}
