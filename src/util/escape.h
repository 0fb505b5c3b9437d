/*
 * Text from the network, or from files it shaped, printed for a person or
 * a script: for a terminal (printable text as it is, every other byte as
 * \xNN, so that no escape sequence reaches the terminal) and as a JSON
 * string (RFC 8259).  Both outputs are valid UTF-8 whatever the input.
 * Used by the admin commands (tern audit, tern queue).
 */
#ifndef TERN_ESCAPE_H
#define TERN_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

#define ESCAPE_KEEP_TAB 1       /* a tab stays a tab (folded header lines) */

/* For the terminal: printable ASCII and valid UTF-8 as they are, the rest
 * (and '\') as \xNN; flags: ESCAPE_KEEP_TAB or 0. */
void escape_text(FILE *f, const char *s, size_t n, int flags);

/* A JSON string, with its quotes: quotes, backslashes and controls
 * escaped, valid UTF-8 kept, any byte that is not UTF-8 replaced by
 * U+FFFD. */
void escape_json(FILE *f, const char *s, size_t n);

#endif
