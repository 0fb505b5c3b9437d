/*
 * Clients counted by address prefix: see client_table.h.  The addresses
 * come from accept(), so from the kernel, but their choice is the
 * client's: they are hashed with a random key, and the table's size is
 * capped.  Every operation is O(1) (a chain of a hash bucket, the head
 * of the idle list); the table doubles its buckets as it grows.
 */
#include "net/client_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/siphash.h"
#include "util/xmalloc.h"

#define CLIENT_BUCKETS_MIN      64
#define CLIENT_EXPIRE_PER_ADMIT 16      /* idle entries freed per admission */
#define CLIENT_RATE_MAX         1000000 /* keeps the interval above 0 us */

struct client_entry {
	struct client_entry *next;              /* in its bucket */
	struct client_entry *idle_prev, *idle_next;
	struct client_key key;
	uint64_t hash;
	unsigned count;                         /* connections open */
	int idle;                               /* on the idle list */
	/* The bucket's theoretical arrival time (GCRA), in us: the bucket
	 * is full again at tat, one token comes back per interval. */
	uint64_t tat;
};

struct client_table {
	struct siphash_key key;
	struct client_entry **buckets;
	size_t nbuckets;                        /* a power of 2 */
	size_t nentries, max_entries;
	struct client_entry *idle_head, *idle_tail; /* oldest first */
};

/* ---- keys ---- */

int
client_key_from_ip(const char *ip, unsigned v6_prefix, struct client_key *k_r)
{
	static const uint8_t mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
	uint8_t a[16];

	memset(k_r, 0, sizeof(*k_r));
	if (inet_pton(AF_INET, ip, a) == 1) {
		k_r->family = 4;
		memcpy(k_r->addr, a, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1 || v6_prefix < 1 || v6_prefix > 128)
		return -1;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		k_r->family = 4;
		memcpy(k_r->addr, a + 12, 4);
		return 0;
	}
	k_r->family = 6;
	memcpy(k_r->addr, a, v6_prefix / 8);
	if (v6_prefix % 8 != 0)
		k_r->addr[v6_prefix / 8] = a[v6_prefix / 8] &
		    (uint8_t)(0xff << (8 - v6_prefix % 8));
	return 0;
}

static uint64_t
client_hash(const struct client_table *t, const struct client_key *k)
{
	uint8_t raw[1 + sizeof(k->addr)];

	raw[0] = k->family;
	memcpy(raw + 1, k->addr, sizeof(k->addr));
	return siphash24(&t->key, raw, sizeof(raw));
}

/* ---- the table ---- */

struct client_table *
client_table_new(size_t max_entries)
{
	struct client_table *t = xcalloc(1, sizeof(*t));

	siphash_key_random(&t->key);
	t->max_entries = max_entries > 0 ? max_entries : 1;
	t->nbuckets = CLIENT_BUCKETS_MIN;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	return t;
}

void
client_table_free(struct client_table **tp)
{
	struct client_table *t = *tp;

	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct client_entry *e = t->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	free(t);
	*tp = NULL;
}

/* More entries than buckets: twice the buckets, the entries moved by the
 * hash they keep. */
