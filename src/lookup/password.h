/*
 * Passwords: hashing new ones (yescrypt through libxcrypt), importing the
 * crypt(3) hashes other servers left behind, verifying a login's password,
 * and reading a password from standard input for the admin commands.
 */
#ifndef TERN_PASSWORD_H
#define TERN_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MAX      256   /* bytes of a password, without the NUL */
#define PASSWORD_HASH_BUF 384   /* crypt(3)'s CRYPT_OUTPUT_SIZE */

/* Hashes password with yescrypt and a fresh random salt into out.
 * 0, or -1 (no randomness, out too small, crypt failed). */
int password_hash(const char *password, char *out, size_t outlen);

/*
 * Checks a hash made elsewhere and writes the bare crypt(3) hash to
 * stored (len bytes).  Accepts $y$ (yescrypt), $2b$ and $2y$ (bcrypt),
 * $6$ and $5$ (SHA-crypt), bare or behind a Dovecot scheme prefix
 * ({YESCRYPT}, {BLF-CRYPT}, {SHA512-CRYPT}, {SHA256-CRYPT}, {CRYPT}; in any
 * case), which must agree with the hash.  The hash must be whole: a salt
 * libxcrypt accepts, a checksum of the right length and alphabet, and a
 * cost that does not stall every login.  0, or -1 with a one-line reason
 * in err ("malformed $6$ hash: ...", "unknown hash scheme '{MD5}': ...").
 */
int password_import(const char *given, char *stored, size_t len, char *err,
    size_t errlen);

/* 1 if password matches hash, 0 if not, -1 on error (out of memory).  A
 * NULL or empty hash, or one crypt(3) cannot use, never matches.  Slow
 * on purpose: only the lookup process calls it on a session's behalf. */
int password_verify(const char *password, const char *hash);

/* Reads one line from stdin into out, without its "\n" or "\r\n" (with
 * echo off when stdin is a terminal).  -1 for an empty line, a line that
 * does not fit out, a NUL byte, or nothing to read. */
int password_read_stdin(char *out, size_t outlen);

#endif
