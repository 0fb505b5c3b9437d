/*
 * The brute-force brake: failed logins counted per client address and per
 * login (folded to lower case, so case variants count together) within a
 * window.  Kept in the lookup process, which sees every login of every
 * smtpd.  Bounded: a table of AUTH_THROTTLE_SLOTS entries per kind, the
 * stalest one reused when full.
 */
#ifndef TERN_AUTH_THROTTLE_H
#define TERN_AUTH_THROTTLE_H

#include <time.h>

#define AUTH_THROTTLE_SLOTS 4096
#define AUTH_THROTTLE_KEY   256

struct auth_throttle_entry {
	char key[AUTH_THROTTLE_KEY];
	unsigned failures;
	time_t window_start;
};

struct auth_throttle {
	struct auth_throttle_entry by_client[AUTH_THROTTLE_SLOTS];
	struct auth_throttle_entry by_login[AUTH_THROTTLE_SLOTS];
};

/* 1 if client or login has reached limit failures within window. */
int auth_throttle_blocked(struct auth_throttle *t, const char *client,
    const char *login, unsigned limit, unsigned window, time_t now);

/* Counts one failure against both. */
void auth_throttle_fail(struct auth_throttle *t, const char *client,
    const char *login, unsigned window, time_t now);

#endif
