/*
 * libFuzzer harness for what the screen's DNS blocklist test takes from
 * outside: the screen_dnsbl_sites list (screen/dnsbl_site.c) and the
 * answer packet of an A query (net/dns_a.c dns_a_reply_parse, with its
 * own walk to the SOA of the authority section), matched against the
 * sites' filters.  The input is the sites text, a NUL, then the packet;
 * without a NUL, the whole input is both.
 *
 * Checks: a parsed list holds at most DNSBL_SITES_MAX sites whose zones
 * are lower case, bounded and without a final dot, and whose weights are
 * bounded; an answer holds at most DNS_A_MAX addresses, at least one
 * exactly when it is DNS_OK; a match is BOGUS exactly for addresses
 * outside 127.0.0.0/8 or in 127.255.255.0/24, and YES without a filter for
 * every other one.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "screen/dnsbl_site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dnsbl_sites sites;

static void
check_sites(void)
{
	if (sites.n > DNSBL_SITES_MAX)
		abort();
	for (size_t i = 0; i < sites.n; i++) {
		const struct dnsbl_site *s = &sites.site[i];
		size_t len = strnlen(s->zone, sizeof(s->zone));

		if (len == 0 || len > DNSBL_ZONE_MAX || s->zone[len - 1] == '.')
			abort();
		for (size_t j = 0; j < len; j++)
			if (isupper((unsigned char)s->zone[j]))
				abort();
		if (s->weight < -DNSBL_WEIGHT_MAX || s->weight > DNSBL_WEIGHT_MAX)
			abort();
	}
}

static void
check_answer(const struct dns_a_result *r)
{
	static const struct dnsbl_site nofilter = { .zone = "x.test",
	    .weight = 1 };

	if (r->n > DNS_A_MAX || (r->status == DNS_OK) != (r->n > 0))
		abort();
	for (size_t i = 0; i < r->n; i++) {
		const uint8_t *b = (const uint8_t *)&r->addr[i].s_addr;
		int bogus = b[0] != 127 || (b[1] == 255 && b[2] == 255);
		enum dnsbl_match m = dnsbl_site_match(&nofilter, &r->addr[i]);

		if ((m == DNSBL_MATCH_BOGUS) != bogus ||
		    (!bogus && m != DNSBL_MATCH_YES))
			abort();
		for (size_t s = 0; s < sites.n; s++) {
			m = dnsbl_site_match(&sites.site[s], &r->addr[i]);
			if ((m == DNSBL_MATCH_BOGUS) != bogus)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t tlen = nul != NULL ? (size_t)(nul - data) : size;
	const uint8_t *pkt = nul != NULL ? nul + 1 : data;
	size_t plen = nul != NULL ? size - tlen - 1 : size;
	struct dns_a_result r;
	char *text, why[256];

	if (size > 65535)
		return 0;
	if ((text = malloc(tlen + 1)) == NULL)
		return 0;
	memcpy(text, data, tlen);
	text[tlen] = '\0';
	if (dnsbl_sites_parse(text, &sites, why, sizeof(why)) < 0) {
		if (strnlen(why, sizeof(why)) == 0)
			abort();
		sites.n = 0;
	}
	check_sites();
	free(text);
	dns_a_reply_parse(pkt, (int)plen, &r);
	check_answer(&r);
	return 0;
}
