/*
 * Unit tests of the per-client counts: IPv4 keyed by /32, IPv6 by its
 * prefix (two addresses in one /64 are one client, in two /64s two),
 * IPv4-mapped IPv6 as IPv4; open connections counted and released; the
 * rate's bucket refills one token per 60/rate seconds, sliding; refused
 * connections take no token; idle entries are freed; a full table makes
 * room from its idle entries, and admits untracked when none is idle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "net/client_table.h"

static struct client_key
key(const char *ip, unsigned prefix)
{
	struct client_key k;

	assert_int_equal(client_key_from_ip(ip, prefix, &k), 0);
	return k;
}

static int
same_key(const char *a, const char *b, unsigned prefix)
{
	struct client_key ka = key(a, prefix), kb = key(b, prefix);

	return memcmp(&ka, &kb, sizeof(ka)) == 0;
}

/* One admission; the verdict, with the admission in a_r when not NULL. */
static enum client_verdict
admit(struct client_table *t, const char *ip, unsigned max_conns,
    unsigned rate, uint64_t now_ms, struct client_admission *a_r)
{
	struct client_limits lim = { max_conns, rate };
	struct client_admission a;
	struct client_key k = key(ip, 64);

	client_table_admit(t, &k, &lim, now_ms, a_r != NULL ? a_r : &a);
	return (a_r != NULL ? a_r : &a)->verdict;
}

static void
test_keys(void **state)
{
	struct client_key k;

	(void)state;
	assert_false(same_key("192.0.2.1", "192.0.2.2", 64));
	assert_true(same_key("192.0.2.1", "::ffff:192.0.2.1", 64));
	/* One /64, two hosts: one client; the next /64: another. */
	assert_true(same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3", 64));
	assert_false(same_key("2001:db8:1:2::1", "2001:db8:1:3::1", 64));
	/* Prefixes off a byte boundary, and the whole address. */
	assert_true(same_key("2001:db8:1:2::1", "2001:db8:1:3::1", 63));
	assert_false(same_key("2001:db8:1:2::1", "2001:db8:1:4::1", 63));
	assert_false(same_key("2001:db8::1", "2001:db8::2", 128));
	assert_true(same_key("2001:db8::1", "2001:db8::1", 128));
	assert_int_equal(client_key_from_ip("not an address", 64, &k), -1);
	assert_int_equal(client_key_from_ip("2001:db8::1", 0, &k), -1);
	assert_int_equal(client_key_from_ip("2001:db8::1", 129, &k), -1);
}

static void
test_count_and_release(void **state)
{
	struct client_table *t = client_table_new(100);
	struct client_admission a[3], r;
	struct client_key k = key("192.0.2.1", 64);

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(admit(t, "192.0.2.1", 3, 0, 1000, &a[i]),
		    CLIENT_ADMITTED);
		assert_int_equal(a[i].count, i + 1);
	}
	assert_int_equal(admit(t, "192.0.2.1", 3, 0, 1000, &r), CLIENT_TOO_MANY);
	assert_int_equal(r.count, 3);
	assert_int_equal(r.limit, 3);
	assert_null(r.entry);
	/* Another address is another client. */
	assert_int_equal(admit(t, "192.0.2.2", 3, 0, 1000, NULL), CLIENT_ADMITTED);
	client_table_release(t, &a[0].entry, 1000);
	assert_null(a[0].entry);
	assert_int_equal(client_table_count(t, &k), 2);
	assert_int_equal(admit(t, "192.0.2.1", 3, 0, 1000, &a[0]), CLIENT_ADMITTED);
	/* A limit lowered by a reload refuses until enough have ended. */
	assert_int_equal(admit(t, "192.0.2.1", 2, 0, 1000, NULL), CLIENT_TOO_MANY);
	for (int i = 0; i < 3; i++)
		client_table_release(t, &a[i].entry, 1000);
	assert_int_equal(client_table_count(t, &k), 0);
	client_table_free(&t);
	assert_null(t);
}

