/*
 * One client at the screen, from accept to the moment it is handed to
 * smtpd or turned away.  The screen's only reads are peeks: whatever a
 * client sent too early stays in its socket for smtpd to read, so the
 * session it gets (with action enforce) sees the same bytes.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "net/hostport.h"
#include "net/ipc_chan.h"
#include "screen/dnsbl.h"
#include "screen/screen.h"
#include "screen/screen_cache.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "net/ipc.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void screen_client_event(evutil_socket_t fd, short what, void *arg);

static double
screen_elapsed(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) +
	    (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* A line to a client about to be closed: a few bytes into an empty
 * socket buffer, so one try is enough; a client that cannot take them
 * is gone anyway. */
static void
screen_vsay(int fd, const char *fmt, va_list ap)
{
	char line[256];
	int n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	memcpy(line + n, "\r\n", 2);
	if (write(fd, line, (size_t)n + 2) < 0)
		log_debug("reply not sent: %s", strerror(errno));
}

static void
screen_say(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	screen_vsay(fd, fmt, ap);
	va_end(ap);
}

/* Closes a client turned away.  What it sent too early is read and
 * dropped first: closing a socket with unread bytes resets the
 * connection, and the client might lose the reply it was just sent. */
static void
screen_close(int fd)
{
	char junk[4096];

	if (shutdown(fd, SHUT_WR) == 0)
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			continue;
	close(fd);
}

void
screen_refuse(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	screen_vsay(fd, fmt, ap);
	va_end(ap);
	screen_close(fd);
}

/* Gives the socket to smtpd with what the screen learned.  The socket
 * is smtpd's (or closed) afterwards, and so is the client's count
 * (*counted), which smtpd gives back when the session ends. */
static void
screen_hand_over(struct screen *sc, int fd, const char *ip, unsigned port,
    const struct screen_handoff *said, struct client_entry **counted)
{
	struct screen_handoff h = *said;
	struct buf b;

	if (sc->smtpd == NULL) {
		log_warn("smtpd is away: 421 to [%s]:%u", ip, port);
		sc->count.server_busy++;
		screen_clients_release(sc, counted);
		screen_refuse(fd, "421 4.3.2 All server ports are busy");
		return;
	}
	h.count_gen = *counted != NULL ? sc->clients_gen : 0;
	*counted = NULL;
	buf_init(&b, 128);
	screen_handoff_put(&b, ip, port, &h);
	/* A channel that breaks is smtpd gone: its counts go with it
	 * (screen_clients_reset). */
	if (ipc_chan_send(sc->smtpd, IPC_SCREEN_CLIENT, b.data, b.len, fd) < 0)
		log_warn("cannot hand [%s]:%u to smtpd", ip, port);
	buf_free(&b);
}

static void
screen_client_free(struct screen_client *c)
{
	struct screen *sc = c->sc;

	event_del(&c->ev);
	dnsbl_cancel(c->check);
	TAILQ_REMOVE(&sc->waiting, c, entry);
	sc->nwaiting--;
	load_report_set(&sc->load, sc->nwaiting);
	screen_clients_release(sc, &c->counted);
	if (c->fd >= 0)
		screen_close(c->fd);
	free(c);
}

/* How long a pass holds: screen_pass_ttl, or less when the DNS lists'
 * answers it rests on end sooner; 0 when they did not all come. */
static unsigned
screen_pass_ttl(const struct screen_client *c)
{
	unsigned ttl = c->sc->conf->screen_pass_ttl;

	if (c->sc->dnsbl != NULL && c->dnsbl_ttl < ttl)
		ttl = c->dnsbl_ttl;
	return ttl;
}

/* The tests are over (or one failed with enforce or ignore): smtpd takes
 * the client from here. */
