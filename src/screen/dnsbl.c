/*
 * The DNS blocklist engine: see dnsbl.h.
 *
 * Three kinds of object.  A zone is one DNS name to ask (sites sharing a
 * zone with different filters or weights share its answers).  A flight is
 * one lookup of one (zone, address) at the resolver, in a hash table so
 * that concurrent checks of an address join it instead of asking again;
 * it outlives the checks waiting on it, so that a late answer still fills
 * the cache.  A check is one client's question: for each zone it waits on
 * a flight or takes the cache's answer, scores the sites of that zone,
 * and decides as soon as the pending sites could not change the verdict.
 *
 * A check's life: RUNNING, DONE once decided (done_ev active, off every
 * flight, timer stopped), CALLING while its callback runs (out of the
 * engine's list); freed when the callback returns.  No user code ever runs
 * inside dnsbl_check() or inside a resolver callback: every callback comes
 * from done_ev.
 */
#include "screen/dnsbl.h"

#include <sys/queue.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "screen/dnsbl_cache.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/xmalloc.h"

#define DNSBL_FLIGHT_BUCKETS	4096	/* a power of two */
#define DNSBL_WARN_EVERY	60	/* s between warnings about one zone */
#define DNSBL_QNAME_MAX		256

enum dnsbl_state { DNSBL_RUNNING, DNSBL_DONE, DNSBL_CALLING };
enum dnsbl_zstate { DNSBL_Z_PENDING, DNSBL_Z_IN, DNSBL_Z_FAILED };

struct dnsbl_zone {
	char			 name[DNSBL_ZONE_MAX + 1];
	time_t			 warned;	/* last bogus-answer warning */
	int			 has_warned;
};

struct dnsbl_flight;

/* A check waiting on a flight for one zone. */
struct dnsbl_wait {
	LIST_ENTRY(dnsbl_wait)	 entry;
	struct dnsbl_check	*check;
	struct dnsbl_flight	*flight;	/* NULL: not waiting */
	unsigned		 zone;
};

struct dnsbl_flight {
	struct dnsbl_flight	*next;		/* in its bucket */
	struct dnsbl		*engine;
	struct dnsbl_key	 key;
	struct dns_query	*q;
	LIST_HEAD(, dnsbl_wait)	 waits;
};

struct dnsbl_check {
	LIST_ENTRY(dnsbl_check)	 entry;
	struct dnsbl		*engine;
	enum dnsbl_state	 state;
	struct dnsbl_key	 key;		/* zone set per lookup */
	char			 ip[INET6_ADDRSTRLEN];
	unsigned		 timeout_ms;
	int			 threshold, allow;
	struct event		*timer, *done_ev;
	dnsbl_fn		*fn;
	void			*arg;
	size_t			 pending;	/* zones */
	int			 from_net;	/* an answer not from the cache */
	int			 starting;	/* in dnsbl_check: no verdict yet */
	int			 score;
	int			 heaviest;	/* site index, -1: none */
	time_t			 expires;	/* the first of its answers to end; 0: none */
	enum dnsbl_zstate	 zstate[DNSBL_SITES_MAX];
	struct dnsbl_wait	 waits[DNSBL_SITES_MAX];
	size_t			 nfailed;
	const char		*failed[DNSBL_SITES_MAX];
};

struct dnsbl {
	struct event_base	*base;
	struct dns		*dns;
	struct dnsbl_sites	 sites;
	unsigned		 site_zone[DNSBL_SITES_MAX];
	size_t			 nzones;
	struct dnsbl_zone	 zones[DNSBL_SITES_MAX];
	unsigned		 min_ttl, max_ttl;
	struct dnsbl_cache	*cache;
	time_t			(*now)(void);
	struct siphash_key	 key;		/* of the in-flight table's hash */
	size_t			 nflights;
	struct dnsbl_flight	*flights[DNSBL_FLIGHT_BUCKETS];
	LIST_HEAD(, dnsbl_check) checks;	/* RUNNING and DONE */
};

const char *
dnsbl_verdict_name(enum dnsbl_verdict v)
{
	switch (v) {
	case DNSBL_CLEAN:
		return "clean";
	case DNSBL_LISTED:
		return "listed";
	case DNSBL_ALLOWED:
		return "allowed";
	}
	return "unknown";
}

