/*
 * Asynchronous DNS for outbound delivery (MX and address lookups) and for
 * the screen's DNS lists (A lookups with their TTLs, dns_a.c) through
 * c-ares, driven by a libevent loop (no thread, no polling).
 *
 * Every answer comes from the network and is treated as such: counts and
 * name lengths are bounded, names are checked before they are handed on.
 * Callbacks always run from the event loop, never from inside dns_mx() or
 * dns_addrs(), so a caller may start a query while holding state it has
 * not finished setting up.
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stddef.h>
#include <sys/socket.h>

#include <netinet/in.h>

struct event_base;
struct dns;
struct dns_query;

#define DNS_NAME_MAX	255	/* a host name, without its trailing dot */
#define DNS_MX_MAX	16	/* MX hosts kept, the best preferences */
#define DNS_ADDRS_FAMILY_MAX 16	/* addresses kept of each family */
#define DNS_ADDRS_MAX	(2 * DNS_ADDRS_FAMILY_MAX)
#define DNS_SERVERS_MAX	16	/* entries in dns_servers */
#define DNS_A_MAX	16	/* addresses kept of an A answer (dns_a_ttl) */

/* Defaults of dns_new(): c-ares doubles the timeout on each round, so one
 * lookup gives up after timeout * (2^tries - 1) per server: 15 s with one
 * server, 30 s with two. */
#define DNS_TIMEOUT_MS	5000
#define DNS_TRIES	2

enum dns_status {
	DNS_OK,			/* n >= 1 results */
	DNS_NULL_MX,		/* RFC 7505: the domain accepts no mail */
	DNS_NO_MX,		/* the domain exists, without MX: use its A/AAAA */
	DNS_NXDOMAIN,		/* no such name (or one that cannot exist) */
	DNS_NODATA,		/* the name exists, without an address */
	DNS_TEMPFAIL,		/* timeout, SERVFAIL, refused, any other error */
};

struct dns_mx {
	unsigned	 pref;
	char		 host[DNS_NAME_MAX + 1];	/* lower case, no final dot */
};

struct dns_addr {
	struct sockaddr_storage	 sa;	/* port 0: the caller sets it */
	socklen_t		 len;
};

/* The results are valid only during the call. */
typedef void dns_mx_fn(void *arg, enum dns_status status,
    const struct dns_mx *mx, size_t n);
typedef void dns_addr_fn(void *arg, enum dns_status status,
    const struct dns_addr *addrs, size_t n);

/* servers is the dns_servers setting: "" for /etc/resolv.conf, else "ip",
 * "ip:port" or "[ipv6]:port" separated by commas or spaces, asked in that
 * order.  NULL with err filled when it is bad or c-ares cannot start. */
struct dns *dns_new(struct event_base *base, const char *servers, char *err,
    size_t errlen);
/* The same with another timeout per try (ms) and number of tries. */
struct dns *dns_new_timeout(struct event_base *base, const char *servers,
    int timeout_ms, int tries, char *err, size_t errlen);

/* Ends every pending query without calling its callback; the handles of
 * those queries are invalid afterwards.  May be called from a callback. */
void dns_free(struct dns **dns);

/* MX records of domain, sorted by preference, equal ones in random order
 * (RFC 5321 5.1).  At most DNS_MX_MAX are kept.  A name that cannot exist
 * in the DNS (empty, a label over 63, blanks) is DNS_NXDOMAIN without a
 * lookup, as is the same for dns_addrs().  Never NULL. */
struct dns_query *dns_mx(struct dns *dns, const char *domain, dns_mx_fn *fn,
    void *arg);

/* The MX answer (abuf, alen) to a query for name, as dns_mx() hands it on:
 * DNS_OK with the best hosts in mx_r and their number in *n_r, or
 * DNS_NO_MX, DNS_NULL_MX, DNS_TEMPFAIL.  Apart for the fuzzer. */
enum dns_status dns_mx_reply_parse(const char *name, const unsigned char *abuf,
    int alen, struct dns_mx mx_r[DNS_MX_MAX], size_t *n_r);

/* A and AAAA of host: the IPv4 addresses first, then the IPv6 ones, each
 * in the order of the answer.  An IP literal is answered without DNS (but
 * still from the loop).  When only one family answers, its addresses are
 * DNS_OK even if the other family failed.  Never NULL. */
struct dns_query *dns_addrs(struct dns *dns, const char *host,
    dns_addr_fn *fn, void *arg);

/* An A answer with what a cache needs (dns_a.c): DNS_OK with n >= 1
 * addresses and ttl, the least of their TTLs; DNS_NXDOMAIN or DNS_NODATA,
 * with ttl_known and ttl when the authority section held an SOA (RFC 2308:
 * the lesser of its TTL and its minimum field); DNS_TEMPFAIL for every
 * other outcome (timeout, SERVFAIL, a packet that does not parse).  TTLs
 * with the top bit set count as 0 (RFC 2181 8). */
struct dns_a_result {
	enum dns_status	 status;
	size_t		 n;
	struct in_addr	 addr[DNS_A_MAX];	/* in the order of the answer */
	unsigned	 ttl;
	int		 ttl_known;
};

typedef void dns_a_fn(void *arg, const struct dns_a_result *r);

/* The A records of name, asked as it stands (no search, no literal).  A
 * name that cannot exist is DNS_NXDOMAIN without a lookup.  Never NULL;
 * the callback rule and dns_cancel() are those of the other lookups. */
struct dns_query *dns_a_ttl(struct dns *dns, const char *name, dns_a_fn *fn,
    void *arg);

/* The answer packet (abuf, alen) to an A query, as dns_a_ttl() hands it
 * on.  Apart for the fuzzer. */
void dns_a_reply_parse(const unsigned char *abuf, int alen,
    struct dns_a_result *r);

/* After this the query's callback is never called and q is invalid.  Safe
 * from any callback, including q's own (then it does nothing); NULL is
 * ignored. */
void dns_cancel(struct dns_query *q);

const char *dns_status_name(enum dns_status s);

#endif
