/*
 * The remembered clients: see screen_cache.h.  Entries live in one array
 * of slots, found by a chained hash table (bucket heads and chain links are
 * slot numbers) and ordered by age in a doubly linked list from the oldest
 * to the youngest write.  Free slots form a list of their own.  The array
 * grows by doubling up to max, so that a small store stays small.
 *
 * The file, one entry per line, oldest first:
 *
 *     tern-screen-cache 1
 *     192.0.2.1 PASS 1796860800
 *     2001:db8::7 FAIL 1796775000 pregreet
 *
 * Every line of it is checked as if a client had sent it.
 */
#include "screen/screen_cache.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/buf.h"
#include "util/durable.h"
#include "util/log.h"
#include "util/siphash.h"
#include "util/xmalloc.h"

#define SCREEN_NIL              UINT32_MAX
#define SCREEN_SLOTS_MIN        1024
#define SCREEN_MAX_LIMIT        (UINT32_MAX / 4)
#define SCREEN_EXPIRES_MAX      ((int64_t)1 << 40)  /* far past any real clock */

struct screen_slot {
	struct screen_addr addr;
	int64_t expires;
	uint32_t hnext;                 /* in the bucket, or in the free list */
	uint32_t older, younger;        /* the age list; SCREEN_NIL at the ends */
	uint8_t verdict;                /* SCREEN_CACHE_NONE: a free slot */
	char reason[SCREEN_REASON_MAX];
};

struct screen_cache {
	struct screen_slot *slots;
	uint32_t nslots;                /* allocated, at most max */
	uint32_t *buckets;
	uint32_t nbuckets;              /* a power of two, at least nslots */
	uint32_t count, max;
	uint32_t free_head;
	uint32_t oldest, youngest;
	uint32_t sweep;                 /* where the next purge looks */
	struct siphash_key key;         /* the hash's secret */
	int dirty;
};

static uint32_t
screen_bucket(const struct screen_cache *c, const struct screen_addr *a)
{
	return (uint32_t)(siphash24(&c->key, a->b, sizeof(a->b)) &
	    (c->nbuckets - 1));
}

/* ---- addresses ---- */

int
screen_addr_parse(const char *text, struct screen_addr *a_r)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct in_addr v4;

	if (inet_pton(AF_INET6, text, a_r->b) == 1)
		return 0;
	if (inet_pton(AF_INET, text, &v4) != 1)
		return -1;
	memcpy(a_r->b, mapped, sizeof(mapped));
	memcpy(a_r->b + sizeof(mapped), &v4, sizeof(v4));
	return 0;
}

int
screen_addr_from_sockaddr(const struct sockaddr *sa, size_t len,
    struct screen_addr *a_r)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;

	if (sa->sa_family == AF_INET6 && len >= sizeof(v6)) {
		memcpy(&v6, sa, sizeof(v6));
		memcpy(a_r->b, &v6.sin6_addr, sizeof(a_r->b));
		return 0;
	}
	if (sa->sa_family == AF_INET && len >= sizeof(v4)) {
		memcpy(&v4, sa, sizeof(v4));
		memcpy(a_r->b, mapped, sizeof(mapped));
		memcpy(a_r->b + sizeof(mapped), &v4.sin_addr, 4);
		return 0;
	}
	return -1;
}

const char *
screen_addr_format(const struct screen_addr *a, char *buf, size_t len)
{
	struct in6_addr v6;
	const char *r;

	memcpy(&v6, a->b, sizeof(v6));
	if (IN6_IS_ADDR_V4MAPPED(&v6))
		r = inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
	else
		r = inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
	if (r == NULL)
		bug("screen_addr_format: buffer of %zu bytes", len);
	return buf;
}

/* ---- the table and the lists ---- */

struct screen_cache *
screen_cache_new(size_t max)
{
	struct screen_cache *c;

	if (max == 0 || max > SCREEN_MAX_LIMIT)
		bug("screen_cache_new: max %zu", max);
	c = xcalloc(1, sizeof(*c));
	siphash_key_random(&c->key);
	c->max = (uint32_t)max;
	c->free_head = c->oldest = c->youngest = SCREEN_NIL;
	return c;
}

void
screen_cache_free(struct screen_cache **cp)
{
	struct screen_cache *c = *cp;

	if (c == NULL)
		return;
	free(c->slots);
	free(c->buckets);
	free(c);
	*cp = NULL;
}

static void
screen_bucket_insert(struct screen_cache *c, uint32_t i)
{
	uint32_t b = screen_bucket(c, &c->slots[i].addr);

	c->slots[i].hnext = c->buckets[b];
	c->buckets[b] = i;
}

