/*
 * Command lines: see smtp_line.h.  Trusts nothing in the input; the only
 * state kept between calls is whether an over-long line is being skipped.
 */
#include "smtpd/smtp_line.h"

#include <event2/buffer.h>
#include <string.h>

#include "util/log.h"

enum smtp_line_result
smtp_line_take(struct smtp_line_cutter *cut, struct evbuffer *in, char *line,
    size_t *len_r)
{
	size_t eol_len, len;
	struct evbuffer_ptr p = evbuffer_search_eol(in, NULL, &eol_len,
	    EVBUFFER_EOL_LF);

	if (p.pos < 0) {
		/* No line end yet: a line this long is refused whole. */
		if (evbuffer_get_length(in) >= cut->max) {
			if (evbuffer_drain(in, evbuffer_get_length(in)) < 0)
				fatal("evbuffer_drain failed");
			cut->discarding = 1;
		}
		return SMTP_LINE_MORE;
	}
	len = (size_t)p.pos + 1;
	if (cut->discarding || len > cut->max) {
		if (evbuffer_drain(in, len) < 0)
			fatal("evbuffer_drain failed");
		cut->discarding = 0;
		return SMTP_LINE_TOO_LONG;
	}
	if (evbuffer_remove(in, line, len) != (int)len)
		fatal("evbuffer_remove failed");
	line[len] = '\0';
	if (len < 2 || line[len - 2] != '\r')
		return SMTP_LINE_BARE_LF;
	line[len - 2] = '\0';
	if (memchr(line, '\r', len - 2) != NULL || strlen(line) != len - 2)
		return SMTP_LINE_BARE_CR;
	*len_r = len;
	return SMTP_LINE_OK;
}
