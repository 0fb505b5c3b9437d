/*
 * Lines that are no SMTP at all (issue 9, point 5), as Postfix's
 * smtpd_forbidden_commands: a command whose verb is one of a list of words
 * (screen_forbidden_commands: CONNECT GET POST, the start of an HTTP
 * request or a proxy's CONNECT relayed to the mail port), or a line shaped
 * like a header field ("Subject: x", "Host: x"), which a client that lost
 * its place in the dialogue sends as a command.  Works on one command line
 * that the session has already cut at CRLF and checked; trusts nothing in
 * it beyond that.  Kept apart from the session so that it can be tested
 * and fuzzed alone.
 */
#ifndef TERN_SMTP_FORBIDDEN_H
#define TERN_SMTP_FORBIDDEN_H

#include <stddef.h>

enum smtp_forbidden {
	SMTP_FORBIDDEN_NONE = 0,
	SMTP_FORBIDDEN_COMMAND,         /* its verb is one of the words */
	SMTP_FORBIDDEN_HEADER,          /* shaped like a header field */
};

#define SMTP_FORBIDDEN_WORD_MAX 32      /* bytes in one word of the list */

/*
 * What line (NUL-terminated, no CRLF) is.  words is the list, separated by
 * commas or white space, matched against the verb (the bytes before the
 * first space) without regard to case.  A header shape is a name of
 * printable ASCII without space or colon, then a colon at once: "MAIL
 * FROM:<a>" is no header, because a space comes before its colon.
 */
enum smtp_forbidden smtp_forbidden_line(const char *line, const char *words);

/* The config check of the list: each word of letters, digits, '-' and '_',
 * at most SMTP_FORBIDDEN_WORD_MAX bytes.  0, or -1 with why filled. */
int smtp_forbidden_check(const char *value, char *why, size_t whylen);

#endif
