/*
 * One outbound SMTP connection, the connection half (see smtp_conn.h):
 * resolve the destination (MX by preference, else its A/AAAA), connect,
 * refuse to talk to ourselves, TLS, the timeouts and reply deadlines, and
 * the reading of replies.  Replies come from the network: each line is
 * bounded, a reply has a bounded number of lines, and every wait has a
 * timeout and a deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deliver/smtp_conn.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SMTPC_QUIT_TIMEOUT 5        /* seconds QUIT's reply may take */

static void smtpc_next_host(struct smtp_conn *c);
static void smtpc_connect_next(struct smtp_conn *c);
static void smtpc_read(struct bufferevent *bev, void *arg);
static void smtpc_event(struct bufferevent *bev, short what, void *arg);
static void smtpc_write(struct bufferevent *bev, void *arg);

const char *
smtpc_host(const struct smtp_conn *c)
{
	return c->host_i < c->nhosts ? c->hosts[c->host_i] : c->dest->name;
}

/* ---- the reply deadline ----
 *
 * The timeouts bound each wait for a byte; a server that sends one byte
 * just inside each of them could stretch one reply for days.  So every
 * reply has a deadline of its own as well: the reply to the final dot
 * smtp_reply_deadline after the dot was handed to the connection, any
 * other half of it after its command was sent (the greeting: after the
 * connection opened; a pipelined reply: after the one before it ended).
 * The TLS handshake has the same bound as a reply.
 */

/* Seconds for a reply to a command other than the final dot. */
static unsigned
smtpc_command_deadline(const struct smtp_conn *c)
{
	unsigned secs = c->ob->conf->smtp_reply_deadline / 2;

	return secs > 0 ? secs : 1;
}

/* Seconds the reply awaited in state st may take; 0: none is awaited. */
static unsigned
smtpc_reply_deadline(const struct smtp_conn *c, enum smtpc_state st)
{
	switch (st) {
	case SC_DOT:
		return c->ob->conf->smtp_reply_deadline;
	case SC_GREETING: case SC_EHLO: case SC_HELO: case SC_STARTTLS:
	case SC_TLS: case SC_AUTH: case SC_MAIL: case SC_RCPT: case SC_DATA:
	case SC_RSET: case SC_QUIT:
		return smtpc_command_deadline(c);
	default:
		return 0;
	}
}

/* The reply awaited must be whole secs from now (0: no deadline). */
static void
smtpc_deadline_set(struct smtp_conn *c, unsigned secs)
{
	struct timeval tv = { secs, 0 };

	if (c->deadline_ev == NULL)
		return;
	if (secs == 0) {
		if (evtimer_del(c->deadline_ev) < 0)
			fatal("cannot stop a timer");
		return;
	}
	if (evtimer_add(c->deadline_ev, &tv) < 0)
		fatal("cannot arm a timer");
}

void
smtpc_send(struct smtp_conn *c, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
	/* Every command is answered: its reply is due. */
	smtpc_deadline_set(c, smtpc_command_deadline(c));
}

