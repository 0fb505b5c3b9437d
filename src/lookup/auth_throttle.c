/*
 * The brute-force brake: see auth_throttle.h.  The client address, login
 * and password come from the network through smtpd; they are only ever
 * hashed here, each part with its length so that no two different
 * attempts hash alike by moving bytes from one part to the next.
 */
#include "lookup/auth_throttle.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define AUTH_THROTTLE_KEY 32    /* bytes of the HMAC key */

struct throttle_entry {
	unsigned char key[AUTH_THROTTLE_HASH];
	unsigned char seen[AUTH_THROTTLE_SEEN][AUTH_THROTTLE_HASH];
	unsigned nseen;         /* slots of seen in use */
	unsigned next;          /* the slot the next secret takes (a ring) */
	unsigned failures;      /* 0: a free slot */
	int refusal_noted;      /* it has refused an attempt this window */
	time_t window_start;
};

struct auth_throttle {
	EVP_MAC_CTX *mac;       /* HMAC-SHA256 holding the key */
	struct throttle_entry *tab[AUTH_SCOPES];
};

struct auth_throttle *
auth_throttle_new(void)
{
	struct auth_throttle *t = xcalloc(1, sizeof(*t));
	unsigned char key[AUTH_THROTTLE_KEY];
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac;

	if (RAND_bytes(key, sizeof(key)) != 1)
		fatal("auth brake: no randomness for its key");
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (t->mac = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(t->mac, key, sizeof(key), params) != 1)
		fatal("auth brake: cannot set up HMAC-SHA256");
	EVP_MAC_free(mac);
	explicit_bzero(key, sizeof(key));
	for (size_t i = 0; i < AUTH_SCOPES; i++)
		t->tab[i] = xcalloc(AUTH_THROTTLE_SLOTS, sizeof(*t->tab[i]));
	return t;
}

void
auth_throttle_free(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;

	if (t == NULL)
		return;
	EVP_MAC_CTX_free(t->mac);
	for (size_t i = 0; i < AUTH_SCOPES; i++)
		free(t->tab[i]);
	free(t);
	*tp = NULL;
}

/* ---- keyed hashes ---- */

static void
hash_feed(EVP_MAC_CTX *ctx, const void *p, size_t len)
{
	if (EVP_MAC_update(ctx, p, len) != 1)
		fatal("auth brake: HMAC failed");
}

/* One part: its length, then its bytes (folded to lower case, ASCII
 * only, when fold is set). */
static void
hash_part(EVP_MAC_CTX *ctx, const char *s, int fold)
{
	size_t len = strlen(s);
	uint32_t n = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	unsigned char chunk[64];

	hash_feed(ctx, &n, sizeof(n));
	for (size_t done = 0; done < n; ) {
		size_t k = n - done < sizeof(chunk) ? n - done : sizeof(chunk);
		for (size_t i = 0; i < k; i++) {
			unsigned char c = (unsigned char)s[done + i];
			chunk[i] = fold && c >= 'A' && c <= 'Z' ? c + 32 : c;
		}
		hash_feed(ctx, chunk, k);
		done += k;
	}
	explicit_bzero(chunk, sizeof(chunk));
}

/* HMAC(tag, a, b) cut to AUTH_THROTTLE_HASH bytes; b may be NULL. */
static void
hash_of(const struct auth_throttle *t, char tag, const char *a, int fold_a,
    const char *b, int fold_b, unsigned char out[AUTH_THROTTLE_HASH])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	size_t len = 0;

	/* NULL key: the one set at start. */
	if (EVP_MAC_init(t->mac, NULL, 0, NULL) != 1)
		fatal("auth brake: HMAC failed");
	hash_feed(t->mac, &tag, 1);
	hash_part(t->mac, a, fold_a);
	if (b != NULL)
		hash_part(t->mac, b, fold_b);
	if (EVP_MAC_final(t->mac, full, &len, sizeof(full)) != 1 ||
	    len < AUTH_THROTTLE_HASH)
		fatal("auth brake: HMAC failed");
	memcpy(out, full, AUTH_THROTTLE_HASH);
	explicit_bzero(full, sizeof(full));
}

void
auth_throttle_attempt(const struct auth_throttle *t, const char *client,
    const char *login, const char *password, struct auth_attempt *a_r)
{
	hash_of(t, 'c', client, 0, NULL, 0, a_r->scope[AUTH_SCOPE_CLIENT]);
	hash_of(t, 'l', login, 1, NULL, 0, a_r->scope[AUTH_SCOPE_LOGIN]);
	hash_of(t, 'p', client, 0, login, 1, a_r->scope[AUTH_SCOPE_PAIR]);
	hash_of(t, 's', login, 0, password, 0, a_r->secret);
}

/* ---- the tables ---- */

static int
entry_live(const struct throttle_entry *e, unsigned window, time_t now)
{
	return e->failures > 0 && now - e->window_start < (time_t)window;
}

