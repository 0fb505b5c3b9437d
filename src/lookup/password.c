/*
 * New password hashes (yescrypt, the libxcrypt default, with a salt from
 * the system's random source) and reading a password from stdin.  Trusts
 * libxcrypt; the plaintext and crypt's work area are wiped once used.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "lookup/password.h"
#include "util/xmalloc.h"

_Static_assert(PASSWORD_HASH_BUF >= CRYPT_OUTPUT_SIZE,
    "PASSWORD_HASH_BUF must hold any crypt(3) output");

int
password_hash(const char *password, char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *hash;
	int rc = -1;

	/* count 0 and no random bytes: libxcrypt's default cost, and a
	 * salt it reads from the system's random source itself. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	/* struct crypt_data is tens of kilobytes: not for the stack.  It
	 * must start zeroed. */
	cd = xcalloc(1, sizeof(*cd));
	hash = crypt_rn(password, salt, cd, sizeof(*cd));
	/* A hash starting with '*' is crypt's failure token, never a hash. */
	if (hash != NULL && hash[0] != '*' && strlen(hash) < outlen) {
		memcpy(out, hash, strlen(hash) + 1);
		rc = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* Reads up to "\n" one byte at a time: no stdio buffer keeps a copy of the
 * password, and nothing past the line is consumed. */
static int
password_read_line(char *out, size_t outlen)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0 || c == '\n')
			break;
		if (c == '\0' || len + 1 >= outlen)
			goto fail;
		out[len++] = c;
	}
	if (n == 1 && len > 0 && out[len - 1] == '\r')
		len--;
	if (len == 0)
		goto fail;
	out[len] = '\0';
	return 0;
fail:
	explicit_bzero(out, outlen);
	return -1;
}

int
password_read_stdin(char *out, size_t outlen)
{
	struct termios saved, quiet;
	int tty;
	int rc;

	if (outlen == 0)
		return -1;
	/* At a terminal the password is typed, so it must not be echoed. */
	tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (tty) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
			return -1;
		fputs("Password: ", stderr);
	}
	rc = password_read_line(out, outlen);
	if (tty) {
		fputc('\n', stderr);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) < 0) {
			explicit_bzero(out, outlen);
			return -1;
		}
	}
	return rc;
}
