/*
 * The DATA reader (RFC 5321 4.1.1.4, 4.5.2): a byte-at-a-time state
 * machine that finds CRLF . CRLF, undoes dot-stuffing and flags bare LF,
 * bare CR and NUL.  Trusts nothing in the input.  It never buffers: the
 * only bytes held across calls are a dot at the start of a line and a CR
 * after it, and both live in the state, so a message may arrive split at
 * any byte and give the same output.
 *
 * A line starts only after CR LF (or at the very beginning): after a bare
 * LF the reader stays inside the line, so "\n.\r\n" and "\r\n.\n" never end
 * the message and the smuggled text after them stays in this one, which
 * the session then refuses for the flags it carries.
 */
#include "smtpd/data_reader.h"

enum {
	DR_BOL,         /* at the start of a line (nothing held) */
	DR_TEXT,        /* inside a line */
	DR_CR,          /* inside a line, just wrote a CR */
	DR_DOT,         /* a dot at the start of a line, held (deleted) */
	DR_DOT_CR,      /* "." CR at the start of a line, CR held */
	DR_DONE,        /* CR LF . CR LF seen */
};

void
data_reader_init(struct data_reader *r)
{
	r->state = DR_BOL;
	r->flags = 0;
	r->size = 0;
}

/* A byte inside a line: written out, CR remembered, LF alone flagged. */
static void
text_byte(struct data_reader *r, unsigned char c, char *out, size_t *o)
{
	out[(*o)++] = (char)c;
	if (c == '\r') {
		r->state = DR_CR;
		return;
	}
	if (c == '\n')
		r->flags |= DATA_BARE_LF;
	else if (c == '\0')
		r->flags |= DATA_NUL;
	r->state = DR_TEXT;
}

/* Moves the machine on by one byte; returns 1 when the message ended. */
static int
step(struct data_reader *r, unsigned char c, char *out, size_t *o)
{
	switch (r->state) {
	case DR_BOL:
		if (c == '.')
			r->state = DR_DOT;
		else
			text_byte(r, c, out, o);
		return 0;
	case DR_CR:
		if (c == '\n') {
			out[(*o)++] = '\n';
			r->state = DR_BOL;
			return 0;
		}
		r->flags |= DATA_BARE_CR;
		text_byte(r, c, out, o);
		return 0;
	case DR_DOT:
		/* The dot stays deleted whatever follows (4.5.2). */
		if (c == '\r')
			r->state = DR_DOT_CR;
		else
			text_byte(r, c, out, o);
		return 0;
	case DR_DOT_CR:
		if (c == '\n') {
			r->state = DR_DONE;
			return 1;
		}
		/* "." CR x: the held CR was a bare one. */
		r->flags |= DATA_BARE_CR;
		out[(*o)++] = '\r';
		text_byte(r, c, out, o);
		return 0;
	case DR_TEXT:
	default:        /* DR_DONE never gets here: feed stops first */
		text_byte(r, c, out, o);
		return 0;
	}
}

size_t
data_reader_feed(struct data_reader *r, const char *in, size_t len,
    char *out, size_t *outlen_r, int *done_r)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i, o = 0;

	*done_r = 0;
	*outlen_r = 0;
	if (r->state == DR_DONE) {
		*done_r = 1;
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (step(r, p[i], out, &o)) {
			*done_r = 1;
			i++;
			break;
		}
	}
	*outlen_r = o;
	r->size += o;
	return i;
}
