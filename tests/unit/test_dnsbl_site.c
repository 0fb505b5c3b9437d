/*
 * Unit tests of the screen_dnsbl_sites parser and the filter match
 * (screen/dnsbl_site.c): good lists and what they parse into, bad lists
 * and their messages, the bounds, every octet of a filter, and answers
 * that are never a listing.  Also the cache under the engine
 * (screen/dnsbl_cache.c): expiry, replacement, the bound and purging, on
 * the test's own clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "screen/dnsbl_cache.h"
#include "screen/dnsbl_site.h"

static struct in_addr
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static void
parse_ok(const char *value, struct dnsbl_sites *sites)
{
	char why[256] = "";

	if (dnsbl_sites_parse(value, sites, why, sizeof(why)) < 0)
		fail_msg("'%s': %s", value, why);
	assert_int_equal(dnsbl_sites_check(value, why, sizeof(why)), 0);
}

static void
test_parse_good(void **state)
{
	struct dnsbl_sites *s = malloc(sizeof(*s));

	(void)state;
	assert_non_null(s);
	parse_ok("", s);
	assert_int_equal(s->n, 0);
	parse_ok(" ,\t, ", s);
	assert_int_equal(s->n, 0);
	parse_ok("zen.spamhaus.org", s);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->site[0].zone, "zen.spamhaus.org");
	assert_int_equal(s->site[0].weight, 1);
	assert_int_equal(s->site[0].has_filter, 0);
	parse_ok("Zen.SpamHaus.ORG.*2, list.dnswl.org=127.0.[0..255].[1;2;3]*-2"
	    "\tb_l.example-1.net=127.0.0.2*+3 ,,x.test*0", s);
	assert_int_equal(s->n, 4);
	assert_string_equal(s->site[0].zone, "zen.spamhaus.org");
	assert_int_equal(s->site[0].weight, 2);
	assert_string_equal(s->site[1].zone, "list.dnswl.org");
	assert_int_equal(s->site[1].weight, -2);
	assert_int_equal(s->site[1].has_filter, 1);
	assert_string_equal(s->site[2].zone, "b_l.example-1.net");
	assert_int_equal(s->site[2].weight, 3);
	assert_int_equal(s->site[3].weight, 0);
	parse_ok("a.test*1000 b.test*-1000 c.test=[0..255].[0..255].[0..255]."
	    "[0..255]", s);
	assert_int_equal(s->n, 3);
	free(s);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *value;
		const char *want;
	} cases[] = {
		{ "a..test", "bad zone 'a..test'" },
		{ ".test", "bad zone '.test'" },
		{ "a.test..", "bad zone 'a.test..'" },
		{ "=127.0.0.2", "bad zone ''" },
		{ "*2", "bad zone ''" },
		{ "a/b.test", "bad zone 'a/b.test'" },
		{ "bl.test=127.0.0", "bad filter '127.0.0' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.2.", "bad filter '127.0.0.2.' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.256", "bad filter '127.0.0.256' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.[5..2]", "bad filter '127.0.0.[5..2]' (use "
		    "e.g. 127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.[2;]", "bad filter '127.0.0.[2;]' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.[2", "bad filter '127.0.0.[2' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.[]", "bad filter '127.0.0.[]' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.0002", "bad filter '127.0.0.0002' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test=", "bad filter '' (use e.g. 127.0.0.[2..11] or "
		    "127.0.[0..255].[1;2])" },
		{ "bl.test=127.0.0.-1", "bad filter '127.0.0.-1' (use e.g. "
		    "127.0.0.[2..11] or 127.0.[0..255].[1;2])" },
		{ "bl.test*", "bad weight '' (a whole number from -1000 to "
		    "1000)" },
		{ "bl.test*1001", "bad weight '1001' (a whole number from -1000 "
		    "to 1000)" },
		{ "bl.test*-1001", "bad weight '-1001' (a whole number from "
		    "-1000 to 1000)" },
		{ "bl.test*2x", "bad weight '2x' (a whole number from -1000 to "
		    "1000)" },
		{ "bl.test*2*3", "bad weight '2*3' (a whole number from -1000 "
		    "to 1000)" },
		{ "bl.test*--1", "bad weight '--1' (a whole number from -1000 "
		    "to 1000)" },
		{ "bl.test\001", "bad zone 'bl.test\\x01'" },
	};
	struct dnsbl_sites *s = malloc(sizeof(*s));
	char why[256];

	(void)state;
	assert_non_null(s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		if (dnsbl_sites_parse(cases[i].value, s, why, sizeof(why)) == 0)
			fail_msg("'%s' parsed", cases[i].value);
		if (strcmp(why, cases[i].want) != 0)
			fail_msg("'%s': got '%s', want '%s'", cases[i].value,
			    why, cases[i].want);
		assert_int_equal(dnsbl_sites_check(cases[i].value, why,
		    sizeof(why)), -1);
	}
	free(s);
}

/* Labels and names at their limits; the number of sites. */
static void
test_parse_bounds(void **state)
{
	struct dnsbl_sites *s = malloc(sizeof(*s));
	char value[4096], why[256];
	size_t len;

	(void)state;
	assert_non_null(s);
	/* A 63-byte label passes, 64 does not. */
	snprintf(value, sizeof(value), "%.63s.test", "aaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	parse_ok(value, s);
	snprintf(value, sizeof(value), "%.64s.test", "aaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(dnsbl_sites_parse(value, s, why, sizeof(why)), -1);
	/* A zone of DNSBL_ZONE_MAX passes, one more does not. */
	memset(value, 0, sizeof(value));
	for (len = 0; len + 10 <= DNSBL_ZONE_MAX; len += 10)
		memcpy(value + len, "abcdefghi.", 10);
	while (len < DNSBL_ZONE_MAX)
		value[len++] = 'z';
	parse_ok(value, s);
	assert_int_equal(strlen(s->site[0].zone), DNSBL_ZONE_MAX);
	value[len++] = 'z';
	assert_int_equal(dnsbl_sites_parse(value, s, why, sizeof(why)), -1);
	/* DNSBL_SITES_MAX sites pass, one more does not. */
	len = 0;
	for (int i = 0; i <= DNSBL_SITES_MAX; i++)
		len += (size_t)snprintf(value + len, sizeof(value) - len,
		    "%sbl%d.test", i ? ", " : "", i);
	assert_int_equal(dnsbl_sites_parse(value, s, why, sizeof(why)), -1);
	assert_string_equal(why, "more than 32 sites");
	*strrchr(value, ',') = '\0';
	parse_ok(value, s);
	assert_int_equal(s->n, DNSBL_SITES_MAX);
	/* An item longer than the item buffer. */
	memset(value, 'a', 600);
	value[600] = '\0';
	assert_int_equal(dnsbl_sites_parse(value, s, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "item too long"));
	free(s);
}

static void
test_match(void **state)
{
	struct dnsbl_sites *s = malloc(sizeof(*s));
	struct in_addr a;

	(void)state;
	assert_non_null(s);
	parse_ok("any.test a.test=127.0.0.[2..4;9] "
	    "b.test=127.[0;1].[10..11].[0..255]", s);
	/* No filter: all of 127/8 but its error codes. */
	a = ip4("127.0.0.2");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_YES);
	a = ip4("127.1.2.3");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_YES);
	a = ip4("127.255.254.255");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_YES);
	a = ip4("127.255.255.254");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_BOGUS);
	a = ip4("127.255.255.0");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_BOGUS);
	a = ip4("10.0.0.2");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_BOGUS);
	a = ip4("128.0.0.2");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_BOGUS);
	/* Ranges and alternatives, every octet. */
	for (unsigned v = 0; v < 256; v++) {
		char text[32];
		int want = (v >= 2 && v <= 4) || v == 9;

		snprintf(text, sizeof(text), "127.0.0.%u", v);
		a = ip4(text);
		assert_int_equal(dnsbl_site_match(&s->site[1], &a),
		    want ? DNSBL_MATCH_YES : DNSBL_MATCH_NO);
		snprintf(text, sizeof(text), "127.%u.10.5", v);
		a = ip4(text);
		assert_int_equal(dnsbl_site_match(&s->site[2], &a),
		    v <= 1 ? DNSBL_MATCH_YES : DNSBL_MATCH_NO);
		snprintf(text, sizeof(text), "127.1.%u.5", v);
		a = ip4(text);
		assert_int_equal(dnsbl_site_match(&s->site[2], &a),
		    v == 10 || v == 11 ? DNSBL_MATCH_YES : DNSBL_MATCH_NO);
	}
	/* A filter never makes an error code a listing. */
	parse_ok("c.test=127.255.255.254 d.test=10.0.0.[0..255]", s);
	a = ip4("127.255.255.254");
	assert_int_equal(dnsbl_site_match(&s->site[0], &a), DNSBL_MATCH_BOGUS);
	a = ip4("10.0.0.1");
	assert_int_equal(dnsbl_site_match(&s->site[1], &a), DNSBL_MATCH_BOGUS);
	free(s);
}

