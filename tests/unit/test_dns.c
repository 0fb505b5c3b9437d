/*
 * Unit tests of the resolver against a real DNS server on loopback
 * (tests/unit/dns_server.py, python3-dnslib): MX order and shuffle, the
 * null MX, no MX then the domain's addresses, NXDOMAIN, NODATA, SERVFAIL,
 * a server that never answers, answers over TCP, cancellation and
 * dns_free with queries pending.  Skipped with a message when python3 or
 * dnslib is missing.  Every wait is bounded; alarm() ends a hung run.
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

#define WAIT_MS		8000	/* the longest any one wait may take */
#define TIMEOUT_MS	500	/* per try against the test server */
#define BH_TIMEOUT_MS	300	/* per try against the black hole */

static const char zone[] =
    "$ORIGIN test.\n"
    "$TTL 60\n"
    "mx IN MX 10 mx1.MX.test.\n"
    "mx IN MX 20 b.mx.test.\n"
    "mx IN MX 20 a.mx.test.\n"
    "mx IN MX 5 MX0.Mx.TEST.\n"
    "mx IN MX 30 z.mx.test.\n"
    "nullmx IN MX 0 .\n"
    "mixed IN MX 10 mail.mixed.test.\n"
    "mixed IN MX 0 .\n"
    "nomx IN A 192.0.2.1\n"
    "nomx IN AAAA 2001:db8::1\n"
    "nomx IN A 192.0.2.2\n"
    "alias IN CNAME nomx.test.\n"
    "v6only IN AAAA 2001:db8::6\n"
    "noaddr IN TXT \"nothing here\"\n";

static struct event_base *base;
static struct dns *dns;		/* asks the test server */
static unsigned server_port, bh_port;
static pid_t server_pid = -1;
static int server_in = -1, bh_fd = -1;

/* ---- results ---- */

struct mx_res {
	int		 called;
	enum dns_status	 st;
	size_t		 n;
	struct dns_mx	 mx[DNS_MX_MAX];
};

struct addr_res {
	int		 called;
	enum dns_status	 st;
	size_t		 n;
	struct dns_addr	 addrs[DNS_ADDRS_MAX];
};

static void
mx_cb(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct mx_res *r = arg;

	assert_true(n <= DNS_MX_MAX);
	r->called++;
	r->st = st;
	r->n = n;
	if (n > 0)
		memcpy(r->mx, mx, n * sizeof(mx[0]));
}

static void
addr_cb(void *arg, enum dns_status st, const struct dns_addr *addrs, size_t n)
{
	struct addr_res *r = arg;

	assert_true(n <= DNS_ADDRS_MAX);
	r->called++;
	r->st = st;
	r->n = n;
	if (n > 0)
		memcpy(r->addrs, addrs, n * sizeof(addrs[0]));
}

/* ---- the loop, bounded ---- */

static void
guard_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Runs the loop until *flag >= want or ms have passed; 1 if reached. */
static int
run_until(const int *flag, int want, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int expired = 0;
	struct event *guard = evtimer_new(base, guard_cb, &expired);

	assert_non_null(guard);
	assert_int_equal(evtimer_add(guard, &tv), 0);
	while ((flag == NULL || *flag < want) && !expired)
		assert_true(event_base_loop(base, EVLOOP_ONCE) >= 0);
	event_free(guard);
	return flag != NULL && *flag >= want;
}

static void
run_for(int ms)
{
	(void)run_until(NULL, 0, ms);
}

