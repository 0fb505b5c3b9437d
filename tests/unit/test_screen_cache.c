/*
 * Unit tests of the screen's remembered clients (screen/screen_cache.c):
 * put, lookup and expiry; a verdict replaced by the other; the bound with
 * the least recently written dropped; the incremental purge; the file
 * saved and read back, IPv6 included; and a damaged file (bad lines, a
 * huge line, a file cut short, another version), read without trusting
 * it.  Prints how long 100,000 entries take to save and to load.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "screen/screen_cache.h"

#define NOW ((time_t)1800000000)

struct fixture {
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/tern-screen-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct screen_addr
addr(const char *text)
{
	struct screen_addr a;

	if (screen_addr_parse(text, &a) < 0)
		fail_msg("screen_addr_parse(%s) failed", text);
	return a;
}

/* The i-th of many distinct IPv4 addresses. */
static struct screen_addr
addr_n(unsigned i)
{
	char text[32];

	snprintf(text, sizeof(text), "10.%u.%u.%u", (i >> 16) & 255,
	    (i >> 8) & 255, i & 255);
	return addr(text);
}

static void
write_file(const struct fixture *f, const char *data, size_t len)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, SCREEN_CACHE_FILE);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static enum screen_cache_verdict
verdict_of(struct screen_cache *c, const char *ip, time_t now)
{
	struct screen_entry e;
	struct screen_addr a = addr(ip);

	return screen_cache_lookup(c, &a, now, &e) ? e.verdict : SCREEN_CACHE_NONE;
}

static void
test_put_lookup_expire(void **state)
{
	struct screen_cache *c = screen_cache_new(100);
	struct screen_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct screen_entry e;

	(void)state;
	assert_int_equal(screen_cache_lookup(c, &a, NOW, &e), 0);
	assert_false(screen_cache_dirty(c));
	screen_cache_put_pass(c, &a, NOW + 60);
	screen_cache_put_fail(c, &b, "pregreet", NOW + 10);
	assert_true(screen_cache_dirty(c));
	assert_int_equal(screen_cache_count(c), 2);

	assert_int_equal(screen_cache_lookup(c, &a, NOW, &e), 1);
	assert_int_equal(e.verdict, SCREEN_CACHE_PASS);
	assert_string_equal(e.reason, "");
	assert_int_equal(e.expires, NOW + 60);
	assert_int_equal(screen_cache_lookup(c, &b, NOW + 9, &e), 1);
	assert_int_equal(e.verdict, SCREEN_CACHE_FAIL);
	assert_string_equal(e.reason, "pregreet");

	/* Expired at its expiry second: absent, and gone on the way. */
	assert_int_equal(screen_cache_lookup(c, &b, NOW + 10, &e), 0);
	assert_int_equal(screen_cache_count(c), 1);
	assert_int_equal(verdict_of(c, "192.0.2.1", NOW + 59), SCREEN_CACHE_PASS);
	assert_int_equal(verdict_of(c, "192.0.2.1", NOW + 60), SCREEN_CACHE_NONE);
	assert_int_equal(screen_cache_count(c), 0);
	/* Exact address: a neighbour is someone else. */
	screen_cache_put_pass(c, &a, NOW + 60);
	assert_int_equal(verdict_of(c, "192.0.2.3", NOW), SCREEN_CACHE_NONE);
	screen_cache_free(&c);
	assert_null(c);
}

static void
test_replace(void **state)
{
	struct screen_cache *c = screen_cache_new(100);
	struct screen_addr a = addr("198.51.100.7");
	struct screen_entry e;

	(void)state;
	screen_cache_put_pass(c, &a, NOW + 86400);
	screen_cache_put_fail(c, &a, "non-smtp-command", NOW + 600);
	assert_int_equal(screen_cache_count(c), 1);
	assert_int_equal(screen_cache_lookup(c, &a, NOW, &e), 1);
	assert_int_equal(e.verdict, SCREEN_CACHE_FAIL);
	assert_string_equal(e.reason, "non-smtp-command");
	assert_int_equal(e.expires, NOW + 600);

	screen_cache_put_pass(c, &a, NOW + 3600);
	assert_int_equal(screen_cache_lookup(c, &a, NOW, &e), 1);
	assert_int_equal(e.verdict, SCREEN_CACHE_PASS);
	assert_string_equal(e.reason, "");
	assert_int_equal(screen_cache_count(c), 1);

	/* A reason is cut and cleaned: it goes into a line of the file. */
	screen_cache_put_fail(c, &a, "bad reason\nwith a newline and more", NOW + 60);
	assert_int_equal(screen_cache_lookup(c, &a, NOW, &e), 1);
	assert_int_equal(strlen(e.reason), SCREEN_REASON_MAX - 1);
	assert_null(strchr(e.reason, ' '));
	assert_null(strchr(e.reason, '\n'));
	screen_cache_put_fail(c, &a, "", NOW + 60);
	assert_int_equal(screen_cache_lookup(c, &a, NOW, &e), 1);
	assert_string_equal(e.reason, "unknown");
	screen_cache_free(&c);
}

