/*
 * The checks tern import makes on the files alone, before the directory
 * is asked anything: --rename applied, every address parsed (the parsed
 * form replaces the one given), and the conflicts between the files'
 * own lines: a login given twice, two logins that differ only in case
 * (tern refuses to guess which one the users type: neither is imported),
 * an address claimed by two accounts, or by an account and an alias.
 * Sorting without regard to case finds each group in n log n, so ten
 * thousand accounts cost nothing here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import/import.h"
#include "util/xmalloc.h"

#define CHECK_LOGIN_MAX 255     /* bytes, as the directory takes them */

/* The parsed form of an address given in a file, in place. */
static int
check_addr(struct import_batch *b, char **s, struct import_at at,
    const char *what)
{
	char out[ADDR_BUF];
	const char *reason;

	if (addr_parse(*s, strnlen(*s, ADDR_MAX + 1), 1, out, &reason) < 0) {
		import_conflict(b, at, "bad %s '%.300s': %s", what, *s,
		    reason);
		return -1;
	}
	free(*s);
	*s = xstrdup(out);
	return 0;
}

static int
check_login(struct import_batch *b, const char *login, struct import_at at)
{
	size_t len = strnlen(login, CHECK_LOGIN_MAX + 1);

	if (len == 0 || len > CHECK_LOGIN_MAX) {
		import_conflict(b, at, "login empty or longer than %d bytes",
		    CHECK_LOGIN_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)login[i] < 0x20 || login[i] == 0x7f) {
			import_conflict(b, at, "login contains a control "
			    "character");
			return -1;
		}
	}
	return 0;
}

static void
check_account(struct import_batch *b, struct import_account *a,
    struct import_rename *ren, size_t nren)
{
	if (check_addr(b, &a->address, a->at, "address") < 0)
		a->skip = 1;
	else
		snprintf(a->mailbox, sizeof(a->mailbox), "%s", a->address);
	if (a->login == NULL)
		a->login = xstrdup(a->address);
	for (size_t i = 0; i < nren; i++) {
		if (strcmp(a->login, ren[i].old_login) == 0) {
			free(a->login);
			a->login = xstrdup(ren[i].new_login);
			ren[i].used = 1;
			break;
		}
	}
	if (check_login(b, a->login, a->at) < 0)
		a->skip = 1;
	for (size_t i = 0; i < a->addrs.n; i++)
		if (check_addr(b, &a->addrs.v[i], a->at, "address") < 0)
			a->skip = 1;
}

/* Targets parsed; a target that is the source itself is dropped (Postfix
 * maps write "a@x a@x" for "deliver here"), and an alias left without
 * targets is no alias. */
static void
check_alias(struct import_batch *b, struct import_alias *al)
{
	const char *reason;
	size_t out = 0;

	if (al->source[0] == '@') {
		if (addr_domain_valid(al->source + 1, &reason) < 0) {
			import_conflict(b, al->at, "bad catch-all '%.300s': %s",
			    al->source, reason);
			al->skip = 1;
		}
		addr_fold(al->source);
	} else if (check_addr(b, &al->source, al->at, "alias source") < 0) {
		al->skip = 1;
	}
	for (size_t i = 0; i < al->targets.n; i++) {
		char *t = al->targets.v[i];

		if (strchr(t, '@') == NULL) {
			import_conflict(b, al->at, "target '%.300s' of %s has "
			    "no domain (tern does not guess one)", t,
			    al->source);
			al->skip = 1;
		} else if (check_addr(b, &al->targets.v[i], al->at,
		    "alias target") < 0) {
			al->skip = 1;
		}
		t = al->targets.v[i];
		if (strcasecmp(t, al->source) == 0)
			free(t);
		else
			al->targets.v[out++] = t;
	}
	al->targets.n = out;
	if (out == 0)
		al->skip = 1;
}

static void
check_domains(struct import_batch *b)
{
	const char *reason;

	for (size_t i = 0; i < b->ndom; i++) {
		if (addr_domain_valid(b->dom[i].name, &reason) < 0)
			import_conflict(b, b->dom[i].at, "bad domain "
			    "'%.300s': %s", b->dom[i].name, reason);
		addr_fold(b->dom[i].name);
	}
}

/* ---- groups that compare equal without regard to case ---- */

struct check_key {
	const char *key;
	size_t idx;             /* of the account, or nacc + alias index */
};

