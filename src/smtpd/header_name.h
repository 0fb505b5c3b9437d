/*
 * The words around a mailbox's address (its display name, and comments
 * beside it), as a mail reader would show them, searched for addresses:
 * `"bob@example.test" <alice@example.test>` shows bob, so a sender check
 * that looked only at alice would be fooled.
 */
#ifndef TERN_HEADER_NAME_H
#define TERN_HEADER_NAME_H

#include <stddef.h>

/* Called with each address found (addr_parse()'s form); returns 0 to go
 * on, -1 to stop the search. */
typedef int header_name_fn(void *arg, const char *addr);

/*
 * Searches len raw bytes of a header field (a display name with its
 * quotes, quoted-pairs, comments and RFC 2047 encoded-words) for
 * local@domain with a dot in the domain, that addr_parse() accepts.
 * Returns 0, or -1 when fn stopped it.
 */
int header_name_addrs(const char *raw, size_t len, header_name_fn *fn,
    void *arg);

#endif
