/*
 * Addresses inside a display name or a comment (issue 8, point 17).  The
 * raw bytes become the text a reader shows: quotes, parentheses and the
 * backslash of quoted-pairs go, RFC 2047 encoded-words are decoded.  Then
 * every '@' is looked at: the longest run of local-part characters before
 * it and domain characters after it is an address if addr_parse() takes
 * it and its domain has a dot (a reader does not present "me@home" as a
 * sender).  Trusts nothing in its input; the text is bounded by the field
 * it came from.
 */
#include "smtpd/header_name.h"

#include <stdlib.h>
#include <string.h>

#include "smtpd/encoded_word.h"
#include "util/addr.h"
#include "util/xmalloc.h"

/* RFC 5322 atext without ALPHA and DIGIT. */
static const char hn_specials[] = "!#$%&'*+-/=?^_`{|}~";

static int
hn_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
hn_local_char(unsigned char c)
{
	return hn_alnum(c) || c == '.' || c >= 0x80 ||
	    (c != 0 && strchr(hn_specials, c) != NULL);
}

static int
hn_domain_char(unsigned char c)
{
	return hn_alnum(c) || c == '.' || c == '-' || c >= 0x80;
}

/* The raw bytes without quotes, parentheses and quoted-pair backslashes. */
static size_t
hn_unquote(const unsigned char *p, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '(' || p[i] == ')')
			continue;
		if (p[i] == '\\' && i + 1 < len)
			i++;
		out[o++] = (char)p[i];
	}
	return o;
}

/* The candidate t[l..r) around the '@' at k, if it is an address. */
static int
hn_try(const char *t, size_t l, size_t k, size_t r, char out[ADDR_BUF])
{
	const char *why;

	if (l >= k || r <= k + 1 || memchr(t + k + 1, '.', r - k - 1) == NULL)
		return -1;
	return addr_parse(t + l, r - l, 1, out, &why);
}

/* Looks at the '@' at k of text t (n bytes). */
static int
hn_at(const char *t, size_t n, size_t k, header_name_fn *fn, void *arg)
{
	const unsigned char *u = (const unsigned char *)t;
	char addr[ADDR_BUF];
	size_t l = k, r = k + 1;

	while (l > 0 && hn_local_char(u[l - 1]))
		l--;
	while (l < k && u[l] == '.')
		l++;
	while (r < n && hn_domain_char(u[r]))
		r++;
	while (r > k + 1 && (u[r - 1] == '.' || u[r - 1] == '-'))
		r--;
	if (hn_try(t, l, k, r, addr) == 0)
		return fn(arg, addr);
	/* "see..bob@x.test" does not parse, yet a reader sees bob@x.test:
	 * the last atom before the '@' alone. */
	while (l < k && memchr(t + l, '.', k - l) != NULL)
		l = (size_t)((const char *)memchr(t + l, '.', k - l) - t) + 1;
	if (hn_try(t, l, k, r, addr) == 0)
		return fn(arg, addr);
	return 0;
}

int
header_name_addrs(const char *raw, size_t len, header_name_fn *fn, void *arg)
{
	char *plain, *text;
	size_t n;
	int rc = 0;

	/* No '@', and no '?' of an encoded-word that could hold one. */
	if (len == 0 || (memchr(raw, '@', len) == NULL &&
	    memchr(raw, '?', len) == NULL))
		return 0;
	plain = xmalloc(len);
	text = xmalloc(len);
	n = hn_unquote((const unsigned char *)raw, len, plain);
	n = encoded_word_decode(plain, n, text);
	for (size_t k = 0; k < n && rc == 0; k++)
		if (text[k] == '@')
			rc = hn_at(text, n, k, fn, arg);
	free(plain);
	free(text);
	return rc;
}
