/*
 * Mail address validation: the one place that decides whether a Mailbox
 * (RFC 5321 4.1.2, RFC 6531 when SMTPUTF8) is acceptable.  Trusts nothing
 * in its input: the bytes come from the network with only a length.  Every
 * part is checked before anything is written to the output, and the output
 * is written in one go at the end (CVE-2020-7247 came from filling in a
 * default before the check that should have refused it).
 */
#include "util/addr.h"
#include "util/utf8.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define LABEL_MAX 63

/* RFC 5322 atext without ALPHA and DIGIT. */
static const char atext_specials[] = "!#$%&'*+-/=?^_`{|}~";

static int
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_atext(unsigned char c)
{
	/* c != 0 keeps strchr from matching the terminator. */
	return is_alpha(c) || is_digit(c) ||
	    (c != 0 && strchr(atext_specials, c) != NULL);
}

static unsigned char
fold_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* A non-ASCII character of an SMTPUTF8 address: valid, and no C1 control. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	return utf8_char(p, n, UTF8_NO_C1, NULL);
}

/*
 * Checks one dot-separated label of a domain name: 1 to 63 octets of
 * letters, digits and '-', not starting or ending with '-'.  With utf8,
 * valid UTF-8 characters count as letters (a U-label; IDNA rules beyond
 * that are the resolver's business).
 */
static int
label_check(const unsigned char *p, size_t len, int utf8, const char **err_r)
{
	if (len == 0) {
		*err_r = "empty domain label";
		return -1;
	}
	if (len > LABEL_MAX) {
		*err_r = "domain label too long";
		return -1;
	}
	if (p[0] == '-' || p[len - 1] == '-') {
		*err_r = "domain label starts or ends with '-'";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		size_t n;

		if (is_alpha(p[i]) || is_digit(p[i]) || p[i] == '-')
			continue;
		if (p[i] < 0x80) {
			*err_r = "invalid character in domain";
			return -1;
		}
		if (!utf8) {
			*err_r = "non-ASCII domain without SMTPUTF8";
			return -1;
		}
		if ((n = utf8_len(p + i, len - i)) == 0) {
			*err_r = "invalid UTF-8 in domain";
			return -1;
		}
		i += n - 1;
	}
	return 0;
}

/* A domain name of len octets: labels separated by single dots. */
static int
domain_name_check(const unsigned char *p, size_t len, int utf8,
    const char **err_r)
{
	size_t start = 0;

	if (len == 0) {
		*err_r = "empty domain";
		return -1;
	}
	if (len > ADDR_DOMAIN_MAX) {
		*err_r = "domain too long";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '.')
			continue;
		if (label_check(p + start, i - start, utf8, err_r) == -1)
			return -1;
		start = i + 1;
	}
	return 0;
}

/*
 * An address literal, brackets included: [IPv4] or [IPv6:...], each
 * checked by inet_pton.  The general form (tag:content) is not accepted:
 * nothing here could deliver to it.
 */
static int
literal_check(const unsigned char *p, size_t len, const char **err_r)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	const unsigned char *in;
	size_t inlen;
	int af = AF_INET;

	if (len < 2 || p[0] != '[' || p[len - 1] != ']') {
		*err_r = "malformed address literal";
		return -1;
	}
	in = p + 1;
	inlen = len - 2;
	if (inlen >= 5 && strncasecmp((const char *)in, "IPv6:", 5) == 0) {
		af = AF_INET6;
		in += 5;
		inlen -= 5;
	}
	if (inlen == 0 || inlen >= sizeof(tmp) || memchr(in, '\0', inlen)) {
		*err_r = "malformed address literal";
		return -1;
	}
	memcpy(tmp, in, inlen);
	tmp[inlen] = '\0';
	if (inet_pton(af, tmp, bin) != 1) {
		*err_r = "invalid address literal";
		return -1;
	}
	return 0;
}

/*
 * A quoted-string local part starting at p[0] == '"'.  Only qtextSMTP and
 * quoted-pairSMTP (backslash and a printable ASCII byte), plus UTF-8 when
 * allowed: no TAB, CR, LF or NUL can pass.  Returns the length through the
 * closing quote, or 0.
 */
static size_t
quoted_scan(const unsigned char *p, size_t len, int utf8, const char **err_r)
{
	size_t i, n;

	for (i = 1; i < len; i++) {
		if (p[i] == '"') {
			if (i == 1) {
				*err_r = "empty local part";
				return 0;
			}
			return i + 1;
		}
		if (p[i] == '\\') {
			if (i + 1 >= len || p[i + 1] < 32 || p[i + 1] > 126) {
				*err_r = "invalid quoted-pair in local part";
				return 0;
			}
			i++;
			continue;
		}
		if (p[i] >= 32 && p[i] <= 126)
			continue;
		if (p[i] < 0x80 || !utf8) {
			*err_r = p[i] < 0x80 ? "control character in local part" :
			    "non-ASCII local part without SMTPUTF8";
			return 0;
		}
		if ((n = utf8_len(p + i, len - i)) == 0) {
			*err_r = "invalid UTF-8 in local part";
			return 0;
		}
		i += n - 1;
	}
	*err_r = "unterminated quoted string";
	return 0;
}

