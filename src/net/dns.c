/*
 * Asynchronous DNS: see dns.h.  c-ares speaks the protocol; this file ties
 * its sockets and timeouts into libevent and turns its answers into what
 * delivery needs.  Trusts c-ares to parse packets within their bounds (and
 * to refuse names with bytes a host name cannot hold); trusts nothing in
 * the answers themselves: names are checked again, lower-cased and their
 * lengths capped, counts capped.
 *
 * A query's life: RUNNING while c-ares has it (one lookup for MX, two for
 * A and AAAA), DONE once its result is stored and its event made active,
 * CALLING while the callback runs from that event; freed when it returns.
 * The c-ares callbacks only store results, so no user code ever runs
 * inside c-ares, and every user callback comes from the loop.
 */
#include "net/dns.h"

#include <sys/queue.h>
#include <sys/random.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns_int.h"
#include "net/hostport.h"
#include "util/log.h"
#include "util/xmalloc.h"

const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NULL_MX:
		return "null-mx";
	case DNS_NO_MX:
		return "no-mx";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	}
	return "unknown";
}

/* ---- the loop: c-ares's sockets and timer as libevent events ---- */

void
dns_timer_update(struct dns *dns)
{
	struct timeval tv, *tvp;

	if (dns->dying)
		return;
	if ((tvp = ares_timeout(dns->channel, NULL, &tv)) == NULL) {
		evtimer_del(dns->timer);
		return;
	}
	/* Without its timer a lookup would never time out. */
	if (evtimer_add(dns->timer, tvp) < 0)
		fatal("dns: cannot arm the timer");
}

static void
dns_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *dns = arg;

	(void)fd;
	(void)what;
	ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_timer_update(dns);
}

/* The argument is dns, not the dns_sock: c-ares may close the socket (and
 * so free its dns_sock) inside ares_process_fd. */
static void
dns_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns *dns = arg;

	ares_process_fd(dns->channel,
	    (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	dns_timer_update(dns);
}

static void
dns_sock_free(struct dns_sock *s)
{
	LIST_REMOVE(s, entry);
	if (s->ev != NULL)
		event_free(s->ev);
	free(s);
}

/* c-ares opened a socket, changed what it waits for, or is closing it. */
static void
dns_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns *dns = data;
	struct dns_sock *s;
	short what;

	LIST_FOREACH(s, &dns->socks, entry)
		if (s->fd == fd)
			break;
	if (!readable && !writable) {
		if (s != NULL)
			dns_sock_free(s);
		return;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->fd = fd;
		LIST_INSERT_HEAD(&dns->socks, s, entry);
	} else if (s->ev != NULL) {
		event_free(s->ev);
	}
	what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	s->ev = event_new(dns->base, fd, what, dns_sock_cb, dns);
	/* Unwatched, the lookups on this socket end at their timeout. */
	if (s->ev == NULL || event_add(s->ev, NULL) < 0)
		log_error("dns: cannot watch socket %d", (int)fd);
}

/* ---- queries ---- */

/* A name c-ares could send: 1..253 characters (and a final dot), labels of
 * 1..63, no blanks, controls or escapes. */
int
dns_qname_ok(const char *name)
{
	size_t len = strnlen(name, DNS_QNAME_MAX + 2), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_QNAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (c <= ' ' || c >= 0x7f || c == '\\' || ++label > 63)
			return 0;
	}
	return label > 0;
}

static void dns_deliver(evutil_socket_t, short, void *);

struct dns_query *
dns_query_new(struct dns *dns, enum dns_kind kind, const char *name,
    void *arg)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));

	q->dns = dns;
	q->kind = kind;
	q->state = DNS_Q_RUNNING;
	q->arg = arg;
	q->status = DNS_TEMPFAIL;
	snprintf(q->name, sizeof(q->name), "%s", name);
	if ((q->done_ev = event_new(dns->base, -1, 0, dns_deliver, q)) == NULL)
		fatal("dns: cannot create an event");
	TAILQ_INSERT_TAIL(&dns->queries, q, entry);
	return q;
}

static void
dns_query_free(struct dns_query *q)
{
	if (q->state != DNS_Q_CALLING)
		TAILQ_REMOVE(&q->dns->queries, q, entry);
	event_free(q->done_ev);
	free(q);
}