static time_t
dnsbl_monotonic(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("dnsbl: clock_gettime failed");
	return ts.tv_sec;
}

/* ---- addresses and names ---- */

/* The client as a key (zone 0); IPv4-mapped IPv6 as IPv4.  0 or -1. */
static int
dnsbl_key_from(const struct sockaddr *sa, struct dnsbl_key *key)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	memset(key, 0, sizeof(*key));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		memcpy(key->addr, &sin->sin_addr, 4);
		key->family = AF_INET;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		const uint8_t *a = sin6->sin6_addr.s6_addr;
		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			memcpy(key->addr, a + 12, 4);
			key->family = AF_INET;
		} else {
			memcpy(key->addr, a, 16);
			key->family = AF_INET6;
		}
		return 0;
	}
	return -1;
}

static int
dnsbl_key_name(const struct dnsbl_key *key, const char *zone, char *out,
    size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t off = 0;
	int n;

	if (key->family == AF_INET) {
		n = snprintf(out, len, "%u.%u.%u.%u.%s", key->addr[3],
		    key->addr[2], key->addr[1], key->addr[0], zone);
		return n < 0 || (size_t)n >= len ? -1 : 0;
	}
	if (len < 64 + strlen(zone) + 1)
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[off++] = hex[key->addr[i] & 0x0f];
		out[off++] = '.';
		out[off++] = hex[key->addr[i] >> 4];
		out[off++] = '.';
	}
	memcpy(out + off, zone, strlen(zone) + 1);
	return 0;
}

int
dnsbl_query_name(const struct sockaddr *sa, const char *zone, char *out,
    size_t len)
{
	struct dnsbl_key key;

	if (dnsbl_key_from(sa, &key) < 0)
		return -1;
	return dnsbl_key_name(&key, zone, out, len);
}

/* ---- deciding ---- */

static void
dnsbl_done(struct dnsbl_check *c)
{
	for (size_t z = 0; z < c->engine->nzones; z++) {
		struct dnsbl_wait *w = &c->waits[z];
		if (w->flight != NULL) {
			LIST_REMOVE(w, entry);
			w->flight = NULL;
		}
	}
	evtimer_del(c->timer);
	c->state = DNSBL_DONE;
	event_active(c->done_ev, EV_TIMEOUT, 1);
}

/* The verdict if the answers in so far settle it; -1 if not yet. */
static int
dnsbl_decide(const struct dnsbl_check *c)
{
	const struct dnsbl *e = c->engine;
	int low = c->score, high = c->score;

	for (size_t s = 0; s < e->sites.n; s++) {
		int w = e->sites.site[s].weight;
		if (c->zstate[e->site_zone[s]] != DNSBL_Z_PENDING)
			continue;
		if (w < 0)
			low += w;
		else
			high += w;
	}
	if (low >= c->threshold)
		return DNSBL_LISTED;
	if (c->allow < 0 && high <= c->allow)
		return DNSBL_ALLOWED;
	return c->pending == 0 ? DNSBL_CLEAN : -1;
}

static void
dnsbl_maybe_done(struct dnsbl_check *c)
{
	if (c->state == DNSBL_RUNNING && !c->starting && dnsbl_decide(c) >= 0)
		dnsbl_done(c);
}

/* An answer no list gives for a listing: logged, at most once a minute
 * per zone, since a broken list would otherwise log every client. */
static void
dnsbl_warn_bogus(struct dnsbl *e, struct dnsbl_zone *z, const char *ip,
    const struct in_addr *a)
{
	char text[INET_ADDRSTRLEN];
	time_t now = e->now();

	if (z->has_warned && now - z->warned < DNSBL_WARN_EVERY)
		return;
	z->has_warned = 1;
	z->warned = now;
	if (inet_ntop(AF_INET, a, text, sizeof(text)) == NULL)
		snprintf(text, sizeof(text), "?");
	log_warn("dnsbl: %s answered %s for %s: not a listing (outside "
	    "127.0.0.0/8 or an error code of the list); misconfigured list "
	    "or resolver?", z->name, text, ip);
}

