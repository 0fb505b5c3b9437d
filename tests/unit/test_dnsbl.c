/*
 * Unit tests of the DNS blocklist engine (screen/dnsbl.c) and of the A
 * lookup with TTLs under it (net/dns_a.c), against a real DNS server on
 * loopback (tests/unit/dns_server.py, python3-dnslib) that logs every
 * query it receives, so that the tests count queries instead of timing
 * them: weights and the score, each site once, filters, the thresholds,
 * early decisions, a site that never answers, SERVFAIL, answers that are
 * no listing, the cache (hits, TTL clamps both ways, the negative TTL of
 * the SOA, the bound), shared queries, IPv6 names, cancel and free.  The
 * cache's clock is the test's own.  Skipped with a message when python3
 * or dnslib is missing.  Every wait is bounded; alarm() ends a hung run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/dns.h"
#include "screen/dnsbl.h"

#define WAIT_MS		8000	/* the longest any one wait may take */
#define TIMEOUT_MS	5000	/* per try: longer than the slow zone's delay */
#define CHECK_MS	5000	/* a check's timeout, when not the subject */

/* Clients: 192.0.2.1 is listed by bl1 (once) and bl2 (twice), 192.0.2.2
 * only by the allowlist, 192.0.2.3 gets answers that list nobody, 192.0.2.4
 * is in the TTL zones, 192.0.2.9 is listed nowhere. */
static const char zone[] =
    "$ORIGIN test.\n"
    "$TTL 300\n"
    "1.2.0.192.bl1 IN A 127.0.0.2\n"
    "1.2.0.192.bl2 IN A 127.0.0.3\n"
    "1.2.0.192.bl2 IN A 127.0.0.4\n"
    "2.2.0.192.wl IN A 127.0.5.1\n"
    "3.2.0.192.bl1 IN A 127.255.255.254\n"
    "3.2.0.192.bl2 IN A 10.0.0.1\n"
    "1.2.0.192.slow.delay2000 IN A 127.0.0.2\n"
    "1.2.0.192.slowwl.delay2000 IN A 127.0.0.2\n"
    "4.2.0.192.short 5 IN A 127.0.0.2\n"
    "4.2.0.192.long 3600 IN A 127.0.0.2\n"
    "soa 50 IN SOA ns.test. hostmaster.test. 1 3600 600 86400 40\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl1 "
    "IN A 127.0.0.2\n";

static struct event_base *base;
static struct dns *dns;
static unsigned server_port;
static pid_t server_pid = -1;
static int server_in = -1;
static char qlog[64] = "";
static time_t fake_now = 1000;

static time_t
fake_clock(void)
{
	return fake_now;
}

/* ---- results ---- */

struct res {
	int			 called;
	struct dnsbl		*engine;
	enum dnsbl_verdict	 verdict;
	int			 score;
	char			 zone[DNSBL_ZONE_MAX + 1];	/* "" for none */
	int			 cached;
	unsigned		 ttl;
	size_t			 nfailed;
	char			 failed[4][DNSBL_ZONE_MAX + 1];
	char			 ip[64];
	size_t			 in_flight;	/* when called */
	int			 free_engine;	/* dnsbl_free from the callback */
};

static void
res_cb(void *arg, const struct dnsbl_result *r)
{
	struct res *x = arg;

	x->called++;
	x->verdict = r->verdict;
	x->score = r->score;
	snprintf(x->zone, sizeof(x->zone), "%s", r->zone ? r->zone : "");
	x->cached = r->cached;
	x->ttl = r->ttl;
	x->nfailed = r->nfailed;
	assert_true(r->nfailed <= 4);
	for (size_t i = 0; i < r->nfailed; i++)
		snprintf(x->failed[i], sizeof(x->failed[i]), "%s", r->failed[i]);
	snprintf(x->ip, sizeof(x->ip), "%s", r->ip);
	x->in_flight = dnsbl_in_flight(x->engine);
	if (x->free_engine)
		dnsbl_free(&x->engine);
}

