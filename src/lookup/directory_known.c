/*
 * Known clients, for the brute-force brake: the client addresses each
 * account has logged in from, with the first and last time.  Written by
 * the lookup process after a successful login, read before each login.
 * Bounded: pairs not seen for ttl are dropped, and past max pairs the
 * least recently seen go first.  The login and address come from the
 * network through smtpd and reach SQL only as bound parameters; one too
 * long to be an account's login or a client's address is never known.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lookup/directory_int.h"
#include "util/log.h"

#define KNOWN_CLIENT_MAX 64     /* bytes of a client address, with NUL */

/* The oldest last_seen still known, as SQL text. */
static void
known_since(unsigned ttl, char num[32])
{
	snprintf(num, 32, "%lld", (long long)time(NULL) - (long long)ttl);
}

int
dir_known_client_get(struct directory *dir, const char *login,
    const char *client_ip, unsigned ttl, long long *last_r)
{
	char since[32], err[DIR_ERR_MAX];
	int rc;

	if (strnlen(login, DIR_LOGIN_MAX) >= DIR_LOGIN_MAX ||
	    strnlen(client_ip, KNOWN_CLIENT_MAX) >= KNOWN_CLIENT_MAX)
		return 0;
	known_since(ttl, since);
	rc = dir_fetch_int(dir, "SELECT k.last_seen FROM known_clients k "
	    "JOIN accounts a ON a.id = k.account_id WHERE a.login = ?1 "
	    "AND k.client_ip = ?2 AND k.last_seen >= CAST(?3 AS INTEGER)",
	    DIR_P(login, client_ip, since), last_r, err);
	if (rc < 0)
		log_warn("directory: %s", err);
	return rc;
}

/* The pair, new or with its last_seen moved to now. */
static int
known_upsert(struct directory *dir, const char *login, const char *client_ip,
    char *err)
{
	return dir_exec(dir, "INSERT INTO known_clients (account_id, "
	    "client_ip, first_seen, last_seen) SELECT id, ?2, "
	    "CAST(strftime('%s', 'now') AS INTEGER), "
	    "CAST(strftime('%s', 'now') AS INTEGER) FROM accounts "
	    "WHERE login = ?1 "
	    "ON CONFLICT (account_id, client_ip) DO UPDATE SET "
	    "last_seen = excluded.last_seen",
	    DIR_P(login, client_ip), err);
}

/* Drops the pairs past ttl, then all but the max most recent. */
static int
known_trim(struct directory *dir, unsigned ttl, unsigned max, char *err)
{
	char since[32], num[32];

	known_since(ttl, since);
	snprintf(num, sizeof(num), "%u", max);
	if (dir_exec(dir, "DELETE FROM known_clients WHERE "
	    "last_seen < CAST(?1 AS INTEGER)", DIR_P(since), err) < 0)
		return -1;
	return dir_exec(dir, "DELETE FROM known_clients WHERE id IN "
	    "(SELECT id FROM known_clients ORDER BY last_seen DESC, id DESC "
	    "LIMIT -1 OFFSET CAST(?1 AS INTEGER))", DIR_P(num), err);
}

int
dir_known_client_seen(struct directory *dir, const char *login,
    const char *client_ip, unsigned ttl, unsigned max)
{
	char err[DIR_ERR_MAX];
	int rc;

	if (strnlen(login, DIR_LOGIN_MAX) >= DIR_LOGIN_MAX ||
	    strnlen(client_ip, KNOWN_CLIENT_MAX) >= KNOWN_CLIENT_MAX)
		return 0;
	if (dir_begin(dir, err) < 0) {
		log_warn("directory: %s", err);
		return -1;
	}
	rc = known_upsert(dir, login, client_ip, err);
	if (rc == 0)
		rc = known_trim(dir, ttl, max, err);
	if (dir_end(dir, rc, err) < 0) {
		log_warn("directory: %s", err);
		return -1;
	}
	return 0;
}
