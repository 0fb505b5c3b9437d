/*
 * tern import's second half: the checked batch meets the directory, in
 * one write transaction, and the report is printed as it goes: one line
 * per item created or updated (unchanged ones with -v), every conflict
 * with its FILE:LINE, then the counts.  The transaction is committed only
 * when no conflict remains and this is no dry run; the conflicts that an
 * option resolves (a login breaking login_pattern, a hash tern cannot
 * check, a domain not yet local) are resolved here, where it is known
 * whether the account exists already: logins that exist are never
 * judged again.  Everything printed that came from a file is escaped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/import_apply.h"
#include "lookup/login_rules.h"
#include "lookup/password.h"
#include "util/escape.h"
#include "util/xmalloc.h"

enum { IMP_DOMAIN, IMP_ACCOUNT, IMP_ALIAS, IMP_KINDS };

struct apply {
	struct directory *dir;
	const struct conf *conf;
	struct import_batch *b;
	const struct import_opts *o;
	unsigned long n[IMP_KINDS][DIR_IMPORT_CONFLICT];
	unsigned long legacy, nopass;
	char *err;
};

static void
apply_put(const char *s)
{
	escape_text(stdout, s, strlen(s), 0);
}

static void
apply_at(struct import_at at)
{
	fputs(" (", stdout);
	apply_put(at.file);
	if (at.line > 0)
		printf(":%lu", at.line);
	putchar(')');
}

/* Counts one result; prints its line unless it is unchanged (then only
 * with -v).  what is "domain X", "alias X -> Y"... */
static void
apply_result(struct apply *a, int kind, enum dir_import_result res,
    const char *what, const char *note, struct import_at at,
    const struct import_list *addrs)
{
	static const char *const verb[] = { "create", "update", "unchanged" };

	a->n[kind][res]++;
	if (res == DIR_IMPORT_UNCHANGED && !a->o->verbose)
		return;
	printf("%s%s ", a->o->dry_run ? "would " : "", verb[res]);
	apply_put(what);
	for (size_t i = 0; addrs != NULL && i < addrs->n; i++) {
		fputs(i == 0 ? " + " : ", ", stdout);
		apply_put(addrs->v[i]);
	}
	if (note != NULL && note[0] != '\0') {
		fputs(" [", stdout);
		apply_put(note);
		putchar(']');
	}
	apply_at(at);
	putchar('\n');
}

/* The domain of one item, created first with --create-domains. */
static int
apply_domain(struct apply *a, const char *domain, struct import_at at)
{
	enum dir_import_result res;
	char what[ADDR_BUF + 16];

	if (dir_import_domain(a->dir, domain, 1, &res, a->err) < 0)
		return -1;
	if (res == DIR_IMPORT_CREATED) {
		snprintf(what, sizeof(what), "domain %s", domain);
		apply_result(a, IMP_DOMAIN, res, what, NULL, at, NULL);
	}
	return 0;
}

static int
apply_domains(struct apply *a)
{
	struct import_batch *b = a->b;
	enum dir_import_result res;
	char what[ADDR_BUF + 16];

	for (size_t i = 0; i < b->ndom; i++) {
		if (dir_import_domain(a->dir, b->dom[i].name, 1, &res,
		    a->err) < 0)
			return -1;
		snprintf(what, sizeof(what), "domain %s", b->dom[i].name);
		apply_result(a, IMP_DOMAIN, res, what, NULL, b->dom[i].at,
		    NULL);
	}
	if (!a->o->create_domains)
		return 0;
	for (size_t i = 0; i < b->nacc; i++) {
		struct import_account *ac = &b->acc[i];

		if (ac->skip)
			continue;
		if (apply_domain(a, addr_domain(ac->mailbox), ac->at) < 0)
			return -1;
		for (size_t j = 0; j < ac->addrs.n; j++)
			if (apply_domain(a, addr_domain(ac->addrs.v[j]),
			    ac->at) < 0)
				return -1;
	}
	for (size_t i = 0; i < b->nali; i++)
		if (!b->ali[i].skip && apply_domain(a,
		    addr_domain(b->ali[i].source), b->ali[i].at) < 0)
			return -1;
	return 0;
}

/* The login's own conflicts: a case twin in the directory, or, for a new
 * login, login_pattern.  0 to go on, 1 for a conflict, -1 on error. */
