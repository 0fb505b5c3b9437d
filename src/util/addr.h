/*
 * Mail addresses (RFC 5321 Mailbox, RFC 6531 with SMTPUTF8).  The one place
 * that decides whether an address is valid: bad parts are rejected first,
 * defaults are filled in last.  Addresses match without regard to ASCII
 * case; addr_fold() makes the key they are matched under.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX  64
#define ADDR_DOMAIN_MAX 255
#define ADDR_MAX        (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)
#define ADDR_BUF        (ADDR_MAX + 1)

/*
 * Parses "local@domain" of len bytes (no angle brackets).  The local part is
 * a dot-string or a quoted-string; the domain is LDH labels or an address
 * literal ([192.0.2.1], [IPv6:...]).  Bytes >= 0x80 are allowed only when
 * utf8 is set (and then must be valid UTF-8).  On success writes the
 * address, domain folded to lower case, to out_r and returns 0; otherwise
 * returns -1 and sets *err_r to a static one-line reason.  A quoted local
 * part is written in its one spelling: without quotes when it is a valid
 * dot-string ("alice"@x is alice@x, RFC 5321 4.1.2), else quoted with only
 * '"' and '\' escaped.
 */
int addr_parse(const char *s, size_t len, int utf8, char out_r[ADDR_BUF],
    const char **err_r);

/* Validates a bare domain name (LDH labels, no literal). 0 or -1. */
int addr_domain_valid(const char *domain, const char **err_r);

/* Folds ASCII letters to lower case in place. */
void addr_fold(char *s);

/* The domain part of a parsed address (after its last '@'), or "". */
const char *addr_domain(const char *addr);

/* Length of the local part of a parsed address (up to the last '@'). */
size_t addr_local_len(const char *addr);

#endif