static void
test_v6_prefix_shares_a_count(void **state)
{
	struct client_table *t = client_table_new(100);

	(void)state;
	assert_int_equal(admit(t, "2001:db8:1:2::1", 2, 0, 1, NULL), CLIENT_ADMITTED);
	assert_int_equal(admit(t, "2001:db8:1:2::2", 2, 0, 1, NULL), CLIENT_ADMITTED);
	assert_int_equal(admit(t, "2001:db8:1:2:aaaa::3", 2, 0, 1, NULL),
	    CLIENT_TOO_MANY);
	assert_int_equal(admit(t, "2001:db8:1:3::1", 2, 0, 1, NULL), CLIENT_ADMITTED);
	client_table_free(&t);
}

static void
test_rate_slides(void **state)
{
	struct client_table *t = client_table_new(100);
	struct client_admission a;

	(void)state;
	/* 5 per minute: five at once, the sixth refused... */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(admit(t, "192.0.2.1", 0, 5, 100000, &a),
		    CLIENT_ADMITTED);
		client_table_release(t, &a.entry, 100000);
	}
	assert_int_equal(admit(t, "192.0.2.1", 0, 5, 100000, &a), CLIENT_TOO_FAST);
	assert_int_equal(a.count, 5);
	assert_int_equal(a.limit, 5);
	/* ...refused ones take nothing: one token back after 12 s... */
	for (int i = 0; i < 20; i++)
		assert_int_equal(admit(t, "192.0.2.1", 0, 5, 100000 + 11999, NULL),
		    CLIENT_TOO_FAST);
	assert_int_equal(admit(t, "192.0.2.1", 0, 5, 112000, &a), CLIENT_ADMITTED);
	client_table_release(t, &a.entry, 112000);
	assert_int_equal(admit(t, "192.0.2.1", 0, 5, 112000, NULL), CLIENT_TOO_FAST);
	/* ...others are not slowed by it, and a full minute refills all. */
	assert_int_equal(admit(t, "192.0.2.2", 0, 5, 112000, NULL), CLIENT_ADMITTED);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(admit(t, "192.0.2.1", 0, 5, 172000, &a),
		    CLIENT_ADMITTED);
		client_table_release(t, &a.entry, 172000);
	}
	assert_int_equal(admit(t, "192.0.2.1", 0, 5, 172000, NULL), CLIENT_TOO_FAST);
	client_table_free(&t);
}

/* The count of open connections refuses before the rate is spent. */
static void
test_both_limits(void **state)
{
	struct client_table *t = client_table_new(100);
	struct client_admission a, b;

	(void)state;
	assert_int_equal(admit(t, "192.0.2.1", 1, 2, 0, &a), CLIENT_ADMITTED);
	assert_int_equal(admit(t, "192.0.2.1", 1, 2, 0, &b), CLIENT_TOO_MANY);
	client_table_release(t, &a.entry, 0);
	assert_int_equal(admit(t, "192.0.2.1", 1, 2, 0, &a), CLIENT_ADMITTED);
	client_table_release(t, &a.entry, 0);
	assert_int_equal(admit(t, "192.0.2.1", 1, 2, 0, &a), CLIENT_TOO_FAST);
	/* Counted without a check (a connection admitted elsewhere). */
	assert_int_equal(admit(t, "192.0.2.1", UINT_MAX, 0, 0, &a), CLIENT_ADMITTED);
	assert_int_equal(a.count, 1);
	assert_int_equal(admit(t, "192.0.2.1", UINT_MAX, 0, 0, &b), CLIENT_ADMITTED);
	assert_int_equal(b.count, 2);
	assert_int_equal(admit(t, "192.0.2.1", 2, 0, 0, NULL), CLIENT_TOO_MANY);
	client_table_release(t, &a.entry, 0);
	client_table_release(t, &b.entry, 0);
	assert_int_equal(admit(t, "192.0.2.1", 1, 2, 0, NULL), CLIENT_TOO_FAST);
	/* Both off: admitted, not counted. */
	assert_int_equal(admit(t, "192.0.2.1", 0, 0, 0, &a), CLIENT_UNTRACKED);
	assert_null(a.entry);
	client_table_free(&t);
}