static int
apply_login(struct apply *a, struct import_account *ac, int *legacy_r)
{
	char mailbox[ADDR_BUF], other[DIR_LOGIN_MAX], why[IMPORT_ERR_MAX];

	*legacy_r = 0;
	switch (dir_import_login(a->dir, ac->login, mailbox, other, a->err)) {
	case 2:
		return 0;
	case 1:
		import_conflict(a->b, ac->at, "login '%s' differs only in case "
		    "from the existing login '%s': it is not imported; rename "
		    "it with --rename '%s=NEW' or leave it out", ac->login,
		    other, ac->login);
		return 1;
	case 0:
		break;
	default:
		return -1;
	}
	if (login_check(a->conf, ac->login, why, sizeof(why)) == 0)
		return 0;
	if (!a->o->keep_logins) {
		import_conflict(a->b, ac->at, "%s (--keep-logins keeps it, "
		    "marked legacy)", why);
		return 1;
	}
	*legacy_r = 1;
	return 0;
}

/* The hash to store, or NULL: none given, or one tern cannot check with
 * --allow-no-password (why says so).  0, or 1 for a conflict. */
static int
apply_hash(struct apply *a, struct import_account *ac, const char **hash_r,
    char *why, size_t whylen)
{
	*hash_r = NULL;
	why[0] = '\0';
	if (ac->hash == NULL)
		return 0;
	if (ac->stored != NULL) {
		*hash_r = ac->stored;
		return 0;
	}
	if (!a->o->allow_no_password) {
		import_conflict(a->b, ac->at, "login '%s': %s "
		    "(--allow-no-password creates it without a password)",
		    ac->login, ac->hash_err);
		return 1;
	}
	snprintf(why, whylen, "no password: %s", ac->hash_err);
	return 0;
}

/* A hash the directory holds already for this login needs no check: it
 * was checked when stored.  The given one may carry a {SCHEME} prefix. */
static int
apply_known_hashes(struct apply *a)
{
	char have[DIR_IMPORT_HASH_BUF];
	const char *given;

	for (size_t i = 0; i < a->b->nacc; i++) {
		struct import_account *ac = &a->b->acc[i];

		if (ac->skip || ac->hash == NULL)
			continue;
		switch (dir_import_hash(a->dir, ac->login, have, a->err)) {
		case 0:
			continue;
		case 1:
			break;
		default:
			return -1;
		}
		given = ac->hash;
		if (given[0] == '{' && strchr(given, '}') != NULL)
			given = strchr(given, '}') + 1;
		if (strcmp(given, have) == 0)
			ac->stored = xstrdup(have);
	}
	return 0;
}

static int
apply_account(struct apply *a, struct import_account *ac)
{
	struct dir_import_account d = { .login = ac->login,
		.mailbox = ac->mailbox, .addrs = (const char *const *)ac->addrs.v,
		.naddrs = ac->addrs.n };
	enum dir_import_result res;
	char note[IMPORT_ERR_MAX + 64];
	char why[DIR_ERR_MAX], what[DIR_LOGIN_MAX + ADDR_BUF + 16];
	int rc;

	/* Both looked at, so that one run names every conflict. */
	if ((rc = apply_login(a, ac, &d.legacy)) < 0)
		return -1;
	if ((apply_hash(a, ac, &d.hash, note, sizeof(note)) | rc) != 0)
		return 0;
	if (dir_import_account(a->dir, &d, &res, why, a->err) < 0)
		return -1;
	if (res == DIR_IMPORT_CONFLICT) {
		import_conflict(a->b, ac->at, "login '%s': %s", ac->login, why);
		return 0;
	}
	if (res != DIR_IMPORT_CREATED) {
		note[0] = '\0';
	} else {
		a->legacy += d.legacy;
		a->nopass += d.hash == NULL;
		if (d.legacy)
			snprintf(note + strlen(note), sizeof(note) -
			    strlen(note), "%slegacy login: breaks "
			    "login_pattern", note[0] ? "; " : "");
		if (d.hash == NULL && note[0] == '\0')
			snprintf(note, sizeof(note), "no password");
	}
	snprintf(what, sizeof(what), "account '%s' %s", ac->login, ac->mailbox);
	apply_result(a, IMP_ACCOUNT, res, what, note, ac->at, &ac->addrs);
	return 0;
}

/* Every target of one alias line; then, once all are in, whether each
 * source resolves as mail would (a loop, a target that does not exist). */