/* Buckets at least as many as slots, so that chains stay short. */
static void
screen_rehash(struct screen_cache *c)
{
	uint32_t n = c->nbuckets ? c->nbuckets : SCREEN_SLOTS_MIN;

	while (n < c->nslots)
		n *= 2;
	if (n == c->nbuckets)
		return;
	free(c->buckets);
	c->buckets = xreallocarray(NULL, n, sizeof(*c->buckets));
	c->nbuckets = n;
	for (uint32_t b = 0; b < n; b++)
		c->buckets[b] = SCREEN_NIL;
	for (uint32_t i = 0; i < c->nslots; i++)
		if (c->slots[i].verdict != SCREEN_CACHE_NONE)
			screen_bucket_insert(c, i);
}

/* Called only when no slot is free and fewer than max exist. */
static void
screen_grow(struct screen_cache *c)
{
	uint32_t old = c->nslots;
	uint32_t n = old == 0 ? SCREEN_SLOTS_MIN : old * 2;

	if (n > c->max)
		n = c->max;
	c->slots = xreallocarray(c->slots, n, sizeof(*c->slots));
	memset(c->slots + old, 0, (size_t)(n - old) * sizeof(*c->slots));
	for (uint32_t i = n; i-- > old; ) {
		c->slots[i].hnext = c->free_head;
		c->free_head = i;
	}
	c->nslots = n;
	screen_rehash(c);
}

static uint32_t
screen_find(const struct screen_cache *c, const struct screen_addr *a)
{
	if (c->nbuckets == 0)
		return SCREEN_NIL;
	for (uint32_t i = c->buckets[screen_bucket(c, a)]; i != SCREEN_NIL;
	    i = c->slots[i].hnext)
		if (memcmp(c->slots[i].addr.b, a->b, sizeof(a->b)) == 0)
			return i;
	return SCREEN_NIL;
}

static void
screen_age_unlink(struct screen_cache *c, uint32_t i)
{
	struct screen_slot *s = &c->slots[i];

	if (s->older != SCREEN_NIL)
		c->slots[s->older].younger = s->younger;
	else
		c->oldest = s->younger;
	if (s->younger != SCREEN_NIL)
		c->slots[s->younger].older = s->older;
	else
		c->youngest = s->older;
}

static void
screen_age_append(struct screen_cache *c, uint32_t i)
{
	struct screen_slot *s = &c->slots[i];

	s->older = c->youngest;
	s->younger = SCREEN_NIL;
	if (c->youngest != SCREEN_NIL)
		c->slots[c->youngest].younger = i;
	else
		c->oldest = i;
	c->youngest = i;
}

static void
screen_remove(struct screen_cache *c, uint32_t i)
{
	uint32_t *link = &c->buckets[screen_bucket(c, &c->slots[i].addr)];

	while (*link != i) {
		if (*link == SCREEN_NIL)
			bug("screen cache: slot %u missing from its bucket", i);
		link = &c->slots[*link].hnext;
	}
	*link = c->slots[i].hnext;
	screen_age_unlink(c, i);
	memset(&c->slots[i], 0, sizeof(c->slots[i]));
	c->slots[i].hnext = c->free_head;
	c->free_head = i;
	c->count--;
	c->dirty = 1;
}

/* A free slot, taken out of the free list: the store's oldest entry when
 * it is full. */
static uint32_t
screen_take_slot(struct screen_cache *c)
{
	uint32_t i;

	if (c->count >= c->max)
		screen_remove(c, c->oldest);
	if (c->free_head == SCREEN_NIL)
		screen_grow(c);
	i = c->free_head;
	c->free_head = c->slots[i].hnext;
	return i;
}

/* reason into dst, cut and with only [A-Za-z0-9._-] in it. */
static void
screen_reason_copy(char dst[SCREEN_REASON_MAX], const char *reason)
{
	size_t n = 0;

	for (; reason[n] != '\0' && n + 1 < SCREEN_REASON_MAX; n++) {
		unsigned char ch = (unsigned char)reason[n];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-';
		dst[n] = ok ? (char)ch : '_';
	}
	dst[n] = '\0';
}

static void
screen_put(struct screen_cache *c, const struct screen_addr *a,
    enum screen_cache_verdict verdict, const char *reason, time_t expires)
{
	uint32_t i = screen_find(c, a);
	struct screen_slot *s;

