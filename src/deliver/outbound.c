/*
 * The outbound scheduler: see outbound.h.  Destinations hold the messages
 * waiting for them; connections (smtp_client.c) take messages from their
 * destination as they become free.  Results go back to the queue from a
 * turn of the loop of their own (kick_ev), never from inside a
 * connection's callback, so the queue may submit again while handling
 * them.
 */
#include <errno.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deliver/smtp_client.h"
#include "deliver/smtp_reply.h"
#include "net/dns.h"
#include "util/log.h"
#include "util/xmalloc.h"


void
ob_msg_free(struct ob_msg *m)
{
	if (m == NULL)
		return;
	free(m->rcpts);
	free(m);
}

void
outbound_rcpt_result(struct ob_rcpt *r, enum ob_result result,
    const char *status, const char *reply)
{
	r->result = result;
	snprintf(r->reply, sizeof(r->reply), "%s", reply);
	if (status != NULL)
		snprintf(r->status, sizeof(r->status), "%s", status);
	else
		smtp_reply_status(reply, result == OB_SENT ? '2' :
		    result == OB_BOUNCED ? '5' : '4', r->status);
}

void
outbound_finish_msg(struct ob_msg *m, enum ob_result result,
    const char *status, const char *reply)
{
	for (size_t i = 0; i < m->nrcpt; i++)
		if (m->rcpts[i].result == OB_PENDING)
			outbound_rcpt_result(&m->rcpts[i], result, status, reply);
}

void
outbound_kick(struct outbound *ob)
{
	event_active(ob->kick_ev, 0, 0);
}

void
outbound_msg_done(struct outbound *ob, struct ob_msg *m)
{
	struct ob_done *d = xmalloc(sizeof(*d));

	d->next = NULL;
	d->msg = m;
	*ob->done_tail = d;
	ob->done_tail = &d->next;
	outbound_kick(ob);
}

struct ob_msg *
outbound_next_msg(struct ob_dest *d)
{
	struct ob_msg *m = d->head;

	if (m == NULL)
		return NULL;
	d->head = m->next;
	if (d->head == NULL)
		d->tail = &d->head;
	m->next = NULL;
	d->queued--;
	return m;
}

void
outbound_requeue(struct ob_dest *d, struct ob_msg *m)
{
	m->next = d->head;
	d->head = m;
	if (d->tail == &d->head)
		d->tail = &m->next;
	d->queued++;
	outbound_kick(d->ob);
}

void
outbound_forget_failures(struct outbound *ob)
{
	for (struct ob_dest *d = ob->dests; d != NULL; d = d->next)
		d->dead_until = 0;
}

void
outbound_idle_remove(struct ob_dest *d, struct smtp_conn *c)
{
	for (struct smtp_conn **p = &d->idle; *p != NULL; p = smtp_conn_next_idle(*p)) {
		if (*p == c) {
			*p = *smtp_conn_next_idle(c);
			*smtp_conn_next_idle(c) = NULL;
			return;
		}
	}
}

void
outbound_conn_add(struct ob_dest *d, struct smtp_conn *c)
{
	*smtp_conn_next_conn(c) = d->conns;
	d->conns = c;
	d->active++;
	d->ob->active++;
}

void
outbound_conn_idle(struct ob_dest *d, struct smtp_conn *c)
{
	*smtp_conn_next_idle(c) = d->idle;
	d->idle = c;
}

void
outbound_conn_unlink(struct ob_dest *d, struct smtp_conn *c)
{
	for (struct smtp_conn **p = &d->conns; *p != NULL; p = smtp_conn_next_conn(*p)) {
		if (*p == c) {
			*p = *smtp_conn_next_conn(c);
			d->active--;
			d->ob->active--;
			return;
		}
	}
}

void
outbound_conn_ready(struct ob_dest *d)
{
	if (d->opening > 0)
		d->opening--;
}

/* Ends every message waiting for d with result. */
static void
outbound_flush_dest(struct ob_dest *d, enum ob_result result,
    const char *status, const char *reason)
{
	struct ob_msg *m;

	while ((m = outbound_next_msg(d)) != NULL) {
		snprintf(m->relay, sizeof(m->relay), "none");
		outbound_finish_msg(m, result, status, reason);
		outbound_msg_done(d->ob, m);
	}
}

void
outbound_dest_failed(struct ob_dest *d, const char *reason)
{
	time_t wait = d->ob->conf->queue_retry_min;

	/* Not hammered: what waits for d is deferred now, and what comes
	 * for it meanwhile too, until the first retry is due. */
	d->dead_until = time(NULL) + (wait < 300 ? wait : 300);
	snprintf(d->dead_reason, sizeof(d->dead_reason), "%s", reason);
	outbound_flush_dest(d, OB_DEFERRED, "4.4.1", reason);
}

void
outbound_dest_failed_permanent(struct ob_dest *d, const char *status,
    const char *reason)
{
	outbound_flush_dest(d, OB_BOUNCED, status, reason);
}

static struct ob_dest *
outbound_dest(struct outbound *ob, const char *destination, int policy)
{
	const struct conf *conf = ob->conf;
	struct ob_dest *d;
	char host[HOSTPORT_HOST_MAX];
	unsigned port = conf->smtp_port;
	int no_mx = 0, relay = conf->relayhost[0] != '\0';
	const char *err;

	if (relay) {
		if (hostport_parse_dest(conf->relayhost, host, &port, &no_mx, &err) < 0)
			bug("relayhost: %s", err);
	} else {
		snprintf(host, sizeof(host), "%s", destination);
	}
	/* The policy is part of the key: a connection made under a policy
	 * carries only messages asking for that one (a relayhost serves
	 * domains whose policies differ). */
	for (d = ob->dests; d != NULL; d = d->next)
		if (strcasecmp(d->name, host) == 0 && d->port == port &&
		    d->tls_policy == policy)
			return d;
	d = xcalloc(1, sizeof(*d));
	d->ob = ob;
	snprintf(d->name, sizeof(d->name), "%s", host);
	d->port = port;
	d->no_mx = no_mx;
	d->relayhost = relay;
	d->tls_policy = policy;
	d->tail = &d->head;
	d->next = ob->dests;
	ob->dests = d;
	return d;
}

