/*
 * libFuzzer harness for what the SMTP client reads from a server
 * (smtp_reply.c): the input is split at LF, as the client splits at CRLF,
 * and each line is parsed as a reply line and, when it parses, its text
 * taken as an EHLO keyword.  Checks that a parsed line has a code in
 * 200..599 and a text inside the line, that "last" matches the fourth
 * byte, and that the text made safe for logs holds no control byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/smtp_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(const char *line, size_t len, struct smtp_ext *ext)
{
	struct smtp_reply_line rl;
	char safe[SMTP_REPLY_LINE_MAX + 8];

	if (smtp_reply_line_parse(line, len, &rl) < 0)
		return;
	if (rl.code < 200 || rl.code > 599)
		abort();
	if (rl.last != (len == 3 || line[3] == ' '))
		abort();
	if (len > 4 && (rl.text != line + 4 || strlen(rl.text) != len - 4))
		abort();
	smtp_ext_keyword(ext, rl.text);
	smtp_reply_text(line, rl.text, safe, sizeof(safe));
	for (const char *p = safe; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_ext ext;
	char *copy = malloc(size + 1);
	size_t start = 0;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	memset(&ext, 0, sizeof(ext));
	for (size_t i = 0; i <= size; i++) {
		if (i < size && copy[i] != '\n')
			continue;
		copy[i] = '\0';         /* the line as evbuffer_readln gives it */
		check_line(copy + start, i - start, &ext);
		start = i + 1;
	}
	free(copy);
	return 0;
}
