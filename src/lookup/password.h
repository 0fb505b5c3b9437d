/*
 * Password hashing for new passwords (yescrypt through libxcrypt) and
 * reading a password from standard input for the admin commands.
 */
#ifndef TERN_PASSWORD_H
#define TERN_PASSWORD_H

#include <stddef.h>

#define PASSWORD_MAX      256   /* bytes of a password, without the NUL */
#define PASSWORD_HASH_BUF 384   /* crypt(3)'s CRYPT_OUTPUT_SIZE */

/* Hashes password with yescrypt and a fresh random salt into out.
 * 0, or -1 (no randomness, out too small, crypt failed). */
int password_hash(const char *password, char *out, size_t outlen);

/* Reads one line from stdin into out, without its "\n" or "\r\n" (with
 * echo off when stdin is a terminal).  -1 for an empty line, a line that
 * does not fit out, a NUL byte, or nothing to read. */
int password_read_stdin(char *out, size_t outlen);

#endif