/* Zone z's answer (n addresses) for c: scores each of its sites once. */
static void
dnsbl_zone_in(struct dnsbl_check *c, unsigned z, const struct in_addr *addrs,
    size_t n, time_t expires)
{
	struct dnsbl *e = c->engine;
	const struct dnsbl_sites *sites = &e->sites;

	if (c->expires == 0 || expires < c->expires)
		c->expires = expires;
	c->zstate[z] = DNSBL_Z_IN;
	c->pending--;
	for (size_t s = 0; s < sites->n; s++) {
		const struct dnsbl_site *site = &sites->site[s];
		int listed = 0;

		if (e->site_zone[s] != z)
			continue;
		for (size_t i = 0; i < n && !listed; i++) {
			enum dnsbl_match m = dnsbl_site_match(site, &addrs[i]);
			if (m == DNSBL_MATCH_BOGUS)
				dnsbl_warn_bogus(e, &e->zones[z], c->ip,
				    &addrs[i]);
			listed = m == DNSBL_MATCH_YES;
		}
		if (!listed)
			continue;
		log_debug("dnsbl: %s lists %s (weight %d)", site->zone, c->ip,
		    site->weight);
		c->score += site->weight;
		if (site->weight > 0 && (c->heaviest < 0 ||
		    site->weight > sites->site[c->heaviest].weight))
			c->heaviest = (int)s;
	}
	dnsbl_maybe_done(c);
}

static void
dnsbl_zone_failed(struct dnsbl_check *c, unsigned z)
{
	c->zstate[z] = DNSBL_Z_FAILED;
	c->pending--;
	c->failed[c->nfailed++] = c->engine->zones[z].name;
	dnsbl_maybe_done(c);
}

/* ---- flights ---- */

