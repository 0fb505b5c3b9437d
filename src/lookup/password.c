/*
 * Passwords: new hashes (yescrypt, the libxcrypt default, with a salt from
 * the system's random source), hashes imported from other servers,
 * verification, and reading a password from stdin.  Trusts libxcrypt;
 * trusts no imported hash until it has been taken apart and run once.
 * The plaintext and crypt's work area are wiped once used.
 */
#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* ---- importing a hash made elsewhere ---- */

#define PASSWORD_SHA_ROUNDS_MAX 1000000 /* passlib's default is 656000 */
#define PASSWORD_BCRYPT_COST_MAX 16     /* 2^16 rounds: seconds a login */
#define PASSWORD_ID_SHOWN 16            /* bytes of an unknown id we echo */

/* The schemes tern reads.  sum: the length of the checksum after the
 * salt, in crypt's base64 alphabet; bcrypt has no '$' between them. */
static const struct password_scheme {
	const char *id;
	size_t sum;
	int bcrypt;
} password_schemes[] = {
	{ "$y$", 43, 0 },
	{ "$2b$", 31, 1 },
	{ "$2y$", 31, 1 },
	{ "$6$", 86, 0 },
	{ "$5$", 43, 0 },
};

#define PASSWORD_NSCHEMES \
	(sizeof(password_schemes) / sizeof(password_schemes[0]))

/* Dovecot's scheme prefixes and the ids each may hold (none: any). */
static const struct password_prefix {
	const char *name;
	const char *ids[2];
} password_prefixes[] = {
	{ "{YESCRYPT}", { "$y$", NULL } },
	{ "{BLF-CRYPT}", { "$2b$", "$2y$" } },
	{ "{SHA512-CRYPT}", { "$6$", NULL } },
	{ "{SHA256-CRYPT}", { "$5$", NULL } },
	{ "{CRYPT}", { NULL, NULL } },
};

#define PASSWORD_SCHEMES_HELP "use one of $y$, $2b$, $2y$, $6$, $5$, " \
	"bare or behind {YESCRYPT}, {BLF-CRYPT}, {SHA512-CRYPT}, " \
	"{SHA256-CRYPT} or {CRYPT}"

static int
password_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
password_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of the scheme id at the start of s ("{...}" or "$...$"), 0 if
 * there is none.  Only ever echoed this far: a password given by mistake
 * for its hash must not end up on the screen whole. */
static size_t
password_id_len(const char *s)
{
	char close = s[0] == '{' ? '}' : '$';

	if (s[0] != '{' && s[0] != '$')
		return 0;
	for (size_t i = 1; i < PASSWORD_ID_SHOWN && s[i] != '\0'; i++) {
		if (s[i] == close)
			return i + 1;
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	}
	return 0;
}

/* The Dovecot prefix given starts with, or NULL with err set. */
static const struct password_prefix *
password_prefix_of(const char *given, char *err, size_t errlen)
{
	size_t n = password_id_len(given);

	for (size_t i = 0; i < sizeof(password_prefixes) /
	    sizeof(password_prefixes[0]); i++)
		if (n == strlen(password_prefixes[i].name) &&
		    strncasecmp(given, password_prefixes[i].name, n) == 0)
			return &password_prefixes[i];
	if (n == 0)
		password_fail(err, errlen, "unknown hash scheme: an unclosed "
		    "'{' prefix; " PASSWORD_SCHEMES_HELP);
	else
		password_fail(err, errlen, "unknown hash scheme '%.*s': "
		    PASSWORD_SCHEMES_HELP, (int)n, given);
	return NULL;
}

/* The scheme hash is in, or NULL with err set. */
static const struct password_scheme *
password_scheme_of(const char *hash, char *err, size_t errlen)
{
	size_t n = password_id_len(hash);

	for (size_t i = 0; i < PASSWORD_NSCHEMES; i++)
		if (n == strlen(password_schemes[i].id) &&
		    memcmp(hash, password_schemes[i].id, n) == 0)
			return &password_schemes[i];
	if (n == 4 && memcmp(hash, "$2a$", 4) == 0)
		password_fail(err, errlen, "$2a$ bcrypt hashes are refused: "
		    "the variant is ambiguous, some were made by a bcrypt "
		    "with the 8-bit bug (CVE-2011-2483); rehash as $2b$ or "
		    "set a new password");
	else if (n == 0 || hash[0] != '$')
		password_fail(err, errlen, "unknown hash scheme: not a "
		    "crypt(3) hash; " PASSWORD_SCHEMES_HELP);
	else
		password_fail(err, errlen, "unknown hash scheme '%.*s': "
		    PASSWORD_SCHEMES_HELP, (int)n, hash);
	return NULL;
}

static int
password_prefix_allows(const struct password_prefix *p,
    const struct password_scheme *s)
{
	if (p->ids[0] == NULL)
		return 1;
	for (size_t i = 0; i < 2 && p->ids[i] != NULL; i++)
		if (strcmp(p->ids[i], s->id) == 0)
			return 1;
	return 0;
}

/* crypt's base64 alphabet, the same for every scheme here. */
static int
password_b64(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '/'))
			return 0;
	return 1;
}

/* The checksum: its length and alphabet; for bcrypt, the whole layout
 * ($2b$NN$, 22 characters of salt, 31 of checksum). */