static void
smtpc_timeout(struct smtp_conn *c, unsigned secs)
{
	struct timeval tv = { secs, 0 };

	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

void
smtpc_set_timers(struct smtp_conn *c, enum smtpc_state st)
{
	const struct conf *conf = c->ob->conf;

	switch (st) {
	case SC_RESOLVE_MX: case SC_RESOLVE_HOST: case SC_IDLE:
		/* DNS has timeouts of its own; idling, a timer of its own. */
		smtpc_deadline_set(c, 0);
		return;
	case SC_CONNECT:
		smtpc_timeout(c, conf->smtp_connect_timeout);
		smtpc_deadline_set(c, 0);       /* the connect timeout bounds it */
		return;
	case SC_BODY:
		smtpc_timeout(c, conf->smtp_data_timeout);
		smtpc_deadline_set(c, 0);       /* smtp_data_timeout bounds it */
		return;
	case SC_DOT:
		smtpc_timeout(c, conf->smtp_data_timeout);
		break;
	case SC_QUIT:
		smtpc_timeout(c, SMTPC_QUIT_TIMEOUT);
		break;
	default:
		smtpc_timeout(c, conf->smtp_command_timeout);
		break;
	}
	smtpc_deadline_set(c, smtpc_reply_deadline(c, st));
}

/* ---- resolution ---- */

static void
smtpc_addrs_done(void *arg, enum dns_status st, const struct dns_addr *addrs,
    size_t n)
{
	struct smtp_conn *c = arg;

	c->query = NULL;
	if (st != DNS_OK || n == 0) {
		snprintf(c->last_error, sizeof(c->last_error),
		    "cannot find the address of %s: %s", smtpc_host(c),
		    dns_status_name(st));
		c->last_permanent = 0;
		c->host_i++;
		smtpc_next_host(c);
		return;
	}
	c->naddrs = n < SMTPC_MAX_ADDRS ? n : SMTPC_MAX_ADDRS;
	memcpy(c->addrs, addrs, c->naddrs * sizeof(addrs[0]));
	c->addr_i = 0;
	smtpc_connect_next(c);
}

/* The next MX host (or the only host), or the end of the list. */
static void
smtpc_next_host(struct smtp_conn *c)
{
	if (c->host_i >= c->nhosts) {
		outbound_dest_failed(c->dest, c->last_error[0] ? c->last_error :
		    "no host to deliver to");
		smtp_conn_free(c);
		return;
	}
	smtpc_enter_state(c, SC_RESOLVE_HOST);
	c->query = dns_addrs(c->ob->dns, c->hosts[c->host_i], smtpc_addrs_done, c);
}

static void
smtpc_mx_done(void *arg, enum dns_status st, const struct dns_mx *mx, size_t n)
{
	struct smtp_conn *c = arg;
	struct ob_dest *d = c->dest;

	c->query = NULL;
	switch (st) {
	case DNS_OK:
		c->nhosts = n < SMTPC_MAX_HOSTS ? n : SMTPC_MAX_HOSTS;
		for (size_t i = 0; i < c->nhosts; i++)
			snprintf(c->hosts[i], sizeof(c->hosts[i]), "%s", mx[i].host);
		break;
	case DNS_NO_MX:
		/* RFC 5321 5.1: the domain itself, as if it were its MX. */
		c->nhosts = 1;
		snprintf(c->hosts[0], sizeof(c->hosts[0]), "%s", d->name);
		break;
	case DNS_NULL_MX:
		outbound_dest_failed_permanent(d, "5.1.10",
		    "the domain accepts no mail (null MX, RFC 7505)");
		smtp_conn_free(c);
		return;
	case DNS_NXDOMAIN:
		outbound_dest_failed_permanent(d, "5.1.2",
		    "the domain does not exist");
		smtp_conn_free(c);
		return;
	default:
		outbound_dest_failed(d, "temporary DNS failure looking up the MX");
		smtp_conn_free(c);
		return;
	}
	c->host_i = 0;
	smtpc_next_host(c);
}

/* ---- connecting ---- */

/* What a server offers holds for one EHLO: a new connection, the EHLO
 * after STARTTLS (RFC 3207 4.2) and a fall back to HELO start afresh. */
void
smtpc_forget_ext(struct smtp_conn *c)
{
	memset(&c->ext, 0, sizeof(c->ext));
}

/* Is this address and port one of our own listeners?  Then the mail
 * would loop back to this server. */
static int
smtpc_is_self(struct smtp_conn *c, const struct sockaddr *sa)
{
	const struct conf *conf = c->ob->conf;
	const char *lists[] = { conf->listen_smtp, conf->listen_submission,
	    conf->listen_submissions };
	char ip[INET6_ADDRSTRLEN], spec[HOSTPORT_SPEC_MAX], host[HOSTPORT_HOST_MAX];
	unsigned port, lport;
	const char *err;

	hostport_from_sockaddr(sa, ip, sizeof(ip), &port);
	for (size_t i = 0; i < 3; i++) {
		const char *p = lists[i];
		while (hostport_list_next(&p, spec) > 0) {
			if (hostport_parse(spec, host, &lport, &err) < 0 || lport != port)
				continue;
			if (strcmp(host, ip) == 0)
				return 1;
			/* A wildcard listener is every local address; loopback
			 * is the one a test or a misconfiguration reaches. */
			if ((strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) &&
			    (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0))
				return 1;
		}
	}
	return 0;
}

static void
smtpc_connect_next(struct smtp_conn *c)
{
	struct sockaddr_storage ss;
	int one = 1;

	for (;;) {
		if (c->addr_i >= c->naddrs) {
			c->host_i++;
			smtpc_next_host(c);
			return;
		}
		ss = c->addrs[c->addr_i].sa;
		if (ss.ss_family == AF_INET)
			((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)c->dest->port);
		else
			((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)c->dest->port);
		if (smtpc_is_self(c, (struct sockaddr *)&ss)) {
			snprintf(c->last_error, sizeof(c->last_error),
			    "mail for %s loops back to myself (%s is one of my listening addresses)",
			    c->dest->name, smtpc_host(c));
			outbound_dest_failed(c->dest, c->last_error);
			smtp_conn_free(c);
			return;
		}
		break;
	}
	hostport_from_sockaddr((const struct sockaddr *)&ss, c->ip,
	    sizeof(c->ip), NULL);
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = bufferevent_socket_new(c->ob->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatal("cannot create a bufferevent");
	bufferevent_setcb(c->bev, smtpc_read, smtpc_write, smtpc_event, c);
	smtpc_enter_state(c, SC_CONNECT);
	smtpc_forget_ext(c);
	c->tls = 0;
	c->code = 0;
	c->lines = 0;
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    c->addrs[c->addr_i].len) < 0) {
		snprintf(c->last_error, sizeof(c->last_error),
		    "connect to %s[%s]:%u: %s", smtpc_host(c), c->ip,
		    c->dest->port, strerror(errno));
		c->addr_i++;
		smtpc_connect_next(c);
		return;
	}
	/* The final dot must not wait for an ACK (Nagle). */
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (fd >= 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("TCP_NODELAY: %s", strerror(errno));
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* ---- failure ---- */

/* The connection is no good: the message under way and (when nothing got
 * through this connection yet) the destination's others are deferred, or
 * bounced when the error is permanent. */
void
smtpc_fail(struct smtp_conn *c, int permanent, const char *fmt, ...)
{
	char why[OB_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->msg != NULL) {
		struct ob_msg *m = c->msg;
		c->msg = NULL;
		if (c->fd >= 0) {
			close(c->fd);
			c->fd = -1;
		}
		snprintf(m->relay, sizeof(m->relay), "%s[%s]:%u", smtpc_host(c),
		    c->ip, c->dest->port);
		outbound_finish_msg(m, permanent ? OB_BOUNCED : OB_DEFERRED,
		    permanent ? "5.0.0" : "4.4.2", why);
		outbound_msg_done(c->ob, m);
	}
	if (!c->sent_any && c->state != SC_QUIT)
		outbound_dest_failed(c->dest, why);
	smtp_conn_free(c);
}

void
smtpc_try_next(struct smtp_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->addr_i++;
	smtpc_connect_next(c);
}

/* A reply (or the TLS handshake) that did not end in time: the same as
 * a timeout, with what took too long. */
static void
smtpc_deadline_expired(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_conn *c = arg;
	unsigned secs = smtpc_reply_deadline(c, c->state);
	const char *late = c->state == SC_TLS ? "the TLS handshake" :
	    c->state == SC_GREETING ? "the greeting" :
	    c->state == SC_DOT ? "the reply to the end of the message" : "a reply";

	(void)fd;
	(void)what;
	if (c->state == SC_QUIT) {
		smtp_conn_free(c);
		return;
	}
	if ((c->state == SC_GREETING || c->state == SC_EHLO ||
	    c->state == SC_HELO) && c->msg == NULL && !c->sent_any) {
		smtpc_try_next(c, "timeout with %s[%s] before the greeting was done: "
		    "%s took over %us (smtp_reply_deadline)", smtpc_host(c), c->ip,
		    late, secs);
		return;
	}
	smtpc_fail(c, 0, "timeout with %s[%s]: %s took over %us (smtp_reply_deadline)",
	    smtpc_host(c), c->ip, late, secs);
}

void
smtpc_start_tls(struct smtp_conn *c)
{
	int verify = c->policy == CONF_TLS_VERIFY;
	SSL *ssl = SSL_new(verify ? c->ob->tls_verify : c->ob->tls_may);
	const char *host = smtpc_host(c);
	struct bufferevent *tls;

	if (ssl == NULL) {
		smtpc_fail(c, 0, "cannot start TLS");
		return;
	}
	/* An address literal (a relayhost [192.0.2.1]) is sent no SNI: RFC
	 * 6066 3 allows only host names there. */
	if (!hostport_is_ip(host))
		SSL_set_tlsext_host_name(ssl, host);
	if (verify) {
		/* The chain must lead to a trusted CA and name the MX host. */
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, host) != 1) {    /* a name or an address */
			SSL_free(ssl);
			smtpc_fail(c, 0, "cannot set the name to verify");
			return;
		}
	}
	tls = bufferevent_openssl_filter_new(c->ob->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (tls == NULL) {
		SSL_free(ssl);
		smtpc_fail(c, 0, "cannot start TLS");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	c->bev = tls;
	bufferevent_setcb(c->bev, smtpc_read, smtpc_write, smtpc_event, c);
	smtpc_enter_state(c, SC_TLS);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Does the first line of an EHLO reply name this host?  Then the server
 * is this server (or one configured with our hostname): a loop. */
static int
smtpc_greets_as_me(const struct smtp_conn *c, const char *text)
{
	const char *me = c->ob->conf->hostname;
	size_t n = strlen(me);

	return strncasecmp(text, me, n) == 0 && (text[n] == ' ' || text[n] == '\0');
}

/* Reads whole reply lines; a reply ends at a line "ddd " (not "ddd-"). */
static void
smtpc_read(struct bufferevent *bev, void *arg)
{
	struct smtp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct smtp_reply_line rl;

	/* The greeting can come in the same turn as the connect event, and
	 * be read before it. */
	if (c->state == SC_CONNECT)
		smtpc_enter_state(c, SC_GREETING);
	while (!c->dead && c->bev == bev) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			if (evbuffer_get_length(in) > SMTP_REPLY_LINE_MAX)
				smtpc_fail(c, 0, "reply line too long from %s", smtpc_host(c));
			return;
		}
		if (smtp_reply_line_parse(line, len, &rl) < 0 ||
		    ++c->lines > SMTPC_REPLY_LINES) {
			free(line);
			smtpc_fail(c, 0, "malformed reply from %s", smtpc_host(c));
			return;
		}
		if (c->state == SC_EHLO && c->lines > 1)
			smtp_ext_keyword(&c->ext, rl.text);
		if (c->state == SC_EHLO && c->lines == 1 && rl.code == 250 &&
		    smtpc_greets_as_me(c, rl.text)) {
			free(line);
			smtpc_fail(c, 0, "mail for %s loops back to myself (%s greets as %s)",
			    c->dest->name, smtpc_host(c), c->ob->conf->hostname);
			return;
		}
		if (!rl.last) {
			free(line);
			continue;
		}
		/* The last line carries the reply's text for logs and DSNs. */
		smtp_reply_text(line, rl.text, c->text, sizeof(c->text));
		free(line);
		c->lines = 0;
		smtpc_reply(c, rl.code, c->text);
		/* The next reply awaited (a pipelined one, or one to a new
		 * command) is due from now; none in the body or when idle. */
		if (!c->dead)
			smtpc_deadline_set(c, smtpc_reply_deadline(c, c->state));
	}
}

static void
smtpc_write(struct bufferevent *bev, void *arg)
{
	struct smtp_conn *c = arg;

	(void)bev;
	if (c->state == SC_BODY)
		smtpc_body_fill(c);
}

static void
smtpc_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == SC_CONNECT)
			smtpc_enter_state(c, SC_GREETING);
		else if (c->state == SC_TLS)
			smtpc_tls_up(c);
		return;
	}
	if (c->state == SC_CONNECT) {
		smtpc_try_next(c, "connect to %s[%s]:%u: %s", smtpc_host(c), c->ip,
		    c->dest->port, (what & BEV_EVENT_TIMEOUT) ? "timed out" :
		    strerror(EVUTIL_SOCKET_ERROR()));
		return;
	}
	if (c->state == SC_QUIT) {
		smtp_conn_free(c);
		return;
	}
	/* A host that drops us before we could send anything: the next
	 * address or MX host, as with one that will not connect. */
	if ((c->state == SC_GREETING || c->state == SC_EHLO ||
	    c->state == SC_HELO) && c->msg == NULL && !c->sent_any) {
		smtpc_try_next(c, "%s with %s[%s] before the greeting was done",
		    (what & BEV_EVENT_TIMEOUT) ? "timeout" : "lost connection",
		    smtpc_host(c), c->ip);
		return;
	}
	/* A connection reused from the idle list that the server had closed
	 * meanwhile: the message goes back to its destination, untried, and
	 * another connection takes it. */
	if (c->state == SC_MAIL && c->reused && c->msg != NULL && c->lines == 0) {
		struct ob_msg *m = c->msg;
		c->msg = NULL;
		outbound_requeue(c->dest, m);
		smtp_conn_free(c);
		return;
	}
	if (c->state == SC_IDLE) {
		smtp_conn_free(c);      /* the server closed an idle connection */
		return;
	}
	if (c->state == SC_TLS) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		unsigned long e = bufferevent_get_openssl_error(bev);
		long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
		char why[256] = "handshake failed";
		if (e != 0)
			ERR_error_string_n(e, why, sizeof(why));
		if (vr != X509_V_OK)
			smtpc_fail(c, 0, "TLS with %s[%s] failed: certificate verification: %s",
			    smtpc_host(c), c->ip, X509_verify_cert_error_string(vr));
		else
			smtpc_fail(c, 0, "TLS with %s[%s] failed: %s", smtpc_host(c),
			    c->ip, why);
		return;
	}
	smtpc_fail(c, 0, "%s with %s[%s]", (what & BEV_EVENT_TIMEOUT) ?
	    "timeout" : "lost connection", smtpc_host(c), c->ip);
}

