/*
 * SMTP command parsing (RFC 5321 section 4.1).  Works on one command line
 * that the session has already cut at CRLF and checked for length, bare CR
 * and NUL; trusts nothing in it beyond that.
 */
#ifndef TERN_SMTP_PARSE_H
#define TERN_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/addr.h"

enum smtp_verb {
	SMTP_UNKNOWN = 0,
	SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET,
	SMTP_NOOP, SMTP_QUIT, SMTP_HELP, SMTP_VRFY, SMTP_EXPN, SMTP_STARTTLS,
	SMTP_AUTH, SMTP_BDAT,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;        /* after the verb and one space; "" if none */
};

/* Splits line (NUL-terminated, no CRLF) into verb and argument.  The verb
 * is matched without regard to case.  "MAIL FROM:" and "RCPT TO:" are
 * recognised by their verb alone; their argument keeps the "FROM:" part. */
void smtp_cmd_parse(const char *line, struct smtp_cmd *cmd_r);

/* What MAIL FROM or RCPT TO carried. */
struct smtp_path {
	char addr[ADDR_BUF];    /* "" for the null sender <> */
	int null_path;          /* MAIL FROM:<> */
	int has_size;
	uint64_t size;          /* SIZE=, when has_size */
	int body_8bit;          /* BODY=8BITMIME */
	int smtputf8;           /* SMTPUTF8 */
};

/* A parse failure carries the reply to send, e.g.
 * "501 5.5.4 Syntax: MAIL FROM:<address>". */
struct smtp_parse_error {
	const char *reply;      /* static, without CRLF */
};

/* arg is smtp_cmd.arg of a MAIL command: "FROM:<a@b> SIZE=10 ...".  Also
 * accepts "FROM: <a@b>" (a space after the colon, as many clients send).
 * Source routes (<@x,@y:a@b>) are accepted and the route dropped.  Unknown
 * parameters are an error (555 5.5.4).  The address may hold UTF-8 only
 * when the same command carries the SMTPUTF8 parameter. */
int smtp_parse_mail(const char *arg, struct smtp_path *path_r,
    struct smtp_parse_error *err_r);

/* arg of a RCPT command: "TO:<a@b>"; <postmaster> without a domain is
 * accepted as "postmaster".  utf8 allows UTF-8 in the address (the
 * transaction's MAIL carried SMTPUTF8). */
int smtp_parse_rcpt(const char *arg, int utf8, struct smtp_path *path_r,
    struct smtp_parse_error *err_r);

/* The parts of a decoded AUTH PLAIN response of n bytes (RFC 4616:
 * [authzid] NUL authcid NUL passwd), buf[n] being NUL: 0 with the three
 * pointing into buf, or -1 when a NUL is missing or extra, or the login
 * (authcid) is empty. */
int smtp_auth_plain_split(const char *buf, size_t n, const char **authzid_r,
    const char **login_r, const char **password_r);

#endif
