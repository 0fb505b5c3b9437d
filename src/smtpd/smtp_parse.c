/*
 * SMTP command parsing (RFC 5321 4.1): splits a command line into verb and
 * argument, and takes MAIL FROM / RCPT TO apart.  Trusts only what the
 * session promises (one NUL-terminated line, length-checked, no CR, LF or
 * NUL inside); every byte of it is the client's.  Replies are static
 * strings and never echo client bytes.  The address itself is judged by
 * addr_parse() alone, after the parameters that decide how it is judged.
 */
#include "smtpd/smtp_parse.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* RFC 5321 4.5.3.1.3: a path, angle brackets included. */
#define PATH_MAX_OCTETS 256

/* Longest decimal uint64_t: 18446744073709551615. */
#define SIZE_DIGITS_MAX 20

#define R_MAIL_SYNTAX   "501 5.5.4 Syntax: MAIL FROM:<address>"
#define R_RCPT_SYNTAX   "501 5.5.4 Syntax: RCPT TO:<address>"
#define R_PATH_LONG     "501 5.5.4 Path too long"
#define R_BAD_SIZE      "501 5.5.4 Bad SIZE parameter"
#define R_BAD_BODY      "501 5.5.4 Bad BODY parameter"
#define R_BAD_UTF8      "501 5.5.4 Bad SMTPUTF8 parameter"
#define R_BAD_AUTH      "501 5.5.4 Bad AUTH parameter"
#define R_DUP_PARAM     "501 5.5.4 Duplicate MAIL parameter"
#define R_MAIL_PARAM    "555 5.5.4 Unsupported MAIL parameter"
#define R_RCPT_PARAM    "555 5.5.4 Unsupported RCPT parameter"
#define R_BAD_SENDER    "553 5.1.7 Bad sender address syntax"
#define R_BAD_RCPT      "553 5.1.3 Bad recipient address syntax"

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "HELP", SMTP_HELP },
	{ "VRFY", SMTP_VRFY }, { "EXPN", SMTP_EXPN },
	{ "STARTTLS", SMTP_STARTTLS }, { "AUTH", SMTP_AUTH },
	{ "BDAT", SMTP_BDAT },
};

void
smtp_cmd_parse(const char *line, struct smtp_cmd *cmd_r)
{
	size_t n = strcspn(line, " ");

	cmd_r->verb = SMTP_UNKNOWN;
	cmd_r->arg = "";
	/* "NOOP\t" or "NOOPX" is no verb we know: only end or one space. */
	for (size_t i = 0; i < sizeof(smtp_verbs) / sizeof(smtp_verbs[0]);
	    i++) {
		if (strlen(smtp_verbs[i].name) != n ||
		    strncasecmp(line, smtp_verbs[i].name, n) != 0)
			continue;
		cmd_r->verb = smtp_verbs[i].verb;
		cmd_r->arg = line[n] == ' ' ? line + n + 1 : line + n;
		return;
	}
}

static int
fail(struct smtp_parse_error *err_r, const char *reply)
{
	err_r->reply = reply;
	return -1;
}

/*
 * Finds the path "<...>" at the start of s.  The closing '>' is the first
 * one outside a quoted string (a quoted local part may hold '>').  Sets
 * *inner_r and *len_r to the bytes between the brackets and returns a
 * pointer past the '>', or NULL (*too_long_r says whether for length).
 */
static const char *
path_scan(const char *s, const char **inner_r, size_t *len_r, int *too_long_r)
{
	int quoted = 0;
	size_t i;

	*too_long_r = 0;
	if (s[0] != '<')
		return NULL;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= PATH_MAX_OCTETS) {
			*too_long_r = 1;
			return NULL;
		}
		if (quoted && s[i] == '\\' && s[i + 1] != '\0')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && s[i] == '>')
			break;
	}
	if (s[i] != '>')
		return NULL;
	*inner_r = s + 1;
	*len_r = i - 1;
	return s + i + 1;
}

