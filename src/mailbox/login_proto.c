/*
 * The auth.sock line protocol: see login_proto.h.  Parses and writes
 * whole lines; every byte comes from a peer that is trusted no more than
 * the network (a compromised Dovecot, or any process of tern's user).
 */
#include "mailbox/login_proto.h"

#include <stdio.h>
#include <string.h>

#define LOGIN_FIELDS_MAX 5

/* The line cut at its TABs into at most max fields: their count, or -1
 * when there are more. */
static int
login_split(const char *line, size_t len, const char **f, size_t *flen,
    int max)
{
	int n = 0;
	size_t start = 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (n == max)
			return -1;
		f[n] = line + start;
		flen[n++] = i - start;
		start = i + 1;
	}
	return n;
}

/* 1 if the field equals the word s. */
static int
login_is(const char *f, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(f, s, len) == 0;
}

/* A field without escapes, of bytes allowed by ok(), into out (size max
 * + 1).  0, or -1. */
static int
login_plain(const char *f, size_t len, char *out, size_t max,
    int (*ok)(unsigned char c))
{
	if (len > max)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!ok((unsigned char)f[i]))
			return -1;
	memcpy(out, f, len);
	out[len] = '\0';
	return 0;
}

static int
login_service_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* An IP address, v4 or v6 with perhaps a zone. */
static int
login_client_byte(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '.' || c == ':' || c == '%' ||
	    c == '_' || c == '-';
}

/* An escaped field into out (size max + 1): 0, or -1 if an escape is
 * unknown, a raw LF, CR or NUL occurs, or it is longer than max. */
static int
login_unescape(const char *f, size_t len, char *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = f[i];
		if (c == '\0' || c == '\n' || c == '\r')
			goto bad;
		if (c == '\\') {
			if (++i == len)
				goto bad;
			switch (f[i]) {
			case '\\': c = '\\'; break;
			case 't': c = '\t'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			default: goto bad;
			}
		}
		if (n == max)
			goto bad;
		out[n++] = c;
	}
	out[n] = '\0';
	return 0;
bad:
	memset(out, 0, max + 1);
	return -1;
}

/* s escaped onto out at *pos (size outlen): 0, or -1 if s is longer than
 * max or it does not fit. */
static int
login_escape(const char *s, size_t max, char *out, size_t outlen,
    size_t *pos)
{
	size_t len = strnlen(s, max + 1);

	if (len > max)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i], e = c == '\\' ? '\\' : c == '\t' ? 't' :
		    c == '\n' ? 'n' : c == '\r' ? 'r' : 0;
		if (*pos + 2 >= outlen)
			return -1;
		if (e != 0) {
			out[(*pos)++] = '\\';
			c = e;
		}
		out[(*pos)++] = c;
	}
	return 0;
}

/* A plain word onto out. */
static int
login_put(const char *s, char *out, size_t outlen, size_t *pos)
{
	size_t len = strlen(s);

	if (*pos + len + 1 >= outlen)
		return -1;
	memcpy(out + *pos, s, len);
	*pos += len;
	return 0;
}

static int
login_delay_parse(const char *f, size_t len, unsigned *delay_r)
{
	unsigned d = 0;

	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		d = d * 10 + (unsigned)(f[i] - '0');
	}
	if (d > LOGIN_PROTO_DELAY_MAX)
		return -1;
	*delay_r = d;
	return 0;
}

int
login_service_ok(enum login_verb verb, const char *s)
{
	size_t len = strlen(s);

	if (verb == LOGIN_AUTH)
		return strcmp(s, "imap") == 0 || strcmp(s, "pop3") == 0;
	if (len == 0 || len > LOGIN_PROTO_SERVICE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!login_service_byte((unsigned char)s[i]))
			return 0;
	return 1;
}

int
login_request_parse(const char *line, size_t len, struct login_request *r)
{
	const char *f[LOGIN_FIELDS_MAX];
	size_t fl[LOGIN_FIELDS_MAX];
	int n = login_split(line, len, f, fl, LOGIN_FIELDS_MAX);

	memset(r, 0, sizeof(*r));
	if (n == 5 && login_is(f[0], fl[0], "auth"))
		r->verb = LOGIN_AUTH;
	else if (n == 4 && login_is(f[0], fl[0], "user"))
		r->verb = LOGIN_USER;
	else
		return -1;
	if (login_plain(f[1], fl[1], r->service, LOGIN_PROTO_SERVICE_MAX,
	    login_service_byte) < 0 || !login_service_ok(r->verb, r->service) ||
	    login_plain(f[2], fl[2], r->client, LOGIN_PROTO_CLIENT_MAX,
	    login_client_byte) < 0 ||
	    login_unescape(f[3], fl[3], r->login, LOGIN_PROTO_LOGIN_MAX) < 0 ||
	    r->login[0] == '\0' ||
	    (n == 5 && login_unescape(f[4], fl[4], r->password,
	    LOGIN_PROTO_PASSWORD_MAX) < 0)) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	return 0;
}