static void
test_idle_entries_freed(void **state)
{
	struct client_table *t = client_table_new(100);
	struct client_admission a[10];
	char ip[32];

	(void)state;
	/* Without a rate an entry goes with its last connection. */
	assert_int_equal(admit(t, "192.0.2.1", 5, 0, 0, &a[0]), CLIENT_ADMITTED);
	assert_int_equal(client_table_size(t), 1);
	client_table_release(t, &a[0].entry, 0);
	assert_int_equal(client_table_size(t), 0);
	/* With one, it stays until its bucket is full again. */
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		assert_int_equal(admit(t, ip, 5, 10, 1000, &a[i]), CLIENT_ADMITTED);
	}
	for (int i = 0; i < 10; i++)
		client_table_release(t, &a[i].entry, 2000);
	assert_int_equal(client_table_size(t), 10);
	client_table_expire(t, 1000 + 5999, 100);
	assert_int_equal(client_table_size(t), 10);
	client_table_expire(t, 1000 + 6000, 3);
	assert_int_equal(client_table_size(t), 7);
	/* An admission frees some on its way. */
	assert_int_equal(admit(t, "198.51.100.1", 5, 10, 7000, &a[0]),
	    CLIENT_ADMITTED);
	assert_int_equal(client_table_size(t), 1);
	/* A client back while its entry lives keeps its count. */
	assert_int_equal(admit(t, "198.51.100.1", 1, 10, 7000, NULL),
	    CLIENT_TOO_MANY);
	client_table_free(&t);
}

static void
test_cap(void **state)
{
	struct client_table *t = client_table_new(4);
	struct client_admission a[4], b;
	char ip[32];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		assert_int_equal(admit(t, ip, 5, 10, 0, &a[i]), CLIENT_ADMITTED);
	}
	/* Full of live connections: a fifth client gets in untracked. */
	assert_int_equal(admit(t, "192.0.2.99", 1, 10, 0, &b), CLIENT_UNTRACKED);
	assert_int_equal(admit(t, "192.0.2.99", 1, 10, 0, &b), CLIENT_UNTRACKED);
	assert_null(b.entry);
	assert_int_equal(client_table_size(t), 4);
	/* An idle entry (rate memory only) makes room, the oldest first. */
	client_table_release(t, &a[2].entry, 10);
	client_table_release(t, &a[0].entry, 20);
	assert_int_equal(admit(t, "192.0.2.99", 1, 10, 30, &b), CLIENT_ADMITTED);
	assert_int_equal(client_table_size(t), 4);
	assert_int_equal(admit(t, "192.0.2.99", 1, 10, 30, NULL), CLIENT_TOO_MANY);
	assert_int_equal(admit(t, "192.0.2.3", 5, 10, 30, NULL), CLIENT_ADMITTED);
	assert_int_equal(admit(t, "192.0.2.1", 5, 10, 30, NULL), CLIENT_UNTRACKED);
	client_table_free(&t);
}

/* Many clients: the buckets grow, every count stays its own. */
static void
test_many_clients(void **state)
{
	struct client_table *t = client_table_new(CLIENT_TABLE_MAX);
	static struct client_admission a[5000];
	struct client_key k;
	char ip[64];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i / 256, i % 256);
		assert_int_equal(admit(t, ip, 1, 0, 0, &a[i]), CLIENT_ADMITTED);
	}
	assert_int_equal(client_table_size(t), 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::2", i / 256, i % 256);
		assert_int_equal(admit(t, ip, 1, 0, 0, NULL), CLIENT_TOO_MANY);
	}
	for (int i = 0; i < 5000; i++)
		client_table_release(t, &a[i].entry, 0);
	assert_int_equal(client_table_size(t), 0);
	k = key("2001:db8::1", 64);
	assert_int_equal(client_table_count(t, &k), 0);
	client_table_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_count_and_release),
		cmocka_unit_test(test_v6_prefix_shares_a_count),
		cmocka_unit_test(test_rate_slides),
		cmocka_unit_test(test_both_limits),
		cmocka_unit_test(test_idle_entries_freed),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_many_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