static void
client_table_grow(struct client_table *t)
{
	size_t n = t->nbuckets * 2;
	struct client_entry **b;

	if (t->nentries <= t->nbuckets || n > SIZE_MAX / sizeof(*b))
		return;
	b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct client_entry *e = t->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

static struct client_entry *
client_table_find(const struct client_table *t, const struct client_key *k,
    uint64_t hash)
{
	struct client_entry *e = t->buckets[hash & (t->nbuckets - 1)];

	for (; e != NULL; e = e->next)
		if (e->hash == hash && e->key.family == k->family &&
		    memcmp(e->key.addr, k->addr, sizeof(k->addr)) == 0)
			return e;
	return NULL;
}

static void
client_idle_unlink(struct client_table *t, struct client_entry *e)
{
	if (!e->idle)
		return;
	if (e->idle_prev != NULL)
		e->idle_prev->idle_next = e->idle_next;
	else
		t->idle_head = e->idle_next;
	if (e->idle_next != NULL)
		e->idle_next->idle_prev = e->idle_prev;
	else
		t->idle_tail = e->idle_prev;
	e->idle_prev = e->idle_next = NULL;
	e->idle = 0;
}

static void
client_idle_append(struct client_table *t, struct client_entry *e)
{
	e->idle = 1;
	e->idle_next = NULL;
	e->idle_prev = t->idle_tail;
	if (t->idle_tail != NULL)
		t->idle_tail->idle_next = e;
	else
		t->idle_head = e;
	t->idle_tail = e;
}

static void
client_table_remove(struct client_table *t, struct client_entry *e)
{
	struct client_entry **pp = &t->buckets[e->hash & (t->nbuckets - 1)];

	while (*pp != e) {
		if (*pp == NULL)
			bug("client table: an entry not in its bucket");
		pp = &(*pp)->next;
	}
	*pp = e->next;
	client_idle_unlink(t, e);
	t->nentries--;
	free(e);
}

void
client_table_expire(struct client_table *t, uint64_t now_ms, size_t max)
{
	uint64_t now = now_ms * 1000;

	/* Oldest idle first: each entry's bucket is full at most a window
	 * after its last connection, so a head not yet full holds the
	 * others back by less than a minute. */
	while (max-- > 0 && t->idle_head != NULL && t->idle_head->tat <= now)
		client_table_remove(t, t->idle_head);
}

/* A new entry for k, making room when the table is full; NULL when every
 * entry holds a live connection. */
static struct client_entry *
client_table_add(struct client_table *t, const struct client_key *k,
    uint64_t hash)
{
	struct client_entry *e;

	if (t->nentries >= t->max_entries) {
		if (t->idle_head == NULL)
			return NULL;
		client_table_remove(t, t->idle_head);
	}
	e = xcalloc(1, sizeof(*e));
	e->key = *k;
	e->hash = hash;
	e->next = t->buckets[hash & (t->nbuckets - 1)];
	t->buckets[hash & (t->nbuckets - 1)] = e;
	t->nentries++;
	client_table_grow(t);
	return e;
}

/* The rate check, in us: the bucket is empty when refilling it would take
 * past a whole window.  0 and the token taken, or -1 with the count of
 * the connections the bucket holds. */
static int
client_rate_take(struct client_entry *e, unsigned rate, uint64_t now,
    unsigned *count_r)
{
	uint64_t window = (uint64_t)CLIENT_RATE_WINDOW_MS * 1000;
	uint64_t interval, tat;

	if (rate == 0)
		return 0;
	if (rate > CLIENT_RATE_MAX)
		rate = CLIENT_RATE_MAX;
	interval = window / rate;
	tat = e->tat > now ? e->tat : now;
	if (tat - now > window - interval) {
		*count_r = (unsigned)((tat - now + interval - 1) / interval);
		return -1;
	}
	e->tat = tat + interval;
	return 0;
}

enum client_verdict
client_table_admit(struct client_table *t, const struct client_key *k,
    const struct client_limits *lim, uint64_t now_ms,
    struct client_admission *a_r)
{
	uint64_t hash = client_hash(t, k), now = now_ms * 1000;
	struct client_entry *e;

	memset(a_r, 0, sizeof(*a_r));
	a_r->verdict = CLIENT_UNTRACKED;
	if (lim->max_conns == 0 && lim->rate == 0)
		return a_r->verdict;
	client_table_expire(t, now_ms, CLIENT_EXPIRE_PER_ADMIT);
	if ((e = client_table_find(t, k, hash)) == NULL &&
	    (e = client_table_add(t, k, hash)) == NULL)
		return a_r->verdict;
	if (lim->max_conns != 0 && e->count >= lim->max_conns) {
		a_r->verdict = CLIENT_TOO_MANY;
		a_r->count = e->count;
		a_r->limit = lim->max_conns;
		return a_r->verdict;
	}
	if (client_rate_take(e, lim->rate, now, &a_r->count) < 0) {
		a_r->verdict = CLIENT_TOO_FAST;
		a_r->limit = lim->rate;
		return a_r->verdict;
	}
	client_idle_unlink(t, e);
	e->count++;
	a_r->verdict = CLIENT_ADMITTED;
	a_r->entry = e;
	a_r->count = e->count;
	return a_r->verdict;
}

void
client_table_release(struct client_table *t, struct client_entry **ep,
    uint64_t now_ms)
{
	struct client_entry *e = *ep;

	if (e == NULL)
		return;
	*ep = NULL;
	if (e->count == 0)
		bug("client table: a release without its admission");
	if (--e->count > 0)
		return;
	if (e->tat <= now_ms * 1000)
		client_table_remove(t, e);
	else
		client_idle_append(t, e);
}

size_t
client_table_size(const struct client_table *t)
{
	return t->nentries;
}

uint64_t
client_table_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime: CLOCK_MONOTONIC unavailable");
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct client_entry *
client_table_entry(struct client_table *t, const struct client_key *k)
{
	struct client_entry *e = client_table_find(t, k, client_hash(t, k));

	return e != NULL && e->count > 0 ? e : NULL;
}

unsigned
client_table_count(const struct client_table *t, const struct client_key *k)
{
	struct client_entry *e = client_table_find(t, k, client_hash(t, k));

	return e != NULL ? e->count : 0;
}
