/*
 * The messages present in a Maildir folder, by key (mdname_msg_key: the
 * base name without its size fields), each with where it was seen
 * ("cur/NAME"): what tern mailbox import asks before it copies.  A hash
 * table with a random SipHash key, so that names chosen by the source
 * cannot make it degrade; it grows without bound but holds one entry per
 * file of one folder.
 */
#ifndef TERN_MAILDIR_KEYS_H
#define TERN_MAILDIR_KEYS_H

#include <stddef.h>

#include "util/siphash.h"

struct mdkeys {
	char **slot;            /* "KEY\0SUB/NAME", one allocation each */
	size_t cap, n;
	struct siphash_key k;
};

void mdkeys_init(struct mdkeys *s);
void mdkeys_free(struct mdkeys *s);
/* Adds key, seen at where; a key already there keeps its first place. */
void mdkeys_add(struct mdkeys *s, const char *key, const char *where);
/* Where key was seen ("SUB/NAME"), or NULL. */
const char *mdkeys_find(const struct mdkeys *s, const char *key);

#endif