static long
now_ms(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static struct dns *
new_dns(const char *servers, int timeout_ms)
{
	char err[256] = "";
	struct dns *d = dns_new_timeout(base, servers, timeout_ms, 2, err,
	    sizeof(err));

	if (d == NULL)
		fail_msg("dns_new(%s): %s", servers, err);
	return d;
}

static void
mx_lookup(struct dns *d, const char *domain, struct mx_res *r)
{
	memset(r, 0, sizeof(*r));
	assert_non_null(dns_mx(d, domain, mx_cb, r));
	assert_int_equal(r->called, 0);		/* never from inside dns_mx */
	if (!run_until(&r->called, 1, WAIT_MS))
		fail_msg("MX %s: no answer in %d ms", domain, WAIT_MS);
	assert_int_equal(r->called, 1);
}

static void
addr_lookup(struct dns *d, const char *host, struct addr_res *r)
{
	memset(r, 0, sizeof(*r));
	assert_non_null(dns_addrs(d, host, addr_cb, r));
	assert_int_equal(r->called, 0);
	if (!run_until(&r->called, 1, WAIT_MS))
		fail_msg("addresses of %s: no answer in %d ms", host, WAIT_MS);
	assert_int_equal(r->called, 1);
}

static void
assert_status(enum dns_status got, enum dns_status want)
{
	if (got != want)
		fail_msg("got %s, want %s", dns_status_name(got),
		    dns_status_name(want));
}

static void
assert_addr(const struct dns_addr *a, int family, const char *want)
{
	char ip[INET6_ADDRSTRLEN];

	assert_int_equal(a->sa.ss_family, family);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->sa;
		assert_int_equal(a->len, sizeof(*sin));
		assert_int_equal(sin->sin_port, 0);
		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)));
	} else {
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&a->sa;
		assert_int_equal(a->len, sizeof(*sin6));
		assert_int_equal(sin6->sin6_port, 0);
		assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
		    sizeof(ip)));
	}
	assert_string_equal(ip, want);
}

/* ---- MX ---- */

static void
test_mx_sorted(void **state)
{
	struct mx_res r;

	(void)state;
	mx_lookup(dns, "mx.test", &r);
	assert_status(r.st, DNS_OK);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.mx[0].pref, 5);
	assert_string_equal(r.mx[0].host, "mx0.mx.test");
	assert_int_equal(r.mx[1].pref, 10);
	assert_string_equal(r.mx[1].host, "mx1.mx.test");
	assert_int_equal(r.mx[2].pref, 20);
	assert_int_equal(r.mx[3].pref, 20);
	assert_true((strcmp(r.mx[2].host, "a.mx.test") == 0 &&
	    strcmp(r.mx[3].host, "b.mx.test") == 0) ||
	    (strcmp(r.mx[2].host, "b.mx.test") == 0 &&
	    strcmp(r.mx[3].host, "a.mx.test") == 0));
	assert_int_equal(r.mx[4].pref, 30);
	assert_string_equal(r.mx[4].host, "z.mx.test");
}

#define SHUFFLE_N	50

/* Equal preferences come in both orders: wrongly in one order only with
 * probability 2^-49. */
static void
test_mx_equal_shuffled(void **state)
{
	static struct mx_res r[SHUFFLE_N];
	int done = 0, ab = 0, ba = 0;

	(void)state;
	memset(r, 0, sizeof(r));
	for (int i = 0; i < SHUFFLE_N; i++)
		assert_non_null(dns_mx(dns, "mx.test", mx_cb, &r[i]));
	for (long end = now_ms() + WAIT_MS; done < SHUFFLE_N && now_ms() < end;) {
		run_for(20);
		done = 0;
		for (int i = 0; i < SHUFFLE_N; i++)
			done += r[i].called;
	}
	assert_int_equal(done, SHUFFLE_N);
	for (int i = 0; i < SHUFFLE_N; i++) {
		assert_status(r[i].st, DNS_OK);
		assert_int_equal(r[i].n, 5);
		if (strcmp(r[i].mx[2].host, "a.mx.test") == 0)
			ab++;
		else
			ba++;
	}
	print_message("equal preferences: a,b %d times, b,a %d times\n", ab, ba);
	assert_true(ab > 0);
	assert_true(ba > 0);
}

