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
#define SMTP_STATUS_BUF 16              /* "5.123.456" and its NUL */

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

/* Length of an RFC 3463 status code ("5.1.1": class 2, 4 or 5, then two
 * parts of 1-3 digits) at the start of s, or 0. */
size_t smtp_status_span(const char *s);

/*
 * The enhanced status code (RFC 3463) of a reply such as "550 5.1.1 <a@b>:
 * unknown" (also "550-5.1.1 ..." and a bare "5.1.1 ..."), its class made
 * to agree with the reply code's (4 or 5; a 2 against a failure code, or
 * the reverse, is no code).  Without one, "C.0.0" with C = dflt_class.
 * Returns 1 if the code came from the reply, 0 for the default.
 */
int smtp_reply_status(const char *reply, char dflt_class,
    char status_r[SMTP_STATUS_BUF]);

#endif
