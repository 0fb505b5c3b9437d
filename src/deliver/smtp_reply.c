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

size_t
smtp_status_span(const char *s)
{
	size_t i = 1, d;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	for (int part = 0; part < 2; part++) {
		if (s[i++] != '.')
			return 0;
		for (d = 0; d < 4 && is_digit(s[i + d]); d++)
			;
		if (d == 0 || d > 3)
			return 0;
		i += d;
	}
	return i;
}

int
smtp_reply_status(const char *reply, char dflt_class,
    char status_r[SMTP_STATUS_BUF])
{
	const char *p = reply != NULL ? reply : "";
	char cls = 0;
	size_t n;

	if (p[0] >= '2' && p[0] <= '5' && is_digit(p[1]) && is_digit(p[2]) &&
	    (p[3] == ' ' || p[3] == '-')) {
		cls = p[0];
		p += 4;
	}
	n = smtp_status_span(p);
	/* RFC 3463 2: the class agrees with the reply code's.  A failure
	 * code under a success class (or the reverse) says nothing sure. */
	if (n > 0 && (p[n] == '\0' || p[n] == ' ') &&
	    (cls == 0 || (cls != '2') == (p[0] != '2'))) {
		memcpy(status_r, p, n);
		status_r[n] = '\0';
		if (cls == '4' || cls == '5')
			status_r[0] = cls;
		return 1;
	}
	snprintf(status_r, SMTP_STATUS_BUF, "%c.0.0", dflt_class);
	return 0;
}
