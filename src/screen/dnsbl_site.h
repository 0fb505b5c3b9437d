/*
 * The DNS lists of the port-25 screen, as screen_dnsbl_sites names them:
 * `zone[=filter][*weight]` items separated by commas and/or blanks, e.g.
 * `zen.spamhaus.org*2, list.dnswl.org=127.0.[0..255].[1;2;3]*-2`.
 *
 * A filter is four dot-separated octet patterns, each a number 0-255 or
 * `[...]` holding numbers and `a..b` ranges separated by `;`.  The weight
 * is a signed integer, 1 when absent; a negative weight makes an
 * allowlist.  Parsing trusts nothing: the value comes from the config
 * file, but the same code checks answers from the network (the filter
 * match), and both are fuzzed (tests/fuzz/fuzz_dnsbl.c).
 */
#ifndef TERN_DNSBL_SITE_H
#define TERN_DNSBL_SITE_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#define DNSBL_SITES_MAX		32	/* items in screen_dnsbl_sites */
#define DNSBL_WEIGHT_MAX	1000	/* |weight| of one item */
/* The largest |score|: every site listing with the largest weight. */
#define DNSBL_SCORE_MAX		(DNSBL_SITES_MAX * DNSBL_WEIGHT_MAX)
/* A zone leaves room for the 64 characters of an IPv6 query (32 nibbles
 * and their dots) within the 253 of a DNS name. */
#define DNSBL_ZONE_MAX		189

/* Bit v of octet[i] set: value v is allowed in the i-th octet. */
struct dnsbl_filter {
	uint8_t		 octet[4][32];
};

struct dnsbl_site {
	char			 zone[DNSBL_ZONE_MAX + 1]; /* lower case, no final dot */
	int			 has_filter;
	struct dnsbl_filter	 filter;
	int			 weight;
};

struct dnsbl_sites {
	size_t			 n;
	struct dnsbl_site	 site[DNSBL_SITES_MAX];
};

/* What one A record of a list's answer says about the client. */
enum dnsbl_match {
	DNSBL_MATCH_NO,		/* not a listing (outside the filter) */
	DNSBL_MATCH_YES,	/* a listing */
	/* Not an answer a list gives for a listing: outside 127.0.0.0/8
	 * (RFC 5782 2.3), or in 127.255.255.0/24, the error codes of
	 * Spamhaus (127.255.255.254: queried through a public resolver,
	 * .255: too many queries, .252: bad key).  Never a listing, filter
	 * or not: a list that says it is misconfigured or refusing us. */
	DNSBL_MATCH_BOGUS,
};

/* Parses value into sites_r.  0, or -1 with why filled ("bad zone 'x'"). */
int dnsbl_sites_parse(const char *value, struct dnsbl_sites *sites_r,
    char *why, size_t whylen);

/* The same for the config check (KEY_CHECKED): 0 or -1 with why. */
int dnsbl_sites_check(const char *value, char *why, size_t whylen);

/* addr (network order), one A record of s's answer.  Without a filter
 * every address of 127.0.0.0/8 lists, except the error codes above. */
enum dnsbl_match dnsbl_site_match(const struct dnsbl_site *s,
    const struct in_addr *addr);

#endif