static void
test_bound_drops_oldest_write(void **state)
{
	struct screen_cache *c = screen_cache_new(3);

	(void)state;
	struct screen_addr a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct screen_addr d = addr("192.0.2.3"), x = addr("192.0.2.4");
	screen_cache_put_pass(c, &a, NOW + 100);
	screen_cache_put_pass(c, &b, NOW + 100);
	screen_cache_put_pass(c, &d, NOW + 100);
	/* A lookup does not make a an young entry; a write does so for b. */
	assert_int_equal(verdict_of(c, "192.0.2.1", NOW), SCREEN_CACHE_PASS);
	screen_cache_put_fail(c, &b, "dnsbl", NOW + 100);
	screen_cache_put_pass(c, &x, NOW + 100);
	assert_int_equal(screen_cache_count(c), 3);
	assert_int_equal(verdict_of(c, "192.0.2.1", NOW), SCREEN_CACHE_NONE);
	assert_int_equal(verdict_of(c, "192.0.2.2", NOW), SCREEN_CACHE_FAIL);
	assert_int_equal(verdict_of(c, "192.0.2.3", NOW), SCREEN_CACHE_PASS);
	assert_int_equal(verdict_of(c, "192.0.2.4", NOW), SCREEN_CACHE_PASS);
	/* Next to go: d, then b. */
	screen_cache_put_pass(c, &a, NOW + 100);
	assert_int_equal(verdict_of(c, "192.0.2.3", NOW), SCREEN_CACHE_NONE);
	screen_cache_put_pass(c, &d, NOW + 100);
	assert_int_equal(verdict_of(c, "192.0.2.2", NOW), SCREEN_CACHE_NONE);
	assert_int_equal(screen_cache_count(c), 3);
	screen_cache_free(&c);
}

/* Many entries, past the first growth of the table: all there, the
 * oldest gone. */
static void
test_bound_large(void **state)
{
	const unsigned max = 5000, n = 12000;
	struct screen_cache *c = screen_cache_new(max);

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		struct screen_addr a = addr_n(i);
		screen_cache_put_pass(c, &a, NOW + 100);
	}
	assert_int_equal(screen_cache_count(c), max);
	for (unsigned i = 0; i < n; i++) {
		struct screen_addr a = addr_n(i);
		int want = i >= n - max;
		if (screen_cache_lookup(c, &a, NOW, NULL) != want)
			fail_msg("entry %u: got %d, want %d", i, !want, want);
	}
	screen_cache_free(&c);
}

/* A reload changes the bound: down drops the oldest, up makes room. */
static void
test_set_max(void **state)
{
	struct screen_cache *c = screen_cache_new(2000);

	(void)state;
	for (unsigned i = 0; i < 1500; i++) {
		struct screen_addr a = addr_n(i);
		screen_cache_put_pass(c, &a, NOW + 100);
	}
	screen_cache_set_max(c, 10);
	assert_int_equal(screen_cache_count(c), 10);
	for (unsigned i = 1489; i < 1500; i++) {
		struct screen_addr a = addr_n(i);
		assert_int_equal(screen_cache_lookup(c, &a, NOW, NULL), i >= 1490);
	}
	screen_cache_set_max(c, 5000);
	for (unsigned i = 0; i < 6000; i++) {
		struct screen_addr a = addr_n(10000 + i);
		screen_cache_put_fail(c, &a, "dnsbl", NOW + 100);
	}
	assert_int_equal(screen_cache_count(c), 5000);
	struct screen_addr last = addr_n(15999), gone = addr_n(10999);
	assert_int_equal(screen_cache_lookup(c, &last, NOW, NULL), 1);
	assert_int_equal(screen_cache_lookup(c, &gone, NOW, NULL), 0);
	screen_cache_free(&c);
}

