/*
 * The brute-force brake, kept in the lookup process, which sees every
 * login of every smtpd.  Failed logins are counted within a window in
 * three scopes: the client address, the login (folded to lower case, so
 * case variants count together) and the pair of both.  A failure counts
 * once per scope: the same login and password failing again (a mail
 * client retrying a stale password every minute) is recognised by a keyed
 * hash and not counted again, as Dovecot's auth penalty does.
 *
 * The verdict on an attempt: a client that has logged in to this login
 * before (a known pair; the directory remembers them) answers only for
 * the pair's own failures; any other attempt answers for its address's
 * and its login's.  Below the limit, failures slow the answer (the first
 * is free, then a delay that doubles up to a cap); at the limit the
 * attempt is refused.
 *
 * Holds no login, address or password: only keyed hashes (HMAC-SHA256
 * under a key drawn at start and kept in memory only, cut to 16 bytes),
 * so that nothing here can be read back or matched from outside.
 * Bounded: AUTH_THROTTLE_SLOTS entries per scope, the stalest reused when
 * the table is full.
 */
#ifndef TERN_AUTH_THROTTLE_H
#define TERN_AUTH_THROTTLE_H

#include <time.h>

#define AUTH_THROTTLE_SLOTS 4096
#define AUTH_THROTTLE_SEEN  8   /* distinct failed secrets kept per entry */
#define AUTH_THROTTLE_HASH  16  /* bytes of a keyed hash */

struct auth_throttle;

enum auth_scope {
	AUTH_SCOPE_CLIENT,
	AUTH_SCOPE_LOGIN,
	AUTH_SCOPE_PAIR,
	AUTH_SCOPES,
};

/* One attempt, as the brake knows it: made while the password is still
 * at hand, kept after it has been wiped. */
struct auth_attempt {
	unsigned char scope[AUTH_SCOPES][AUTH_THROTTLE_HASH];
	unsigned char secret[AUTH_THROTTLE_HASH];       /* login and password */
};

/* The settings, in seconds (auth_fail_limit, _window, _delay, _delay_max). */
struct auth_throttle_limits {
	unsigned limit;         /* distinct failures that refuse */
	unsigned window;
	unsigned delay;         /* the first delay; 0: never slowed */
	unsigned delay_max;     /* the longest delay, and a refusal's */
};

struct auth_verdict {
	int refused;
	int first_refusal;      /* the first refusal its count made this window */
	unsigned delay;         /* seconds the answer waits */
	unsigned failures;      /* the count the verdict rests on */
};

/* A brake with a fresh random key; fatal when no randomness. */
struct auth_throttle *auth_throttle_new(void);
void auth_throttle_free(struct auth_throttle **t);

/* The keyed hashes of one attempt.  login and password as given. */
void auth_throttle_attempt(const struct auth_throttle *t, const char *client,
    const char *login, const char *password, struct auth_attempt *a_r);

/* What the failures counted so far say of attempt a; known: the pair has
 * logged in before.  Only the first refusal a count makes within its
 * window is first_refusal: what is written to tern.db per refusal must not
 * cost more than the refused attempt itself. */
void auth_throttle_check(struct auth_throttle *t, const struct auth_attempt *a,
    int known, const struct auth_throttle_limits *lim, time_t now,
    struct auth_verdict *v_r);

/* Counts a failed attempt in each scope where its login and password have
 * not failed before.  1 if it counted against the client address, 0 if
 * it repeated one of that address's failures. */
int auth_throttle_fail(struct auth_throttle *t, const struct auth_attempt *a,
    const struct auth_throttle_limits *lim, time_t now);

/* A login succeeded: the pair's own failures are forgotten (the
 * address's and the login's stay, or one good account would let its
 * holder guess on). */
void auth_throttle_ok(struct auth_throttle *t, const struct auth_attempt *a);

#endif