/* The result is complete: hand it to the loop. */
void
dns_query_done(struct dns_query *q)
{
	if (q->kind == DNS_KIND_ADDRS) {
		/* Addresses of either family are enough to go on with; a
		 * failure of one family is temporary before it is final. */
		if (q->n4 + q->n6 > 0)
			q->status = DNS_OK;
		else if (q->st4 == DNS_TEMPFAIL || q->st6 == DNS_TEMPFAIL)
			q->status = DNS_TEMPFAIL;
		else if (q->st4 == DNS_NXDOMAIN || q->st6 == DNS_NXDOMAIN)
			q->status = DNS_NXDOMAIN;
		else
			q->status = DNS_NODATA;
	}
	q->state = DNS_Q_DONE;
	event_active(q->done_ev, EV_TIMEOUT, 1);
}

/* A c-ares lookup of q came back.  1 when q is not to be answered (the
 * dns is going, q was cancelled): then it has been freed if this was its
 * last lookup. */
int
dns_lookup_back(struct dns_query *q, int status)
{
	q->running--;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED ||
	    q->dns->dying || q->cancelled) {
		if (q->running == 0)
			dns_query_free(q);
		return 1;
	}
	return 0;
}

static enum dns_status
dns_ares_status(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	default:
		return DNS_TEMPFAIL;
	}
}

static void
dns_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dns_query *q = arg;

	(void)fd;
	(void)what;
	/* Out of the list first: the callback may cancel other queries or
	 * free the dns, and neither must touch q. */
	TAILQ_REMOVE(&q->dns->queries, q, entry);
	q->state = DNS_Q_CALLING;
	if (q->kind == DNS_KIND_MX) {
		q->mx_fn(q->arg, q->status, q->r.mx, q->n);
	} else if (q->kind == DNS_KIND_ADDRS) {
		memmove(&q->r.addrs[q->n4], &q->r.addrs[DNS_ADDRS_FAMILY_MAX],
		    q->n6 * sizeof(q->r.addrs[0]));
		q->n = q->n4 + q->n6;
		q->addr_fn(q->arg, q->status, q->r.addrs, q->n);
	} else {
		q->a_fn(q->arg, &q->r.a);
	}
	dns_query_free(q);
}

void
dns_cancel(struct dns_query *q)
{
	if (q == NULL)
		return;
	switch (q->state) {
	case DNS_Q_RUNNING:
		/* c-ares cannot drop one lookup: its answer frees q. */
		q->cancelled = 1;
		q->mx_fn = NULL;
		q->addr_fn = NULL;
		q->a_fn = NULL;
		break;
	case DNS_Q_DONE:
		dns_query_free(q);	/* event_free takes it off the loop */
		break;
	case DNS_Q_CALLING:
		break;
	}
}

/* ---- MX ---- */

struct dns_mx_cand {
	unsigned	 pref;
	uint32_t	 key;		/* random: the order among equals */
	const char	*host;
};

static void
dns_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t r;

	while (len > 0) {
		if ((r = getrandom(p, len, 0)) < 0) {
			if (errno == EINTR)
				continue;
			fatal("dns: getrandom: %s", strerror(errno));
		}
		p += r;
		len -= (size_t)r;
	}
}

static int
dns_mx_cmp(const void *a, const void *b)
{
	const struct dns_mx_cand *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->host, y->host);
}

/* The root, which c-ares writes as "" (RFC 7505's "."). */
static int
dns_is_root(const char *host)
{
	return host[0] == '\0' || strcmp(host, ".") == 0;
}

static void
dns_mx_copy(struct dns_mx *out, const struct dns_mx_cand *c)
{
	size_t len = strlen(c->host), i;

	if (len > 0 && c->host[len - 1] == '.')
		len--;
	for (i = 0; i < len && i < DNS_NAME_MAX; i++)
		out->host[i] = (char)tolower((unsigned char)c->host[i]);
	out->host[i] = '\0';
	out->pref = c->pref;
}

/* Sorts by preference, equal ones at random (RFC 5321 5.1), and keeps the
 * DNS_MX_MAX best.  The list is as long as the packet allows (at most a
 * few thousand records in 64 KB over TCP), so sorting it all is bounded. */
