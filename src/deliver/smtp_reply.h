/*
 * What the SMTP client reads from a server, parsed without the network:
 * reply lines ("250-text", "250 text", RFC 5321 4.2) and the extension
 * keywords of an EHLO reply.  Kept apart from the client's state machine
 * so that a fuzzer can feed it anything a hostile server might send.
 */
#ifndef TERN_SMTP_REPLY_H
#define TERN_SMTP_REPLY_H

#include <stddef.h>

#define SMTP_REPLY_LINE_MAX 1024        /* a reply line, CRLF included */

struct smtp_reply_line {
	int code;               /* 200..599 */
	int last;               /* "ddd " or a bare "ddd": the reply ends */
	const char *text;       /* after "ddd-" or "ddd ", in the line */
};

/* What the server offers, from its EHLO reply. */
struct smtp_ext {
	int esmtp;              /* it answered EHLO */
	int pipelining, starttls, auth_plain, eightbit, smtputf8;
	unsigned long long size_max;    /* 0: no limit announced */
};

/* Parses one line of len bytes (CRLF removed; it may hold NUL bytes,
 * which make it malformed).  0, or -1 when it is not a reply line. */
int smtp_reply_line_parse(const char *line, size_t len,
    struct smtp_reply_line *out);
/* One keyword line of an EHLO reply (the text after "250-"). */
void smtp_ext_keyword(struct smtp_ext *ext, const char *kw);
/* Copies a reply's code and text into out, control bytes as spaces:
 * safe for a log line, a queue file's last error and a DSN. */
void smtp_reply_text(const char *line, const char *text, char *out,
    size_t outlen);

#endif
