/*
 * RFC 2047 encoded-words ("=?charset?B?...?=", "=?charset?Q?...?="),
 * decoded to their bytes so that a display name can be searched as a mail
 * reader would show it.  Used on the client's header bytes only.
 */
#ifndef TERN_ENCODED_WORD_H
#define TERN_ENCODED_WORD_H

#include <stddef.h>

/*
 * Decodes the encoded-words in len bytes of in and copies the rest as it
 * is; white space between two encoded-words goes (RFC 2047 6.2).  out has
 * room for len bytes: nothing decodes longer than its encoding.  A word
 * that is not well formed is copied undecoded.  Returns the length
 * written.
 */
size_t encoded_word_decode(const char *in, size_t len, char *out);

#endif
