/*
 * The directory: domains, accounts, addresses and aliases in SQLite
 * (state_dir/tern.db, WAL, versioned schema with migrations).  Addresses
 * match without regard to case; logins are exact, byte for byte.  Only the
 * lookup process and the admin commands open it.  Every change is one
 * transaction: it happens whole or not at all.
 */
#ifndef TERN_DIRECTORY_H
#define TERN_DIRECTORY_H

#include <stddef.h>

#include "util/addr.h"

struct directory;

#define DIR_ERR_MAX 256

/* Opens (creating and migrating as needed) state_dir/tern.db.  0, or -1
 * with a one-line reason in err. */
int dir_open(const char *state_dir, struct directory **dir_r, char *err,
    size_t errlen);
void dir_close(struct directory **dir);
/* The schema version this tern brings a directory to. */
long long dir_schema_latest(void);

/* ---- resolution, used by the lookup process ---- */

enum dir_resolve_status {
	DIR_RESOLVE_OK = 0,
	DIR_RESOLVE_NOT_LOCAL,  /* the domain is not one of ours */
	DIR_RESOLVE_UNKNOWN,    /* local domain, no such address, no catch-all */
	DIR_RESOLVE_LOOP,       /* alias expansion loops or is too deep */
	DIR_RESOLVE_TEMPFAIL,   /* database error */
};

#define DIR_RESOLVE_MAX 100     /* most mailboxes one recipient expands to */

struct dir_target {
	char addr[ADDR_BUF];    /* local: the mailbox's own address (folded);
	                           remote: the address to forward to */
	int remote;
};

/* Resolves one envelope recipient: exact address, then alias, then the
 * domain's catch-all ("@domain"); alias targets are resolved again, the
 * same way.  Fills up to max targets, without duplicates. */
enum dir_resolve_status dir_resolve(struct directory *dir, const char *addr,
    struct dir_target *targets, size_t max, size_t *n_r);

/* 1 if domain is one of ours, 0 if not, -1 on error. */
int dir_is_local_domain(struct directory *dir, const char *domain);

/* ---- authentication and sender binding, used by the lookup process ---- */

#define DIR_LOGIN_MAX 256       /* bytes of a login, with its NUL */

enum dir_auth_status {
	DIR_AUTH_OK = 0,
	DIR_AUTH_UNKNOWN,       /* no such login, in any case */
	DIR_AUTH_PASSWORD,      /* the login exists; the password is wrong */
	DIR_AUTH_CASE_MISMATCH, /* only a login differing in case exists */
	DIR_AUTH_TEMPFAIL,      /* database error */
};

/* The reason a login failed, as every door logs it: "unknown",
 * "password", "case-mismatch" or "tempfail". */
const char *dir_auth_reason(enum dir_auth_status st);

/*
 * Verifies login and password.  The login is compared byte for byte.
 * When only a login that differs in ASCII case exists, returns
 * DIR_AUTH_CASE_MISMATCH, writes that login to existing_r and sets
 * *password_ok_r to whether the password is right for it (warn mode lets
 * such a login in, and never with a wrong password).  Runs crypt(3), which
 * is slow on purpose: only the lookup process calls it.
 */
enum dir_auth_status dir_auth_verify(struct directory *dir, const char *login,
    const char *password, char existing_r[DIR_LOGIN_MAX], int *password_ok_r);

/* dir_auth_verify in two halves, so that the slow crypt(3) between them
 * can run off the lookup loop: the hash to check the password against
 * (the exact login's, a case variant's with existing_r set, or a dummy
 * one for an unknown login, so that its answer takes as long), and what
 * the check means.  hash_r has PASSWORD_HASH_BUF (384) bytes. */
enum dir_auth_status dir_auth_lookup(struct directory *dir, const char *login,
    char *hash_r, char existing_r[DIR_LOGIN_MAX]);
/* verified: password_verify's answer (1, 0, -1). */
enum dir_auth_status dir_auth_result(enum dir_auth_status found, int verified,
    int *password_ok_r);

/* The mailbox (a folded address) of the account whose login is exactly
 * login: 1 with it in mailbox_r, 0 if there is none, -1 on error
 * (logged). */
int dir_account_mailbox(struct directory *dir, const char *login,
    char mailbox_r[ADDR_BUF]);

/* May the account of login use address as a sender (envelope or header)?
 * Its own addresses and its grants (an address, or "*@domain"); address ""
 * is the null sender, allowed only by the grant "<>".  Addresses compare
 * without regard to case.  1 yes, 0 no, -1 error. */
int dir_sender_allowed(struct directory *dir, const char *login,
    const char *address);