/* 40 MX records do not fit in 512 bytes of UDP: c-ares asks again over TCP
 * on the same port; the 16 best are kept. */
static void
test_mx_many_over_tcp(void **state)
{
	char want[64];
	struct mx_res r;

	(void)state;
	mx_lookup(dns, "many.test", &r);
	assert_status(r.st, DNS_OK);
	assert_int_equal(r.n, DNS_MX_MAX);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.mx[i].pref, i + 1);
		snprintf(want, sizeof(want), "mail-exchanger-%02zu.many.test", i + 1);
		assert_string_equal(r.mx[i].host, want);
	}
}

static void
test_null_mx(void **state)
{
	struct mx_res r;

	(void)state;
	mx_lookup(dns, "nullmx.test", &r);
	assert_status(r.st, DNS_NULL_MX);
	assert_int_equal(r.n, 0);
	/* "." among other MX records still means no mail. */
	mx_lookup(dns, "mixed.test", &r);
	assert_status(r.st, DNS_NULL_MX);
	assert_int_equal(r.n, 0);
}

/* ---- no MX, addresses ---- */

static void
test_no_mx_then_addresses(void **state)
{
	struct addr_res a;
	struct mx_res r;

	(void)state;
	mx_lookup(dns, "nomx.test", &r);
	assert_status(r.st, DNS_NO_MX);
	assert_int_equal(r.n, 0);
	addr_lookup(dns, "nomx.test", &a);
	assert_status(a.st, DNS_OK);
	assert_int_equal(a.n, 3);
	assert_addr(&a.addrs[0], AF_INET, "192.0.2.1");
	assert_addr(&a.addrs[1], AF_INET, "192.0.2.2");
	assert_addr(&a.addrs[2], AF_INET6, "2001:db8::1");
	/* Through a CNAME. */
	addr_lookup(dns, "alias.test", &a);
	assert_status(a.st, DNS_OK);
	assert_int_equal(a.n, 3);
	assert_addr(&a.addrs[2], AF_INET6, "2001:db8::1");
	/* One family only. */
	addr_lookup(dns, "v6only.test", &a);
	assert_status(a.st, DNS_OK);
	assert_int_equal(a.n, 1);
	assert_addr(&a.addrs[0], AF_INET6, "2001:db8::6");
}

static void
test_nxdomain(void **state)
{
	struct addr_res a;
	struct mx_res r;

	(void)state;
	mx_lookup(dns, "nope.test", &r);
	assert_status(r.st, DNS_NXDOMAIN);
	addr_lookup(dns, "nope.test", &a);
	assert_status(a.st, DNS_NXDOMAIN);
	assert_int_equal(a.n, 0);
	/* Names that cannot exist are not sent, but still answered from
	 * the loop. */
	mx_lookup(dns, "a..test", &r);
	assert_status(r.st, DNS_NXDOMAIN);
	addr_lookup(dns, "", &a);
	assert_status(a.st, DNS_NXDOMAIN);
	addr_lookup(dns, "sp ace.test", &a);
	assert_status(a.st, DNS_NXDOMAIN);
}

static void
test_nodata(void **state)
{
	struct addr_res a;
	struct mx_res r;

	(void)state;
	addr_lookup(dns, "noaddr.test", &a);
	assert_status(a.st, DNS_NODATA);
	assert_int_equal(a.n, 0);
	mx_lookup(dns, "noaddr.test", &r);
	assert_status(r.st, DNS_NO_MX);
}

static void
test_servfail(void **state)
{
	struct addr_res a;
	struct mx_res r;

	(void)state;
	mx_lookup(dns, "servfail.test", &r);
	assert_status(r.st, DNS_TEMPFAIL);
	addr_lookup(dns, "servfail.test", &a);
	assert_status(a.st, DNS_TEMPFAIL);
}

/* ---- a server that never answers ---- */

