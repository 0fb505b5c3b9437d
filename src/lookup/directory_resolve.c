/*
 * Resolving an envelope recipient to mailboxes: exact address, then alias,
 * then the domain's catch-all ("@domain"), and every alias target resolved
 * again the same way.  The recipient comes from the network through
 * smtpd, so it is parsed again here and trusted no further; what the
 * directory holds was checked when it was added, but may since have been
 * left dangling (an alias whose target was deleted), so every step is
 * checked again and bounded in depth and in fan-out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lookup/directory_int.h"
#include "util/log.h"

/* Most steps on one chain of expansion: the recipient, the aliases and
 * catch-alls it goes through. */
#define DIR_DEPTH_MAX 10

struct resolve {
	struct directory *dir;
	struct dir_target *targets;
	size_t max;
	size_t n;
	char path[DIR_DEPTH_MAX][ADDR_BUF];     /* the chain being expanded */
	size_t depth;
	char *err;                              /* DIR_ERR_MAX */
};

static enum dir_resolve_status resolve_addr(struct resolve *, const char *,
    int);

/* Says why in r->err.  (A database error is written there by the
 * dir_*() helper that met it.) */
static enum dir_resolve_status
resolve_fail(struct resolve *r, enum dir_resolve_status status,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum dir_resolve_status
resolve_fail(struct resolve *r, enum dir_resolve_status status,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, DIR_ERR_MAX, fmt, ap);
	va_end(ap);
	return status;
}

/*
 * Adds one mailbox unless an earlier branch reached it already (compared
 * without regard to ASCII case, for remote addresses too: two spellings
 * of one forward address are one copy).  Reaching more than max distinct
 * mailboxes is an expansion error, reported as a loop: returning the
 * first max would lose mail without a word.
 */
static enum dir_resolve_status
resolve_add(struct resolve *r, const char *addr, int remote)
{
	struct dir_target *t;

	for (size_t i = 0; i < r->n; i++)
		if (r->targets[i].remote == remote &&
		    strcasecmp(r->targets[i].addr, addr) == 0)
			return DIR_RESOLVE_OK;
	if (r->n == r->max)
		return resolve_fail(r, DIR_RESOLVE_LOOP, "expands to more than "
		    "%zu mailbox%s (at %s)", r->max, r->max == 1 ? "" : "es",
		    addr);
	if (strlen(addr) >= sizeof(t->addr))
		return resolve_fail(r, DIR_RESOLVE_TEMPFAIL, "database error: "
		    "address too long");
	t = &r->targets[r->n++];
	memcpy(t->addr, addr, strlen(addr) + 1);
	t->remote = remote;
	/* A local mailbox is named by its folded address, the key its
	 * Maildir is found under. */
	if (!remote)
		addr_fold(t->addr);
	return DIR_RESOLVE_OK;
}

/* Resolves every target of the alias source: OK with *found_r set to
 * whether the source had any, or the first failure. */
static enum dir_resolve_status
resolve_alias(struct resolve *r, const char *source, int *found_r)
{
	enum dir_resolve_status status = DIR_RESOLVE_OK;
	sqlite3_stmt *st;
	char target[ADDR_BUF];
	int rc = 0;

	*found_r = 0;
	if (dir_stmt(r->dir, "SELECT target FROM aliases WHERE source = ?1 "
	    "ORDER BY id", DIR_P(source), &st, r->err) < 0)
		return DIR_RESOLVE_TEMPFAIL;
	/* Each level has its own statement, so recursing while this one is
	 * part-way through its rows is fine; the row is copied first
	 * because the next step frees it. */
	while (status == DIR_RESOLVE_OK &&
	    (rc = dir_step(r->dir, st, r->err)) == 1) {
		*found_r = 1;
		if ((size_t)sqlite3_column_bytes(st, 0) >= sizeof(target)) {
			status = resolve_fail(r, DIR_RESOLVE_TEMPFAIL,
			    "database error: a target of %s is too long",
			    source);
			break;
		}
		memcpy(target, sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0) + 1);
		status = resolve_addr(r, target, 0);
	}
	if (dir_finalize(r->dir, st, status == DIR_RESOLVE_OK ? rc : -1,
	    r->err) < 0 && status == DIR_RESOLVE_OK)
		status = DIR_RESOLVE_TEMPFAIL;
	return status;
}

/* Puts addr on the chain being expanded, unless that is full. */
static enum dir_resolve_status
resolve_push(struct resolve *r, const char *addr)
{
	if (r->depth == DIR_DEPTH_MAX)
		return resolve_fail(r, DIR_RESOLVE_LOOP, "aliases nest more "
		    "than %d deep (at %s)", DIR_DEPTH_MAX, addr);
	snprintf(r->path[r->depth++], ADDR_BUF, "%s", addr);
	return DIR_RESOLVE_OK;
}

/* The account mailbox of an exact address: 1 found, 0 none, -1 error. */
static int
resolve_exact(struct resolve *r, const char *addr, char mailbox[ADDR_BUF])
{
	return dir_fetch_text(r->dir, "SELECT a.mailbox FROM addresses ad "
	    "JOIN accounts a ON a.id = ad.account_id WHERE ad.address = ?1",
	    DIR_P(addr), mailbox, ADDR_BUF, r->err);
}