static int
check_key_cmp(const void *x, const void *y)
{
	const struct check_key *a = x, *b = y;
	int c = strcasecmp(a->key, b->key);

	if (c != 0)
		return c;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static struct import_at
check_at(const struct import_batch *b, size_t idx)
{
	return idx < b->nacc ? b->acc[idx].at : b->ali[idx - b->nacc].at;
}

static void
check_skip(struct import_batch *b, size_t idx)
{
	if (idx < b->nacc)
		b->acc[idx].skip = 1;
	else
		b->ali[idx - b->nacc].skip = 1;
}

/* Logins: each one after the first of its group is a conflict with the
 * first, and the first with the second; all of them are skipped. */
static void
check_logins(struct import_batch *b, struct check_key *k)
{
	size_t n = 0, i, j;

	for (i = 0; i < b->nacc; i++)
		k[n++] = (struct check_key){ b->acc[i].login, i };
	qsort(k, n, sizeof(*k), check_key_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcasecmp(k[i].key, k[j].key) == 0;
		    j++)
			;
		for (size_t m = i; m < j && j - i > 1; m++) {
			size_t o = m == i ? i + 1 : i;
			struct import_at at = b->acc[k[o].idx].at;

			if (strcmp(k[m].key, k[o].key) == 0)
				import_conflict(b, b->acc[k[m].idx].at,
				    "login '%s' given twice (also at %s:%lu)",
				    k[m].key, at.file, at.line);
			else
				import_conflict(b, b->acc[k[m].idx].at,
				    "logins '%s' and '%s' (%s:%lu) differ only "
				    "in case: neither is imported; pick one "
				    "with --rename OLD=NEW or leave one out",
				    k[m].key, k[o].key, at.file, at.line);
			b->acc[k[m].idx].skip = 1;
		}
	}
}

/* Addresses: an account's own and extra ones, and alias sources.  One
 * account may name an address twice; two owners may not share one. */
static void
check_addresses(struct import_batch *b, struct check_key *k)
{
	size_t n = 0, i, j;

	for (i = 0; i < b->nacc; i++) {
		if (b->acc[i].mailbox[0] == '\0')
			continue;
		k[n++] = (struct check_key){ b->acc[i].mailbox, i };
		for (j = 0; j < b->acc[i].addrs.n; j++)
			k[n++] = (struct check_key){ b->acc[i].addrs.v[j], i };
	}
	for (i = 0; i < b->nali; i++)
		if (!b->ali[i].skip && b->ali[i].source[0] != '@')
			k[n++] = (struct check_key){ b->ali[i].source,
			    b->nacc + i };
	qsort(k, n, sizeof(*k), check_key_cmp);
	for (i = 0; i < n; i = j) {
		int accounts = k[i].idx < b->nacc;
		int others = 0;

		for (j = i + 1; j < n && strcasecmp(k[i].key, k[j].key) == 0;
		    j++) {
			accounts += k[j].idx < b->nacc;
			others |= k[j].idx != k[i].idx && k[j].idx < b->nacc;
		}
		/* Several aliases with one source add up: not a conflict. */
		if (accounts == 0 || (!others && accounts == (int)(j - i)))
			continue;
		for (size_t m = i; m < j; m++) {
			size_t o = i;
			struct import_at at;

			while (o < j && k[o].idx == k[m].idx)
				o++;
			if (o == j)
				continue;
			at = check_at(b, k[o].idx);
			import_conflict(b, check_at(b, k[m].idx), "address %s "
			    "claimed twice (also at %s:%lu): %s", k[m].key,
			    at.file, at.line, k[m].idx < b->nacc &&
			    k[o].idx < b->nacc ? "by two accounts" :
			    "by an account and an alias");
			check_skip(b, k[m].idx);
		}
	}
}

void
import_check(struct import_batch *b, struct import_rename *ren, size_t nren)
{
	struct check_key *k;
	size_t n = b->nali;

	check_domains(b);
	for (size_t i = 0; i < b->nacc; i++) {
		check_account(b, &b->acc[i], ren, nren);
		n += 1 + b->acc[i].addrs.n;
	}
	for (size_t i = 0; i < nren; i++)
		if (!ren[i].used)
			import_conflict(b, (struct import_at){ "--rename", 0 },
			    "%s: no login '%s' in the files", ren[i].given,
			    ren[i].old_login);
	for (size_t i = 0; i < b->nali; i++)
		check_alias(b, &b->ali[i]);
	k = xreallocarray(NULL, n > 0 ? n : 1, sizeof(*k));
	check_logins(b, k);
	check_addresses(b, k);
	free(k);
}
