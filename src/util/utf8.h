/*
 * UTF-8 (RFC 3629), checked one character at a time: the one place that
 * says what a valid sequence is, for addresses (SMTPUTF8), for the
 * terminal and JSON output of the admin commands, and for DSNs.
 */
#ifndef TERN_UTF8_H
#define TERN_UTF8_H

#include <stddef.h>

/* Refuse the C1 controls (U+0080..U+009F) too: a terminal acts on them,
 * and no address holds them. */
#define UTF8_NO_C1 0x1

/* Length of the character at p (1 for ASCII; n >= 1 bytes available) and
 * its code point in *cp_r when cp_r is not NULL, or 0 when it is not
 * valid: a stray or missing continuation byte, an overlong form, a
 * surrogate, past U+10FFFF, or (with UTF8_NO_C1) a C1 control. */
size_t utf8_char(const unsigned char *p, size_t n, int flags,
    unsigned long *cp_r);

#endif
