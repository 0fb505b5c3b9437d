/*
 * Reply lines and EHLO keywords: see smtp_reply.h.
 */
#include "deliver/smtp_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
smtp_reply_line_parse(const char *line, size_t len, struct smtp_reply_line *out)
{
	if (len < 3 || len > SMTP_REPLY_LINE_MAX || memchr(line, '\0', len) != NULL)
		return -1;
	if (line[0] < '2' || line[0] > '5' || !is_digit(line[1]) || !is_digit(line[2]))
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	out->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	out->last = len == 3 || line[3] == ' ';
	out->text = len > 4 ? line + 4 : "";
	return 0;
}

/* 1 if word is one of the space-separated words of list (any case). */
static int
has_word(const char *list, const char *word)
{
	size_t wlen = strlen(word);

	while (*list != '\0') {
		size_t n = strcspn(list, " ");
		if (n == wlen && strncasecmp(list, word, n) == 0)
			return 1;
		list += n;
		list += strspn(list, " ");
	}
	return 0;
}

/* "SIZE 1000000": the limit; anything else (no number, too large, junk
 * after it) counts as no limit announced, and the server's reply to MAIL
 * decides instead. */
static unsigned long long
ext_size(const char *arg)
{
	unsigned long long v;
	char *end;

	while (*arg == ' ')
		arg++;
	if (!is_digit(*arg))
		return 0;
	v = strtoull(arg, &end, 10);
	return *end == '\0' || *end == ' ' ? v : 0;
}

void
smtp_ext_keyword(struct smtp_ext *ext, const char *kw)
{
	if (strcasecmp(kw, "PIPELINING") == 0)
		ext->pipelining = 1;
	else if (strcasecmp(kw, "STARTTLS") == 0)
		ext->starttls = 1;
	else if (strcasecmp(kw, "8BITMIME") == 0)
		ext->eightbit = 1;
	else if (strcasecmp(kw, "SMTPUTF8") == 0)
		ext->smtputf8 = 1;
	else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == ' ' || kw[4] == '\0'))
		ext->size_max = ext_size(kw + 4);
	else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '='))
		ext->auth_plain = has_word(kw + 5, "PLAIN");
}

void
smtp_reply_text(const char *line, const char *text, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.3s %s", line, text);
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}
