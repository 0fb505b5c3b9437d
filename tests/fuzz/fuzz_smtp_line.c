/*
 * libFuzzer harness for the command-line cutter (smtpd/smtp_line.c): the
 * first byte sets the chunk size in which the rest reaches the input
 * buffer, as reads from a slow or hostile client would.  Checks that a
 * line taken as good is at most the limit, ends in CRLF on the wire, holds
 * no CR, LF or NUL, and that the cutter never keeps more than the limit
 * of an unfinished line.
 */
#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_line_cutter cut = { MAX, 0 };
	struct evbuffer *in;
	char line[MAX + 1];
	size_t step, fed = 1, got;

	if (size < 1 || (in = evbuffer_new()) == NULL)
		return 0;
	step = (size_t)data[0] % 32 + 1;
	while (fed < size) {
		size_t n = size - fed < step ? size - fed : step;
		if (evbuffer_add(in, data + fed, n) < 0)
			abort();
		fed += n;
		for (;;) {
			enum smtp_line_result r = smtp_line_take(&cut, in, line, &got);
			if (r == SMTP_LINE_MORE)
				break;
			if (r != SMTP_LINE_OK)
				continue;
			if (got > MAX || got != strlen(line) + 2 ||
			    strpbrk(line, "\r\n") != NULL)
				abort();
		}
		if (evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF).pos < 0 &&
		    evbuffer_get_length(in) >= MAX)
			abort();
	}
	evbuffer_free(in);
	return 0;
}