static int
password_check_layout(const struct password_scheme *s, const char *hash,
    char *err, size_t errlen)
{
	size_t len = strlen(hash);
	const char *sum;

	if (s->bcrypt) {
		if (len != 60 || hash[6] != '$' || hash[4] < '0' ||
		    hash[4] > '9' || hash[5] < '0' || hash[5] > '9' ||
		    !password_b64(hash + 7, 53))
			return password_fail(err, errlen, "malformed %s hash: "
			    "want %sNN$ and 53 characters of [./0-9A-Za-z]",
			    s->id, s->id);
		return 0;
	}
	sum = strrchr(hash, '$') + 1;
	if ((size_t)(sum - hash) <= strlen(s->id) + 1)
		return password_fail(err, errlen, "malformed %s hash: no "
		    "salt", s->id);
	if (strlen(sum) != s->sum || !password_b64(sum, s->sum))
		return password_fail(err, errlen, "malformed %s hash: the "
		    "checksum after the last '$' must be %zu characters of "
		    "[./0-9A-Za-z]", s->id, s->sum);
	return 0;
}

/* An imported cost so high that every login would stall the lookup
 * process is refused (yescrypt's cost is left to libxcrypt). */
static int
password_check_cost(const struct password_scheme *s, const char *hash,
    char *err, size_t errlen)
{
	const char *p = hash + strlen(s->id);
	unsigned long rounds = 0;

	if (s->bcrypt) {
		rounds = (unsigned long)(hash[4] - '0') * 10 +
		    (unsigned long)(hash[5] - '0');
		if (rounds > PASSWORD_BCRYPT_COST_MAX)
			return password_fail(err, errlen, "%s hash with cost "
			    "%lu: at most %d, or every login stalls", s->id,
			    rounds, PASSWORD_BCRYPT_COST_MAX);
		return 0;
	}
	if (strcmp(s->id, "$y$") == 0 || strncmp(p, "rounds=", 7) != 0)
		return 0;
	for (p += 7; *p >= '0' && *p <= '9'; p++) {
		rounds = rounds * 10 + (unsigned long)(*p - '0');
		if (rounds > PASSWORD_SHA_ROUNDS_MAX)
			return password_fail(err, errlen, "%s hash with more "
			    "than rounds=%d: every login would stall", s->id,
			    PASSWORD_SHA_ROUNDS_MAX);
	}
	return 0;
}

/* libxcrypt must accept the setting and, run once with a dummy password,
 * give a hash of the same length with the same setting: then the hash
 * is one it could have made. */
static int
password_check_crypt(const struct password_scheme *s, const char *hash,
    char *err, size_t errlen)
{
	struct crypt_data *cd;
	const char *out;
	size_t len = strlen(hash);
	int rc = 0, ok;

	ok = crypt_checksalt(hash);
	if (ok != CRYPT_SALT_OK && ok != CRYPT_SALT_METHOD_LEGACY)
		return password_fail(err, errlen, "malformed %s hash: "
		    "libxcrypt refuses its salt or parameters", s->id);
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn("tern import check", hash, cd, sizeof(*cd));
	if (out == NULL || out[0] == '*')
		rc = password_fail(err, errlen, "malformed %s hash: libxcrypt "
		    "refuses its salt or parameters", s->id);
	else if (strlen(out) != len || memcmp(out, hash, len - s->sum) != 0)
		rc = password_fail(err, errlen, "malformed %s hash: its salt "
		    "or parameters are not as libxcrypt writes them", s->id);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

int
password_import(const char *given, char *stored, size_t len, char *err,
    size_t errlen)
{
	const struct password_prefix *prefix = NULL;
	const struct password_scheme *scheme;
	size_t glen = strnlen(given, PASSWORD_HASH_BUF);
	const char *hash = given;

	if (glen == 0)
		return password_fail(err, errlen, "empty password hash");
	if (glen >= PASSWORD_HASH_BUF)
		return password_fail(err, errlen, "password hash longer than "
		    "%d bytes", PASSWORD_HASH_BUF - 1);
	if (given[0] == '{') {
		if ((prefix = password_prefix_of(given, err, errlen)) == NULL)
			return -1;
		hash += strlen(prefix->name);
	}
	if ((scheme = password_scheme_of(hash, err, errlen)) == NULL)
		return -1;
	if (prefix != NULL && !password_prefix_allows(prefix, scheme))
		return password_fail(err, errlen, "%s does not match a %s "
		    "hash", prefix->name, scheme->id);
	if (password_check_layout(scheme, hash, err, errlen) < 0 ||
	    password_check_cost(scheme, hash, err, errlen) < 0 ||
	    password_check_crypt(scheme, hash, err, errlen) < 0)
		return -1;
	if (strlen(hash) >= len)
		return password_fail(err, errlen, "password hash too long");
	memcpy(stored, hash, strlen(hash) + 1);
	return 0;
}

/* ---- verifying ---- */

int
password_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *out;
	unsigned char diff = 0;
	size_t len;
	int rc;

	if (password == NULL || hash == NULL || hash[0] == '\0' ||
	    strnlen(password, PASSWORD_MAX + 1) > PASSWORD_MAX)
		return 0;
	cd = xcalloc(1, sizeof(*cd));
	errno = 0;
	out = crypt_rn(password, hash, cd, sizeof(*cd));
	if (out == NULL || out[0] == '*') {
		/* A hash crypt cannot use matches nothing; running out of
		 * memory (yescrypt allocates) is the one real error. */
		rc = errno == ENOMEM ? -1 : 0;
	} else if ((len = strlen(hash)) != strlen(out)) {
		rc = 0;
	} else {
		/* Every byte, whatever the first difference: the time
		 * taken says nothing about how much of the hash matched. */
		for (size_t i = 0; i < len; i++)
			diff |= (unsigned char)(out[i] ^ hash[i]);
		rc = diff == 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* ---- reading from stdin ---- */

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
