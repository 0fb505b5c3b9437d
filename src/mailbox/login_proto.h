/*
 * The login protocol of STATE_DIR/auth.sock, between Dovecot's Lua passdb
 * (mailbox/dovecot_auth.lua, Dovecot's door into tern) and the lookup
 * process, which decides every
 * login with the same code as SMTP AUTH.  One request and one answer per
 * connection, each one line ending in LF, fields separated by TAB:
 *
 *   auth TAB service TAB client TAB login TAB password LF
 *   user TAB service TAB client TAB login LF     (a userdb lookup: no
 *                                                  password, no policy)
 *
 *   ok TAB delay TAB login TAB maildir LF   (login: the account's own,
 *                                             in its exact case)
 *   fail TAB delay LF          (wrong password, unknown login, miscased
 *                               login, or the brake: all alike)
 *   unknown LF                 (user only: no such login)
 *   tempfail LF                (try again later)
 *
 * service is imap or pop3 for auth (any short lower-case word for user,
 * e.g. doveadm); client is the client's IP address or empty; delay is the
 * seconds the answer must be held back (the brute-force brake; at most
 * LOGIN_PROTO_DELAY_MAX).  In login, password and maildir a backslash, TAB,
 * LF and CR are written \\, \t, \n and \r; NUL cannot occur.
 *
 * Everything here trusts nothing: each field is checked for its length
 * and its bytes, and a line that breaks any rule is refused as a whole.
 * The client's side (request format, answer parse) is written again in
 * Lua in dovecot_auth.lua; the C one here is what the unit tests and the
 * fuzzer hold the server's side to.
 */
#ifndef TERN_LOGIN_PROTO_H
#define TERN_LOGIN_PROTO_H

#include <stddef.h>

#define LOGIN_PROTO_LOGIN_MAX    255    /* bytes of a login (DIR_LOGIN_MAX - 1) */
#define LOGIN_PROTO_PASSWORD_MAX 256    /* bytes of a password (PASSWORD_MAX) */
#define LOGIN_PROTO_SERVICE_MAX  15
#define LOGIN_PROTO_CLIENT_MAX   63     /* an IPv6 address with a zone fits */
#define LOGIN_PROTO_PATH_MAX     4095
#define LOGIN_PROTO_DELAY_MAX    120    /* LOOKUP_AUTH_DELAY_MAX */
/* The longest request line, with its LF: every field escaped at worst. */
#define LOGIN_PROTO_REQUEST_MAX  (5 + LOGIN_PROTO_SERVICE_MAX + 1 + \
    LOGIN_PROTO_CLIENT_MAX + 1 + 2 * LOGIN_PROTO_LOGIN_MAX + 1 + \
    2 * LOGIN_PROTO_PASSWORD_MAX + 1)
#define LOGIN_PROTO_ANSWER_MAX   (3 + 4 + 2 * LOGIN_PROTO_LOGIN_MAX + 1 + \
    2 * LOGIN_PROTO_PATH_MAX + 1)

enum login_verb {
	LOGIN_AUTH,             /* check a password */
	LOGIN_USER,             /* only: does the login exist, and where */
};

struct login_request {
	enum login_verb verb;
	char service[LOGIN_PROTO_SERVICE_MAX + 1];
	char client[LOGIN_PROTO_CLIENT_MAX + 1];
	char login[LOGIN_PROTO_LOGIN_MAX + 1];
	char password[LOGIN_PROTO_PASSWORD_MAX + 1];    /* "" for user */
};

enum login_result {
	LOGIN_OK,
	LOGIN_FAIL,
	LOGIN_UNKNOWN,
	LOGIN_TEMPFAIL,
};

struct login_answer {
	enum login_result result;
	unsigned delay;                         /* seconds, ok and fail */
	char login[LOGIN_PROTO_LOGIN_MAX + 1];  /* ok */
	char maildir[LOGIN_PROTO_PATH_MAX + 1]; /* ok */
};

/* A request line (len bytes, with or without its final LF) into r: 0, or
 * -1 if it breaks any rule (r is then wiped).  The caller wipes r after
 * use: it holds a password. */
int login_request_parse(const char *line, size_t len, struct login_request *r);
/* The line of r, with its LF, into out: its length, or -1 if a field
 * breaks a rule or it does not fit. */
long login_request_format(const struct login_request *r, char *out,
    size_t outlen);

int login_answer_parse(const char *line, size_t len, struct login_answer *a);
long login_answer_format(const struct login_answer *a, char *out,
    size_t outlen);

/* 1 if s is a service word this protocol takes for verb. */
int login_service_ok(enum login_verb verb, const char *s);

#endif
