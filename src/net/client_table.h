/*
 * Clients counted by address prefix: how many connections each client
 * holds open, and how fast it opens new ones.  A client is its address
 * cut to a prefix: an IPv4 address whole (/32), an IPv6 address to its
 * first N bits (/64 by default: one site's network is one client, or a
 * host could take a new address per connection).  An IPv4-mapped IPv6
 * address is the IPv4 address.  Used by smtpd and by the port-25 screen.
 *
 * The rate is a token bucket (kept in its GCRA form, one time stamp per
 * client): a client may open `rate` connections at once, then one every
 * 60/rate seconds; "rate per minute" holds over any minute, sliding.  A
 * refused connection takes no token, so a client that backs off gets in
 * again as soon as its minute allows.
 *
 * Memory follows the active clients: an entry lives while its client
 * holds a connection or its bucket is not yet full again (at most a
 * minute after its last connection), and is freed then.  The table holds
 * at most max_entries; when it is full the entry idle longest (no
 * connection open, only its rate memory) makes room.  When every entry
 * holds a live connection, a new client is admitted untracked rather
 * than refused: refusing would let whoever fills the table (IPv6 /64s
 * are cheap) lock every new client out, while admitted ones still meet
 * the session limit.  Lookups are a hash table keyed with a random
 * SipHash key, so that no client can choose addresses that collide.
 *
 * A connection another process has already admitted (one the screen
 * passes to smtpd) is counted without a check with limits { UINT_MAX, 0 }:
 * never refused, no token taken.
 *
 * Trusts its caller for the time (a monotonic clock, in milliseconds,
 * never going back) and for releasing each tracked entry exactly once.
 */
#ifndef TERN_CLIENT_TABLE_H
#define TERN_CLIENT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define CLIENT_TABLE_MAX        100000  /* entries: see above */
#define CLIENT_RATE_WINDOW_MS   60000   /* the rate's "per minute" */

/* A client: its address family (4 or 6) and its address cut to the
 * prefix, the rest zero. */
struct client_key {
	uint8_t family;
	uint8_t addr[16];
};

/* The limits one admission is checked against; 0 turns one off. */
struct client_limits {
	unsigned max_conns;     /* connections open at once */
	unsigned rate;          /* new connections per minute */
};

enum client_verdict {
	CLIENT_ADMITTED,        /* counted: release its entry when it ends */
	CLIENT_UNTRACKED,       /* admitted, not counted (limits off, or full) */
	CLIENT_TOO_MANY,        /* max_conns open already */
	CLIENT_TOO_FAST,        /* rate used up */
};

struct client_entry;
struct client_table;

struct client_admission {
	enum client_verdict verdict;
	struct client_entry *entry;     /* CLIENT_ADMITTED only, else NULL */
	unsigned count;         /* connections open, or of the last minute */
	unsigned limit;         /* the limit that refused */
};

/* The key of a numeric address as inet_ntop writes it; IPv6 cut to
 * v6_prefix bits (1 to 128).  0, or -1 when ip is not an address. */
int client_key_from_ip(const char *ip, unsigned v6_prefix,
    struct client_key *k_r);

/* An empty table of at most max_entries clients (at least 1). */
struct client_table *client_table_new(size_t max_entries);
void client_table_free(struct client_table **t);

/* Checks a new connection of k against lim at now_ms: the open
 * connections first, then the rate.  Counts it when admitted. */
enum client_verdict client_table_admit(struct client_table *t,
    const struct client_key *k, const struct client_limits *lim,
    uint64_t now_ms, struct client_admission *a_r);

/* A connection admitted with *e ended; *e is set to NULL (NULL: no-op). */
void client_table_release(struct client_table *t, struct client_entry **e,
    uint64_t now_ms);

/* Frees the entries idle (no connection, bucket full) the longest,
 * at most max of them; admit does it too, a few at a time. */
void client_table_expire(struct client_table *t, uint64_t now_ms,
    size_t max);

/* Entries held, and the open connections of k (tests, logs). */
size_t client_table_size(const struct client_table *t);
/* The clock the callers pass in: monotonic milliseconds. */
uint64_t client_table_now_ms(void);

/* The entry of k while it counts a connection, or NULL: to release one
 * that was admitted here and handed to another process, which tells
 * when it ends. */
struct client_entry *client_table_entry(struct client_table *t,
    const struct client_key *k);
unsigned client_table_count(const struct client_table *t,
    const struct client_key *k);

#endif
