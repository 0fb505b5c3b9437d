/*
 * Cutting SMTP command lines out of what a client sent.  Kept apart from
 * the session so that a fuzzer can feed it input in any chunks: a line
 * ends at LF and must end in CRLF; a bare LF, a bare CR or a NUL inside it
 * is reported (the session then closes, smtpd_forbid_bare_newline style);
 * a line longer than the limit is thrown away whole, however many reads
 * it spans, and reported once at its end.
 */
#ifndef TERN_SMTP_LINE_H
#define TERN_SMTP_LINE_H

#include <stddef.h>

struct evbuffer;

enum smtp_line_result {
	SMTP_LINE_MORE,         /* no whole line yet */
	SMTP_LINE_OK,           /* line holds it, CRLF removed, NUL-terminated */
	SMTP_LINE_TOO_LONG,     /* consumed and thrown away */
	SMTP_LINE_BARE_LF,      /* consumed */
	SMTP_LINE_BARE_CR,      /* a CR or NUL inside the line; consumed */
};

struct smtp_line_cutter {
	size_t max;             /* a line's bytes, CRLF included */
	int discarding;         /* inside an over-long line */
};

/* Takes one line out of in into line (at least max + 1 bytes).  *len_r is
 * the line's length on the wire (CRLF included) for SMTP_LINE_OK. */
enum smtp_line_result smtp_line_take(struct smtp_line_cutter *cut,
    struct evbuffer *in, char *line, size_t *len_r);

#endif