/* ---- the connection ---- */

struct smtp_conn *
smtp_conn_new(struct ob_dest *d)
{
	struct smtp_conn *c = xcalloc(1, sizeof(*c));

	c->dest = d;
	c->ob = d->ob;
	c->fd = -1;
	c->deadline_ev = evtimer_new(c->ob->base, smtpc_deadline_expired, c);
	if (c->deadline_ev == NULL)
		fatal("cannot create an event");
	c->policy = d->tls_policy;
	outbound_conn_add(d, c);
	if (d->no_mx) {
		c->nhosts = 1;
		snprintf(c->hosts[0], sizeof(c->hosts[0]), "%s", d->name);
		smtpc_next_host(c);
	} else {
		smtpc_enter_state(c, SC_RESOLVE_MX);
		c->query = dns_mx(c->ob->dns, d->name, smtpc_mx_done, c);
	}
	return c;
}

static void
smtpc_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_conn *c = arg;

	(void)fd;
	(void)what;
	for (struct smtp_conn **p = &c->ob->dead; *p != NULL; p = &(*p)->next_dead) {
		if (*p == c) {
			*p = c->next_dead;
			break;
		}
	}
	event_free(c->free_ev);
	free(c);
}

void
smtp_conn_free_dead(struct outbound *ob)
{
	while (ob->dead != NULL) {
		struct smtp_conn *c = ob->dead;
		ob->dead = c->next_dead;
		event_free(c->free_ev);
		free(c);
	}
}