/*
 * Drops a source route ("@a,@b:") from the front of a path, checking that
 * each hop is a domain name (ASCII: routes are obsolete and RFC 6531 gives
 * them nothing).  Returns 0 with *p and *len moved past it, or -1 if the
 * route is malformed.
 */
static int
route_skip(const char **p, size_t *len)
{
	const char *s = *p, *err;
	size_t n = *len, i = 0;
	char hop[ADDR_DOMAIN_MAX + 1];

	if (n == 0 || s[0] != '@')
		return 0;
	for (;;) {
		size_t start;

		if (i >= n || s[i] != '@')
			return -1;
		start = ++i;
		while (i < n && s[i] != ',' && s[i] != ':')
			i++;
		if (i >= n || i - start > ADDR_DOMAIN_MAX)
			return -1;
		memcpy(hop, s + start, i - start);
		hop[i - start] = '\0';
		if (addr_domain_valid(hop, &err) == -1)
			return -1;
		if (s[i++] == ':')
			break;
	}
	*p = s + i;
	*len = n - i;
	return 0;
}

/* SIZE=digits, with a check before each step that it cannot overflow. */
static int
size_parse(const char *v, size_t len, uint64_t *size_r)
{
	uint64_t size = 0;

	if (len == 0 || len > SIZE_DIGITS_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (v[i] < '0' || v[i] > '9')
			return -1;
		d = (unsigned)(v[i] - '0');
		if (size > (UINT64_MAX - d) / 10)
			return -1;
		size = size * 10 + d;
	}
	*size_r = size;
	return 0;
}

#define PARAM_SIZE      0x01
#define PARAM_BODY      0x02
#define PARAM_SMTPUTF8  0x04
#define PARAM_AUTH      0x08

/* xtext (RFC 3461 4): printable ASCII but '+' and '=', and "+XX" hex. */
static int
xtext_valid(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '+') {
			if (i + 2 >= len || !isxdigit((unsigned char)v[i + 1]) ||
			    !isxdigit((unsigned char)v[i + 2]))
				return 0;
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return 0;
		}
	}
	return len > 0;
}

/* One MAIL parameter "NAME[=value]" of len bytes, into p.  Returns which
 * parameter it was (PARAM_*), or -1. */
static int
mail_param(const char *s, size_t len, struct smtp_path *p,
    struct smtp_parse_error *err_r)
{
	const char *eq = memchr(s, '=', len);
	size_t nlen = eq != NULL ? (size_t)(eq - s) : len;
	const char *v = eq != NULL ? eq + 1 : NULL;
	size_t vlen = eq != NULL ? len - nlen - 1 : 0;

	if (nlen == 4 && strncasecmp(s, "SIZE", 4) == 0) {
		if (v == NULL || size_parse(v, vlen, &p->size) == -1)
			return fail(err_r, R_BAD_SIZE);
		p->has_size = 1;
		return PARAM_SIZE;
	}
	if (nlen == 4 && strncasecmp(s, "BODY", 4) == 0) {
		if (v != NULL && vlen == 4 && strncasecmp(v, "7BIT", 4) == 0)
			p->body_8bit = 0;
		else if (v != NULL && vlen == 8 &&
		    strncasecmp(v, "8BITMIME", 8) == 0)
			p->body_8bit = 1;
		else
			return fail(err_r, R_BAD_BODY);
		return PARAM_BODY;
	}
	if (nlen == 8 && strncasecmp(s, "SMTPUTF8", 8) == 0) {
		if (v != NULL)
			return fail(err_r, R_BAD_UTF8);
		p->smtputf8 = 1;
		return PARAM_SMTPUTF8;
	}
	/* RFC 4954 5: a valid AUTH= is parsed and discarded; it grants
	 * nothing (the sender binding is the session's login). */
	if (nlen == 4 && strncasecmp(s, "AUTH", 4) == 0) {
		if (v == NULL || !(xtext_valid(v, vlen) ||
		    (vlen == 2 && memcmp(v, "<>", 2) == 0)))
			return fail(err_r, R_BAD_AUTH);
		return PARAM_AUTH;
	}
	return fail(err_r, R_MAIL_PARAM);
}