/* Counts one event for tern audit: kind is "case-mismatch",
 * "sender-outside-binding", "auth-failure", or "auth-slowed" and
 * "auth-refused" (a login the brute-force brake held back or refused
 * because of earlier failures); existing_login and address
 * may be "".  protocol is the door: "smtp", "imap" or "pop3".  One row
 * per distinct (kind, login, existing_login, address, client_ip, protocol)
 * with count, first and last seen; past max_rows rows the oldest by last
 * seen are dropped.  0 or -1. */
int dir_audit_record(struct directory *dir, const char *kind,
    const char *login, const char *existing_login, const char *address,
    const char *client_ip, const char *protocol, unsigned max_rows);
/* The same event, which warn mode let through (a miscased login with its
 * password, a sender outside the binding): counted in the row's let_in
 * too, for tern audit --ready. */
int dir_audit_let_in(struct directory *dir, const char *kind,
    const char *login, const char *existing_login, const char *address,
    const char *client_ip, const char *protocol, unsigned max_rows);

/* Known clients, for the brute-force brake: client addresses that logged
 * in to an account, remembered for ttl seconds. */

/* 1 if client logged in as login (exact) in the last ttl seconds, with
 * that time in *last_r; 0 if not; -1 on error (logged). */
int dir_known_client_get(struct directory *dir, const char *login,
    const char *client_ip, unsigned ttl, long long *last_r);
/* Remembers that client logged in as login now; forgets pairs older than
 * ttl and, past max pairs, the least recently seen.  0, or -1 (logged). */
int dir_known_client_seen(struct directory *dir, const char *login,
    const char *client_ip, unsigned ttl, unsigned max);

/* ---- administration, used by the tern command ---- */
/* Each returns 0, or -1 with a one-line reason in err (DIR_ERR_MAX). */

int dir_domain_add(struct directory *dir, const char *domain, char *err);
int dir_domain_del(struct directory *dir, const char *domain, char *err);
/* Calls fn once per domain, in name order. */
int dir_domain_list(struct directory *dir,
    void (*fn)(void *arg, const char *domain), void *arg, char *err);

/* password_hash may be NULL (an account that cannot log in yet). */
int dir_user_add(struct directory *dir, const char *address, const char *login,
    const char *password_hash, char *err);
/* Deletes the account, its addresses (and, later, its grants).  When
 * mailbox_r is not NULL, writes the account's mailbox address there
 * (ADDR_BUF) so that --purge can remove its Maildir. */
int dir_user_del(struct directory *dir, const char *login, char *mailbox_r,
    char *err);
int dir_user_passwd(struct directory *dir, const char *login,
    const char *password_hash, char *err);
int dir_user_list(struct directory *dir,
    void (*fn)(void *arg, const char *login, const char *mailbox,
        const char *addresses), void *arg, char *err);
/* The mailbox address (ADDR_BUF) of the account whose login is exactly
 * login; an unknown login is an error that names a login differing only in
 * case, if there is one. */
int dir_user_mailbox(struct directory *dir, const char *login,
    char *mailbox_r, char *err);

int dir_address_add(struct directory *dir, const char *address,
    const char *login, char *err);
int dir_address_del(struct directory *dir, const char *address, char *err);

/* source is an address or "@domain" (catch-all) in a local domain; targets
 * are addresses, local or remote.  Adding to an existing source adds
 * targets.  An alias that would make a loop is refused. */
int dir_alias_add(struct directory *dir, const char *source,
    const char *const *targets, size_t ntargets, char *err);
int dir_alias_del(struct directory *dir, const char *source, char *err);
/* Grants: pattern is an address, "*@domain" or "<>" (the null sender). */
int dir_sender_allow(struct directory *dir, const char *login,
    const char *pattern, char *err);
int dir_sender_revoke(struct directory *dir, const char *login,
    const char *pattern, char *err);
/* login NULL: every account's grants. */
int dir_sender_list(struct directory *dir, const char *login,
    void (*fn)(void *arg, const char *login, const char *pattern), void *arg,
    char *err);

struct dir_audit_row {
	const char *kind, *login, *existing_login, *address, *client_ip;
	const char *protocol;   /* smtp, imap, pop3 */
	unsigned long long count;
	long long first_seen, last_seen;        /* Unix time */
	unsigned long long let_in;      /* of count, let through by warn mode */
	long long last_let_in;          /* Unix time, 0 for never */
};
/* Rows last seen at or after since, grouped as tern audit shows them
 * (by login and client, the most frequent first). */