/* ---- the loop, bounded ---- */

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until cond(arg) or ms have passed; 1 if reached. */
static int
run_until(int (*cond)(void *), void *arg, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int expired = 0;
	struct event *guard = evtimer_new(base, guard_cb, &expired);

	assert_non_null(guard);
	assert_int_equal(evtimer_add(guard, &tv), 0);
	while ((cond == NULL || !cond(arg)) && !expired)
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
	event_free(guard);
	return cond != NULL && cond(arg);
}

static int
res_called(void *arg)
{
	return ((struct res *)arg)->called > 0;
}

static int
either_called(void *arg)
{
	struct res **pair = arg;

	return pair[0]->called > 0 || pair[1]->called > 0;
}

static int
no_flight(void *arg)
{
	return dnsbl_in_flight(arg) == 0;
}

static struct dnsbl *
engine_new(const char *spec, unsigned min_ttl, unsigned max_ttl,
    size_t cache_max)
{
	struct dnsbl_sites sites;
	struct dnsbl *e;
	char why[256];

	if (dnsbl_sites_parse(spec, &sites, why, sizeof(why)) < 0)
		fail_msg("sites '%s': %s", spec, why);
	e = dnsbl_new(base, dns, &sites, min_ttl, max_ttl, cache_max);
	assert_non_null(e);
	dnsbl_set_clock(e, fake_clock);
	return e;
}

static void
sin_of(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4242);
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	sin6->sin6_family = AF_INET6;
}

static struct dnsbl_check *
start(struct dnsbl *e, const char *ip, unsigned timeout_ms, int threshold,
    int allow, struct res *r)
{
	struct sockaddr_storage ss;
	struct dnsbl_check *c;

	memset(r, 0, sizeof(*r));
	r->engine = e;
	sin_of(&ss, ip);
	c = dnsbl_check(e, (struct sockaddr *)&ss, timeout_ms, threshold,
	    allow, res_cb, r);
	assert_non_null(c);
	assert_int_equal(r->called, 0);	/* never from inside dnsbl_check */
	return c;
}

static void
wait_res(struct res *r)
{
	if (!run_until(res_called, r, WAIT_MS))
		fail_msg("no verdict for %s in %d ms", r->ip, WAIT_MS);
	assert_int_equal(r->called, 1);
}

static void
check(struct dnsbl *e, const char *ip, int threshold, int allow,
    struct res *r)
{
	(void)start(e, ip, CHECK_MS, threshold, allow, r);
	wait_res(r);
}

/* Queries of name the server has received so far. */
static int
qcount(const char *name)
{
	char line[512], want[400];
	FILE *f = fopen(qlog, "r");
	int n = 0;

	assert_non_null(f);
	snprintf(want, sizeof(want), "%s A\n", name);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strcmp(line, want) == 0;
	fclose(f);
	return n;
}

/* ---- names ---- */

static void
test_query_names(void **state)
{
	struct sockaddr_storage ss;
	char name[300];

	(void)state;
	sin_of(&ss, "192.0.2.1");
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&ss, "bl.test",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "1.2.0.192.bl.test");
	sin_of(&ss, "2001:db8::1");
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&ss, "bl.test",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.8.b.d.0.1.0.0.2.bl.test");
	/* IPv4-mapped: asked as IPv4. */
	sin_of(&ss, "::ffff:192.0.2.7");
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&ss, "bl.test",
	    name, sizeof(name)), 0);
	assert_string_equal(name, "7.2.0.192.bl.test");
	/* Too small a buffer. */
	sin_of(&ss, "2001:db8::1");
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&ss, "bl.test",
	    name, 70), -1);
	sin_of(&ss, "192.0.2.1");
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&ss, "bl.test",
	    name, 17), -1);
	ss.ss_family = AF_UNIX;
	assert_int_equal(dnsbl_query_name((struct sockaddr *)&ss, "bl.test",
	    name, sizeof(name)), -1);
}

