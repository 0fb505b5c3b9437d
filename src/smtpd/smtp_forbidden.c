/*
 * Forbidden command lines: see smtp_forbidden.h.  Trusts nothing in the
 * line; the word list is the postmaster's, checked when the config is read.
 */
#include "smtpd/smtp_forbidden.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char smtp_forbidden_seps[] = ", \t";

/* A header field's name: printable ASCII, no space, no colon (RFC 5322
 * section 3.6.8), then the colon itself. */
static int
smtp_forbidden_header(const char *line)
{
	size_t n = 0;

	for (; line[n] != '\0' && line[n] != ':'; n++)
		if ((unsigned char)line[n] <= ' ' ||
		    (unsigned char)line[n] >= 0x7f)
			return 0;
	return n > 0 && line[n] == ':';
}

static int
smtp_forbidden_word_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

enum smtp_forbidden
smtp_forbidden_line(const char *line, const char *words)
{
	size_t verb = strcspn(line, " ");
	const char *w = words;
	size_t len;

	while (*(w += strspn(w, smtp_forbidden_seps)) != '\0') {
		len = strcspn(w, smtp_forbidden_seps);
		if (len == verb && strncasecmp(w, line, len) == 0)
			return SMTP_FORBIDDEN_COMMAND;
		w += len;
	}
	return smtp_forbidden_header(line) ? SMTP_FORBIDDEN_HEADER :
	    SMTP_FORBIDDEN_NONE;
}

int
smtp_forbidden_check(const char *value, char *why, size_t whylen)
{
	const char *w = value;
	size_t len;

	while (*(w += strspn(w, smtp_forbidden_seps)) != '\0') {
		len = strcspn(w, smtp_forbidden_seps);
		if (len > SMTP_FORBIDDEN_WORD_MAX) {
			snprintf(why, whylen, "a word longer than %d bytes",
			    SMTP_FORBIDDEN_WORD_MAX);
			return -1;
		}
		for (size_t i = 0; i < len; i++) {
			if (!smtp_forbidden_word_char(w[i])) {
				snprintf(why, whylen, "a word may hold only "
				    "letters, digits, '-' and '_'");
				return -1;
			}
		}
		w += len;
	}
	return 0;
}
