/*
 * The keys present in a Maildir folder: see maildir_keys.h.  Open
 * addressing with linear probing, at most half full.
 */
#include "mailbox/maildir_keys.h"

#include <stdlib.h>
#include <string.h>

#include "util/xmalloc.h"

#define MDKEYS_FIRST 1024       /* slots to begin with: a power of two */

static size_t
mdkeys_pos(const struct mdkeys *s, const char *key)
{
	size_t i = siphash24(&s->k, key, strlen(key)) & (s->cap - 1);

	while (s->slot[i] != NULL && strcmp(s->slot[i], key) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

const char *
mdkeys_find(const struct mdkeys *s, const char *key)
{
	const char *e = s->slot[mdkeys_pos(s, key)];

	return e != NULL ? e + strlen(e) + 1 : NULL;
}

/* Twice the slots, every entry placed again. */
static void
mdkeys_grow(struct mdkeys *s)
{
	struct mdkeys bigger = { NULL, s->cap * 2, s->n, s->k };

	bigger.slot = xcalloc(bigger.cap, sizeof(char *));
	for (size_t j = 0; j < s->cap; j++)
		if (s->slot[j] != NULL)
			bigger.slot[mdkeys_pos(&bigger, s->slot[j])] =
			    s->slot[j];
	free(s->slot);
	*s = bigger;
}

void
mdkeys_add(struct mdkeys *s, const char *key, const char *where)
{
	size_t klen = strlen(key), wlen = strlen(where), i;
	char *e;

	if (2 * (s->n + 1) > s->cap)
		mdkeys_grow(s);
	i = mdkeys_pos(s, key);
	if (s->slot[i] != NULL)
		return;
	e = xmalloc(klen + wlen + 2);
	memcpy(e, key, klen + 1);
	memcpy(e + klen + 1, where, wlen + 1);
	s->slot[i] = e;
	s->n++;
}

void
mdkeys_init(struct mdkeys *s)
{
	s->cap = MDKEYS_FIRST;
	s->n = 0;
	s->slot = xcalloc(s->cap, sizeof(char *));
	siphash_key_random(&s->k);
}

void
mdkeys_free(struct mdkeys *s)
{
	if (s->slot == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	s->slot = NULL;
}
