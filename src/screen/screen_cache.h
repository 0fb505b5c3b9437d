/*
 * The screen's remembered clients: one verdict per client IP address (PASS,
 * or FAIL with a short reason), each until its expiry in wall-clock seconds,
 * kept in memory and saved to a file in state_dir so that it survives a
 * restart.  Bounded: past max entries the oldest is dropped, "oldest" being
 * the least recently written (a put moves an entry to the young end; a
 * lookup does not).  Expired entries read as absent and are removed by
 * screen_cache_purge() a few at a time, never by a scan per connection.
 *
 * Trusts nothing in the file: each line is checked and a bad one skipped
 * and counted; a line longer than SCREEN_CACHE_LINE_MAX is skipped whole;
 * the file carries no counts to believe.  The hash table is keyed with a
 * random secret, so that clients who choose their addresses (a whole IPv6
 * /64) cannot pile them into one bucket.
 */
#ifndef TERN_SCREEN_CACHE_H
#define TERN_SCREEN_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "screen/screen_proto.h"       /* SCREEN_REASON_MAX */

#define SCREEN_CACHE_FILE       "screen.cache"
#define SCREEN_CACHE_VERSION    "tern-screen-cache 1"
#define SCREEN_CACHE_LINE_MAX   128     /* a line of the file, LF included */

enum screen_cache_verdict {
	SCREEN_CACHE_NONE = 0,        /* not remembered (or expired) */
	SCREEN_CACHE_PASS,
	SCREEN_CACHE_FAIL,
};

/* A client address: IPv6, or IPv4 as ::ffff:a.b.c.d, so that one client
 * is one key however the socket spelled it. */
struct screen_addr {
	uint8_t b[16];
};

struct screen_entry {
	enum screen_cache_verdict verdict;
	char reason[SCREEN_REASON_MAX]; /* "" for PASS */
	time_t expires;
};

/* What a load found; bad lines were skipped, expired ones dropped. */
struct screen_cache_stats {
	size_t loaded;
	size_t expired;
	size_t bad;
};

struct screen_cache;

/* An empty store of at most max entries (max >= 1). */
struct screen_cache *screen_cache_new(size_t max);
void screen_cache_free(struct screen_cache **cp);

/* A numeric address as inet_ntop writes it ("192.0.2.1", "2001:db8::1",
 * "::ffff:192.0.2.1").  0, or -1 when text is no address. */
int screen_addr_parse(const char *text, struct screen_addr *a_r);
/* The address of an accepted socket (AF_INET or AF_INET6).  0, or -1
 * for another family or a short len. */
struct sockaddr;
int screen_addr_from_sockaddr(const struct sockaddr *sa, size_t len,
    struct screen_addr *a_r);
/* The address in text, IPv4 as a.b.c.d; buf of at least 46 bytes. */
const char *screen_addr_format(const struct screen_addr *a, char *buf,
    size_t len);

/* 1 with the entry in e_r (may be NULL), or 0 when the client is not
 * remembered at now; an expired entry is removed on the way. */
int screen_cache_lookup(struct screen_cache *c, const struct screen_addr *a,
    time_t now, struct screen_entry *e_r);
/* Remembers a as passed, or failed for reason ("pregreet", "dnsbl",
 * "non-smtp-command", "pipelining", "bare-lf"; cut to SCREEN_REASON_MAX - 1
 * bytes, any byte outside [A-Za-z0-9._-] written as '_'), until expires.
 * Replaces what was there; the entry becomes the youngest.  A full store
 * drops its oldest entry first. */
void screen_cache_put_pass(struct screen_cache *c, const struct screen_addr *a,
    time_t expires);
void screen_cache_put_fail(struct screen_cache *c, const struct screen_addr *a,
    const char *reason, time_t expires);
/* Looks at no more than budget entries, going on where the last call
 * stopped, and removes those expired at now: called with a small budget on
 * a timer, it sweeps the whole store every size / budget calls.  Returns
 * how many it removed. */
size_t screen_cache_purge(struct screen_cache *c, time_t now, size_t budget);

/* A new bound (a reload of screen_cache_size): the oldest entries go
 * until the store fits (max >= 1). */
void screen_cache_set_max(struct screen_cache *c, size_t max);

size_t screen_cache_count(const struct screen_cache *c);
/* 1 when something changed since the last load or save. */
int screen_cache_dirty(const struct screen_cache *c);

/* Reads dir/name into c, oldest first, as screen_cache_save wrote it: an
 * entry expired at now is dropped, one that would outlive now + max_ttl
 * is cut to it (a clock that ran ahead, a damaged file).  A missing file
 * is an empty store.  0, or -1 (errno) when the file cannot be read;
 * stats_r (may be NULL) counts what was found either way. */
int screen_cache_load(struct screen_cache *c, const char *dir,
    const char *name, time_t now, time_t max_ttl,
    struct screen_cache_stats *stats_r);
/* Writes every live entry at now to dir/name, oldest first: a temporary
 * file, fsync, rename, fsync of dir, so that the file is always whole.
 * 0, or -1 (errno); the store is clean after a success. */
int screen_cache_save(struct screen_cache *c, const char *dir,
    const char *name, time_t now);

#endif