enum dns_status
dns_mx_reply_parse(const char *name, const unsigned char *abuf, int alen,
    struct dns_mx mx_r[DNS_MX_MAX], size_t *n_r)
{
	struct ares_mx_reply *list = NULL, *mx;
	struct dns_mx_cand *cand = NULL;
	size_t count = 0, n = 0;
	enum dns_status st;
	char esc[80], qesc[80];
	int r;

	*n_r = 0;
	/* An answer without MX records (a CNAME alone) is no MX. */
	if ((r = ares_parse_mx_reply(abuf, alen, &list)) != ARES_SUCCESS)
		return r == ARES_ENODATA ? DNS_NO_MX : DNS_TEMPFAIL;
	for (mx = list; mx != NULL; mx = mx->next)
		count++;
	if (count == 0) {
		st = DNS_NO_MX;
		goto done;
	}
	cand = xcalloc(count, sizeof(*cand));
	for (mx = list; mx != NULL; mx = mx->next) {
		/* RFC 7505 wants a null MX alone, at preference 0.  Found
		 * among others, or at another preference, it still says what
		 * the domain's owner meant: no mail.  Delivering to the
		 * other hosts would second-guess a misconfiguration. */
		if (dns_is_root(mx->host)) {
			st = DNS_NULL_MX;
			goto done;
		}
		/* A host we could not look up next (DNS_QNAME_MAX is
		 * below DNS_NAME_MAX). */
		if (!dns_qname_ok(mx->host)) {
			log_warn("dns: MX of %s: ignoring bad host '%s'",
			    log_escape(qesc, sizeof(qesc), name,
			    strlen(name)), log_escape(esc, sizeof(esc),
			    mx->host, strlen(mx->host)));
			continue;
		}
		cand[n].pref = mx->priority;
		cand[n].host = mx->host;
		n++;
	}
	if (n == 0) {
		/* Only broken hosts: the owner may fix them, and the queue
		 * lifetime bounds the wait, as with Postfix. */
		st = DNS_TEMPFAIL;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		dns_random(&cand[i].key, sizeof(cand[i].key));
	qsort(cand, n, sizeof(cand[0]), dns_mx_cmp);
	*n_r = n < DNS_MX_MAX ? n : DNS_MX_MAX;
	for (size_t i = 0; i < *n_r; i++)
		dns_mx_copy(&mx_r[i], &cand[i]);
	st = DNS_OK;
done:
	free(cand);
	ares_free_data(list);
	return st;
}

static enum dns_status
dns_mx_parse(struct dns_query *q, int status, const unsigned char *abuf,
    int alen)
{
	enum dns_status st;

	if (status != ARES_SUCCESS) {
		st = dns_ares_status(status);
		return st == DNS_NODATA ? DNS_NO_MX : st;
	}
	return dns_mx_reply_parse(q->name, abuf, alen, q->r.mx, &q->n);
}

static void
dns_mx_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;

	(void)timeouts;
	if (dns_lookup_back(q, status))
		return;
	q->status = dns_mx_parse(q, status, abuf, alen);
	dns_query_done(q);
}

struct dns_query *
dns_mx(struct dns *dns, const char *domain, dns_mx_fn *fn, void *arg)
{
	struct dns_query *q;

	if (fn == NULL)
		bug("dns_mx without a callback");
	q = dns_query_new(dns, DNS_KIND_MX, domain, arg);
	q->mx_fn = fn;
	/* A name that cannot be sent cannot exist: c-ares would call it
	 * EBADNAME, a temporary error retried for days for nothing. */
	if (!dns_qname_ok(domain)) {
		q->status = DNS_NXDOMAIN;
		dns_query_done(q);
		return q;
	}
	q->running = 1;
	ares_query(dns->channel, domain, ns_c_in, ns_t_mx, dns_mx_answer, q);
	dns_timer_update(dns);
	return q;
}

/* ---- A and AAAA ---- */