long
login_request_format(const struct login_request *r, char *out, size_t outlen)
{
	size_t pos = 0;
	struct login_request check;
	int rc;

	if (!login_service_ok(r->verb, r->service) ||
	    login_plain(r->client, strlen(r->client), check.client,
	    LOGIN_PROTO_CLIENT_MAX, login_client_byte) < 0 ||
	    r->login[0] == '\0')
		return -1;
	rc = login_put(r->verb == LOGIN_AUTH ? "auth\t" : "user\t", out,
	    outlen, &pos);
	if (rc == 0)
		rc = login_put(r->service, out, outlen, &pos);
	if (rc == 0)
		rc = login_put("\t", out, outlen, &pos);
	if (rc == 0)
		rc = login_put(r->client, out, outlen, &pos);
	if (rc == 0)
		rc = login_put("\t", out, outlen, &pos);
	if (rc == 0)
		rc = login_escape(r->login, LOGIN_PROTO_LOGIN_MAX, out, outlen,
		    &pos);
	if (rc == 0 && r->verb == LOGIN_AUTH) {
		rc = login_put("\t", out, outlen, &pos);
		if (rc == 0)
			rc = login_escape(r->password,
			    LOGIN_PROTO_PASSWORD_MAX, out, outlen, &pos);
	}
	if (rc == 0)
		rc = login_put("\n", out, outlen, &pos);
	return rc < 0 ? -1 : (long)pos;
}

int
login_answer_parse(const char *line, size_t len, struct login_answer *a)
{
	const char *f[LOGIN_FIELDS_MAX];
	size_t fl[LOGIN_FIELDS_MAX];
	int n = login_split(line, len, f, fl, LOGIN_FIELDS_MAX);

	memset(a, 0, sizeof(*a));
	if (n == 4 && login_is(f[0], fl[0], "ok")) {
		a->result = LOGIN_OK;
		if (login_delay_parse(f[1], fl[1], &a->delay) < 0 ||
		    login_unescape(f[2], fl[2], a->login,
		    LOGIN_PROTO_LOGIN_MAX) < 0 || a->login[0] == '\0' ||
		    login_unescape(f[3], fl[3], a->maildir,
		    LOGIN_PROTO_PATH_MAX) < 0 || a->maildir[0] != '/')
			goto bad;
		return 0;
	}
	if (n == 2 && login_is(f[0], fl[0], "fail")) {
		a->result = LOGIN_FAIL;
		if (login_delay_parse(f[1], fl[1], &a->delay) < 0)
			goto bad;
		return 0;
	}
	if (n == 1 && login_is(f[0], fl[0], "unknown")) {
		a->result = LOGIN_UNKNOWN;
		return 0;
	}
	if (n == 1 && login_is(f[0], fl[0], "tempfail")) {
		a->result = LOGIN_TEMPFAIL;
		return 0;
	}
bad:
	memset(a, 0, sizeof(*a));
	return -1;
}

long
login_answer_format(const struct login_answer *a, char *out, size_t outlen)
{
	char num[16];
	size_t pos = 0;
	int rc;

	if (a->delay > LOGIN_PROTO_DELAY_MAX)
		return -1;
	snprintf(num, sizeof(num), "%u", a->delay);
	switch (a->result) {
	case LOGIN_OK:
		if (a->login[0] == '\0' || a->maildir[0] != '/')
			return -1;
		rc = login_put("ok\t", out, outlen, &pos);
		if (rc == 0)
			rc = login_put(num, out, outlen, &pos);
		if (rc == 0)
			rc = login_put("\t", out, outlen, &pos);
		if (rc == 0)
			rc = login_escape(a->login, LOGIN_PROTO_LOGIN_MAX, out,
			    outlen, &pos);
		if (rc == 0)
			rc = login_put("\t", out, outlen, &pos);
		if (rc == 0)
			rc = login_escape(a->maildir, LOGIN_PROTO_PATH_MAX, out,
			    outlen, &pos);
		break;
	case LOGIN_FAIL:
		rc = login_put("fail\t", out, outlen, &pos);
		if (rc == 0)
			rc = login_put(num, out, outlen, &pos);
		break;
	case LOGIN_UNKNOWN:
		rc = login_put("unknown", out, outlen, &pos);
		break;
	default:
		rc = login_put("tempfail", out, outlen, &pos);
		break;
	}
	if (rc == 0)
		rc = login_put("\n", out, outlen, &pos);
	return rc < 0 ? -1 : (long)pos;
}