/* ---- scores ---- */

/* bl1*2 + bl2 (two records, counted once) = 3; the heaviest is bl1. */
static void
test_score_sum(void **state)
{
	struct dnsbl *e = engine_new("bl1.test*2, bl2.test wl.test*-1", 60,
	    3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.1", 100, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, 3);
	assert_string_equal(r.zone, "bl1.test");
	assert_string_equal(r.ip, "192.0.2.1");
	assert_int_equal(r.nfailed, 0);
	assert_int_equal(r.cached, 0);
	/* The same with the threshold reached: listed. */
	check(e, "192.0.2.1", 3, 0, &r);
	assert_int_equal(r.verdict, DNSBL_LISTED);
	assert_int_equal(r.score, 3);
	assert_int_equal(r.cached, 1);
	/* Nobody lists .9: clean, no zone. */
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, 0);
	assert_string_equal(r.zone, "");
	dnsbl_free(&e);
	assert_null(e);
}

/* Two sites on one zone with different filters: one query, each site
 * scored by its own filter. */
static void
test_filters(void **state)
{
	struct dnsbl *e = engine_new("bl2.test=127.0.0.[4..5]*5 "
	    "bl2.test=127.0.0.9*7, bl1.test=127.0.[1;0].[3;2]*-2", 60, 3600,
	    0);
	int before = qcount("1.2.0.192.bl2.test");
	struct res r;

	(void)state;
	/* A threshold out of reach, so that every site is in. */
	check(e, "192.0.2.1", 100, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, 3);
	assert_string_equal(r.zone, "bl2.test");
	assert_int_equal(qcount("1.2.0.192.bl2.test"), before + 1);
	dnsbl_free(&e);
}