static void
test_purge(void **state)
{
	const unsigned n = 3000;
	struct screen_cache *c = screen_cache_new(10000);
	size_t removed = 0, calls = 0;

	(void)state;
	for (unsigned i = 0; i < n; i++) {
		struct screen_addr a = addr_n(i);
		screen_cache_put_pass(c, &a, NOW + (i % 2 ? 1000 : 10));
	}
	/* Nothing expired yet: nothing goes. */
	assert_int_equal(screen_cache_purge(c, NOW, 100000), 0);
	/* A small budget looks at no more than that many entries. */
	size_t r = screen_cache_purge(c, NOW + 10, 10);
	assert_true(r <= 10);
	removed += r;
	while (screen_cache_count(c) > n / 2 && calls++ < 10000)
		removed += screen_cache_purge(c, NOW + 10, 64);
	assert_int_equal(removed, n / 2);
	assert_int_equal(screen_cache_count(c), n / 2);
	/* One full sweep of the slots clears them all. */
	assert_true(calls * 64 <= 4096 + 64);
	for (unsigned i = 0; i < n; i++) {
		struct screen_addr a = addr_n(i);
		assert_int_equal(screen_cache_lookup(c, &a, NOW + 10, NULL), i % 2);
	}
	/* Slots freed by the purge are used again. */
	for (unsigned i = n; i < n + n / 2; i++) {
		struct screen_addr a = addr_n(i);
		screen_cache_put_fail(c, &a, "pipelining", NOW + 1000);
	}
	assert_int_equal(screen_cache_count(c), n);
	assert_int_equal(screen_cache_purge(c, NOW + 1000, 1000000), n);
	assert_int_equal(screen_cache_count(c), 0);
	screen_cache_free(&c);
}

static void
test_ipv6(void **state)
{
	struct screen_cache *c = screen_cache_new(100);
	struct screen_addr a = addr("2001:db8::1"), m = addr("::ffff:192.0.2.9");
	struct screen_addr v4 = addr("192.0.2.9");
	char text[64];

	(void)state;
	screen_cache_put_fail(c, &a, "bare-lf", NOW + 100);
	assert_int_equal(verdict_of(c, "2001:db8::1", NOW), SCREEN_CACHE_FAIL);
	assert_int_equal(verdict_of(c, "2001:0db8:0:0::1", NOW), SCREEN_CACHE_FAIL);
	assert_int_equal(verdict_of(c, "2001:db8::2", NOW), SCREEN_CACHE_NONE);
	assert_int_equal(verdict_of(c, "2001:db8:0:1::1", NOW), SCREEN_CACHE_NONE);
	/* An IPv4 client is one key, however the socket spelled it. */
	assert_memory_equal(m.b, v4.b, sizeof(m.b));
	screen_cache_put_pass(c, &m, NOW + 100);
	assert_int_equal(verdict_of(c, "192.0.2.9", NOW), SCREEN_CACHE_PASS);
	assert_string_equal(screen_addr_format(&m, text, sizeof(text)), "192.0.2.9");
	assert_string_equal(screen_addr_format(&a, text, sizeof(text)), "2001:db8::1");
	/* From an accepted socket's address. */
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct screen_addr got;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr), 1);
	assert_int_equal(screen_addr_from_sockaddr((struct sockaddr *)&sin,
	    sizeof(sin), &got), 0);
	assert_memory_equal(got.b, v4.b, sizeof(got.b));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr), 1);
	assert_int_equal(screen_addr_from_sockaddr((struct sockaddr *)&sin6,
	    sizeof(sin6), &got), 0);
	assert_string_equal(screen_addr_format(&got, text, sizeof(text)),
	    "2001:db8::1");
	assert_int_equal(screen_addr_from_sockaddr((struct sockaddr *)&sin,
	    sizeof(sin) - 1, &got), -1);
	sin.sin_family = AF_UNIX;
	assert_int_equal(screen_addr_from_sockaddr((struct sockaddr *)&sin,
	    sizeof(sin), &got), -1);
	assert_int_equal(screen_addr_parse("192.0.2", &a), -1);
	assert_int_equal(screen_addr_parse("2001:db8::1 ", &a), -1);
	assert_int_equal(screen_addr_parse("", &a), -1);
	screen_cache_free(&c);
}