	if (i != SCREEN_NIL) {
		screen_age_unlink(c, i);
	} else {
		i = screen_take_slot(c);
		c->slots[i].addr = *a;
		screen_bucket_insert(c, i);
		c->count++;
	}
	screen_age_append(c, i);
	s = &c->slots[i];
	s->verdict = (uint8_t)verdict;
	s->expires = (int64_t)expires;
	screen_reason_copy(s->reason, reason);
	if (verdict == SCREEN_CACHE_FAIL && s->reason[0] == '\0')
		snprintf(s->reason, sizeof(s->reason), "unknown");
	c->dirty = 1;
}

void
screen_cache_put_pass(struct screen_cache *c, const struct screen_addr *a,
    time_t expires)
{
	screen_put(c, a, SCREEN_CACHE_PASS, "", expires);
}

void
screen_cache_put_fail(struct screen_cache *c, const struct screen_addr *a,
    const char *reason, time_t expires)
{
	screen_put(c, a, SCREEN_CACHE_FAIL, reason, expires);
}

int
screen_cache_lookup(struct screen_cache *c, const struct screen_addr *a,
    time_t now, struct screen_entry *e_r)
{
	uint32_t i = screen_find(c, a);
	const struct screen_slot *s;

	if (i == SCREEN_NIL)
		return 0;
	s = &c->slots[i];
	if (s->expires <= (int64_t)now) {
		screen_remove(c, i);
		return 0;
	}
	if (e_r != NULL) {
		e_r->verdict = (enum screen_cache_verdict)s->verdict;
		memcpy(e_r->reason, s->reason, sizeof(e_r->reason));
		e_r->expires = (time_t)s->expires;
	}
	return 1;
}

size_t
screen_cache_purge(struct screen_cache *c, time_t now, size_t budget)
{
	size_t removed = 0;

	for (size_t n = 0; n < budget && n < c->nslots; n++) {
		uint32_t i = c->sweep;

		c->sweep = (c->sweep + 1) % c->nslots;
		if (c->slots[i].verdict != SCREEN_CACHE_NONE &&
		    c->slots[i].expires <= (int64_t)now) {
			screen_remove(c, i);
			removed++;
		}
	}
	return removed;
}

void
screen_cache_set_max(struct screen_cache *c, size_t max)
{
	if (max == 0 || max > SCREEN_MAX_LIMIT)
		bug("screen_cache_set_max: max %zu", max);
	while (c->count > max)
		screen_remove(c, c->oldest);
	/* Slots already made stay; no more are made past the new bound. */
	c->max = (uint32_t)max;
}

size_t
screen_cache_count(const struct screen_cache *c)
{
	return c->count;
}

int
screen_cache_dirty(const struct screen_cache *c)
{
	return c->dirty;
}

/* ---- the file ---- */

enum screen_line {
	SCREEN_LINE_OK,
	SCREEN_LINE_BAD,        /* too long or holding a NUL: skipped whole */
	SCREEN_LINE_CUT,        /* the last line, without its LF */
	SCREEN_LINE_EOF,
	SCREEN_LINE_ERROR,
};

/* One line into line (size bytes), without its LF.  A line that does not
 * fit is read to its end and thrown away, so memory stays bounded. */
static enum screen_line
screen_read_line(FILE *f, char *line, size_t size)
{
	size_t len = 0;
	int ch, bad = 0;

	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if (ch == '\0' || len + 1 >= size)
			bad = 1;
		else
			line[len++] = (char)ch;
	}
	line[len] = '\0';
	if (ch == EOF) {
		if (ferror(f))
			return SCREEN_LINE_ERROR;
		if (len == 0 && !bad)
			return SCREEN_LINE_EOF;
		/* A file cut short (it never is by save, which renames a
		 * whole one): its last entry may have lost digits. */
		return SCREEN_LINE_CUT;
	}
	return bad ? SCREEN_LINE_BAD : SCREEN_LINE_OK;
}

/* Strict decimal: digits only, 1 to SCREEN_EXPIRES_MAX. */
static int
screen_parse_expires(const char *s, int64_t *r)
{
	int64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > SCREEN_EXPIRES_MAX)
			return -1;
	}
	*r = n;
	return n > 0 ? 0 : -1;
}

static int
screen_reason_valid(const char *reason)
{
	char copy[SCREEN_REASON_MAX];
	size_t len = strlen(reason);

	if (len == 0 || len >= SCREEN_REASON_MAX)
		return 0;
	screen_reason_copy(copy, reason);
	return strcmp(copy, reason) == 0;
}

/* Splits line at single spaces into at most max words.  The count, or
 * max + 1 when there are more. */
