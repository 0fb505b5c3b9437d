/*
 * Private to outbound delivery: destinations (outbound.c) and the SMTP
 * client connections that serve them (smtp_conn.c and smtp_client.c).
 */
#ifndef TERN_SMTP_CLIENT_H
#define TERN_SMTP_CLIENT_H

#include <openssl/ssl.h>

#include "deliver/outbound.h"
#include "net/hostport.h"

struct smtp_conn;

/* Where mail goes: a domain's MX hosts, or the relayhost. */
struct ob_dest {
	struct ob_dest *next;
	struct outbound *ob;
	char name[HOSTPORT_HOST_MAX];   /* the domain, or the relayhost's host */
	unsigned port;
	int no_mx;                      /* an address or [host]: no MX lookup */
	int relayhost;                  /* AUTH with relayhost_password_file */
	int tls_policy;                 /* CONF_TLS_MAY, _ENCRYPT, _VERIFY */
	struct ob_msg *head, **tail;    /* waiting for a connection */
	size_t queued;
	unsigned active;                /* connections open or opening */
	unsigned opening;               /* not yet ready for a message */
	struct smtp_conn *idle;         /* connections waiting for a message */
	struct smtp_conn *conns;        /* every connection, for shutdown */
	time_t dead_until;              /* failed: defer at once until then */
	char dead_reason[OB_REPLY_MAX];
};

/* A result waiting to go back to the queue. */
struct ob_done {
	struct ob_done *next;
	struct ob_msg *msg;
};

struct outbound {
	struct event_base *base;
	const struct conf *conf;
	struct dns *dns;
	outbound_done_fn *done;
	void *done_arg;
	struct ob_dest *dests;
	unsigned active;                /* connections in all */
	SSL_CTX *tls_may;               /* no verification */
	SSL_CTX *tls_verify;            /* chain and name verified */
	char relay_login[256];
	char relay_password[256];
	struct event *kick_ev;          /* runs outbound_dispatch */
	struct ob_done *done_head, **done_tail;
	struct smtp_conn *dead;         /* closed, to be freed from the loop */
	int stopping;
};

/* outbound.c */
struct ob_msg *outbound_next_msg(struct ob_dest *d);
void outbound_msg_done(struct outbound *ob, struct ob_msg *m);
/* The lists of d's connections are outbound.c's to change: c joins d
 * (and the counts of open connections), becomes idle, or leaves d. */
void outbound_conn_add(struct ob_dest *d, struct smtp_conn *c);
void outbound_conn_idle(struct ob_dest *d, struct smtp_conn *c);
void outbound_conn_unlink(struct ob_dest *d, struct smtp_conn *c);
/* Takes c out of d's idle connections, if it is there. */
void outbound_idle_remove(struct ob_dest *d, struct smtp_conn *c);
/* A new connection is ready for messages, or gave up before it was. */
void outbound_conn_ready(struct ob_dest *d);
/* Every message waiting for d is deferred with reason, and d is left
 * alone until its retry time. */
void outbound_dest_failed(struct ob_dest *d, const char *reason);
/* Every message waiting for d bounces: the destination can never take
 * mail (no such domain, null MX). */
void outbound_dest_failed_permanent(struct ob_dest *d, const char *status,
    const char *reason);
/* Sets every recipient of m still without a result; status NULL takes it
 * from the reply. */
void outbound_finish_msg(struct ob_msg *m, enum ob_result result,
    const char *status, const char *reply);
void outbound_rcpt_result(struct ob_rcpt *r, enum ob_result result,
    const char *status, const char *reply);
/* Puts m back at the head of d's queue, untried. */
void outbound_requeue(struct ob_dest *d, struct ob_msg *m);
/* Looks for work from the loop (not from the caller's stack). */
void outbound_kick(struct outbound *ob);

/* smtp_client.c */
struct smtp_conn *smtp_conn_new(struct ob_dest *d);
/* The connection's place in its destination's idle list. */
struct smtp_conn **smtp_conn_next_idle(struct smtp_conn *c);
struct smtp_conn **smtp_conn_next_conn(struct smtp_conn *c);
/* Gives an idle connection a message to send. */
void smtp_conn_send(struct smtp_conn *c, struct ob_msg *m);
void smtp_conn_free(struct smtp_conn *c);
/* Frees the connections closed but not yet freed from the loop (the loop
 * has stopped). */
void smtp_conn_free_dead(struct outbound *ob);

#endif