static void
test_save_load(void **state)
{
	struct fixture *f = *state;
	struct screen_cache *c = screen_cache_new(100), *d;
	struct screen_cache_stats st;
	struct screen_addr a = addr("192.0.2.1"), b = addr("2001:db8::42");
	struct screen_addr x = addr("192.0.2.99"), y = addr("192.0.2.50");
	struct screen_entry e;
	struct stat sb;
	char path[128];

	screen_cache_put_pass(c, &a, NOW + 86400);
	screen_cache_put_fail(c, &b, "pregreet", NOW + 600);
	screen_cache_put_pass(c, &x, NOW + 5);          /* expired at save */
	screen_cache_put_fail(c, &y, "dnsbl", NOW + 30 * 86400);
	assert_int_equal(screen_cache_save(c, f->dir, SCREEN_CACHE_FILE,
	    NOW + 5), 0);
	assert_false(screen_cache_dirty(c));
	snprintf(path, sizeof(path), "%s/.%s.tmp", f->dir, SCREEN_CACHE_FILE);
	assert_int_equal(stat(path, &sb), -1);          /* no temporary left */

	/* Read back with a ttl bound of one day: y is cut to it. */
	d = screen_cache_new(100);
	assert_int_equal(screen_cache_load(d, f->dir, SCREEN_CACHE_FILE,
	    NOW + 5, 86400, &st), 0);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.expired, 0);
	assert_false(screen_cache_dirty(d));
	assert_int_equal(screen_cache_count(d), 3);
	assert_int_equal(screen_cache_lookup(d, &a, NOW + 5, &e), 1);
	assert_int_equal(e.verdict, SCREEN_CACHE_PASS);
	assert_int_equal(e.expires, NOW + 86400);
	assert_int_equal(screen_cache_lookup(d, &b, NOW + 5, &e), 1);
	assert_int_equal(e.verdict, SCREEN_CACHE_FAIL);
	assert_string_equal(e.reason, "pregreet");
	assert_int_equal(e.expires, NOW + 600);
	assert_int_equal(screen_cache_lookup(d, &y, NOW + 5, &e), 1);
	assert_int_equal(e.expires, NOW + 5 + 86400);
	assert_int_equal(screen_cache_lookup(d, &x, NOW + 5, &e), 0);
	screen_cache_free(&d);

	/* The order of age survives: in a store of 2, the oldest (a) is
	 * dropped while loading; later, in one of 3, b goes first. */
	d = screen_cache_new(2);
	assert_int_equal(screen_cache_load(d, f->dir, SCREEN_CACHE_FILE,
	    NOW + 5, 365 * 86400, &st), 0);
	assert_int_equal(screen_cache_count(d), 2);
	assert_int_equal(screen_cache_lookup(d, &a, NOW + 5, NULL), 0);
	assert_int_equal(screen_cache_lookup(d, &b, NOW + 5, NULL), 1);
	screen_cache_free(&d);

	/* Loaded later, past b's expiry: b is dropped as expired. */
	d = screen_cache_new(100);
	assert_int_equal(screen_cache_load(d, f->dir, SCREEN_CACHE_FILE,
	    NOW + 600, 365 * 86400, &st), 0);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(st.expired, 1);
	screen_cache_free(&d);

	/* No file at all: an empty store, no error. */
	d = screen_cache_new(100);
	assert_int_equal(screen_cache_load(d, f->dir, "none.cache", NOW,
	    86400, &st), 0);
	assert_int_equal(st.loaded + st.bad + st.expired, 0);
	assert_int_equal(screen_cache_count(d), 0);
	screen_cache_free(&d);
	screen_cache_free(&c);
}

