/*
 * The DNS list answer cache: see dnsbl_cache.h.  Two views of the same
 * entries: chains of a hash table for lookups, and a binary heap by
 * expiry for purging and for making room.  Each entry knows its place in
 * the heap, so removing any one is O(log n).  Trusts its caller for the
 * key; bounds the number of addresses it copies.
 */
#include "screen/dnsbl_cache.h"

#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/xmalloc.h"

/* Expired entries dropped per call at most: enough to outrun the puts,
 * few enough that no call takes long. */
#define DNSBL_PURGE_STEP	8

struct dnsbl_entry {
	struct dnsbl_entry	*next;		/* in its chain */
	struct dnsbl_key	 key;
	time_t			 expires;
	size_t			 heap;		/* index in c->heap */
	size_t			 n;
	struct in_addr		 addrs[];
};

struct dnsbl_cache {
	size_t			 max, count;
	size_t			 mask;		/* buckets - 1 */
	struct siphash_key	 key;		/* of the hash */
	struct dnsbl_entry	**buckets;
	struct dnsbl_entry	**heap;		/* count entries */
};

uint64_t
dnsbl_key_hash(const struct dnsbl_key *key, const struct siphash_key *k)
{
	uint8_t raw[2 + sizeof(key->addr)];

	raw[0] = key->family;
	raw[1] = key->zone;
	memcpy(raw + 2, key->addr, sizeof(key->addr));
	return siphash24(k, raw, sizeof(raw));
}

static int
dnsbl_key_eq(const struct dnsbl_key *a, const struct dnsbl_key *b)
{
	return a->family == b->family && a->zone == b->zone &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

struct dnsbl_cache *
dnsbl_cache_new(size_t max)
{
	struct dnsbl_cache *c = xcalloc(1, sizeof(*c));
	size_t buckets = 16;

	if (max == 0)
		bug("dnsbl_cache_new: no room");
	while (buckets < max && buckets < ((size_t)1 << 24))
		buckets *= 2;
	c->max = max;
	c->mask = buckets - 1;
	siphash_key_random(&c->key);
	c->buckets = xcalloc(buckets, sizeof(*c->buckets));
	c->heap = xcalloc(max, sizeof(*c->heap));
	return c;
}

void
dnsbl_cache_free(struct dnsbl_cache **cp)
{
	struct dnsbl_cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	for (size_t i = 0; i < c->count; i++)
		free(c->heap[i]);
	free(c->heap);
	free(c->buckets);
	free(c);
}

size_t
dnsbl_cache_count(const struct dnsbl_cache *c)
{
	return c->count;
}

/* ---- the heap, by expiry ---- */

static void
dnsbl_heap_set(struct dnsbl_cache *c, size_t i, struct dnsbl_entry *e)
{
	c->heap[i] = e;
	e->heap = i;
}

static void
dnsbl_heap_up(struct dnsbl_cache *c, size_t i)
{
	struct dnsbl_entry *e = c->heap[i];

	while (i > 0 && c->heap[(i - 1) / 2]->expires > e->expires) {
		dnsbl_heap_set(c, i, c->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	dnsbl_heap_set(c, i, e);
}

static void
dnsbl_heap_down(struct dnsbl_cache *c, size_t i)
{
	struct dnsbl_entry *e = c->heap[i];
	size_t child;

	while ((child = 2 * i + 1) < c->count) {
		if (child + 1 < c->count &&
		    c->heap[child + 1]->expires < c->heap[child]->expires)
			child++;
		if (c->heap[child]->expires >= e->expires)
			break;
		dnsbl_heap_set(c, i, c->heap[child]);
		i = child;
	}
	dnsbl_heap_set(c, i, e);
}

/* ---- entries ---- */

static struct dnsbl_entry **
dnsbl_chain(struct dnsbl_cache *c, const struct dnsbl_key *key)
{
	return &c->buckets[dnsbl_key_hash(key, &c->key) & c->mask];
}

/* Out of its chain and of the heap, and freed. */
static void
dnsbl_entry_drop(struct dnsbl_cache *c, struct dnsbl_entry *e)
{
	struct dnsbl_entry **pp = dnsbl_chain(c, &e->key);
	size_t i = e->heap;

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	c->count--;
	if (i != c->count) {
		/* The last entry fills the hole, then finds its place. */
		struct dnsbl_entry *last = c->heap[c->count];

		dnsbl_heap_set(c, i, last);
		dnsbl_heap_up(c, i);
		dnsbl_heap_down(c, last->heap);
	}
	free(e);
}

static void
dnsbl_purge(struct dnsbl_cache *c, time_t now)
{
	for (int i = 0; i < DNSBL_PURGE_STEP && c->count > 0 &&
	    c->heap[0]->expires <= now; i++)
		dnsbl_entry_drop(c, c->heap[0]);
}

static struct dnsbl_entry *
dnsbl_find(struct dnsbl_cache *c, const struct dnsbl_key *key)
{
	struct dnsbl_entry *e;

	for (e = *dnsbl_chain(c, key); e != NULL; e = e->next)
		if (dnsbl_key_eq(&e->key, key))
			return e;
	return NULL;
}

int
dnsbl_cache_get(struct dnsbl_cache *c, const struct dnsbl_key *key,
    time_t now, struct in_addr *addrs_r, time_t *expires_r)
{
	struct dnsbl_entry *e;

	dnsbl_purge(c, now);
	if ((e = dnsbl_find(c, key)) == NULL)
		return -1;
	if (e->expires <= now) {
		dnsbl_entry_drop(c, e);
		return -1;
	}
	memcpy(addrs_r, e->addrs, e->n * sizeof(e->addrs[0]));
	if (expires_r != NULL)
		*expires_r = e->expires;
	return (int)e->n;
}

void
dnsbl_cache_put(struct dnsbl_cache *c, const struct dnsbl_key *key,
    const struct in_addr *addrs, size_t n, time_t expires, time_t now)
{
	struct dnsbl_entry *e, **chain;

	dnsbl_purge(c, now);
	if ((e = dnsbl_find(c, key)) != NULL)
		dnsbl_entry_drop(c, e);
	if (c->count == c->max)
		dnsbl_entry_drop(c, c->heap[0]);
	if (n > DNS_A_MAX)
		n = DNS_A_MAX;
	e = xmalloc(sizeof(*e) + n * sizeof(e->addrs[0]));
	e->key = *key;
	e->expires = expires;
	e->n = n;
	if (n > 0)
		memcpy(e->addrs, addrs, n * sizeof(e->addrs[0]));
	chain = dnsbl_chain(c, key);
	e->next = *chain;
	*chain = e;
	dnsbl_heap_set(c, c->count++, e);
	dnsbl_heap_up(c, e->heap);
}
