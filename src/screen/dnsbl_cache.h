/*
 * The answers of the DNS lists, kept for their TTL: per (zone, client
 * address), the A records a list returned (none: not listed).  Bounded:
 * at most max entries; when full, the entry nearest its expiry goes to
 * make room (the one that would have gone first anyway).  Expired entries
 * are dropped as they reach the head of a heap ordered by expiry, a few
 * at every call, so no call ever scans the whole cache.  Lookups are a
 * hash table whose hash is keyed with a random seed, so that clients
 * cannot choose addresses that fall into one chain.  Time is whatever
 * clock the caller passes (monotonic seconds in the engine).
 */
#ifndef TERN_DNSBL_CACHE_H
#define TERN_DNSBL_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <netinet/in.h>

#define DNSBL_CACHE_MAX	100000	/* entries, the engine's default */

/* A client address (IPv4 in the first 4 bytes, the rest 0) and a zone. */
struct dnsbl_key {
	uint8_t		 addr[16];
	uint8_t		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 zone;		/* index of the zone in the engine */
};

struct dnsbl_cache;

/* The table is sized for max (>= 1) entries up front. */
struct dnsbl_cache *dnsbl_cache_new(size_t max);
void dnsbl_cache_free(struct dnsbl_cache **c);

/* The addresses stored for key and their number (0: not listed), or -1
 * when there is no live entry.  addrs_r gets at most DNS_A_MAX; expires_r
 * (may be NULL) when the entry ends. */
int dnsbl_cache_get(struct dnsbl_cache *c, const struct dnsbl_key *key,
    time_t now, struct in_addr *addrs_r, time_t *expires_r);

/* Stores (or replaces) key's answer until expires. */
void dnsbl_cache_put(struct dnsbl_cache *c, const struct dnsbl_key *key,
    const struct in_addr *addrs, size_t n, time_t expires, time_t now);

size_t dnsbl_cache_count(const struct dnsbl_cache *c);

/* The keyed hash of a key, shared with the engine's in-flight table. */
struct siphash_key;
uint64_t dnsbl_key_hash(const struct dnsbl_key *key, const struct siphash_key *k);

#endif