/* ---- the cache ---- */

static struct dnsbl_key
key_of(unsigned last, unsigned zone)
{
	struct dnsbl_key k;

	memset(&k, 0, sizeof(k));
	k.family = AF_INET;
	k.addr[0] = 192;
	k.addr[3] = (uint8_t)last;
	k.zone = (uint8_t)zone;
	return k;
}

static void
test_cache(void **state)
{
	struct dnsbl_cache *c = dnsbl_cache_new(4);
	struct in_addr in[2], out[DNS_A_MAX];
	struct dnsbl_key k1 = key_of(1, 0), k1b = key_of(1, 1);

	(void)state;
	in[0] = ip4("127.0.0.2");
	in[1] = ip4("127.0.0.3");
	assert_int_equal(dnsbl_cache_get(c, &k1, 100, out, NULL), -1);
	dnsbl_cache_put(c, &k1, in, 2, 160, 100);
	dnsbl_cache_put(c, &k1b, NULL, 0, 130, 100);
	assert_int_equal(dnsbl_cache_get(c, &k1b, 129, out, NULL), 0);
	assert_int_equal(dnsbl_cache_get(c, &k1, 129, out, NULL), 2);
	assert_int_equal(out[1].s_addr, in[1].s_addr);
	assert_int_equal(dnsbl_cache_count(c), 2);
	/* Expired: gone, on lookup or on any later call. */
	assert_int_equal(dnsbl_cache_get(c, &k1b, 130, out, NULL), -1);
	assert_int_equal(dnsbl_cache_count(c), 1);
	assert_int_equal(dnsbl_cache_get(c, &k1, 160, out, NULL), -1);
	assert_int_equal(dnsbl_cache_count(c), 0);
	/* Replacing keeps one entry. */
	dnsbl_cache_put(c, &k1, in, 2, 300, 200);
	dnsbl_cache_put(c, &k1, in, 1, 400, 200);
	assert_int_equal(dnsbl_cache_count(c), 1);
	assert_int_equal(dnsbl_cache_get(c, &k1, 350, out, NULL), 1);
	/* Full: the entry nearest its expiry makes room. */
	for (unsigned i = 2; i <= 4; i++) {
		struct dnsbl_key k = key_of(i, 0);
		dnsbl_cache_put(c, &k, NULL, 0, 500 + i, 200);
	}
	assert_int_equal(dnsbl_cache_count(c), 4);
	{
		struct dnsbl_key k5 = key_of(5, 0), k2 = key_of(2, 0);
		dnsbl_cache_put(c, &k5, NULL, 0, 600, 200);
		assert_int_equal(dnsbl_cache_count(c), 4);
		assert_int_equal(dnsbl_cache_get(c, &k1, 201, out, NULL), -1);
		assert_int_equal(dnsbl_cache_get(c, &k2, 201, out, NULL), 0);
		assert_int_equal(dnsbl_cache_get(c, &k5, 201, out, NULL), 0);
	}
	/* Everything expired: purged a few at a time by the calls. */
	assert_int_equal(dnsbl_cache_get(c, &k1, 10000, out, NULL), -1);
	assert_int_equal(dnsbl_cache_count(c), 0);
	dnsbl_cache_free(&c);
	assert_null(c);
	dnsbl_cache_free(&c);
}

/* Many entries with scattered expiries: the heap gives them back in
 * order (each purge takes only expired ones, and all of them in time). */
static void
test_cache_heap(void **state)
{
	struct dnsbl_cache *c = dnsbl_cache_new(1000);
	struct in_addr out[DNS_A_MAX];

	(void)state;
	for (unsigned i = 0; i < 1000; i++) {
		struct dnsbl_key k = key_of(i % 256, i / 256);
		dnsbl_cache_put(c, &k, NULL, 0, 1000 + (i * 7919) % 1000, 0);
	}
	assert_int_equal(dnsbl_cache_count(c), 1000);
	for (time_t now = 1000; now <= 2000; now++) {
		struct dnsbl_key miss = key_of(0, 200);
		size_t alive = 0;

		for (int j = 0; j < 200; j++)
			(void)dnsbl_cache_get(c, &miss, now, out, NULL);
		for (unsigned i = 0; i < 1000; i++)
			alive += 1000 + (i * 7919) % 1000 > (unsigned)now;
		assert_int_equal(dnsbl_cache_count(c), alive);
	}
	dnsbl_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_cache_heap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