void
outbound_submit(struct outbound *ob, const char *destination, struct ob_msg *m)
{
	struct ob_dest *d = outbound_dest(ob, destination, m->tls_policy);

	m->next = NULL;
	*d->tail = m;
	d->tail = &m->next;
	d->queued++;
	if (d->dead_until > time(NULL)) {
		outbound_flush_dest(d, OB_DEFERRED, "4.4.1", d->dead_reason);
		return;
	}
	outbound_kick(ob);
}

/* Gives waiting messages to idle connections, opens new ones within the
 * limits, and forgets destinations with nothing left. */
static void
outbound_dispatch(struct outbound *ob)
{
	const struct conf *conf = ob->conf;
	time_t now = time(NULL);

	for (struct ob_dest **p = &ob->dests; *p != NULL;) {
		struct ob_dest *d = *p;
		while (d->queued > 0 && d->idle != NULL) {
			struct smtp_conn *c = d->idle;
			outbound_idle_remove(d, c);
			smtp_conn_send(c, outbound_next_msg(d));
		}
		while (!ob->stopping && d->queued > d->opening &&
		    d->active < conf->smtp_destination_limit &&
		    ob->active < conf->smtp_total_limit && d->dead_until <= now) {
			d->opening++;
			smtp_conn_new(d);
		}
		if (d->queued == 0 && d->active == 0 && d->dead_until <= now) {
			*p = d->next;
			free(d);
			continue;
		}
		p = &d->next;
	}
}

static void
outbound_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct outbound *ob = arg;

	(void)fd;
	(void)what;
	/* Results first: the queue may free room or submit more. */
	while (ob->done_head != NULL) {
		struct ob_done *d = ob->done_head;
		ob->done_head = d->next;
		if (ob->done_head == NULL)
			ob->done_tail = &ob->done_head;
		ob->done(d->msg, ob->done_arg);
		free(d);
	}
	outbound_dispatch(ob);
}

/* relayhost_password_file: one line, "login password". */
static void
outbound_read_relay_password(struct outbound *ob)
{
	const char *path = ob->conf->relayhost_password_file;
	char line[600];
	FILE *f;

	if (*path == '\0')
		return;
	if ((f = fopen(path, "re")) == NULL) {
		log_error("cannot read relayhost_password_file %s: %s", path,
		    strerror(errno));
		return;
	}
	if (fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "%255s %255s", ob->relay_login, ob->relay_password) != 2) {
		log_error("relayhost_password_file %s: want one line 'login password'",
		    path);
		ob->relay_login[0] = ob->relay_password[0] = '\0';
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
}

static SSL_CTX *
outbound_tls_ctx(const struct conf *conf, int verify)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		fatal("cannot create a TLS client context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (!verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (*conf->smtp_tls_ca_file != '\0' ?
	    SSL_CTX_load_verify_locations(ctx, conf->smtp_tls_ca_file, NULL) != 1 :
	    SSL_CTX_set_default_verify_paths(ctx) != 1) {
		log_error("cannot load the CA certificates%s%s: verify will fail",
		    *conf->smtp_tls_ca_file ? " of " : "", conf->smtp_tls_ca_file);
		ERR_clear_error();
	}
	return ctx;
}

struct outbound *
outbound_new(struct event_base *base, const struct conf *conf, struct dns *dns,
    outbound_done_fn *done, void *arg)
{
	struct outbound *ob = xcalloc(1, sizeof(*ob));

	ob->base = base;
	ob->conf = conf;
	ob->dns = dns;
	ob->done = done;
	ob->done_arg = arg;
	ob->done_tail = &ob->done_head;
	ob->kick_ev = event_new(base, -1, 0, outbound_kick_cb, ob);
	if (ob->kick_ev == NULL)
		fatal("cannot create an event");
	ob->tls_may = outbound_tls_ctx(conf, 0);
	ob->tls_verify = outbound_tls_ctx(conf, 1);
	outbound_read_relay_password(ob);
	return ob;
}

void
outbound_free(struct outbound **obp)
{
	struct outbound *ob = *obp;

	if (ob == NULL)
		return;
	/* Stopping: connections close at once; what they and the
	 * destinations held stays in the queue, tried at the next start. */
	ob->stopping = 1;
	while (ob->dests != NULL) {
		struct ob_dest *d = ob->dests;
		struct ob_msg *m;
		ob->dests = d->next;
		while (d->conns != NULL)
			smtp_conn_free(d->conns);
		while ((m = outbound_next_msg(d)) != NULL)
			ob_msg_free(m);
		free(d);
	}
	while (ob->done_head != NULL) {
		struct ob_done *d = ob->done_head;
		ob->done_head = d->next;
		ob_msg_free(d->msg);
		free(d);
	}
	smtp_conn_free_dead(ob);
	explicit_bzero(ob->relay_password, sizeof(ob->relay_password));
	SSL_CTX_free(ob->tls_may);
	SSL_CTX_free(ob->tls_verify);
	event_free(ob->kick_ev);
	free(ob);
	*obp = NULL;
}