static void
screen_client_pass(struct screen_client *c)
{
	struct screen *sc = c->sc;
	enum screen_verdict v = c->failed ? c->failed : SCREEN_PASS_NEW;
	double waited = screen_elapsed(&c->start);
	struct screen_handoff h = { .verdict = v, .flags = SCREEN_TEASER,
	    .waited_ms = (unsigned)(waited * 1000),
	    .dnsbl_score = c->dnsbl_score };

	if (v == SCREEN_PASS_NEW) {
		struct screen_addr a;
		unsigned ttl = screen_pass_ttl(c);
		log_info("PASS NEW [%s]:%u", c->ip, c->port);
		sc->count.pass_new++;
		if (ttl > 0 && screen_addr_parse(c->ip, &a) == 0)
			screen_cache_put_pass(sc->cache, &a, time(NULL) + (time_t)ttl);
	}
	snprintf(h.reason, sizeof(h.reason), "%s", c->reason);
	snprintf(h.dnsbl_zone, sizeof(h.dnsbl_zone), "%s", c->dnsbl_zone);
	screen_hand_over(sc, c->fd, c->ip, c->port, &h, &c->counted);
	c->fd = -1;
	screen_client_free(c);
}

/* The client's event: its socket while the screen listens for a
 * pregreet, with the rest of the greet wait as timeout; once the wait is
 * over, the socket alone, until the DNS lists' answers are in. */
static void
screen_client_arm(struct screen_client *c)
{
	struct screen *sc = c->sc;
	struct timeval tv, *tvp = NULL;

	event_del(&c->ev);
	if (!c->waited) {
		/* The loop's cached clock is from before this turn's work: the
		 * wait is counted from now, so that it is never cut short. */
		event_base_update_cache_time(sc->base);
		double left = (double)conf_now(sc->conf, screen_greet_wait) -
		    screen_elapsed(&c->start);
		if (left < 0)
			left = 0;
		tv.tv_sec = (time_t)left;
		tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6);
		tvp = &tv;
	}
	event_assign(&c->ev, sc->base, c->listening ? c->fd : -1,
	    c->listening ? EV_READ : 0, screen_client_event, c);
	if ((c->listening || tvp != NULL) && event_add(&c->ev, tvp) < 0) {
		log_warn("cannot wait for [%s]:%u", c->ip, c->port);
		screen_client_free(c);
	}
}

/* A test failed with action ignore: noted, the tests go on. */
static void
screen_client_ignore(struct screen_client *c, const char *reason)
{
	if (c->failed == 0) {
		c->failed = SCREEN_IGNORED;
		snprintf(c->reason, sizeof(c->reason), "%s", reason);
	}
}

/* Bytes before the last line of the greeting. */
static void
screen_client_pregreet(struct screen_client *c, const char *peek, size_t n)
{
	struct screen *sc = c->sc;
	char shown[SCREEN_PEEK_MAX * 4 + 1];
	int avail = 0;

	if (ioctl(c->fd, FIONREAD, &avail) < 0 || avail < (int)n)
		avail = (int)n;
	log_info("PREGREET %d after %.2fs from [%s]:%u: %s", avail,
	    screen_elapsed(&c->start), c->ip, c->port,
	    log_escape(shown, sizeof(shown), peek, n));
	sc->count.pregreet++;
	if (sc->conf->screen_pregreet_action != CONF_SCREEN_IGNORE)
		screen_remember_fail(sc, c->ip, "pregreet");
	switch (sc->conf->screen_pregreet_action) {
	case CONF_SCREEN_DROP:
		screen_say(c->fd, "521 5.5.1 Protocol error");
		screen_client_free(c);
		return;
	case CONF_SCREEN_ENFORCE:
		/* Nothing more to learn: smtpd refuses its recipients. */
		c->failed = SCREEN_ENFORCE;
		snprintf(c->reason, sizeof(c->reason), "pregreet");
		screen_client_pass(c);
		return;
	default:
		/* Logged only: the tests go on, without the socket. */
		screen_client_ignore(c, "pregreet");
		c->listening = 0;
		if (c->waited && c->check == NULL)
			screen_client_pass(c);
		else
			screen_client_arm(c);
		return;
	}
}

static void
screen_client_event(evutil_socket_t fd, short what, void *arg)
{
	struct screen_client *c = arg;
	char peek[SCREEN_PEEK_MAX];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		c->waited = 1;
		if (c->check == NULL)
			screen_client_pass(c);
		else
			screen_client_arm(c);
		return;
	}
	n = recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		screen_client_arm(c);
		return;
	}
	if (n <= 0) {
		log_info("HANGUP after %.2fs from [%s]:%u",
		    screen_elapsed(&c->start), c->ip, c->port);
		screen_client_free(c);
		return;
	}
	screen_client_pregreet(c, peek, (size_t)n);
}

