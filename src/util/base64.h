/*
 * Base64 (RFC 4648) as SMTP AUTH uses it: strict decoding (no white space,
 * padding required, nothing after it) and encoding.
 */
#ifndef TERN_BASE64_H
#define TERN_BASE64_H

#include <stddef.h>

/* Decodes len bytes of in into out (size outlen).  Returns the decoded
 * length, or -1 for anything that is not canonical base64 or does not
 * fit. */
long base64_decode(const char *in, size_t len, unsigned char *out,
    size_t outlen);

/* The value (0-63) of one base64 character, or -1. */
int base64_value(unsigned char c);

/* Encodes len bytes into out (size outlen, NUL-terminated).  0 or -1 when
 * it does not fit. */
int base64_encode(const unsigned char *in, size_t len, char *out,
    size_t outlen);

#endif
