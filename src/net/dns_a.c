/*
 * A lookups with their TTLs, for the DNS lists of the screen: the
 * addresses a list returns and how long the answer may be kept, listed or
 * not.  The query's life is the resolver's (dns.c, dns_int.h).
 *
 * The packet is hostile.  The A records go through c-ares's parser, which
 * follows CNAMEs and checks the question; the negative TTL of an NXDOMAIN
 * or NODATA answer needs the SOA of the authority section, which c-ares
 * does not hand out, so this file walks the packet itself: every read is
 * checked against the packet's length first, names are skipped label by
 * label (a pointer ends a name; nothing is followed), and each record
 * consumes at least 11 bytes, so the walk ends within the packet whatever
 * its counts say.
 */
#include "net/dns_int.h"

#include <arpa/nameser.h>
#include <stdint.h>
#include <string.h>

#include "util/log.h"

#define DNS_HEADER_LEN	12
#define DNS_TYPE_SOA	6
#define DNS_CLASS_IN	1

/* A TTL as RFC 2181 8 reads it: the top bit set means 0. */
static unsigned
dns_a_ttl_value(uint32_t ttl)
{
	return (ttl & 0x80000000u) ? 0 : (unsigned)ttl;
}

static uint32_t
dns_a_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static unsigned
dns_a_get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | (unsigned)p[1];
}

/* The offset after the name at off, or -1 when it runs off the packet. */
static long
dns_a_skip_name(const unsigned char *abuf, long alen, long off)
{
	while (off < alen) {
		unsigned len = abuf[off];

		if ((len & 0xc0) == 0xc0)
			return off + 2 <= alen ? off + 2 : -1;
		if ((len & 0xc0) != 0)
			return -1;		/* reserved label types */
		if (len == 0)
			return off + 1;
		off += 1 + (long)len;
	}
	return -1;
}

/* Skips one record at *off; its type, TTL, rdata offset and length. */
static int
dns_a_record(const unsigned char *abuf, long alen, long *off,
    unsigned *type_r, unsigned *class_r, uint32_t *ttl_r, long *rdata_r,
    unsigned *rdlen_r)
{
	long p = dns_a_skip_name(abuf, alen, *off);

	if (p < 0 || alen - p < 10)
		return -1;
	*type_r = dns_a_get16(abuf + p);
	*class_r = dns_a_get16(abuf + p + 2);
	*ttl_r = dns_a_get32(abuf + p + 4);
	*rdlen_r = dns_a_get16(abuf + p + 8);
	*rdata_r = p + 10;
	if (alen - *rdata_r < (long)*rdlen_r)
		return -1;
	*off = *rdata_r + (long)*rdlen_r;
	return 0;
}

/* The negative TTL of RFC 2308 5 from the first SOA of the authority
 * section: the lesser of its own TTL and its minimum field.  0 or -1. */
static int
dns_a_soa_ttl(const unsigned char *abuf, long alen, unsigned *ttl_r)
{
	unsigned qd, an, ns, type, class, rdlen;
	long off = DNS_HEADER_LEN, rdata, p;
	uint32_t ttl, min;

	if (alen < DNS_HEADER_LEN)
		return -1;
	qd = dns_a_get16(abuf + 4);
	an = dns_a_get16(abuf + 6);
	ns = dns_a_get16(abuf + 8);
	for (unsigned i = 0; i < qd; i++) {
		if ((off = dns_a_skip_name(abuf, alen, off)) < 0 ||
		    alen - off < 4)
			return -1;
		off += 4;
	}
	for (unsigned i = 0; i < an + ns; i++) {
		if (dns_a_record(abuf, alen, &off, &type, &class, &ttl, &rdata,
		    &rdlen) < 0)
			return -1;
		if (i < an || type != DNS_TYPE_SOA || class != DNS_CLASS_IN)
			continue;
		/* MNAME and RNAME, then five 32-bit fields, minimum last;
		 * all of it inside the record's own rdata. */
		if ((p = dns_a_skip_name(abuf, rdata + rdlen, rdata)) < 0 ||
		    (p = dns_a_skip_name(abuf, rdata + rdlen, p)) < 0 ||
		    rdata + (long)rdlen - p < 20)
			return -1;
		min = dns_a_get32(abuf + p + 16);
		ttl = dns_a_ttl_value(ttl) < dns_a_ttl_value(min) ? ttl : min;
		*ttl_r = dns_a_ttl_value(ttl);
		return 0;
	}
	return -1;
}

static void
dns_a_negative(const unsigned char *abuf, int alen, enum dns_status st,
    struct dns_a_result *r)
{
	r->status = st;
	r->ttl_known = dns_a_soa_ttl(abuf, alen, &r->ttl) == 0;
	if (!r->ttl_known)
		r->ttl = 0;
}

void
dns_a_reply_parse(const unsigned char *abuf, int alen,
    struct dns_a_result *r)
{
	struct ares_addrttl ttls[DNS_A_MAX];
	int n = DNS_A_MAX, rc;

	memset(r, 0, sizeof(*r));
	r->status = DNS_TEMPFAIL;
	if (abuf == NULL || alen < DNS_HEADER_LEN)
		return;
	switch (abuf[3] & 0x0f) {
	case ns_r_nxdomain:
		dns_a_negative(abuf, alen, DNS_NXDOMAIN, r);
		return;
	case ns_r_noerror:
		break;
	default:
		return;
	}
	rc = ares_parse_a_reply(abuf, alen, NULL, ttls, &n);
	if (rc == ARES_ENODATA) {
		dns_a_negative(abuf, alen, DNS_NODATA, r);
		return;
	}
	if (rc != ARES_SUCCESS || n <= 0)
		return;
	r->status = DNS_OK;
	r->ttl = UINT32_MAX;
	for (int i = 0; i < n && i < DNS_A_MAX; i++) {
		unsigned ttl = ttls[i].ttl < 0 ? 0 : (unsigned)ttls[i].ttl;

		r->addr[r->n++] = ttls[i].ipaddr;
		if (ttl < r->ttl)
			r->ttl = ttl;
	}
	r->ttl_known = 1;
}

static void
dns_a_ttl_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct dns_query *q = arg;

	(void)timeouts;
	if (dns_lookup_back(q, status))
		return;
	/* c-ares passes the packet of an NXDOMAIN or NODATA answer too;
	 * without a packet (timeout, connection refused) it is temporary. */
	if (status == ARES_SUCCESS || status == ARES_ENOTFOUND ||
	    status == ARES_ENODATA)
		dns_a_reply_parse(abuf, alen, &q->r.a);
	else
		q->r.a.status = DNS_TEMPFAIL;
	q->status = q->r.a.status;
	dns_query_done(q);
}

struct dns_query *
dns_a_ttl(struct dns *dns, const char *name, dns_a_fn *fn, void *arg)
{
	struct dns_query *q;

	if (fn == NULL)
		bug("dns_a_ttl without a callback");
	q = dns_query_new(dns, DNS_KIND_A_TTL, name, arg);
	q->a_fn = fn;
	memset(&q->r.a, 0, sizeof(q->r.a));
	if (!dns_qname_ok(name)) {
		q->r.a.status = q->status = DNS_NXDOMAIN;
		dns_query_done(q);
		return q;
	}
	q->r.a.status = DNS_TEMPFAIL;
	q->running = 1;
	ares_query(dns->channel, name, ns_c_in, ns_t_a, dns_a_ttl_answer, q);
	dns_timer_update(dns);
	return q;
}