/* The parameters after the path: "" or " P1 P2 ...", single spaces, each
 * at most once. */
static int
mail_params(const char *s, struct smtp_path *p, struct smtp_parse_error *err_r)
{
	int seen = 0, which;

	while (*s != '\0') {
		size_t n;

		if (*s != ' ')
			return fail(err_r, R_MAIL_SYNTAX);
		s++;
		n = strcspn(s, " ");
		if (n == 0)
			return fail(err_r, R_MAIL_SYNTAX);
		if ((which = mail_param(s, n, p, err_r)) == -1)
			return -1;
		if (seen & which)
			return fail(err_r, R_DUP_PARAM);
		seen |= which;
		s += n;
	}
	return 0;
}

/* "FROM:" or "TO:" without regard to case, then an optional space. */
static const char *
keyword_skip(const char *arg, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(arg, kw, n) != 0)
		return NULL;
	arg += n;
	return *arg == ' ' ? arg + 1 : arg;
}

int
smtp_parse_mail(const char *arg, struct smtp_path *path_r,
    struct smtp_parse_error *err_r)
{
	struct smtp_path p;
	const char *s, *inner, *rest, *err;
	size_t len;
	int too_long;

	memset(&p, 0, sizeof(p));
	if ((s = keyword_skip(arg, "FROM:")) == NULL)
		return fail(err_r, R_MAIL_SYNTAX);
	if ((rest = path_scan(s, &inner, &len, &too_long)) == NULL)
		return fail(err_r, too_long ? R_PATH_LONG : R_MAIL_SYNTAX);
	/* SMTPUTF8 decides what the address may hold: parameters first. */
	if (mail_params(rest, &p, err_r) == -1)
		return -1;
	if (len == 0)
		p.null_path = 1;
	else if (route_skip(&inner, &len) == -1 ||
	    addr_parse(inner, len, p.smtputf8, p.addr, &err) == -1)
		return fail(err_r, R_BAD_SENDER);
	*path_r = p;
	return 0;
}

int
smtp_parse_rcpt(const char *arg, int utf8, struct smtp_path *path_r,
    struct smtp_parse_error *err_r)
{
	struct smtp_path p;
	const char *s, *inner, *rest, *err;
	size_t len;
	int too_long;

	memset(&p, 0, sizeof(p));
	if ((s = keyword_skip(arg, "TO:")) == NULL)
		return fail(err_r, R_RCPT_SYNTAX);
	if ((rest = path_scan(s, &inner, &len, &too_long)) == NULL)
		return fail(err_r, too_long ? R_PATH_LONG : R_RCPT_SYNTAX);
	if (rest[0] != '\0')
		return fail(err_r, rest[0] == ' ' && rest[1] != '\0' &&
		    rest[1] != ' ' ? R_RCPT_PARAM : R_RCPT_SYNTAX);
	if (route_skip(&inner, &len) == -1)
		return fail(err_r, R_BAD_RCPT);
	/* RFC 5321 4.5.1: <postmaster> without a domain, any case. */
	if (len == 10 && strncasecmp(inner, "postmaster", 10) == 0)
		memcpy(p.addr, "postmaster", sizeof("postmaster"));
	else if (addr_parse(inner, len, utf8, p.addr, &err) == -1)
		return fail(err_r, R_BAD_RCPT);
	*path_r = p;
	return 0;
}

int
smtp_auth_plain_split(const char *buf, size_t n, const char **authzid_r,
    const char **login_r, const char **password_r)
{
	const char *login, *password;
	size_t zlen, llen;

	zlen = strnlen(buf, n);
	if (zlen + 1 >= n)
		return -1;
	login = buf + zlen + 1;
	llen = strnlen(login, n - zlen - 1);
	if (llen == 0 || zlen + 1 + llen + 1 > n)
		return -1;
	password = login + llen + 1;
	/* No NUL inside the password: it runs to the end. */
	if (strnlen(password, n - zlen - llen - 2) != n - zlen - llen - 2)
		return -1;
	*authzid_r = buf;
	*login_r = login;
	*password_r = password;
	return 0;
}