/*
 * A dot-string local part: atoms of atext joined by single dots.  Stops at
 * the first byte that cannot belong to it and returns the length so far,
 * or 0 on an error (the caller then expects '@' at that point).
 */
static size_t
dotstring_scan(const unsigned char *p, size_t len, int utf8,
    const char **err_r)
{
	size_t i, n;

	for (i = 0; i < len; i++) {
		if (p[i] == '.') {
			if (i == 0 || p[i - 1] == '.') {
				*err_r = i == 0 ? "local part starts with '.'" :
				    "consecutive dots in local part";
				return 0;
			}
			continue;
		}
		if (is_atext(p[i]))
			continue;
		if (p[i] < 0x80)
			break;
		if (!utf8) {
			*err_r = "non-ASCII local part without SMTPUTF8";
			return 0;
		}
		if ((n = utf8_len(p + i, len - i)) == 0) {
			*err_r = "invalid UTF-8 in local part";
			return 0;
		}
		i += n - 1;
	}
	if (i == 0) {
		*err_r = "empty local part";
		return 0;
	}
	if (p[i - 1] == '.') {
		*err_r = "local part ends with '.'";
		return 0;
	}
	return i;
}

/*
 * The one spelling of a quoted local part that scanned well (p[0] == '"',
 * llen bytes through the closing quote): RFC 5321 4.1.2 makes "alice" and
 * alice the same mailbox, so quotes that nothing needs go, and what needs
 * them keeps them with only '"' and '\' escaped.  Never longer than the
 * input.  Returns the length written to out.
 */
static size_t
quoted_canonical(const unsigned char *p, size_t llen, int utf8, char *out)
{
	unsigned char inner[ADDR_LOCAL_MAX] = { 0 };
	size_t n = 0, o = 0;
	const char *ignored;

	for (size_t i = 1; i + 1 < llen && n < sizeof(inner); i++) {
		if (p[i] == '\\')
			i++;
		inner[n++] = p[i];
	}
	if (dotstring_scan(inner, n, utf8, &ignored) == n) {
		memcpy(out, inner, n);
		return n;
	}
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (inner[i] == '"' || inner[i] == '\\')
			out[o++] = '\\';
		out[o++] = (char)inner[i];
	}
	out[o++] = '"';
	return o;
}

int
addr_parse(const char *s, size_t len, int utf8, char out_r[ADDR_BUF],
    const char **err_r)
{
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *dom;
	size_t llen, dlen;

	if (len == 0) {
		*err_r = "empty address";
		return -1;
	}
	if (len > ADDR_MAX) {
		*err_r = "address too long";
		return -1;
	}
	if (p[0] == '"')
		llen = quoted_scan(p, len, utf8, err_r);
	else
		llen = dotstring_scan(p, len, utf8, err_r);
	if (llen == 0)
		return -1;
	if (llen >= len || p[llen] != '@') {
		*err_r = llen >= len ? "missing '@'" :
		    "invalid character in local part";
		return -1;
	}
	if (llen > ADDR_LOCAL_MAX) {
		*err_r = "local part too long";
		return -1;
	}
	dom = p + llen + 1;
	dlen = len - llen - 1;
	if (dlen == 0) {
		*err_r = "empty domain";
		return -1;
	}
	if (dlen > ADDR_DOMAIN_MAX) {
		*err_r = "domain too long";
		return -1;
	}
	if (dom[0] == '[') {
		if (literal_check(dom, dlen, err_r) == -1)
			return -1;
	} else if (domain_name_check(dom, dlen, utf8, err_r) == -1)
		return -1;

	/* Every part is good: only now is the output written. */
	if (p[0] == '"')
		llen = quoted_canonical(p, llen, utf8, out_r);
	else
		memcpy(out_r, s, llen);
	out_r[llen] = '@';
	for (size_t i = 0; i < dlen; i++)
		out_r[llen + 1 + i] = (char)fold_char(dom[i]);
	out_r[llen + 1 + dlen] = '\0';
	return 0;
}

int
addr_domain_valid(const char *domain, const char **err_r)
{
	size_t len = strnlen(domain, ADDR_DOMAIN_MAX + 1);

	return domain_name_check((const unsigned char *)domain, len, 0, err_r);
}

void
addr_fold(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)fold_char((unsigned char)*s);
}

const char *
addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

size_t
addr_local_len(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? (size_t)(at - addr) : strlen(addr);
}