static void
dns_a_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;
	struct ares_addrttl ttl[DNS_ADDRS_FAMILY_MAX];
	int n = DNS_ADDRS_FAMILY_MAX, r;

	(void)timeouts;
	if (dns_lookup_back(q, status))
		return;
	q->st4 = dns_ares_status(status);
	if (status == ARES_SUCCESS) {
		r = ares_parse_a_reply(abuf, alen, NULL, ttl, &n);
		q->st4 = dns_ares_status(r);
		for (int i = 0; r == ARES_SUCCESS && i < n &&
		    i < DNS_ADDRS_FAMILY_MAX; i++) {
			struct dns_addr *a = &q->r.addrs[q->n4++];
			struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;

			memset(a, 0, sizeof(*a));
			sin->sin_family = AF_INET;
			sin->sin_addr = ttl[i].ipaddr;
			a->len = sizeof(*sin);
		}
		if (q->st4 == DNS_OK && q->n4 == 0)
			q->st4 = DNS_NODATA;
	}
	if (q->running == 0)
		dns_query_done(q);
}

static void
dns_aaaa_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;
	struct ares_addr6ttl ttl[DNS_ADDRS_FAMILY_MAX];
	int n = DNS_ADDRS_FAMILY_MAX, r;

	(void)timeouts;
	if (dns_lookup_back(q, status))
		return;
	q->st6 = dns_ares_status(status);
	if (status == ARES_SUCCESS) {
		r = ares_parse_aaaa_reply(abuf, alen, NULL, ttl, &n);
		q->st6 = dns_ares_status(r);
		for (int i = 0; r == ARES_SUCCESS && i < n &&
		    i < DNS_ADDRS_FAMILY_MAX; i++) {
			struct dns_addr *a =
			    &q->r.addrs[DNS_ADDRS_FAMILY_MAX + q->n6++];
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;

			memset(a, 0, sizeof(*a));
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, &ttl[i].ip6addr,
			    sizeof(sin6->sin6_addr));
			a->len = sizeof(*sin6);
		}
		if (q->st6 == DNS_OK && q->n6 == 0)
			q->st6 = DNS_NODATA;
	}
	if (q->running == 0)
		dns_query_done(q);
}

/* An IP literal: its own address, no lookup. */
static int
dns_addr_literal(struct dns_query *q, const char *host)
{
	struct dns_addr *a4 = &q->r.addrs[0];
	struct dns_addr *a6 = &q->r.addrs[DNS_ADDRS_FAMILY_MAX];
	struct sockaddr_in *sin = (struct sockaddr_in *)&a4->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a6->sa;

	memset(a4, 0, sizeof(*a4));
	memset(a6, 0, sizeof(*a6));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		a4->len = sizeof(*sin);
		q->n4 = 1;
		return 1;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		a6->len = sizeof(*sin6);
		q->n6 = 1;
		return 1;
	}
	return 0;
}

struct dns_query *
dns_addrs(struct dns *dns, const char *host, dns_addr_fn *fn, void *arg)
{
	struct dns_query *q;

	if (fn == NULL)
		bug("dns_addrs without a callback");
	q = dns_query_new(dns, DNS_KIND_ADDRS, host, arg);
	q->addr_fn = fn;
	q->st4 = q->st6 = DNS_NODATA;
	if (dns_addr_literal(q, host)) {
		dns_query_done(q);
		return q;
	}
	if (!dns_qname_ok(host)) {
		q->st4 = q->st6 = DNS_NXDOMAIN;
		dns_query_done(q);
		return q;
	}
	/* Both counted before either starts: c-ares may answer the first
	 * from inside ares_query. */
	q->running = 2;
	ares_query(dns->channel, host, ns_c_in, ns_t_a, dns_a_answer, q);
	ares_query(dns->channel, host, ns_c_in, ns_t_aaaa, dns_aaaa_answer, q);
	dns_timer_update(dns);
	return q;
}

/* ---- the resolver ---- */

/* dns_servers into c-ares nodes linked in order; 0 servers means
 * /etc/resolv.conf. */