static void
test_timeout(void **state)
{
	char servers[64];
	struct addr_res a;
	struct mx_res r;
	struct dns *d;
	long t0, elapsed;
	/* c-ares doubles the timeout on the second try. */
	long bound = BH_TIMEOUT_MS * 3;

	(void)state;
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", bh_port);
	d = new_dns(servers, BH_TIMEOUT_MS);
	t0 = now_ms();
	mx_lookup(d, "mx.test", &r);
	elapsed = now_ms() - t0;
	print_message("MX timed out after %ld ms (timeout %d ms, 2 tries)\n",
	    elapsed, BH_TIMEOUT_MS);
	assert_status(r.st, DNS_TEMPFAIL);
	assert_true(elapsed < bound + 2000);
	addr_lookup(d, "nomx.test", &a);
	assert_status(a.st, DNS_TEMPFAIL);
	dns_free(&d);
	assert_null(d);
}

/* The first server never answers; the second does. */
static void
test_second_server(void **state)
{
	char servers[64];
	struct mx_res r;
	struct dns *d;

	(void)state;
	snprintf(servers, sizeof(servers), "127.0.0.1:%u, 127.0.0.1:%u",
	    bh_port, server_port);
	d = new_dns(servers, BH_TIMEOUT_MS);
	mx_lookup(d, "mx.test", &r);
	assert_status(r.st, DNS_OK);
	assert_int_equal(r.n, 5);
	dns_free(&d);
}