int dir_audit_list(struct directory *dir, long long since,
    void (*fn)(void *arg, const struct dir_audit_row *row), void *arg,
    char *err);

int dir_alias_list(struct directory *dir,
    void (*fn)(void *arg, const char *source, const char *target), void *arg,
    char *err);

/* ---- tern import: a whole batch in one transaction ---- */

/* What became of one item.  A conflict comes with its reason in why
 * (DIR_ERR_MAX); the batch is then never committed. */
enum dir_import_result {
	DIR_IMPORT_CREATED,
	DIR_IMPORT_UPDATED,
	DIR_IMPORT_UNCHANGED,
	DIR_IMPORT_CONFLICT,
};

/* Opens the write transaction every dir_import_*() below runs in, and
 * ends it: committed when commit is set, else rolled back.  0 or -1. */
int dir_import_begin(struct directory *dir, char *err);
int dir_import_end(struct directory *dir, int commit, char *err);

/* domain (valid, folded): UNCHANGED if local, else CREATED when create
 * is set, CONFLICT when not. */
int dir_import_domain(struct directory *dir, const char *domain, int create,
    enum dir_import_result *res_r, char *err);

/* 1 when only a login that differs in ASCII case exists (written to
 * other_r), 0 when none; 2 when login itself exists (its mailbox in
 * mailbox_r); -1 on error. */
int dir_import_login(struct directory *dir, const char *login,
    char mailbox_r[ADDR_BUF], char other_r[DIR_LOGIN_MAX], char *err);

#define DIR_IMPORT_HASH_BUF 384 /* crypt(3)'s CRYPT_OUTPUT_SIZE */

/* The hash of the account whose login is exactly login: 1 with it in
 * hash_r, 0 when there is no such account or it has no password. */
int dir_import_hash(struct directory *dir, const char *login,
    char hash_r[DIR_IMPORT_HASH_BUF], char *err);

struct dir_import_account {
	const char *login;      /* exact; checked by the caller */
	const char *mailbox;    /* parsed, domain folded */
	const char *hash;       /* bare crypt(3) hash, or NULL: none */
	const char *const *addrs;       /* more addresses, parsed */
	size_t naddrs;
	int legacy;             /* the login breaks login_pattern */
};

/* Creates the account, or brings an existing one of the same login and
 * mailbox up to date (a new hash, addresses it lacks: UPDATED; nothing
 * new: UNCHANGED).  CONFLICT: an address another account or an alias
 * has, a domain that is not local, the login with another mailbox. */
int dir_import_account(struct directory *dir,
    const struct dir_import_account *a, enum dir_import_result *res_r,
    char why[DIR_ERR_MAX], char *err);

/* One alias target (source parsed: an address or "@domain"): CREATED,
 * or UNCHANGED when there already; CONFLICT when the source's domain
 * is not local or the source is an account's address. */
int dir_import_alias(struct directory *dir, const char *source,
    const char *target, enum dir_import_result *res_r, char why[DIR_ERR_MAX],
    char *err);
/* After every alias is in: resolves source as mail would be; a loop or
 * a target that does not exist is a CONFLICT (why says which). */
int dir_import_alias_check(struct directory *dir, const char *source,
    enum dir_import_result *res_r, char why[DIR_ERR_MAX], char *err);

/* The accounts marked legacy, in login order. */
int dir_legacy_list(struct directory *dir,
    void (*fn)(void *arg, const char *login, const char *mailbox), void *arg,
    char *err);

/* ---- outbound TLS policies per destination domain ---- */

/* The policy (may, encrypt, verify) for mail to one exact domain, the
 * domain of the recipient; it overrides smtp_tls_policy and does not
 * cover subdomains.  Domains are checked and stored in lower case; policy
 * words are taken in any case.  Each returns 0, or -1 with a one-line
 * reason in err (DIR_ERR_MAX), except dir_tls_policy_get(). */

/* Sets the domain's policy, replacing the one it had. */
int dir_tls_policy_set(struct directory *dir, const char *domain,
    const char *policy, char *err);
/* A domain without a policy is an error ("no TLS policy for x"). */
int dir_tls_policy_del(struct directory *dir, const char *domain, char *err);
/* Calls fn once per policy, in domain order. */
int dir_tls_policy_list(struct directory *dir,
    void (*fn)(void *arg, const char *domain, const char *policy), void *arg,
    char *err);
/* For the queue process: 1 with *policy_r set to CONF_TLS_MAY, _ENCRYPT
 * or _VERIFY if domain (any case) has a policy, 0 if not, -1 on error
 * (logged). */
int dir_tls_policy_get(struct directory *dir, const char *domain,
    int *policy_r);

#endif