static int
dns_servers_parse(const char *servers, struct ares_addr_port_node *nodes,
    size_t *n_r, char *err, size_t errlen)
{
	char spec[HOSTPORT_SPEC_MAX], host[HOSTPORT_HOST_MAX];
	const char *p = servers != NULL ? servers : "", *why;
	struct ares_addr_port_node *node;
	unsigned port;
	int r;

	*n_r = 0;
	while ((r = hostport_list_next(&p, spec)) != 0) {
		port = 53;
		if (r < 0 || hostport_parse_ip(spec, host, &port, &why) < 0) {
			snprintf(err, errlen, "bad DNS server '%.100s': %s",
			    spec, r < 0 ? "too long" : why);
			return -1;
		}
		if (*n_r == DNS_SERVERS_MAX) {
			snprintf(err, errlen, "more than %d DNS servers",
			    DNS_SERVERS_MAX);
			return -1;
		}
		node = &nodes[*n_r];
		memset(node, 0, sizeof(*node));
		if (inet_pton(AF_INET, host, &node->addr.addr4) == 1)
			node->family = AF_INET;
		else if (inet_pton(AF_INET6, host, &node->addr.addr6) == 1)
			node->family = AF_INET6;
		else {
			snprintf(err, errlen, "bad DNS server '%.100s'", spec);
			return -1;
		}
		node->udp_port = node->tcp_port = (int)port;
		if (*n_r > 0)
			nodes[*n_r - 1].next = node;
		(*n_r)++;
	}
	return 0;
}

struct dns *
dns_new_timeout(struct event_base *base, const char *servers, int timeout_ms,
    int tries, char *err, size_t errlen)
{
	struct ares_addr_port_node nodes[DNS_SERVERS_MAX];
	struct ares_options o;
	char lookups[] = "b";	/* DNS only, never /etc/hosts */
	struct dns *dns;
	size_t nservers;
	int r, have_channel = 0;

	if (timeout_ms <= 0 || tries <= 0) {
		snprintf(err, errlen, "DNS timeout and tries must be positive");
		return NULL;
	}
	if (dns_servers_parse(servers, nodes, &nservers, err, errlen) < 0)
		return NULL;
	if ((r = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(r));
		return NULL;
	}
	dns = xcalloc(1, sizeof(*dns));
	dns->base = base;
	LIST_INIT(&dns->socks);
	TAILQ_INIT(&dns->queries);
	if ((dns->timer = evtimer_new(base, dns_timer_cb, dns)) == NULL) {
		snprintf(err, errlen, "cannot create the DNS timer");
		goto fail;
	}
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES;
	o.timeout = timeout_ms;
	o.tries = tries;
	o.lookups = lookups;
	o.sock_state_cb = dns_sock_state;
	o.sock_state_cb_data = dns;
	r = ares_init_options(&dns->channel, &o, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS |
	    ARES_OPT_SOCK_STATE_CB);
	if (r != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(r));
		goto fail;
	}
	have_channel = 1;
	if (nservers > 0 &&
	    (r = ares_set_servers_ports(dns->channel, nodes)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: DNS servers: %s",
		    ares_strerror(r));
		goto fail;
	}
	return dns;
fail:
	if (have_channel)
		ares_destroy(dns->channel);
	if (dns->timer != NULL)
		event_free(dns->timer);
	free(dns);
	ares_library_cleanup();
	return NULL;
}

struct dns *
dns_new(struct event_base *base, const char *servers, char *err,
    size_t errlen)
{
	return dns_new_timeout(base, servers, DNS_TIMEOUT_MS, DNS_TRIES, err,
	    errlen);
}

/*
 * No callback runs after this: ares_destroy ends every lookup still at
 * c-ares with ARES_EDESTRUCTION, and dns_lookup_back frees those queries
 * without answering them; the queries already DONE are freed with their
 * event, which takes them off the loop.  A query whose callback is running
 * (dns_free called from it) is out of the list and freed by dns_deliver.
 */
void
dns_free(struct dns **dnsp)
{
	struct dns *dns = *dnsp;
	struct dns_query *q;
	struct dns_sock *s;

	if (dns == NULL)
		return;
	*dnsp = NULL;
	dns->dying = 1;
	ares_destroy(dns->channel);
	while ((q = TAILQ_FIRST(&dns->queries)) != NULL)
		dns_query_free(q);
	while ((s = LIST_FIRST(&dns->socks)) != NULL)
		dns_sock_free(s);
	event_free(dns->timer);
	free(dns);
	ares_library_cleanup();
}