/* Answers outside 127/8 or in 127.255.255.0/24 list nobody. */
static void
test_bogus_answers(void **state)
{
	struct dnsbl *e = engine_new("bl1.test, bl2.test, "
	    "bl1.test=[0..255].[0..255].[0..255].[0..255]", 60, 3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.3", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, 0);
	dnsbl_free(&e);
}

static void
test_allowlist(void **state)
{
	struct dnsbl *e = engine_new("wl.test*-5, bl1.test", 60, 3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.2", 1, -1, &r);
	assert_int_equal(r.verdict, DNSBL_ALLOWED);
	assert_int_equal(r.score, -5);
	assert_string_equal(r.zone, "");
	/* Allowlisting off (0): clean, same score. */
	check(e, "192.0.2.2", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, -5);
	/* Below the allowlist threshold: clean. */
	check(e, "192.0.2.2", 1, -6, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	/* Listed by bl1 only. */
	check(e, "192.0.2.1", 1, -1, &r);
	assert_int_equal(r.verdict, DNSBL_LISTED);
	assert_int_equal(r.score, 1);
	dnsbl_free(&e);
}

/* Listed by a fast site with a weight no pending site can offset: decided
 * while the slow query is still out (in flight at the callback). */
static void
test_early_listed(void **state)
{
	struct dnsbl *e = engine_new("bl1.test*2, slow.delay2000.test", 60,
	    3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.1", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_LISTED);
	assert_int_equal(r.score, 2);
	assert_int_equal(r.in_flight, 1);
	assert_int_equal(r.nfailed, 0);
	/* The slow answer still fills the cache after the verdict. */
	assert_true(run_until(no_flight, e, WAIT_MS));
	assert_int_equal(dnsbl_cache_size(e), 2);
	check(e, "192.0.2.1", 1, 0, &r);
	assert_int_equal(r.score, 3);
	assert_int_equal(r.cached, 1);
	dnsbl_free(&e);
}

/* A pending allowlist could pull the score back: no early verdict. */
static void
test_no_early_with_allowlist_pending(void **state)
{
	struct dnsbl *e = engine_new("bl1.test*2, slowwl.delay2000.test*-5",
	    60, 3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.1", 1, 0, &r);
	assert_int_equal(r.in_flight, 0);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, -3);
	dnsbl_free(&e);
}

/* Allowlisted early: the pending positive weights cannot lift it back. */
static void
test_early_allowed(void **state)
{
	struct dnsbl *e = engine_new("wl.test*-5, slow.delay2000.test*2", 60,
	    3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.2", 1, -1, &r);
	assert_int_equal(r.verdict, DNSBL_ALLOWED);
	assert_int_equal(r.in_flight, 1);
	dnsbl_free(&e);
}

/* drop.test never answers: after the timeout it lists nobody, is named
 * in the result, and nothing is cached for it. */
static void
test_timeout(void **state)
{
	struct dnsbl *e = engine_new("drop.test, bl1.test*-1, wl.test", 60,
	    3600, 0);
	struct res r;

	(void)state;
	(void)start(e, "192.0.2.9", 700, 1, 0, &r);
	wait_res(&r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, 0);
	assert_int_equal(r.nfailed, 1);
	assert_string_equal(r.failed[0], "drop.test");
	assert_int_equal(r.cached, 0);
	assert_int_equal(dnsbl_cache_size(e), 2);
	/* A listing by a site that answered still counts; drop.test's
	 * could have reached the threshold, so the verdict waits for it. */
	(void)start(e, "192.0.2.2", 700, 2, 0, &r);
	wait_res(&r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.score, 1);
	assert_int_equal(r.nfailed, 1);
	assert_string_equal(r.failed[0], "drop.test");
	dnsbl_free(&e);
}

/* SERVFAIL: not listed, not cached, named as failed. */
static void
test_servfail(void **state)
{
	struct dnsbl *e = engine_new("servfail.test, bl1.test", 60, 3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.1", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_LISTED);
	assert_int_equal(r.score, 1);
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.nfailed, 1);
	assert_string_equal(r.failed[0], "servfail.test");
	assert_int_equal(dnsbl_cache_size(e), 2);
	dnsbl_free(&e);
}

/* ---- the cache ---- */

static void
test_cache_hit(void **state)
{
	struct dnsbl *e = engine_new("bl1.test, bl2.test", 60, 3600, 0);
	int b1 = qcount("9.2.0.192.bl1.test"), b2 = qcount("9.2.0.192.bl2.test");
	struct res r;

	(void)state;
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.cached, 0);
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.cached, 1);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(qcount("9.2.0.192.bl1.test"), b1 + 1);
	assert_int_equal(qcount("9.2.0.192.bl2.test"), b2 + 1);
	/* Until the TTL (min_ttl here, no SOA): then asked again. */
	fake_now += 59;
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.cached, 1);
	fake_now += 2;
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.cached, 0);
	assert_int_equal(qcount("9.2.0.192.bl1.test"), b1 + 2);
	dnsbl_free(&e);
}

/* TTL 5 raised to min_ttl 30; TTL 3600 lowered to max_ttl 100. */
static void
test_ttl_clamps(void **state)
{
	struct dnsbl *e = engine_new("short.test, long.test", 30, 100, 0);
	int s0 = qcount("4.2.0.192.short.test"), l0 = qcount("4.2.0.192.long.test");
	struct res r;

	(void)state;
	check(e, "192.0.2.4", 5, 0, &r);
	assert_int_equal(r.score, 2);
	/* The verdict holds as long as its first answer to end: short's. */
	assert_int_equal(r.ttl, 30);
	fake_now += 29;
	check(e, "192.0.2.4", 5, 0, &r);
	assert_int_equal(r.cached, 1);
	assert_int_equal(r.ttl, 1);
	assert_int_equal(qcount("4.2.0.192.short.test"), s0 + 1);
	fake_now += 2;		/* 31: short is gone, long is not */
	check(e, "192.0.2.4", 5, 0, &r);
	assert_int_equal(r.cached, 0);
	assert_int_equal(r.ttl, 30);
	assert_int_equal(qcount("4.2.0.192.short.test"), s0 + 2);
	assert_int_equal(qcount("4.2.0.192.long.test"), l0 + 1);
	fake_now += 70;		/* 101 after the first: long is gone */
	check(e, "192.0.2.4", 5, 0, &r);
	assert_int_equal(qcount("4.2.0.192.long.test"), l0 + 2);
	assert_int_equal(r.score, 2);
	dnsbl_free(&e);
}

/* NXDOMAIN with an SOA (TTL 50, minimum 40): kept 40 s, not min_ttl's 10
 * nor max_ttl's 1000. */
static void
test_negative_ttl_from_soa(void **state)
{
	struct dnsbl *e = engine_new("soa.test", 10, 1000, 0);
	int q0 = qcount("9.2.0.192.soa.test");
	struct res r;

	(void)state;
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	fake_now += 39;
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.cached, 1);
	assert_int_equal(qcount("9.2.0.192.soa.test"), q0 + 1);
	fake_now += 2;
	check(e, "192.0.2.9", 1, 0, &r);
	assert_int_equal(r.cached, 0);
	assert_int_equal(qcount("9.2.0.192.soa.test"), q0 + 2);
	dnsbl_free(&e);
}