static void
test_server_list(void **state)
{
	const char *good[] = { "", "127.0.0.1", "127.0.0.1:5353",
	    "[::1]:5353, 127.0.0.1 ::1", " 192.0.2.1 , 192.0.2.2 " };
	const char *bad[] = { "bogus", "127.0.0.1:0", "127.0.0.1:65536",
	    "example.org", "[::1", "::1:53:x", "127.0.0.1:53x",
	    "1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8 "
	    "1.1.1.9 1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 "
	    "1.1.1.16 1.1.1.17" };
	char err[256];
	struct dns *d;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err[0] = '\0';
		d = dns_new(base, good[i], err, sizeof(err));
		if (d == NULL)
			fail_msg("'%s' refused: %s", good[i], err);
		dns_free(&d);
		assert_null(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		d = dns_new(base, bad[i], err, sizeof(err));
		if (d != NULL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
	dns_free(&d);	/* NULL: nothing */
}

/* ---- IP literals ---- */

static void
test_ip_literal(void **state)
{
	struct addr_res a;

	(void)state;
	addr_lookup(dns, "127.0.0.1", &a);
	assert_status(a.st, DNS_OK);
	assert_int_equal(a.n, 1);
	assert_addr(&a.addrs[0], AF_INET, "127.0.0.1");
	addr_lookup(dns, "::1", &a);
	assert_status(a.st, DNS_OK);
	assert_int_equal(a.n, 1);
	assert_addr(&a.addrs[0], AF_INET6, "::1");
}

/* ---- cancellation ---- */

struct canceller {
	int		 called;
	struct dns_query *victims[3];
	struct dns_query *self;
	struct dns	**free_dns;	/* dns_free this from the callback */
};

static void
cancel_cb(void *arg, enum dns_status st, const struct dns_addr *addrs,
    size_t n)
{
	struct canceller *c = arg;

	(void)st;
	(void)addrs;
	(void)n;
	c->called++;
	for (size_t i = 0; i < 3; i++)
		dns_cancel(c->victims[i]);
	dns_cancel(c->self);		/* its own: nothing happens */
	if (c->free_dns != NULL)
		dns_free(c->free_dns);
}

static void
test_cancel(void **state)
{
	struct mx_res r1, r4, r5;
	struct addr_res r3, r6;
	struct canceller c;

	(void)state;
	memset(&r1, 0, sizeof(r1));
	memset(&r3, 0, sizeof(r3));
	memset(&r4, 0, sizeof(r4));
	memset(&r5, 0, sizeof(r5));
	memset(&r6, 0, sizeof(r6));
	memset(&c, 0, sizeof(c));
	/* Cancelled while at the server. */
	dns_cancel(dns_mx(dns, "mx.test", mx_cb, &r1));
	/* One callback cancels a query already answered (an IP literal
	 * queued behind it), two still at the server, and itself. */
	c.self = dns_addrs(dns, "127.0.0.2", cancel_cb, &c);
	c.victims[0] = dns_addrs(dns, "::2", addr_cb, &r3);
	c.victims[1] = dns_mx(dns, "mx.test", mx_cb, &r4);
	c.victims[2] = dns_addrs(dns, "nomx.test", addr_cb, &r6);
	/* Not cancelled: answered. */
	assert_non_null(dns_mx(dns, "mx.test", mx_cb, &r5));
	assert_true(run_until(&r5.called, 1, WAIT_MS));
	assert_int_equal(c.called, 1);
	/* Long enough for every answer to be in. */
	run_for(300);
	assert_int_equal(r1.called, 0);
	assert_int_equal(r3.called, 0);
	assert_int_equal(r4.called, 0);
	assert_int_equal(r6.called, 0);
	assert_int_equal(c.called, 1);
	assert_status(r5.st, DNS_OK);
	dns_cancel(NULL);
}

/* ---- dns_free with queries pending ---- */

static void
test_free_pending(void **state)
{
	struct mx_res r1;
	struct addr_res r2, r3;
	char servers[64];
	struct dns *d;

	(void)state;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	memset(&r3, 0, sizeof(r3));
	snprintf(servers, sizeof(servers), "127.0.0.1:%u", bh_port);
	d = new_dns(servers, BH_TIMEOUT_MS);
	assert_non_null(dns_mx(d, "mx.test", mx_cb, &r1));
	assert_non_null(dns_addrs(d, "nomx.test", addr_cb, &r2));
	assert_non_null(dns_addrs(d, "192.0.2.9", addr_cb, &r3));
	run_for(50);		/* the literal is answered, the rest waits */
	assert_int_equal(r3.called, 1);
	memset(&r3, 0, sizeof(r3));
	assert_non_null(dns_addrs(d, "192.0.2.9", addr_cb, &r3));
	dns_free(&d);
	assert_null(d);
	/* Past every timeout: nothing is called. */
	run_for(BH_TIMEOUT_MS * 4);
	assert_int_equal(r1.called, 0);
	assert_int_equal(r2.called, 0);
	assert_int_equal(r3.called, 0);
}

/* dns_free from a callback, with queries at the server and an answered
 * one behind it. */
static void
test_free_from_callback(void **state)
{
	struct addr_res r2, r3;
	struct canceller c;
	struct mx_res r1;
	char servers[64];
	struct dns *d;

	(void)state;
	memset(&r1, 0, sizeof(r1));
	memset(&r2, 0, sizeof(r2));
	memset(&r3, 0, sizeof(r3));
	memset(&c, 0, sizeof(c));
	snprintf(servers, sizeof(servers), "127.0.0.1:%u, 127.0.0.1:%u",
	    server_port, bh_port);
	d = new_dns(servers, BH_TIMEOUT_MS);
	c.free_dns = &d;
	c.self = dns_addrs(d, "::1", cancel_cb, &c);
	assert_non_null(dns_addrs(d, "::1", addr_cb, &r3));
	assert_non_null(dns_mx(d, "mx.test", mx_cb, &r1));
	assert_non_null(dns_addrs(d, "nomx.test", addr_cb, &r2));
	assert_true(run_until(&c.called, 1, WAIT_MS));
	assert_null(d);
	run_for(BH_TIMEOUT_MS * 4);
	assert_int_equal(c.called, 1);
	assert_int_equal(r1.called, 0);
	assert_int_equal(r2.called, 0);
	assert_int_equal(r3.called, 0);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(dns_status_name(DNS_OK), "ok");
	assert_string_equal(dns_status_name(DNS_NULL_MX), "null-mx");
	assert_string_equal(dns_status_name(DNS_NO_MX), "no-mx");
	assert_string_equal(dns_status_name(DNS_NXDOMAIN), "nxdomain");
	assert_string_equal(dns_status_name(DNS_NODATA), "nodata");
	assert_string_equal(dns_status_name(DNS_TEMPFAIL), "tempfail");
}

/* ---- the server and the black hole ---- */

/* Reads one line from fd within ms. */
static int
read_line(int fd, char *buf, size_t len, int ms)
{
	size_t n = 0;
	long end = now_ms() + ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;

	while (n + 1 < len) {
		long left = end - now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		if ((r = read(fd, buf + n, 1)) <= 0)
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
server_start(const char *fullzone, char *why, size_t whylen)
{
	const char *file = __FILE__, *slash = strrchr(file, '/');
	int dirlen = slash != NULL ? (int)(slash - file + 1) : 0;
	char script[512], line[128];
	int in[2], out[2];

	snprintf(script, sizeof(script), "%.*sdns_server.py", dirlen, file);
	if (access("/usr/bin/python3", X_OK) < 0) {
		snprintf(why, whylen, "/usr/bin/python3 is missing");
		return 0;
	}
	if (access(script, R_OK) < 0) {
		snprintf(why, whylen, "%.400s is missing (run from the top)",
		    script);
		return 0;
	}
	if (pipe(in) < 0 || pipe(out) < 0) {
		snprintf(why, whylen, "pipe failed");
		return -1;
	}
	if ((server_pid = fork()) < 0) {
		snprintf(why, whylen, "fork failed");
		return -1;
	}
	if (server_pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl("/usr/bin/python3", "python3", script, fullzone,
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
		close(server_in);	/* it exits on end of file */
	if (server_pid <= 0)
		return;
	/* SIGTERM, and SIGKILL if that is not enough within 2 s (a
	 * stopped process does not act on SIGTERM). */
	kill(server_pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(server_pid, NULL, WNOHANG) != 0)
			return;
		usleep(10000);
	}
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
}

/* A bound UDP socket that is never read: queries sent there vanish. */
static int
blackhole_open(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((bh_fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
	    bind(bh_fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(bh_fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	bh_port = ntohs(sin.sin_port);
	return 0;
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
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_server_list),
		cmocka_unit_test(test_ip_literal),
		cmocka_unit_test(test_mx_sorted),
		cmocka_unit_test(test_mx_equal_shuffled),
		cmocka_unit_test(test_mx_many_over_tcp),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_no_mx_then_addresses),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_servfail),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_second_server),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_pending),
		cmocka_unit_test(test_free_from_callback),
	};
	char fullzone[sizeof(zone) + 4096], why[512];
	size_t len;
	int r;

	/* The last resort against a hang: the server sees its stdin close
	 * when we die, and exits. */
	alarm(60);
	signal(SIGPIPE, SIG_IGN);
	len = (size_t)snprintf(fullzone, sizeof(fullzone), "%s", zone);
	for (int i = 40; i >= 1; i--)
		len += (size_t)snprintf(fullzone + len, sizeof(fullzone) - len,
		    "many IN MX %d mail-exchanger-%02d.many.test.\n", i, i);
	if (blackhole_open() < 0) {
		fprintf(stderr, "test_dns: cannot bind a UDP socket\n");
		return 1;
	}
	if ((r = server_start(fullzone, why, sizeof(why))) <= 0) {
		server_stop();
		if (r == 0) {
			printf("test_dns: skipped: %s\n", why);
			return 0;
		}
		fprintf(stderr, "test_dns: %s\n", why);
		return 1;
	}
	r = cmocka_run_group_tests(tests, group_setup, group_teardown);
	server_stop();
	close(bh_fd);
	return r;
}