static int
apply_alias(struct apply *a, struct import_alias *al)
{
	enum dir_import_result res;
	char why[DIR_ERR_MAX], what[2 * ADDR_BUF + 16];

	for (size_t i = 0; i < al->targets.n; i++) {
		if (dir_import_alias(a->dir, al->source, al->targets.v[i],
		    &res, why, a->err) < 0)
			return -1;
		if (res == DIR_IMPORT_CONFLICT) {
			import_conflict(a->b, al->at, "alias %s: %s",
			    al->source, why);
			al->skip = 1;
			return 0;
		}
		snprintf(what, sizeof(what), "alias %s -> %s", al->source,
		    al->targets.v[i]);
		apply_result(a, IMP_ALIAS, res, what, NULL, al->at, NULL);
	}
	return 0;
}

static int
apply_aliases(struct apply *a)
{
	struct import_batch *b = a->b;
	enum dir_import_result res;
	char why[DIR_ERR_MAX];

	for (size_t i = 0; i < b->nali; i++)
		if (!b->ali[i].skip && apply_alias(a, &b->ali[i]) < 0)
			return -1;
	for (size_t i = 0; i < b->nali; i++) {
		if (b->ali[i].skip)
			continue;
		if (dir_import_alias_check(a->dir, b->ali[i].source, &res, why,
		    a->err) < 0)
			return -1;
		if (res == DIR_IMPORT_CONFLICT)
			import_conflict(b, b->ali[i].at, "alias %s refused: %s",
			    b->ali[i].source, why);
	}
	return 0;
}

static void
apply_conflicts(const struct import_batch *b)
{
	for (size_t i = 0; i < b->ncon; i++) {
		fputs("conflict ", stdout);
		apply_put(b->con[i].at.file);
		if (b->con[i].at.line > 0)
			printf(":%lu", b->con[i].at.line);
		fputs(": ", stdout);
		apply_put(b->con[i].what);
		putchar('\n');
	}
}

static void
apply_counts(const struct apply *a)
{
	static const char *const kinds[] = { "domains", "accounts",
		"alias targets" };

	for (int k = 0; k < IMP_KINDS; k++)
		printf("%s: %lu created, %lu updated, %lu unchanged\n",
		    kinds[k], a->n[k][DIR_IMPORT_CREATED],
		    a->n[k][DIR_IMPORT_UPDATED], a->n[k][DIR_IMPORT_UNCHANGED]);
	if (a->legacy > 0)
		printf("legacy logins kept (--keep-logins): %lu\n", a->legacy);
	if (a->nopass > 0)
		printf("accounts without a password: %lu\n", a->nopass);
	printf("conflicts: %zu\n", a->b->ncon);
}

static unsigned long
apply_changes(const struct apply *a)
{
	unsigned long n = 0;

	for (int k = 0; k < IMP_KINDS; k++)
		n += a->n[k][DIR_IMPORT_CREATED] + a->n[k][DIR_IMPORT_UPDATED];
	return n;
}

int
import_apply(struct directory *dir, const struct conf *conf,
    struct import_batch *b, const struct import_opts *o, char *err)
{
	struct apply a = { .dir = dir, .conf = conf, .b = b, .o = o,
		.err = err };
	int rc = 0, commit;

	/* The slow hash checks before the write lock is taken: the lookup
	 * process of a running server writes too (the audit, known
	 * clients) and waits only a few seconds for the lock. */
	if (apply_known_hashes(&a) < 0)
		return -1;
	import_hash_check(b);
	if (dir_import_begin(dir, err) < 0)
		return -1;
	if (apply_domains(&a) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < b->nacc; i++)
		if (!b->acc[i].skip && apply_account(&a, &b->acc[i]) < 0)
			rc = -1;
	if (rc == 0 && apply_aliases(&a) < 0)
		rc = -1;
	if (rc < 0) {
		(void)dir_import_end(dir, 0, err);
		return -1;
	}
	apply_conflicts(b);
	apply_counts(&a);
	commit = !o->dry_run && b->ncon == 0 && apply_changes(&a) > 0;
	if (dir_import_end(dir, commit, err) < 0)
		return -1;
	if (b->ncon > 0) {
		snprintf(err, DIR_ERR_MAX, "%zu conflict%s: nothing written",
		    b->ncon, b->ncon == 1 ? "" : "s");
		return -1;
	}
	if (o->dry_run)
		printf("dry run: nothing written\n");
	else if (!commit)
		printf("nothing to change: everything is there already\n");
	else
		printf("imported: %lu changes written\n", apply_changes(&a));
	return 0;
}