/* Listed: refused at once (drop), handed over to be enforced, or noted. */
static void
screen_client_listed(struct screen_client *c)
{
	struct screen *sc = c->sc;
	int action = sc->conf->screen_dnsbl_action;

	log_info("DNSBL rank %d for [%s]:%u", c->dnsbl_score, c->ip, c->port);
	sc->count.dnsbl_listed++;
	if (action != CONF_SCREEN_IGNORE)
		screen_remember_fail(sc, c->ip, "dnsbl");
	if (action == CONF_SCREEN_DROP) {
		screen_say(c->fd, "521 5.7.1 Service unavailable; client [%s] "
		    "blocked using %s", c->ip, c->dnsbl_zone);
		screen_client_free(c);
		return;
	}
	if (action == CONF_SCREEN_ENFORCE) {
		c->failed = SCREEN_ENFORCE;
		snprintf(c->reason, sizeof(c->reason), "dnsbl");
		screen_client_pass(c);
		return;
	}
	screen_client_ignore(c, "dnsbl");
	if (c->waited)
		screen_client_pass(c);
}

static void
screen_client_dnsbl(void *arg, const struct dnsbl_result *r)
{
	struct screen_client *c = arg;

	c->check = NULL;
	c->dnsbl_score = r->score;
	c->dnsbl_ttl = r->nfailed > 0 ? 0 : r->ttl;
	snprintf(c->dnsbl_zone, sizeof(c->dnsbl_zone), "%s",
	    r->zone != NULL ? r->zone : "");
	switch (r->verdict) {
	case DNSBL_LISTED:
		screen_client_listed(c);
		return;
	case DNSBL_ALLOWED:
		/* Allowlisted: no need to wait out the greeting. */
		log_info("DNSBL allowed [%s]:%u score=%d", c->ip, c->port,
		    r->score);
		c->sc->count.dnsbl_allowed++;
		screen_client_pass(c);
		return;
	case DNSBL_CLEAN:
		if (c->waited)
			screen_client_pass(c);
		return;
	}
}

void
screen_client_checks_ended(struct screen *sc)
{
	struct screen_client *c, *next;

	for (c = TAILQ_FIRST(&sc->waiting); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->waited && c->check == NULL)
			screen_client_pass(c);
	}
}

/* The DNS lists are asked while the client waits; their answers may
 * keep it up to 2 s past the greet wait, never longer. */
static void
screen_client_ask_lists(struct screen_client *c, const struct sockaddr *sa)
{
	struct screen *sc = c->sc;
	unsigned timeout_ms = sc->conf->screen_dnsbl_timeout * 1000;
	unsigned limit_ms = conf_now(sc->conf, screen_greet_wait) * 1000 + 2000;

	if (sc->dnsbl == NULL)
		return;
	c->check = dnsbl_check(sc->dnsbl, sa, timeout_ms < limit_ms ?
	    timeout_ms : limit_ms, sc->conf->screen_dnsbl_threshold,
	    sc->conf->screen_dnsbl_allowlist_threshold, screen_client_dnsbl, c);
}

/* A new client that no list decided: teaser, then the wait, and the DNS
 * lists asked meanwhile. */
static void
screen_client_wait(struct screen *sc, int fd, const struct sockaddr *sa,
    const char *ip, unsigned port, struct client_entry *counted)
{
	struct screen_client *c = xcalloc(1, sizeof(*c));
	char teaser[300];
	int n;

	c->sc = sc;
	c->fd = fd;
	c->counted = counted;
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	c->port = port;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	event_assign(&c->ev, sc->base, -1, 0, screen_client_event, c);
	TAILQ_INSERT_TAIL(&sc->waiting, c, entry);
	sc->nwaiting++;
	load_report_set(&sc->load, sc->nwaiting);
	n = snprintf(teaser, sizeof(teaser), SCREEN_TEASER_FMT, sc->conf->hostname);
	if (n < 0 || (size_t)n >= sizeof(teaser) ||
	    write(fd, teaser, (size_t)n) != n) {
		log_info("HANGUP after 0.00s from [%s]:%u", ip, port);
		screen_client_free(c);
		return;
	}
	c->listening = 1;
	screen_client_ask_lists(c, sa);
	screen_client_arm(c);
}