static struct dnsbl_flight **
dnsbl_flight_slot(struct dnsbl *e, const struct dnsbl_key *key)
{
	struct dnsbl_flight **pp = &e->flights[dnsbl_key_hash(key, &e->key) &
	    (DNSBL_FLIGHT_BUCKETS - 1)];

	while (*pp != NULL && memcmp(&(*pp)->key, key, sizeof(*key)) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void
dnsbl_flight_unlink(struct dnsbl_flight *f)
{
	struct dnsbl_flight **pp = dnsbl_flight_slot(f->engine, &f->key);

	if (*pp != f)
		bug("dnsbl: flight not in its table");
	*pp = f->next;
	f->engine->nflights--;
}

/* How long an answer is kept: its TTL (for "not listed", that of the SOA
 * when the answer carried one, else min_ttl), clamped. */
static unsigned
dnsbl_ttl(const struct dnsbl *e, const struct dns_a_result *r)
{
	unsigned ttl = r->ttl_known ? r->ttl : e->min_ttl;

	if (ttl < e->min_ttl)
		ttl = e->min_ttl;
	if (ttl > e->max_ttl)
		ttl = e->max_ttl;
	return ttl;
}

static void
dnsbl_flight_answer(void *arg, const struct dns_a_result *r)
{
	struct dnsbl_flight *f = arg;
	struct dnsbl *e = f->engine;
	struct dnsbl_wait *w;
	unsigned z = f->key.zone;
	size_t n = r->status == DNS_OK ? r->n : 0;
	int ok = r->status == DNS_OK || r->status == DNS_NXDOMAIN ||
	    r->status == DNS_NODATA;
	time_t now = e->now();

	time_t expires = now + (time_t)dnsbl_ttl(e, r);

	dnsbl_flight_unlink(f);
	if (ok)
		dnsbl_cache_put(e->cache, &f->key, r->addr, n, expires, now);
	while ((w = LIST_FIRST(&f->waits)) != NULL) {
		struct dnsbl_check *c = w->check;

		LIST_REMOVE(w, entry);
		w->flight = NULL;
		c->from_net = 1;
		if (ok) {
			dnsbl_zone_in(c, z, r->addr, n, expires);
		} else {
			log_warn("dnsbl: %s failed for %s: %s",
			    e->zones[z].name, c->ip, dns_status_name(r->status));
			dnsbl_zone_failed(c, z);
		}
	}
	free(f);
}

/* Puts c on the flight of its address for zone z, starting one if none. */
static void
dnsbl_join(struct dnsbl_check *c, unsigned z)
{
	struct dnsbl *e = c->engine;
	struct dnsbl_key key = c->key;
	struct dnsbl_flight **slot, *f;
	char name[DNSBL_QNAME_MAX];

	key.zone = (uint8_t)z;
	slot = dnsbl_flight_slot(e, &key);
	if ((f = *slot) == NULL) {
		if (dnsbl_key_name(&key, e->zones[z].name, name,
		    sizeof(name)) < 0)
			bug("dnsbl: query name too long for %s",
			    e->zones[z].name);
		f = xcalloc(1, sizeof(*f));
		f->engine = e;
		f->key = key;
		LIST_INIT(&f->waits);
		*slot = f;
		e->nflights++;
		/* The answer comes from the loop, never from in here. */
		f->q = dns_a_ttl(e->dns, name, dnsbl_flight_answer, f);
	}
	c->waits[z].check = c;
	c->waits[z].zone = z;
	c->waits[z].flight = f;
	LIST_INSERT_HEAD(&f->waits, &c->waits[z], entry);
}

/* ---- checks ---- */

static void
dnsbl_check_free(struct dnsbl_check *c)
{
	if (c->state != DNSBL_CALLING)
		LIST_REMOVE(c, entry);
	for (size_t z = 0; z < DNSBL_SITES_MAX; z++)
		if (c->waits[z].flight != NULL)
			LIST_REMOVE(&c->waits[z], entry);
	event_free(c->timer);
	event_free(c->done_ev);
	free(c);
}

static void
dnsbl_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dnsbl_check *c = arg;
	struct dnsbl_result r;
	int v = dnsbl_decide(c);

	(void)fd;
	(void)what;
	memset(&r, 0, sizeof(r));
	r.verdict = v < 0 ? DNSBL_CLEAN : (enum dnsbl_verdict)v;
	r.score = c->score;
	r.zone = c->heaviest >= 0 ?
	    c->engine->sites.site[c->heaviest].zone : NULL;
	r.cached = !c->from_net && c->nfailed == 0;
	if (c->expires > c->engine->now())
		r.ttl = (unsigned)(c->expires - c->engine->now());
	r.nfailed = c->nfailed;
	r.failed = c->failed;
	r.ip = c->ip;
	/* Out of the engine first: the callback may free the engine. */
	LIST_REMOVE(c, entry);
	c->state = DNSBL_CALLING;
	c->fn(c->arg, &r);
	dnsbl_check_free(c);
}

/* The timeout: every zone still pending counts as not listing. */
static void
dnsbl_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct dnsbl_check *c = arg;
	struct dnsbl *e = c->engine;

	(void)fd;
	(void)what;
	for (unsigned z = 0; z < e->nzones && c->state == DNSBL_RUNNING;
	    z++) {
		struct dnsbl_wait *w = &c->waits[z];

		if (c->zstate[z] != DNSBL_Z_PENDING)
			continue;
		if (w->flight != NULL) {
			LIST_REMOVE(w, entry);
			w->flight = NULL;
		}
		if (c->timeout_ms % 1000 == 0)
			log_warn("dnsbl: %s did not answer for %s within %us",
			    e->zones[z].name, c->ip, c->timeout_ms / 1000);
		else
			log_warn("dnsbl: %s did not answer for %s within "
			    "%u.%03us", e->zones[z].name, c->ip,
			    c->timeout_ms / 1000, c->timeout_ms % 1000);
		dnsbl_zone_failed(c, z);
	}
	if (c->state == DNSBL_RUNNING)
		bug("dnsbl: undecided after the timeout");
}

