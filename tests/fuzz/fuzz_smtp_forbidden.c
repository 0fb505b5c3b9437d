/*
 * libFuzzer harness for the forbidden command lines: the input is cut at
 * the first CR, LF or NUL as the session hands lines over, then judged
 * against the default list, and against the line itself taken as a list
 * when the config check would accept it.  Checks what each verdict
 * promises: a header shape has a colon with no blank before it, and a
 * forbidden command's verb is one of the words.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtpd/smtp_forbidden.h"

#define LINE_MAX_OCTETS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when one word of words is the first len bytes of line. */
static int
in_list(const char *words, const char *line, size_t len)
{
	const char *w = words;
	size_t n;

	while (*(w += strspn(w, ", \t")) != '\0') {
		n = strcspn(w, ", \t");
		if (n == len && strncasecmp(w, line, len) == 0)
			return 1;
		w += n;
	}
	return 0;
}

static void
check(const char *line, const char *words)
{
	enum smtp_forbidden f = smtp_forbidden_line(line, words);
	const char *colon = strchr(line, ':');
	size_t verb = strcspn(line, " ");

	if (f == SMTP_FORBIDDEN_HEADER && (colon == NULL || colon == line ||
	    strcspn(line, " \t") < (size_t)(colon - line)))
		abort();
	if (f == SMTP_FORBIDDEN_COMMAND && !in_list(words, line, verb))
		abort();
	if (f == SMTP_FORBIDDEN_NONE && verb > 0 && in_list(words, line, verb))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[LINE_MAX_OCTETS + 1], why[128];
	size_t len = 0;

	while (len < size && len < LINE_MAX_OCTETS && data[len] != '\r' &&
	    data[len] != '\n' && data[len] != '\0')
		len++;
	memcpy(line, data, len);
	line[len] = '\0';
	check(line, "CONNECT GET POST");
	if (smtp_forbidden_check(line, why, sizeof(why)) == 0)
		check(line, line);
	return 0;
}
