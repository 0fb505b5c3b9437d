/*
 * The DNS blocklist engine of the port-25 screen: asks every site of
 * screen_dnsbl_sites about a client, in parallel, through the resolver
 * (net/dns.h) on the caller's libevent loop, and says as early as the
 * answers allow whether the client is LISTED, ALLOWED or CLEAN.
 *
 * The score is the sum of the weights of the sites that list the client,
 * each site once however many records it returns.  LISTED: score >=
 * threshold, decided as soon as the sites still pending could not pull it
 * back under (their negative weights).  ALLOWED: allowlisting is on
 * (allow_threshold < 0) and score <= allow_threshold, decided as soon as
 * the pending sites' positive weights could not lift it back over.
 * CLEAN: every site in, neither.  A site that has not answered by the
 * check's timeout, or whose lookup failed, counts as not listing and is
 * logged.
 *
 * Answers (listed or not) are cached per (zone, address) for their TTL,
 * clamped to [min_ttl, max_ttl]; sites sharing a zone share its query;
 * concurrent checks of one address share one query per zone.  IPv4-mapped
 * IPv6 clients are asked about as IPv4.
 *
 * Trusts the resolver to hand over at most DNS_A_MAX addresses; trusts
 * nothing in them: each is matched by dnsbl_site_match(), and answers that
 * no list gives for a listing are logged (at most once a minute per zone)
 * and ignored.
 */
#ifndef TERN_DNSBL_H
#define TERN_DNSBL_H

#include <stddef.h>
#include <time.h>

#include <sys/socket.h>

#include "screen/dnsbl_site.h"

struct dns;
struct dnsbl;
struct dnsbl_check;
struct event_base;

enum dnsbl_verdict {
	DNSBL_CLEAN,
	DNSBL_LISTED,
	DNSBL_ALLOWED,
};

struct dnsbl_result {
	enum dnsbl_verdict	 verdict;
	int			 score;		/* of the sites that answered */
	/* The listing site of the largest positive weight (the first of
	 * equals): the ZONE of "blocked using ZONE"; NULL when none. */
	const char		*zone;
	int			 cached;	/* decided from cached answers alone */
	/* Seconds until the first of the answers it used ends: a verdict
	 * that rests on them holds that long; 0 when none came. */
	unsigned		 ttl;
	size_t			 nfailed;	/* zones without an answer */
	const char *const	*failed;	/* their names */
	const char		*ip;		/* the client, as text */
};

/* Runs once per check, from the loop, never from inside dnsbl_check().
 * The result and its strings are valid only during the call; the check
 * is freed when it returns (dnsbl_cancel() on it then does nothing). */
typedef void dnsbl_fn(void *arg, const struct dnsbl_result *r);

/* sites is copied.  Answers live for their TTL within [min_ttl, max_ttl]
 * seconds (max_ttl wins when below min_ttl); at most cache_max answers are
 * kept (0: DNSBL_CACHE_MAX).  dns must outlive the engine. */
struct dnsbl *dnsbl_new(struct event_base *base, struct dns *dns,
    const struct dnsbl_sites *sites, unsigned min_ttl, unsigned max_ttl,
    size_t cache_max);

/* Ends every check without calling back.  Safe from a callback. */
void dnsbl_free(struct dnsbl **engine);

/* Starts a check of client (AF_INET or AF_INET6; the port is ignored).
 * timeout_ms bounds the wait for every site (the caller keeps it within
 * the greeting wait's end plus 2 s).  threshold >= 1; allow_threshold <= 0,
 * 0 meaning off.  With no sites the verdict is CLEAN.  NULL only for an
 * address family other than those two. */
struct dnsbl_check *dnsbl_check(struct dnsbl *engine,
    const struct sockaddr *client, unsigned timeout_ms, int threshold,
    int allow_threshold, dnsbl_fn *fn, void *arg);

/* After this the check's callback never runs.  NULL is ignored. */
void dnsbl_cancel(struct dnsbl_check *check);

/* The name asked of zone about sa: "4.3.2.1.zone" for 1.2.3.4, the 32
 * nibbles reversed for IPv6 (RFC 5782 2.4).  0, or -1 when it does not
 * fit in len or the family is neither. */
int dnsbl_query_name(const struct sockaddr *sa, const char *zone, char *out,
    size_t len);

/* For tests: the clock of the cache, in seconds (default: monotonic). */
void dnsbl_set_clock(struct dnsbl *engine, time_t (*now)(void));

/* For tests and logs: answers cached, queries in flight. */
size_t dnsbl_cache_size(const struct dnsbl *engine);
size_t dnsbl_in_flight(const struct dnsbl *engine);

const char *dnsbl_verdict_name(enum dnsbl_verdict v);

#endif
