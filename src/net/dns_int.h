/*
 * The resolver's insides, shared by dns.c (the loop, MX and addresses) and
 * dns_a.c (A lookups with their TTLs, for the DNS lists) so that each
 * kind of query has its own file and all of them the same life: see the
 * top of dns.c.  Nothing outside src/net/dns*.c includes this.
 */
#ifndef TERN_DNS_INT_H
#define TERN_DNS_INT_H

#include <sys/queue.h>

#include <ares.h>

#include "net/dns.h"

struct event;

/* The longest name in presentation form, without its final dot. */
#define DNS_QNAME_MAX	253

enum dns_kind {
	DNS_KIND_MX,
	DNS_KIND_ADDRS,
	DNS_KIND_A_TTL,		/* dns_a.c */
};

enum dns_qstate {
	DNS_Q_RUNNING,		/* c-ares lookups outstanding */
	DNS_Q_DONE,		/* result stored, done_ev active */
	DNS_Q_CALLING,		/* callback running, out of dns->queries */
};

struct dns_query {
	TAILQ_ENTRY(dns_query)	 entry;
	struct dns		*dns;
	enum dns_kind		 kind;
	enum dns_qstate		 state;
	int			 running;	/* c-ares lookups not back yet */
	int			 cancelled;
	struct event		*done_ev;
	char			 name[DNS_QNAME_MAX + 2];	/* for logs */
	dns_mx_fn		*mx_fn;
	dns_addr_fn		*addr_fn;
	dns_a_fn		*a_fn;
	void			*arg;
	enum dns_status		 status;
	enum dns_status		 st4, st6;	/* each family of dns_addrs */
	size_t			 n, n4, n6;
	union {
		struct dns_mx	 mx[DNS_MX_MAX];
		/* IPv4 in [0, n4), IPv6 from DNS_ADDRS_FAMILY_MAX; moved
		 * together before the callback. */
		struct dns_addr	 addrs[DNS_ADDRS_MAX];
		struct dns_a_result a;	/* DNS_KIND_A_TTL */
	} r;
};

struct dns_sock {
	LIST_ENTRY(dns_sock)	 entry;
	ares_socket_t		 fd;
	struct event		*ev;
};

struct dns {
	struct event_base	*base;
	ares_channel		 channel;
	struct event		*timer;		/* c-ares's next timeout */
	LIST_HEAD(, dns_sock)	 socks;
	TAILQ_HEAD(, dns_query)	 queries;	/* RUNNING and DONE */
	int			 dying;
};

void dns_timer_update(struct dns *dns);
/* A name c-ares could send (see dns.c). */
int dns_qname_ok(const char *name);
struct dns_query *dns_query_new(struct dns *dns, enum dns_kind kind,
    const char *name, void *arg);
void dns_query_done(struct dns_query *q);
int dns_lookup_back(struct dns_query *q, int status);

#endif
