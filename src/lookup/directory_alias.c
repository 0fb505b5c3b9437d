/*
 * Aliases: a source (an address, or "@domain" for the domain's catch-all)
 * in a local domain, and its targets, local or remote.  Trusts its caller
 * to be the postmaster but checks what he asks for: an alias is added
 * only if the whole of its expansion resolves right now, with the same
 * code that will resolve it for mail, so a loop or a target that does not
 * exist is refused instead of found by the first message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lookup/directory_int.h"
#include "util/xmalloc.h"

/* Parses a source into out: an address, or "@" and a domain name, the
 * domain folded either way. */
static int
alias_source(const char *source, char out[ADDR_BUF], char *err)
{
	const char *reason;

	if (source[0] != '@')
		return dir_parse_addr("alias source", source, out, err);
	if (addr_domain_valid(source + 1, &reason) < 0)
		return dir_fail(err, "bad alias source '%s': %s", source,
		    reason);
	snprintf(out, ADDR_BUF, "%s", source);
	addr_fold(out);
	return 0;
}

/* An alias source lives in a local domain and is nobody's address.  An
 * existing alias keeps the spelling it was first given, so that its
 * targets list under one source. */
static int
alias_source_free(struct directory *dir, char source[ADDR_BUF], char *err)
{
	const char *domain = addr_domain(source);
	char have[ADDR_BUF];

	switch (dir_fetch_int(dir, "SELECT 1 FROM domains WHERE name = ?1",
	    DIR_P(domain), NULL, err)) {
	case 1:
		break;
	case 0:
		return dir_fail(err, "alias source must be in a local domain "
		    "(%s is not)", domain);
	default:
		return -1;
	}
	switch (dir_fetch_text(dir, "SELECT address FROM addresses "
	    "WHERE address = ?1", DIR_P(source), have, sizeof(have), err)) {
	case 0:
		break;
	case 1:
		return dir_fail(err, "%s is an account's address (%s): it "
		    "cannot be an alias source", source, have);
	default:
		return -1;
	}
	switch (dir_fetch_text(dir, "SELECT source FROM aliases WHERE "
	    "source = ?1 ORDER BY id LIMIT 1", DIR_P(source), have,
	    sizeof(have), err)) {
	case 0:
		return 0;
	case 1:
		memcpy(source, have, strlen(have) + 1);
		return 0;
	default:
		return -1;
	}
}

/* Resolves the source with its new targets in place; any failure is the
 * reason to refuse them. */
static int
alias_check(struct directory *dir, const char *source, char *err)
{
	struct dir_target *targets;
	char why[DIR_ERR_MAX];
	size_t n;
	enum dir_resolve_status status;

	targets = xcalloc(DIR_RESOLVE_MAX, sizeof(*targets));
	status = dir_resolve_in(dir, source, targets, DIR_RESOLVE_MAX, &n, why);
	free(targets);
	switch (status) {
	case DIR_RESOLVE_OK:
		return 0;
	case DIR_RESOLVE_TEMPFAIL:
		return dir_fail(err, "%s", why);
	default:
		return dir_fail(err, "alias %s refused: %s", source, why);
	}
}

/*
 * A pair that is already there is skipped without a word: adding a target
 * twice means the same as adding it once, and the admin command can then
 * be run again safely.
 */
static int
alias_add(struct directory *dir, const char *source,
    const char *const *targets, size_t ntargets, char *err)
{
	char src[ADDR_BUF];
	char target[ADDR_BUF];

	if (ntargets == 0)
		return dir_fail(err, "alias without a target");
	if (alias_source(source, src, err) < 0 ||
	    alias_source_free(dir, src, err) < 0)
		return -1;
	for (size_t i = 0; i < ntargets; i++) {
		if (dir_parse_addr("alias target", targets[i], target, err) < 0)
			return -1;
		if (dir_exec(dir, "INSERT OR IGNORE INTO aliases (source, "
		    "target, domain_id) VALUES (?1, ?2, "
		    "(SELECT id FROM domains WHERE name = ?3))",
		    DIR_P(src, target, addr_domain(src)), err) < 0)
			return -1;
	}
	return alias_check(dir, src, err);
}

int
dir_alias_add(struct directory *dir, const char *source,
    const char *const *targets, size_t ntargets, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, alias_add(dir, source, targets, ntargets, err),
	    err);
}

static int
alias_del(struct directory *dir, const char *source, char *err)
{
	char src[ADDR_BUF];

	if (alias_source(source, src, err) < 0)
		return -1;
	switch (dir_fetch_int(dir, "SELECT 1 FROM aliases WHERE source = ?1",
	    DIR_P(src), NULL, err)) {
	case 1:
		break;
	case 0:
		return dir_fail(err, "no alias %s", src);
	default:
		return -1;
	}
	return dir_exec(dir, "DELETE FROM aliases WHERE source = ?1",
	    DIR_P(src), err);
}

int
dir_alias_del(struct directory *dir, const char *source, char *err)
{
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, alias_del(dir, source, err), err);
}

int
dir_alias_list(struct directory *dir,
    void (*fn)(void *arg, const char *source, const char *target), void *arg,
    char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (dir_stmt(dir, "SELECT source, target FROM aliases "
	    "ORDER BY source, id", DIR_NOP, &st, err) < 0)
		return dir_end(dir, -1, err);
	while ((rc = dir_step(dir, st, err)) == 1)
		fn(arg, dir_text(st, 0), dir_text(st, 1));
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}