/* At most cache_max answers; every client still gets its verdict. */
static void
test_cache_bound(void **state)
{
	struct dnsbl *e = engine_new("bl1.test", 60, 3600, 3);
	char ip[32];
	struct res r;

	(void)state;
	for (int i = 10; i < 16; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		check(e, ip, 1, 0, &r);
		assert_int_equal(r.verdict, DNSBL_CLEAN);
		assert_true(dnsbl_cache_size(e) <= 3);
	}
	assert_int_equal(dnsbl_cache_size(e), 3);
	/* Expired entries go without a lookup of theirs. */
	fake_now += 3600;
	check(e, "192.0.2.1", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_LISTED);
	assert_int_equal(dnsbl_cache_size(e), 1);
	dnsbl_free(&e);
}

/* Two checks of one address at once: one query per zone, both answered. */
static void
test_shared_flight(void **state)
{
	struct dnsbl *e = engine_new("bl1.test, slow.delay2000.test", 60,
	    3600, 0);
	int q0 = qcount("1.2.0.192.slow.delay2000.test");
	struct res r1, r2;

	(void)state;
	(void)start(e, "192.0.2.1", CHECK_MS, 5, 0, &r1);
	(void)start(e, "::ffff:192.0.2.1", CHECK_MS, 5, 0, &r2);
	assert_int_equal(dnsbl_in_flight(e), 2);
	wait_res(&r1);
	wait_res(&r2);
	assert_int_equal(r1.score, 2);
	assert_int_equal(r2.score, 2);
	assert_string_equal(r2.ip, "192.0.2.1");
	assert_int_equal(qcount("1.2.0.192.slow.delay2000.test"), q0 + 1);
	dnsbl_free(&e);
}