/* The action a remembered failure gets now: the setting of the test that
 * failed; smtpd's non-SMTP commands are dropped (a proxy or a web
 * client), its other findings enforced. */
static int
screen_fail_action(const struct screen *sc, const char *reason)
{
	if (strcmp(reason, "pregreet") == 0)
		return sc->conf->screen_pregreet_action;
	if (strcmp(reason, "dnsbl") == 0)
		return sc->conf->screen_dnsbl_action;
	if (strcmp(reason, "non-smtp-command") == 0)
		return CONF_SCREEN_DROP;
	return CONF_SCREEN_ENFORCE;
}

/* A client seen before goes through at once, without teaser or wait:
 * passed, or failed and dropped or enforced again.  1 when it was. */
static int
screen_client_remembered(struct screen *sc, int fd, const char *ip,
    unsigned port, struct client_entry **counted)
{
	struct screen_entry e;
	struct screen_addr a;

	if (screen_addr_parse(ip, &a) < 0 ||
	    !screen_cache_lookup(sc->cache, &a, time(NULL), &e))
		return 0;
	if (e.verdict == SCREEN_CACHE_PASS) {
		struct screen_handoff h = { .verdict = SCREEN_PASS_OLD };
		log_info("PASS OLD [%s]:%u", ip, port);
		sc->count.pass_old++;
		screen_hand_over(sc, fd, ip, port, &h, counted);
		return 1;
	}
	log_info("FAIL OLD [%s]:%u reason=%s", ip, port, e.reason);
	sc->count.failed_old++;
	switch (screen_fail_action(sc, e.reason)) {
	case CONF_SCREEN_DROP:
		screen_clients_release(sc, counted);
		if (strcmp(e.reason, "dnsbl") == 0)
			screen_refuse(fd, "521 5.7.1 Service unavailable; client "
			    "[%s] blocked using a DNS blocklist", ip);
		else
			screen_refuse(fd, "521 5.5.1 Protocol error");
		return 1;
	case CONF_SCREEN_ENFORCE: {
		struct screen_handoff h = { .verdict = SCREEN_ENFORCE };
		snprintf(h.reason, sizeof(h.reason), "%s", e.reason);
		screen_hand_over(sc, fd, ip, port, &h, counted);
		return 1;
	}
	default:
		return 0;       /* now ignored: tested again */
	}
}

void
screen_client_accept(struct screen *sc, int fd, const struct sockaddr *sa)
{
	static const struct screen_handoff permit = { .verdict = SCREEN_PERMIT };
	struct client_entry *counted = NULL;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	hostport_from_sockaddr(sa, ip, sizeof(ip), &port);
	switch (screen_access_match(&sc->access, ip)) {
	case SCREEN_ACCESS_REJECT:
		log_info("REJECT [%s]:%u screen_access", ip, port);
		sc->count.rejected++;
		screen_refuse(fd, "521 5.7.1 Service unavailable; client [%s] "
		    "blocked by the access list", ip);
		return;
	case SCREEN_ACCESS_PERMIT:
		sc->count.permitted++;
		screen_hand_over(sc, fd, ip, port, &permit, &counted);
		return;
	case SCREEN_ACCESS_NONE:
		break;
	}
	if (cidr_list_match(sc->relay_nets, ip)) {
		sc->count.permitted++;
		screen_hand_over(sc, fd, ip, port, &permit, &counted);
		return;
	}
	if (screen_clients_admit(sc, fd, ip, port, &counted) < 0)
		return;
	if (screen_client_remembered(sc, fd, ip, port, &counted))
		return;
	if (sc->nwaiting >= sc->conf->screen_max_clients) {
		log_warn("screen full: %zu clients waiting: 421 to [%s]:%u",
		    sc->nwaiting, ip, port);
		sc->count.busy++;
		screen_clients_release(sc, &counted);
		screen_refuse(fd, "421 4.3.2 All screening ports are busy");
		return;
	}
	screen_client_wait(sc, fd, sa, ip, port, counted);
}

void
screen_client_shutdown(struct screen_client *c)
{
	screen_say(c->fd, "421 4.3.2 %s Service shutting down",
	    c->sc->conf->hostname);
	screen_client_free(c);
}