static struct throttle_entry *
entry_find(struct throttle_entry *tab, const unsigned char *key)
{
	for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++)
		if (tab[i].failures > 0 &&
		    memcmp(tab[i].key, key, AUTH_THROTTLE_HASH) == 0)
			return &tab[i];
	return NULL;
}

/* The entry of key if its window has not passed, else NULL. */
static struct throttle_entry *
entry_live_find(struct throttle_entry *tab, const unsigned char *key,
    unsigned window, time_t now)
{
	struct throttle_entry *e = entry_find(tab, key);

	return e != NULL && entry_live(e, window, now) ? e : NULL;
}

/* The live entry of key, or a fresh one in a free or expired slot, else
 * in the live one with the fewest failures (the stalest of those): a
 * flood of new keys must not push out the counts near the limit, or it
 * would reset them. */
static struct throttle_entry *
entry_take(struct throttle_entry *tab, const unsigned char *key,
    unsigned window, time_t now)
{
	struct throttle_entry *e = entry_find(tab, key), *stalest = NULL;

	if (e != NULL && entry_live(e, window, now))
		return e;
	for (size_t i = 0; e == NULL && i < AUTH_THROTTLE_SLOTS; i++) {
		struct throttle_entry *c = &tab[i];
		if (!entry_live(c, window, now))
			e = c;
		else if (stalest == NULL || c->failures < stalest->failures ||
		    (c->failures == stalest->failures &&
		    c->window_start < stalest->window_start))
			stalest = c;
	}
	if (e == NULL)
		e = stalest;
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, AUTH_THROTTLE_HASH);
	e->window_start = now;
	return e;
}

/* One more failure of key, unless secret failed there before: 1 if it
 * counted. */
static int
entry_fail(struct throttle_entry *tab, const unsigned char *key,
    const unsigned char *secret, unsigned window, time_t now)
{
	struct throttle_entry *e = entry_take(tab, key, window, now);

	for (unsigned i = 0; i < e->nseen; i++)
		if (memcmp(e->seen[i], secret, AUTH_THROTTLE_HASH) == 0)
			return 0;
	memcpy(e->seen[e->next], secret, AUTH_THROTTLE_HASH);
	e->next = (e->next + 1) % AUTH_THROTTLE_SEEN;
	if (e->nseen < AUTH_THROTTLE_SEEN)
		e->nseen++;
	e->failures++;
	return 1;
}

/* ---- verdicts ---- */

/* The wait after n failures: none for the first, then delay doubling up
 * to delay_max. */
static unsigned
throttle_delay(unsigned n, const struct auth_throttle_limits *lim)
{
	unsigned d = lim->delay;

	if (n < 2 || d == 0)
		return 0;
	for (unsigned i = 2; i < n && d < lim->delay_max; i++)
		d *= 2;
	return d < lim->delay_max ? d : lim->delay_max;
}

void
auth_throttle_check(struct auth_throttle *t, const struct auth_attempt *a,
    int known, const struct auth_throttle_limits *lim, time_t now,
    struct auth_verdict *v_r)
{
	struct throttle_entry *by, *login;

	if (known) {
		by = entry_live_find(t->tab[AUTH_SCOPE_PAIR],
		    a->scope[AUTH_SCOPE_PAIR], lim->window, now);
	} else {
		by = entry_live_find(t->tab[AUTH_SCOPE_CLIENT],
		    a->scope[AUTH_SCOPE_CLIENT], lim->window, now);
		login = entry_live_find(t->tab[AUTH_SCOPE_LOGIN],
		    a->scope[AUTH_SCOPE_LOGIN], lim->window, now);
		if (by == NULL || (login != NULL &&
		    login->failures > by->failures))
			by = login;
	}
	v_r->failures = by != NULL ? by->failures : 0;
	v_r->refused = v_r->failures >= lim->limit;
	v_r->first_refusal = v_r->refused && by != NULL && !by->refusal_noted;
	if (v_r->refused && by != NULL)
		by->refusal_noted = 1;
	v_r->delay = v_r->refused ? lim->delay_max :
	    throttle_delay(v_r->failures, lim);
}

int
auth_throttle_fail(struct auth_throttle *t, const struct auth_attempt *a,
    const struct auth_throttle_limits *lim, time_t now)
{
	int counted = 0;

	for (size_t i = 0; i < AUTH_SCOPES; i++) {
		int c = entry_fail(t->tab[i], a->scope[i], a->secret,
		    lim->window, now);
		if (i == AUTH_SCOPE_CLIENT)
			counted = c;
	}
	return counted;
}

void
auth_throttle_ok(struct auth_throttle *t, const struct auth_attempt *a)
{
	struct throttle_entry *e = entry_find(t->tab[AUTH_SCOPE_PAIR],
	    a->scope[AUTH_SCOPE_PAIR]);

	if (e != NULL)
		memset(e, 0, sizeof(*e));
}
