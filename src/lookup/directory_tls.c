/*
 * Per-destination TLS policies: for a recipient's domain, the outbound
 * TLS policy (may, encrypt, verify) that overrides smtp_tls_policy.  A
 * policy names one exact domain, never its subdomains.  The admin commands
 * set, delete and list them; the queue process reads them with
 * dir_tls_policy_get().  Trusts its caller to be the postmaster, not its
 * input: the domain is checked and stored in lower case, the policy word
 * must be one of the three.  Each change is one transaction.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "lookup/directory_int.h"
#include "util/log.h"

/* The words, as stored, and the values conf.h gives them. */
static const struct {
	const char *word;
	int policy;
} tls_words[] = {
	{ "may", CONF_TLS_MAY },
	{ "encrypt", CONF_TLS_ENCRYPT },
	{ "verify", CONF_TLS_VERIFY },
};

#define TLS_NWORDS (sizeof(tls_words) / sizeof(tls_words[0]))
#define TLS_ECHO_MAX 80  /* bytes of a refused name or word in err */

/* The table's index of word (any case), or -1. */
static int
tls_word_index(const char *word)
{
	for (size_t i = 0; i < TLS_NWORDS; i++)
		if (strcasecmp(word, tls_words[i].word) == 0)
			return (int)i;
	return -1;
}

/* Checks domain and writes it folded to out.  0, or -1 with err set. */
static int
tls_domain(const char *domain, char out[ADDR_DOMAIN_MAX + 1], char *err)
{
	const char *reason;

	/* The name is echoed in part, so that the reason always fits. */
	if (addr_domain_valid(domain, &reason) < 0)
		return dir_fail(err, "bad domain '%.*s%s': %s", TLS_ECHO_MAX,
		    domain, strnlen(domain, TLS_ECHO_MAX + 1) > TLS_ECHO_MAX ?
		    "..." : "", reason);
	snprintf(out, ADDR_DOMAIN_MAX + 1, "%s", domain);
	addr_fold(out);
	return 0;
}

int
dir_tls_policy_set(struct directory *dir, const char *domain,
    const char *policy, char *err)
{
	char name[ADDR_DOMAIN_MAX + 1];
	int i;

	if (tls_domain(domain, name, err) < 0)
		return -1;
	/* Checked here, not only by the table's CHECK, so that the
	 * refusal says what would do. */
	if ((i = tls_word_index(policy)) < 0)
		return dir_fail(err, "bad TLS policy '%.*s%s': use may, "
		    "encrypt or verify", TLS_ECHO_MAX, policy,
		    strnlen(policy, TLS_ECHO_MAX + 1) > TLS_ECHO_MAX ? "..." :
		    "");
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, dir_exec(dir, "INSERT OR REPLACE INTO "
	    "tls_policies (domain, policy, created) VALUES (?1, ?2, "
	    "CAST(strftime('%s', 'now') AS INTEGER))",
	    DIR_P(name, tls_words[i].word), err), err);
}

static int
tls_policy_del(struct directory *dir, const char *name, char *err)
{
	switch (dir_fetch_int(dir, "SELECT 1 FROM tls_policies WHERE "
	    "domain = ?1", DIR_P(name), NULL, err)) {
	case 1:
		break;
	case 0:
		return dir_fail(err, "no TLS policy for %s", name);
	default:
		return -1;
	}
	return dir_exec(dir, "DELETE FROM tls_policies WHERE domain = ?1",
	    DIR_P(name), err);
}

int
dir_tls_policy_del(struct directory *dir, const char *domain, char *err)
{
	char name[ADDR_DOMAIN_MAX + 1];

	if (tls_domain(domain, name, err) < 0)
		return -1;
	if (dir_begin(dir, err) < 0)
		return -1;
	return dir_end(dir, tls_policy_del(dir, name, err), err);
}

int
dir_tls_policy_list(struct directory *dir,
    void (*fn)(void *arg, const char *domain, const char *policy), void *arg,
    char *err)
{
	sqlite3_stmt *st;
	int rc;

	if (dir_begin_read(dir, err) < 0)
		return -1;
	if (dir_stmt(dir, "SELECT domain, policy FROM tls_policies "
	    "ORDER BY domain", DIR_NOP, &st, err) < 0)
		return dir_end(dir, -1, err);
	while ((rc = dir_step(dir, st, err)) == 1)
		fn(arg, dir_text(st, 0), dir_text(st, 1));
	return dir_end(dir, dir_finalize(dir, st, rc, err), err);
}

int
dir_tls_policy_get(struct directory *dir, const char *domain, int *policy_r)
{
	char err[DIR_ERR_MAX];
	char word[16];
	int i, rc;

	/* A name no policy could have been stored under (an address
	 * literal, one too long) has none; it is not an error. */
	if (strnlen(domain, ADDR_DOMAIN_MAX + 1) > ADDR_DOMAIN_MAX)
		return 0;
	rc = dir_fetch_text(dir, "SELECT policy FROM tls_policies WHERE "
	    "domain = ?1", DIR_P(domain), word, sizeof(word), err);
	if (rc < 0) {
		log_warn("directory: TLS policy lookup: %s", err);
		return -1;
	}
	if (rc == 0)
		return 0;
	/* The table's CHECK keeps other words out; one that got in
	 * anyway must not weaken the policy to "may". */
	if ((i = tls_word_index(word)) < 0) {
		log_warn("directory: TLS policy for %s: unknown word '%s' in "
		    "tern.db", domain, word);
		return -1;
	}
	*policy_r = tls_words[i].policy;
	return 1;
}