static void
test_corrupt_file(void **state)
{
	struct fixture *f = *state;
	struct screen_cache *c = screen_cache_new(100);
	struct screen_cache_stats st;
	char *data = malloc(64 * 1024);
	size_t len;

	assert_non_null(data);
	len = (size_t)snprintf(data, 64 * 1024, "%s\n"
	    "192.0.2.1 PASS 1800003600\n"
	    "192.0.2.2 PASS\n"                          /* no expiry */
	    "192.0.2.3 MAYBE 1800003600\n"              /* no verdict */
	    "192.0.2.4 FAIL 1800003600\n"               /* FAIL, no reason */
	    "192.0.2.5 PASS 1800003600 pregreet\n"      /* PASS with one */
	    "192.0.2.6 FAIL 1800003600 bad!reason\n"
	    "192.0.2.7 FAIL -1800003600 dnsbl\n"
	    "192.0.2.8 FAIL 18000036000000000000000 dnsbl\n"
	    "192.0.2.9  PASS 1800003600\n"              /* two spaces */
	    "192.0.2.300 PASS 1800003600\n"
	    "\n"
	    "2001:db8::1 FAIL 1800003600 pipelining\n"
	    "192.0.2.10 FAIL 1800003600 dnsbl extra\n"
	    "192.0.2.11 FAIL 1800003600 reason-far-too-long-for-the-store\n",
	    SCREEN_CACHE_VERSION);
	/* A huge line (skipped whole, its tail not read as a line), then a
	 * NUL inside a line, then a good one. */
	memset(data + len, '7', 20000);
	len += 20000;
	memcpy(data + len, " PASS 1800003600\n", 17);
	len += 17;
	memcpy(data + len, "192.0.2.12\0PASS 1800003600\n", 27);
	len += 27;
	len += (size_t)sprintf(data + len, "192.0.2.13 FAIL 1800003600 dnsbl\n");
	/* Cut short: the last entry has lost its newline and maybe digits. */
	len += (size_t)sprintf(data + len, "192.0.2.14 PASS 18000");
	write_file(f, data, len);

	assert_int_equal(screen_cache_load(c, f->dir, SCREEN_CACHE_FILE, NOW,
	    86400, &st), 0);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.bad, 15);
	assert_int_equal(screen_cache_count(c), 3);
	assert_int_equal(verdict_of(c, "192.0.2.1", NOW), SCREEN_CACHE_PASS);
	assert_int_equal(verdict_of(c, "2001:db8::1", NOW), SCREEN_CACHE_FAIL);
	assert_int_equal(verdict_of(c, "192.0.2.13", NOW), SCREEN_CACHE_FAIL);
	assert_int_equal(verdict_of(c, "192.0.2.14", NOW), SCREEN_CACHE_NONE);
	assert_int_equal(verdict_of(c, "192.0.2.12", NOW), SCREEN_CACHE_NONE);
	screen_cache_free(&c);

	/* Another version, or no header: nothing of it is read. */
	len = (size_t)sprintf(data, "tern-screen-cache 2\n"
	    "192.0.2.1 PASS 1800003600\n");
	write_file(f, data, len);
	c = screen_cache_new(100);
	assert_int_equal(screen_cache_load(c, f->dir, SCREEN_CACHE_FILE, NOW,
	    86400, &st), 0);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.bad, 2);
	assert_int_equal(screen_cache_count(c), 0);
	screen_cache_free(&c);

	/* A file cut inside its header. */
	write_file(f, "tern-scr", 8);
	c = screen_cache_new(100);
	assert_int_equal(screen_cache_load(c, f->dir, SCREEN_CACHE_FILE, NOW,
	    86400, &st), 0);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.bad, 1);
	screen_cache_free(&c);

	/* An empty file. */
	write_file(f, "", 0);
	c = screen_cache_new(100);
	assert_int_equal(screen_cache_load(c, f->dir, SCREEN_CACHE_FILE, NOW,
	    86400, &st), 0);
	assert_int_equal(st.loaded + st.bad, 0);
	screen_cache_free(&c);
	free(data);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* 100,000 entries, half IPv6: saved and loaded whole; the times are
 * printed for bench-style reading, never asserted. */
static void
test_100k_timing(void **state)
{
	struct fixture *f = *state;
	const unsigned n = 100000;
	struct screen_cache *c = screen_cache_new(n), *d;
	struct screen_cache_stats st;
	struct timespec t0;
	char text[64];

	for (unsigned i = 0; i < n; i++) {
		struct screen_addr a;
		if (i % 2) {
			snprintf(text, sizeof(text), "2001:db8:%x::%x", i >> 8,
			    i & 255);
			a = addr(text);
		} else {
			a = addr_n(i);
		}
		if (i % 3)
			screen_cache_put_pass(c, &a, NOW + 86400);
		else
			screen_cache_put_fail(c, &a, "pregreet", NOW + 600);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(screen_cache_save(c, f->dir, SCREEN_CACHE_FILE, NOW), 0);
	double save = seconds_since(&t0);

	d = screen_cache_new(n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(screen_cache_load(d, f->dir, SCREEN_CACHE_FILE, NOW,
	    86400, &st), 0);
	double load = seconds_since(&t0);
	assert_int_equal(st.loaded, n);
	assert_int_equal(st.bad, 0);
	assert_int_equal(screen_cache_count(d), n);
	assert_int_equal(verdict_of(d, "2001:db8:1::1", NOW), SCREEN_CACHE_PASS);
	assert_int_equal(verdict_of(d, "10.0.0.0", NOW), SCREEN_CACHE_FAIL);
	print_message("screen cache, %u entries: save %.3fs, load %.3fs\n", n,
	    save, load);
	screen_cache_free(&d);
	screen_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_lookup_expire),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_bound_drops_oldest_write),
		cmocka_unit_test(test_bound_large),
		cmocka_unit_test(test_set_max),
		cmocka_unit_test(test_purge),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_100k_timing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
