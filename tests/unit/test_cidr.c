/*
 * Unit tests of relay_networks parsing and matching, and of the
 * destination and DNS server specs (relayhost, dns_servers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/hostport.h"
#include "util/cidr.h"

static void
test_match(void **state)
{
	static const struct {
		const char *ip;
		int want;
	} cases[] = {
		{ "192.0.2.1", 1 }, { "192.0.2.255", 1 }, { "192.0.3.1", 0 },
		{ "10.20.30.40", 1 }, { "11.0.0.1", 0 }, { "127.0.0.1", 1 },
		{ "127.0.0.2", 0 }, { "2001:db8::1", 1 }, { "2001:db9::1", 0 },
		{ "::ffff:192.0.2.7", 1 }, { "::1", 0 }, { "garbage", 0 },
	};
	struct cidr_list *list = malloc(sizeof(*list));
	char why[256];

	(void)state;
	assert_int_equal(cidr_list_parse("192.0.2.0/24, 10.0.0.0/8 127.0.0.1,"
	    "2001:db8::/32", list, why, sizeof(why)), 0);
	assert_int_equal(list->n, 4);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cidr_list_match(list, cases[i].ip) != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].ip,
			    !cases[i].want, cases[i].want);
	/* /0 is everything of its family. */
	assert_int_equal(cidr_list_parse("0.0.0.0/0", list, why, sizeof(why)), 0);
	assert_int_equal(cidr_list_match(list, "203.0.113.9"), 1);
	assert_int_equal(cidr_list_match(list, "2001:db8::1"), 0);
	/* Empty: nothing relays. */
	assert_int_equal(cidr_list_parse("", list, why, sizeof(why)), 0);
	assert_int_equal(cidr_list_match(list, "127.0.0.1"), 0);
	free(list);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"10.0.0.1/8", "192.0.2.0/33", "2001:db8::/129", "example.org",
		"10.0.0.0/", "10.0.0.0/x", "/8", "10.0.0.0/-1", "1.2.3",
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_list_check(bad[i], why, sizeof(why)) == 0)
			fail_msg("'%s' accepted; want refused", bad[i]);
}

static void
test_destinations(void **state)
{
	static const struct {
		const char *spec, *host;
		unsigned port;
		int no_mx, ok;
	} cases[] = {
		{ "smtp.example.org", "smtp.example.org", 25, 0, 1 },
		{ "smtp.example.org:587", "smtp.example.org", 587, 0, 1 },
		{ "[smtp.example.org]", "smtp.example.org", 25, 1, 1 },
		{ "[smtp.example.org]:2525", "smtp.example.org", 2525, 1, 1 },
		{ "[127.0.0.1]:10099", "127.0.0.1", 10099, 1, 1 },
		{ "127.0.0.1:10099", "127.0.0.1", 10099, 1, 1 },
		{ "[::1]:25", "::1", 25, 1, 1 },
		{ "[2001:db8::1]", "2001:db8::1", 25, 1, 1 },
		{ "[IPv6:2001:db8::1]:25", "2001:db8::1", 25, 1, 1 },
		{ "[IPv6:2001:db8::1]", "2001:db8::1", 25, 1, 1 },
		{ "[ipv6:::1]:2525", "::1", 2525, 1, 1 },
		{ "[192.0.2.1]", "192.0.2.1", 25, 1, 1 },
		{ "[IPv6:192.0.2.1]", "", 0, 0, 0 },
		{ "[IPv6:]:25", "", 0, 0, 0 },
		{ "[IPv6:mx.example.org]", "", 0, 0, 0 },
		{ "bad_host", "", 0, 0, 0 },
		{ "host:0", "", 0, 0, 0 },
		{ "host:99999", "", 0, 0, 0 },
		{ "[host", "", 0, 0, 0 },
		{ ":25", "", 0, 0, 0 },
	};
	char host[HOSTPORT_HOST_MAX];
	const char *err;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned port = 25;
		int no_mx = -1;
		int r = hostport_parse_dest(cases[i].spec, host, &port, &no_mx, &err);
		if ((r == 0) != cases[i].ok)
			fail_msg("%s: got %s, want %s", cases[i].spec,
			    r == 0 ? "ok" : err, cases[i].ok ? "ok" : "refused");
		if (r == 0 && (strcmp(host, cases[i].host) != 0 ||
		    port != cases[i].port || no_mx != cases[i].no_mx))
			fail_msg("%s: got %s port %u no_mx %d", cases[i].spec,
			    host, port, no_mx);
	}
}

static void
test_dns_servers(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(hostport_check_dns_servers("127.0.0.1:5353, [::1]:53 ::1 192.0.2.53",
	    why, sizeof(why)), 0);
	assert_int_equal(hostport_check_dns_servers("ns.example.org", why, sizeof(why)), -1);
	assert_int_equal(hostport_check_dns_servers("127.0.0.1:0", why, sizeof(why)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_destinations),
		cmocka_unit_test(test_dns_servers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
