/*
 * libFuzzer harness for the SMTP command parser: the input is cut at the
 * first CR, LF or NUL the way the session hands lines over, then run
 * through smtp_cmd_parse() and, for MAIL and RCPT, the path parsers.
 * Checks that replies are ours (static, starting with a 5xx code) and that
 * an accepted path holds a valid address.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpd/smtp_parse.h"

#define LINE_MAX_OCTETS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct smtp_parse_error *err)
{
	const char *r = err->reply;

	if (r == NULL || r[0] != '5' || strlen(r) < 10 ||
	    strpbrk(r, "\r\n") != NULL)
		abort();
}

static void
check_path(const struct smtp_path *p, int utf8)
{
	char again[ADDR_BUF];
	const char *err;
	size_t len = strnlen(p->addr, ADDR_BUF);

	if (len >= ADDR_BUF)
		abort();
	if (p->null_path) {
		if (len != 0)
			abort();
		return;
	}
	if (strcmp(p->addr, "postmaster") == 0)
		return;
	if (addr_parse(p->addr, len, utf8, again, &err) == -1 ||
	    strcmp(again, p->addr) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[LINE_MAX_OCTETS + 1];
	struct smtp_cmd cmd;
	struct smtp_path path;
	struct smtp_parse_error err;
	size_t n = 0;

	while (n < size && n < LINE_MAX_OCTETS && data[n] != '\r' &&
	    data[n] != '\n' && data[n] != '\0')
		n++;
	memcpy(line, data, n);
	line[n] = '\0';

	smtp_cmd_parse(line, &cmd);
	/* A known verb's argument lies in the line; an unknown one has "". */
	if (cmd.arg == NULL)
		abort();
	if (cmd.verb == SMTP_UNKNOWN ? cmd.arg[0] != '\0' :
	    cmd.arg < line || cmd.arg > line + n)
		abort();

	/* Run both path parsers on every line, verb or not. */
	if (smtp_parse_mail(cmd.verb == SMTP_MAIL ? cmd.arg : line, &path,
	    &err) == 0)
		check_path(&path, path.smtputf8);
	else
		check_reply(&err);
	for (int utf8 = 0; utf8 <= 1; utf8++) {
		if (smtp_parse_rcpt(cmd.verb == SMTP_RCPT ? cmd.arg : line,
		    utf8, &path, &err) == 0) {
			if (path.null_path)
				abort();
			check_path(&path, utf8);
		} else
			check_reply(&err);
	}
	return 0;
}