/* Closes the connection now and frees it from the loop later, so that a
 * caller up the stack (a read loop, a reply handler) never touches freed
 * memory. */
void
smtp_conn_free(struct smtp_conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	if (c->query != NULL)
		dns_cancel(c->query);
	c->query = NULL;
	if (c->msg != NULL) {
		struct ob_msg *m = c->msg;
		c->msg = NULL;
		/* Stopping: the message stays in the queue as it was. */
		if (c->ob->stopping) {
			ob_msg_free(m);
		} else {
			outbound_finish_msg(m, OB_DEFERRED, "4.4.2",
			    "connection closed before the message was sent");
			outbound_msg_done(c->ob, m);
		}
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->idle_ev != NULL)
		event_free(c->idle_ev);
	c->idle_ev = NULL;
	if (c->deadline_ev != NULL)
		event_free(c->deadline_ev);
	c->deadline_ev = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	outbound_idle_remove(c->dest, c);
	outbound_conn_unlink(c->dest, c);
	if (!c->ready)
		outbound_conn_ready(c->dest);
	if (c->ob->stopping) {
		free(c);
		return;
	}
	c->free_ev = event_new(c->ob->base, -1, 0, smtpc_free_cb, c);
	if (c->free_ev == NULL)
		fatal("cannot create an event");
	event_active(c->free_ev, 0, 0);
	/* Listed, so that a loop that stops first does not leak it. */
	c->next_dead = c->ob->dead;
	c->ob->dead = c;
	outbound_kick(c->ob);
}

struct smtp_conn **
smtp_conn_next_idle(struct smtp_conn *c)
{
	return &c->next_idle;
}

struct smtp_conn **
smtp_conn_next_conn(struct smtp_conn *c)
{
	return &c->next_conn;
}
