/*
 * screen_dnsbl_sites: the parser of the list and the filter match (see
 * dnsbl_site.h).  The value is read once, item by item, each copied into
 * a bounded buffer first; numbers are at most three digits and checked
 * against 255 (octets) or DNSBL_WEIGHT_MAX (weights) before use.  A filter
 * becomes four 256-bit sets, so that matching an answer is four lookups,
 * whatever the pattern.
 */
#include "screen/dnsbl_site.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xmalloc.h"

#define DNSBL_ITEM_MAX	512	/* bytes of one item */
#define DNSBL_QUOTE_MAX	80	/* of an item quoted in an error */

static int
dnsbl_is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* At most maxdigits (<= 4) decimal digits at *pp, no more than max.
 * 0 or -1. */
static int
dnsbl_number(const char **pp, int maxdigits, unsigned max, unsigned *n_r)
{
	const char *p = *pp;
	unsigned n = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9') {
		if (++digits > maxdigits)
			return -1;
		n = n * 10 + (unsigned)(*p++ - '0');
	}
	if (digits == 0 || n > max)
		return -1;
	*n_r = n;
	*pp = p;
	return 0;
}

static void
dnsbl_set_range(uint8_t set[32], unsigned lo, unsigned hi)
{
	for (unsigned v = lo; v <= hi; v++)
		set[v / 8] |= (uint8_t)(1u << (v % 8));
}

/* One octet pattern: N, or [a..b;c;...].  0 or -1. */
static int
dnsbl_octet(const char **pp, uint8_t set[32])
{
	const char *p = *pp;
	unsigned lo, hi;

	if (*p != '[') {
		if (dnsbl_number(&p, 3, 255, &lo) < 0)
			return -1;
		dnsbl_set_range(set, lo, lo);
		*pp = p;
		return 0;
	}
	p++;
	for (;;) {
		if (dnsbl_number(&p, 3, 255, &lo) < 0)
			return -1;
		hi = lo;
		if (p[0] == '.' && p[1] == '.') {
			p += 2;
			if (dnsbl_number(&p, 3, 255, &hi) < 0 || hi < lo)
				return -1;
		}
		dnsbl_set_range(set, lo, hi);
		if (*p == ']')
			break;
		if (*p++ != ';')
			return -1;
	}
	*pp = p + 1;
	return 0;
}

/* The whole of s: four octet patterns separated by dots. */
static int
dnsbl_filter_parse(const char *s, struct dnsbl_filter *f)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return -1;
		if (dnsbl_octet(&s, f->octet[i]) < 0)
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/* A DNS name of labels 1..63 of letters, digits, '-' and '_', at most
 * DNSBL_ZONE_MAX long; a final dot is dropped.  Lower-cased into out. */
static int
dnsbl_zone_parse(const char *s, size_t len, char out[DNSBL_ZONE_MAX + 1])
{
	size_t label = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > DNSBL_ZONE_MAX)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if ((!isalnum(c) && c != '-' && c != '_') ||
		    ++label > 63) {
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return label > 0 ? 0 : -1;
}

/* "*N": N a signed integer within DNSBL_WEIGHT_MAX. */
static int
dnsbl_weight_parse(const char *s, int *w_r)
{
	int neg = *s == '-';
	unsigned n;

	if (*s == '-' || *s == '+')
		s++;
	if (dnsbl_number(&s, 4, DNSBL_WEIGHT_MAX, &n) < 0 || *s != '\0')
		return -1;
	*w_r = neg ? -(int)n : (int)n;
	return 0;
}

/* One item, NUL-terminated in buf (which it may change). */
static int
dnsbl_item_parse(char *buf, struct dnsbl_site *site, char *why,
    size_t whylen)
{
	char *star = strchr(buf, '*'), *eq;
	char q[DNSBL_QUOTE_MAX];

	memset(site, 0, sizeof(*site));
	site->weight = 1;
	if (star != NULL) {
		*star = '\0';
		if (dnsbl_weight_parse(star + 1, &site->weight) < 0) {
			snprintf(why, whylen, "bad weight '%s' (a whole number "
			    "from -%d to %d)", log_escape(q, sizeof(q), star + 1,
			    strlen(star + 1)), DNSBL_WEIGHT_MAX, DNSBL_WEIGHT_MAX);
			return -1;
		}
	}
	if ((eq = strchr(buf, '=')) != NULL) {
		*eq = '\0';
		if (dnsbl_filter_parse(eq + 1, &site->filter) < 0) {
			snprintf(why, whylen, "bad filter '%s' (use e.g. "
			    "127.0.0.[2..11] or 127.0.[0..255].[1;2])",
			    log_escape(q, sizeof(q), eq + 1, strlen(eq + 1)));
			return -1;
		}
		site->has_filter = 1;
	}
	if (dnsbl_zone_parse(buf, strlen(buf), site->zone) < 0) {
		snprintf(why, whylen, "bad zone '%s'", log_escape(q, sizeof(q),
		    buf, strlen(buf)));
		return -1;
	}
	return 0;
}

int
dnsbl_sites_parse(const char *value, struct dnsbl_sites *sites_r, char *why,
    size_t whylen)
{
	char buf[DNSBL_ITEM_MAX + 1], q[DNSBL_QUOTE_MAX];
	const char *p = value;
	size_t len;

	sites_r->n = 0;
	for (;;) {
		while (dnsbl_is_sep(*p))
			p++;
		if (*p == '\0')
			return 0;
		for (len = 0; p[len] != '\0' && !dnsbl_is_sep(p[len]); len++)
			;
		if (len > DNSBL_ITEM_MAX) {
			snprintf(why, whylen, "item too long: '%s'",
			    log_escape(q, sizeof(q), p, len));
			return -1;
		}
		if (sites_r->n == DNSBL_SITES_MAX) {
			snprintf(why, whylen, "more than %d sites",
			    DNSBL_SITES_MAX);
			return -1;
		}
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (dnsbl_item_parse(buf, &sites_r->site[sites_r->n], why,
		    whylen) < 0)
			return -1;
		sites_r->n++;
		p += len;
	}
}

int
dnsbl_sites_check(const char *value, char *why, size_t whylen)
{
	struct dnsbl_sites *sites = xmalloc(sizeof(*sites));
	int r = dnsbl_sites_parse(value, sites, why, whylen);

	free(sites);
	return r;
}

enum dnsbl_match
dnsbl_site_match(const struct dnsbl_site *s, const struct in_addr *addr)
{
	const uint8_t *b = (const uint8_t *)&addr->s_addr;

	if (b[0] != 127 || (b[1] == 255 && b[2] == 255))
		return DNSBL_MATCH_BOGUS;
	if (!s->has_filter)
		return DNSBL_MATCH_YES;
	for (int i = 0; i < 4; i++)
		if ((s->filter.octet[i][b[i] / 8] & (1u << (b[i] % 8))) == 0)
			return DNSBL_MATCH_NO;
	return DNSBL_MATCH_YES;
}