struct dnsbl_check *
dnsbl_check(struct dnsbl *e, const struct sockaddr *client,
    unsigned timeout_ms, int threshold, int allow_threshold, dnsbl_fn *fn,
    void *arg)
{
	struct dnsbl_check *c;
	struct in_addr addrs[DNS_A_MAX];
	struct timeval tv = { timeout_ms / 1000, timeout_ms % 1000 * 1000 };
	time_t now = e->now();
	int n;

	if (fn == NULL)
		bug("dnsbl_check without a callback");
	c = xcalloc(1, sizeof(*c));
	if (dnsbl_key_from(client, &c->key) < 0) {
		free(c);
		return NULL;
	}
	if (inet_ntop(c->key.family, c->key.addr, c->ip, sizeof(c->ip)) ==
	    NULL)
		bug("dnsbl: inet_ntop failed");
	c->engine = e;
	c->state = DNSBL_RUNNING;
	c->timeout_ms = timeout_ms;
	c->threshold = threshold;
	c->allow = allow_threshold;
	c->fn = fn;
	c->arg = arg;
	c->heaviest = -1;
	c->pending = e->nzones;
	c->timer = evtimer_new(e->base, dnsbl_timeout, c);
	c->done_ev = event_new(e->base, -1, 0, dnsbl_deliver, c);
	if (c->timer == NULL || c->done_ev == NULL ||
	    evtimer_add(c->timer, &tv) < 0)
		fatal("dnsbl: cannot create an event");
	LIST_INSERT_HEAD(&e->checks, c, entry);
	/* Every cached answer first, so that a verdict from the cache has
	 * the whole score; only then the lookups, if still undecided. */
	c->starting = 1;
	for (unsigned z = 0; z < e->nzones; z++) {
		struct dnsbl_key key = c->key;

		key.zone = (uint8_t)z;
		time_t expires;
		if ((n = dnsbl_cache_get(e->cache, &key, now, addrs, &expires)) >= 0)
			dnsbl_zone_in(c, z, addrs, (size_t)n, expires);
	}
	c->starting = 0;
	dnsbl_maybe_done(c);
	for (unsigned z = 0; z < e->nzones && c->state == DNSBL_RUNNING; z++)
		if (c->zstate[z] == DNSBL_Z_PENDING)
			dnsbl_join(c, z);
	return c;
}

void
dnsbl_cancel(struct dnsbl_check *c)
{
	if (c == NULL || c->state == DNSBL_CALLING)
		return;
	dnsbl_check_free(c);
}

/* ---- the engine ---- */

/* Each distinct zone once; site_zone maps sites to them. */
static void
dnsbl_zones(struct dnsbl *e)
{
	for (size_t s = 0; s < e->sites.n; s++) {
		size_t z;

		for (z = 0; z < e->nzones; z++)
			if (strcmp(e->zones[z].name, e->sites.site[s].zone) == 0)
				break;
		if (z == e->nzones)
			memcpy(e->zones[e->nzones++].name,
			    e->sites.site[s].zone, sizeof(e->zones[0].name));
		e->site_zone[s] = (unsigned)z;
	}
}

struct dnsbl *
dnsbl_new(struct event_base *base, struct dns *dns,
    const struct dnsbl_sites *sites, unsigned min_ttl, unsigned max_ttl,
    size_t cache_max)
{
	struct dnsbl *e = xcalloc(1, sizeof(*e));

	if (sites->n > DNSBL_SITES_MAX)
		bug("dnsbl_new: %zu sites", sites->n);
	e->base = base;
	e->dns = dns;
	e->sites = *sites;
	e->min_ttl = min_ttl;
	e->max_ttl = max_ttl;
	e->cache = dnsbl_cache_new(cache_max > 0 ? cache_max :
	    DNSBL_CACHE_MAX);
	e->now = dnsbl_monotonic;
	siphash_key_random(&e->key);
	LIST_INIT(&e->checks);
	dnsbl_zones(e);
	return e;
}

void
dnsbl_free(struct dnsbl **ep)
{
	struct dnsbl *e = *ep;
	struct dnsbl_check *c;

	if (e == NULL)
		return;
	*ep = NULL;
	while ((c = LIST_FIRST(&e->checks)) != NULL)
		dnsbl_check_free(c);
	for (size_t i = 0; i < DNSBL_FLIGHT_BUCKETS; i++) {
		struct dnsbl_flight *f, *next;

		for (f = e->flights[i]; f != NULL; f = next) {
			next = f->next;
			dns_cancel(f->q);
			free(f);
		}
	}
	dnsbl_cache_free(&e->cache);
	free(e);
}

void
dnsbl_set_clock(struct dnsbl *e, time_t (*now)(void))
{
	e->now = now;
}

size_t
dnsbl_cache_size(const struct dnsbl *e)
{
	return dnsbl_cache_count(e->cache);
}

size_t
dnsbl_in_flight(const struct dnsbl *e)
{
	return e->nflights;
}