static size_t
screen_split(char *line, char **words, size_t max)
{
	size_t n = 0;

	for (char *p = line; ; ) {
		if (n == max)
			return max + 1;
		words[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			return n;
		*p++ = '\0';
	}
}

/* "addr PASS expires" or "addr FAIL expires reason". 0, or -1 if bad. */
static int
screen_parse_line(char *line, struct screen_addr *a, struct screen_entry *e)
{
	char *w[4];
	size_t n = screen_split(line, w, 4);
	int64_t expires;

	if (n < 3 || n > 4 || screen_addr_parse(w[0], a) < 0 ||
	    screen_parse_expires(w[2], &expires) < 0)
		return -1;
	if (strcmp(w[1], "PASS") == 0 && n == 3) {
		e->verdict = SCREEN_CACHE_PASS;
		e->reason[0] = '\0';
	} else if (strcmp(w[1], "FAIL") == 0 && n == 4 &&
	    screen_reason_valid(w[3])) {
		e->verdict = SCREEN_CACHE_FAIL;
		memcpy(e->reason, w[3], strlen(w[3]) + 1);
	} else {
		return -1;
	}
	e->expires = (time_t)expires;
	return 0;
}

/* One line of the file after its first. */
static void
screen_load_entry(struct screen_cache *c, char *line, time_t now,
    time_t max_ttl, struct screen_cache_stats *st)
{
	struct screen_addr a;
	struct screen_entry e;

	if (screen_parse_line(line, &a, &e) < 0) {
		st->bad++;
		return;
	}
	if (e.expires <= now) {
		st->expired++;
		return;
	}
	if (e.expires - now > max_ttl)
		e.expires = now + max_ttl;
	screen_put(c, &a, e.verdict, e.reason, e.expires);
	st->loaded++;
}

int
screen_cache_load(struct screen_cache *c, const char *dir, const char *name,
    time_t now, time_t max_ttl, struct screen_cache_stats *stats_r)
{
	struct screen_cache_stats st = { 0, 0, 0 };
	char path[4096], line[SCREEN_CACHE_LINE_MAX + 1];
	enum screen_line r;
	int header_ok = -1, rc = 0, n;
	FILE *f;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		errno = ENAMETOOLONG;
		rc = -1;
	} else if ((f = fopen(path, "re")) == NULL) {
		rc = errno == ENOENT ? 0 : -1;
	} else {
		while ((r = screen_read_line(f, line, sizeof(line))) !=
		    SCREEN_LINE_EOF && r != SCREEN_LINE_ERROR) {
			if (header_ok < 0)
				header_ok = r == SCREEN_LINE_OK &&
				    strcmp(line, SCREEN_CACHE_VERSION) == 0;
			else if (r != SCREEN_LINE_OK || !header_ok)
				st.bad++;
			else
				screen_load_entry(c, line, now, max_ttl, &st);
		}
		if (header_ok == 0)
			st.bad++;       /* the first line, not ours */
		if (r == SCREEN_LINE_ERROR)
			rc = -1;
		int saved = errno;
		fclose(f);
		errno = saved;
	}
	c->dirty = 0;
	if (stats_r != NULL)
		*stats_r = st;
	return rc;
}

int
screen_cache_save(struct screen_cache *c, const char *dir, const char *name,
    time_t now)
{
	char ip[INET6_ADDRSTRLEN];
	struct buf out;
	int rc;

	/* Each line is far below SCREEN_CACHE_LINE_MAX. */
	buf_init(&out, ((size_t)c->count + 1) * SCREEN_CACHE_LINE_MAX);
	if (buf_appendf(&out, "%s\n", SCREEN_CACHE_VERSION) < 0)
		bug("screen_cache_save: header does not fit");
	for (uint32_t i = c->oldest; i != SCREEN_NIL; i = c->slots[i].younger) {
		const struct screen_slot *s = &c->slots[i];

		if (s->expires <= (int64_t)now)
			continue;
		if (buf_appendf(&out, "%s %s %lld%s%s\n",
		    screen_addr_format(&s->addr, ip, sizeof(ip)),
		    s->verdict == SCREEN_CACHE_PASS ? "PASS" : "FAIL",
		    (long long)s->expires, s->reason[0] ? " " : "",
		    s->reason) < 0)
			bug("screen_cache_save: a line does not fit");
	}
	rc = durable_replace(dir, name, out.data, out.len);
	if (rc == 0)
		c->dirty = 0;
	int saved = errno;
	buf_free(&out);
	errno = saved;
	return rc;
}