/* The three steps for an address of a local domain. */
static enum dir_resolve_status
resolve_local(struct resolve *r, const char *addr)
{
	enum dir_resolve_status status;
	char mailbox[ADDR_BUF];
	char catchall[ADDR_BUF];
	int found;

	switch (resolve_exact(r, addr, mailbox)) {
	case 1:
		return resolve_add(r, mailbox, 0);
	case 0:
		break;
	default:
		return DIR_RESOLVE_TEMPFAIL;
	}
	status = resolve_alias(r, addr, &found);
	if (status != DIR_RESOLVE_OK || found)
		return status;
	/* The catch-all goes on the chain too, so that a loop through it
	 * reads as one: "x@d -> @d -> x@d". */
	snprintf(catchall, sizeof(catchall), "@%s", addr_domain(addr));
	if ((status = resolve_push(r, catchall)) != DIR_RESOLVE_OK)
		return status;
	status = resolve_alias(r, catchall, &found);
	r->depth--;
	if (status != DIR_RESOLVE_OK || found)
		return status;
	return resolve_fail(r, DIR_RESOLVE_UNKNOWN, r->depth > 1 ?
	    "target %s does not exist" : "%s does not exist", addr);
}

/* Names the whole chain: "aliases loop: a@x -> b@x -> a@x". */
static enum dir_resolve_status
resolve_loop(struct resolve *r, const char *addr)
{
	size_t len;

	snprintf(r->err, DIR_ERR_MAX, "aliases loop:");
	for (size_t i = 0; i < r->depth; i++) {
		len = strlen(r->err);
		snprintf(r->err + len, DIR_ERR_MAX - len, " %s ->", r->path[i]);
	}
	len = strlen(r->err);
	snprintf(r->err + len, DIR_ERR_MAX - len, " %s", addr);
	return DIR_RESOLVE_LOOP;
}

/*
 * One address, reached at the top (the recipient itself) or through an
 * alias.  A catch-all whose target falls back on the same catch-all comes
 * round to an address already on the chain and stops there; so does any
 * other cycle, and a chain too long to be meant stops at the depth limit.
 */
static enum dir_resolve_status
resolve_addr(struct resolve *r, const char *addr, int top)
{
	enum dir_resolve_status status;
	int local;

	for (size_t i = 0; i < r->depth; i++)
		if (strcasecmp(r->path[i], addr) == 0)
			return resolve_loop(r, addr);
	local = dir_fetch_int(r->dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(addr_domain(addr)), NULL, r->err);
	if (local < 0)
		return DIR_RESOLVE_TEMPFAIL;
	if (!local)
		return top ? resolve_fail(r, DIR_RESOLVE_NOT_LOCAL,
		    "%s is not a local domain", addr_domain(addr)) :
		    resolve_add(r, addr, 1);
	if ((status = resolve_push(r, addr)) != DIR_RESOLVE_OK)
		return status;
	status = resolve_local(r, addr);
	r->depth--;
	return status;
}

enum dir_resolve_status
dir_resolve_in(struct directory *dir, const char *addr,
    struct dir_target *targets, size_t max, size_t *n_r, char *err)
{
	struct resolve r = {
		.dir = dir, .targets = targets, .max = max, .err = err,
	};
	enum dir_resolve_status status;

	err[0] = '\0';
	status = resolve_addr(&r, addr, 1);
	*n_r = status == DIR_RESOLVE_OK ? r.n : 0;
	return status;
}

/* Logs a failure the postmaster should see: a broken alias or a broken
 * database.  The reason holds the recipient, bytes from the network. */
static void
resolve_log(const char *err)
{
	char esc[DIR_ERR_MAX * 4];

	log_warn("directory: %s", log_escape(esc, sizeof(esc), err,
	    strlen(err)));
}

enum dir_resolve_status
dir_resolve(struct directory *dir, const char *addr,
    struct dir_target *targets, size_t max, size_t *n_r)
{
	enum dir_resolve_status status;
	char parsed[ADDR_BUF];
	char err[DIR_ERR_MAX];
	const char *reason;

	*n_r = 0;
	if (addr_parse(addr, strnlen(addr, ADDR_MAX + 1), 1, parsed,
	    &reason) < 0)
		return DIR_RESOLVE_UNKNOWN;
	if (dir_begin_read(dir, err) < 0) {
		resolve_log(err);
		return DIR_RESOLVE_TEMPFAIL;
	}
	status = dir_resolve_in(dir, parsed, targets, max, n_r, err);
	if (status == DIR_RESOLVE_TEMPFAIL || status == DIR_RESOLVE_LOOP)
		resolve_log(err);
	/* Only read: the transaction is just the snapshot, and a failure to
	 * end it is a failure of the database. */
	if (dir_end(dir, 0, err) < 0) {
		resolve_log(err);
		*n_r = 0;
		return DIR_RESOLVE_TEMPFAIL;
	}
	return status;
}

int
dir_is_local_domain(struct directory *dir, const char *domain)
{
	char err[DIR_ERR_MAX];
	int rc;

	rc = dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(domain), NULL, err);
	if (rc < 0)
		log_warn("directory: %s", err);
	return rc;
}
