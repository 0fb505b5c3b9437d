/*
 * The brute-force brake: see auth_throttle.h.  The keys are a client
 * address and a login from the network; they are truncated to the slot's
 * size, which only ever merges two keys, never splits one.
 */
#include "lookup/auth_throttle.h"

#include <stdio.h>
#include <string.h>

#include "util/addr.h"

/* The entry for key, or NULL when it has none. */
static struct auth_throttle_entry *
throttle_find(struct auth_throttle_entry *tab, const char *key)
{
	for (size_t i = 0; i < AUTH_THROTTLE_SLOTS; i++)
		if (tab[i].failures > 0 && strcmp(tab[i].key, key) == 0)
			return &tab[i];
	return NULL;
}

static int
throttle_over(struct auth_throttle_entry *tab, const char *key,
    unsigned limit, unsigned window, time_t now)
{
	struct auth_throttle_entry *e = throttle_find(tab, key);

	if (e == NULL)
		return 0;
	if (now - e->window_start >= (time_t)window) {
		e->failures = 0;        /* the window has passed: forgotten */
		return 0;
	}
	return e->failures >= limit;
}

static void
throttle_count(struct auth_throttle_entry *tab, const char *key,
    unsigned window, time_t now)
{
	struct auth_throttle_entry *e = throttle_find(tab, key), *stalest = NULL;

	if (e != NULL && now - e->window_start >= (time_t)window)
		e->failures = 0;
	if (e == NULL || e->failures == 0) {
		/* A free or expired slot, else the stalest one. */
		for (size_t i = 0; e == NULL && i < AUTH_THROTTLE_SLOTS; i++) {
			struct auth_throttle_entry *c = &tab[i];
			if (c->failures == 0 || now - c->window_start >= (time_t)window)
				e = c;
			else if (stalest == NULL || c->window_start < stalest->window_start)
				stalest = c;
		}
		if (e == NULL)
			e = stalest;
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->failures = 0;
		e->window_start = now;
	}
	e->failures++;
}

static void
fold_login(const char *login, char out[AUTH_THROTTLE_KEY])
{
	snprintf(out, AUTH_THROTTLE_KEY, "%s", login);
	addr_fold(out);
}

int
auth_throttle_blocked(struct auth_throttle *t, const char *client,
    const char *login, unsigned limit, unsigned window, time_t now)
{
	char key[AUTH_THROTTLE_KEY];

	fold_login(login, key);
	return throttle_over(t->by_client, client, limit, window, now) ||
	    throttle_over(t->by_login, key, limit, window, now);
}

void
auth_throttle_fail(struct auth_throttle *t, const char *client,
    const char *login, unsigned window, time_t now)
{
	char key[AUTH_THROTTLE_KEY];

	fold_login(login, key);
	throttle_count(t->by_client, client, window, now);
	throttle_count(t->by_login, key, window, now);
}