static void
test_ipv6(void **state)
{
	struct dnsbl *e = engine_new("bl1.test", 60, 3600, 0);
	struct res r;

	(void)state;
	check(e, "2001:db8::1", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_LISTED);
	assert_string_equal(r.ip, "2001:db8::1");
	check(e, "2001:db8::2", 1, 0, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	dnsbl_free(&e);
}

/* ---- cancel and free ---- */

static void
test_cancel(void **state)
{
	struct dnsbl *e = engine_new("slow.delay2000.test", 60, 3600, 0);
	struct dnsbl_check *c;
	struct res r, r2;

	(void)state;
	c = start(e, "192.0.2.1", CHECK_MS, 1, 0, &r);
	dnsbl_cancel(c);
	dnsbl_cancel(NULL);
	/* The query goes on and fills the cache; no callback. */
	assert_true(run_until(no_flight, e, WAIT_MS));
	assert_int_equal(r.called, 0);
	assert_int_equal(dnsbl_cache_size(e), 1);
	/* Cancelled after a cache hit decided it, before the loop ran. */
	c = start(e, "192.0.2.1", CHECK_MS, 1, 0, &r);
	dnsbl_cancel(c);
	/* Another check proves the loop ran past where the callback would
	 * have come. */
	check(e, "192.0.2.1", 1, 0, &r2);
	assert_int_equal(r.called, 0);
	dnsbl_free(&e);
}

/* dnsbl_free with checks pending, and from inside a callback. */
static void
test_free_engine(void **state)
{
	struct dnsbl *e = engine_new("slow.delay2000.test, bl1.test", 60,
	    3600, 0);
	struct res r1, r2, *pair[2];

	(void)state;
	(void)start(e, "192.0.2.1", CHECK_MS, 1, 0, &r1);
	(void)start(e, "192.0.2.9", CHECK_MS, 1, 0, &r2);
	dnsbl_free(&e);
	assert_null(e);
	(void)run_until(NULL, NULL, 2500);	/* the answers come and go */
	assert_int_equal(r1.called, 0);
	assert_int_equal(r2.called, 0);
	e = engine_new("bl1.test, bl2.test", 60, 3600, 0);
	(void)start(e, "192.0.2.1", CHECK_MS, 1, 0, &r1);
	(void)start(e, "192.0.2.1", CHECK_MS, 1, 0, &r2);
	r1.free_engine = r2.free_engine = 1;
	pair[0] = &r1;
	pair[1] = &r2;
	assert_true(run_until(either_called, pair, WAIT_MS));
	(void)run_until(NULL, NULL, 300);
	/* Whichever came first freed the engine; the other never came. */
	assert_int_equal(r1.called + r2.called, 1);
}

static void
test_no_sites(void **state)
{
	struct dnsbl *e = engine_new("", 60, 3600, 0);
	struct res r;

	(void)state;
	check(e, "192.0.2.1", 1, -1, &r);
	assert_int_equal(r.verdict, DNSBL_CLEAN);
	assert_int_equal(r.cached, 1);
	dnsbl_free(&e);
}

/* ---- the A lookup with TTLs, directly ---- */

struct a_res {
	int			 called;
	struct dns_a_result	 r;
};

static void
a_cb(void *arg, const struct dns_a_result *r)
{
	struct a_res *x = arg;

	x->called++;
	x->r = *r;
}

static int
a_called(void *arg)
{
	return ((struct a_res *)arg)->called > 0;
}

static void
a_lookup(const char *name, struct a_res *x)
{
	memset(x, 0, sizeof(*x));
	assert_non_null(dns_a_ttl(dns, name, a_cb, x));
	assert_int_equal(x->called, 0);
	assert_true(run_until(a_called, x, WAIT_MS));
}

static void
test_dns_a_ttl(void **state)
{
	struct a_res x;

	(void)state;
	a_lookup("1.2.0.192.bl2.test", &x);
	assert_int_equal(x.r.status, DNS_OK);
	assert_int_equal(x.r.n, 2);
	assert_int_equal(x.r.ttl, 300);
	assert_int_equal(ntohl(x.r.addr[0].s_addr), 0x7f000003);
	a_lookup("4.2.0.192.short.test", &x);
	assert_int_equal(x.r.ttl, 5);
	a_lookup("9.2.0.192.soa.test", &x);
	assert_int_equal(x.r.status, DNS_NXDOMAIN);
	assert_int_equal(x.r.ttl_known, 1);
	assert_int_equal(x.r.ttl, 40);
	a_lookup("9.2.0.192.bl1.test", &x);
	assert_int_equal(x.r.status, DNS_NXDOMAIN);
	assert_int_equal(x.r.ttl_known, 0);
	a_lookup("soa.test", &x);		/* the SOA's own name: NODATA */
	assert_int_equal(x.r.status, DNS_NODATA);
	assert_int_equal(x.r.ttl, 40);
	a_lookup("1.servfail.test", &x);
	assert_int_equal(x.r.status, DNS_TEMPFAIL);
	a_lookup("bad..name", &x);
	assert_int_equal(x.r.status, DNS_NXDOMAIN);
}

/* ---- the server ---- */

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int
read_line(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;
	long end = now_ms() + ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (n + 1 < len) {
		long left = end - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		if (read(fd, buf + n, 1) <= 0)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

/* 1: running; 0: skip (why says so); -1: failed (why says so). */
static int
server_start(char *why, size_t whylen)
{
	const char *file = __FILE__, *slash = strrchr(file, '/');
	int dirlen = slash != NULL ? (int)(slash - file + 1) : 0;
	char script[512], line[128];
	int in[2], out[2], fd;

	snprintf(script, sizeof(script), "%.*sdns_server.py", dirlen, file);
	if (access("/usr/bin/python3", X_OK) < 0 || access(script, R_OK) < 0) {
		snprintf(why, whylen, "python3 or %.400s is missing", script);
		return 0;
	}
	snprintf(qlog, sizeof(qlog), "/tmp/tern-test-dnsbl.XXXXXX");
	if ((fd = mkstemp(qlog)) < 0 || close(fd) < 0 || pipe(in) < 0 ||
	    pipe(out) < 0 || (server_pid = fork()) < 0) {
		snprintf(why, whylen, "mkstemp, pipe or fork failed");
		return -1;
	}
	if (server_pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl("/usr/bin/python3", "python3", script, zone, qlog,
		    (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	server_in = in[1];
	if (read_line(out[0], line, sizeof(line), 10000) < 0) {
		close(out[0]);
		snprintf(why, whylen, "the DNS server did not report a port");
		return -1;
	}
	close(out[0]);
	if (strncmp(line, "SKIP ", 5) == 0) {
		snprintf(why, whylen, "%s", line + 5);
		return 0;
	}
	if (sscanf(line, "PORT %u", &server_port) != 1 || server_port == 0) {
		snprintf(why, whylen, "the DNS server said '%s'", line);
		return -1;
	}
	return 1;
}

static void
server_stop(void)
{
	if (server_in >= 0)
		close(server_in);
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		for (int i = 0; i < 200; i++) {
			if (waitpid(server_pid, NULL, WNOHANG) != 0) {
				server_pid = -1;
				break;
			}
			usleep(10000);
		}
		if (server_pid > 0) {
			kill(server_pid, SIGKILL);
			waitpid(server_pid, NULL, 0);
		}
	}
	if (qlog[0] != '\0')
		unlink(qlog);
}

static int
group_setup(void **state)
{
	char servers[64], err[256];

	(void)state;
	if ((base = event_base_new()) == NULL)
		return -1;
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", server_port);
	dns = dns_new_timeout(base, servers, TIMEOUT_MS, 2, err, sizeof(err));
	if (dns == NULL) {
		fprintf(stderr, "dns_new: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	dns_free(&dns);
	event_base_free(base);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_names),
		cmocka_unit_test(test_dns_a_ttl),
		cmocka_unit_test(test_score_sum),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_bogus_answers),
		cmocka_unit_test(test_allowlist),
		cmocka_unit_test(test_early_listed),
		cmocka_unit_test(test_no_early_with_allowlist_pending),
		cmocka_unit_test(test_early_allowed),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_cache_hit),
		cmocka_unit_test(test_ttl_clamps),
		cmocka_unit_test(test_negative_ttl_from_soa),
		cmocka_unit_test(test_cache_bound),
		cmocka_unit_test(test_shared_flight),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_engine),
		cmocka_unit_test(test_no_sites),
	};
	char why[512];
	int r;

	alarm(120);
	signal(SIGPIPE, SIG_IGN);
	if ((r = server_start(why, sizeof(why))) <= 0) {
		server_stop();
		if (r == 0) {
			printf("test_dnsbl: skipped: %s\n", why);
			return 0;
		}
		fprintf(stderr, "test_dnsbl: %s\n", why);
		return 1;
	}
	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	server_stop();
	return r;
}
