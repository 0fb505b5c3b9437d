/*
 * Outbound delivery: the queue process hands each message's remote
 * recipients, grouped by destination (the recipients' domain, or the
 * relayhost), to this scheduler, which keeps at most
 * smtp_destination_limit connections per destination and smtp_total_limit
 * in all, reuses a connection for several messages, and reports every
 * recipient's outcome back to the queue.  A destination that just failed
 * to answer is not tried again by every message queued for it: they are
 * deferred at once until its retry time.
 */
#ifndef TERN_OUTBOUND_H
#define TERN_OUTBOUND_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "conf/conf.h"
#include "deliver/smtp_reply.h"
#include "queue/queue_file.h"

struct event_base;
struct dns;
struct directory;
struct outbound;

enum ob_result { OB_PENDING = 0, OB_SENT, OB_DEFERRED, OB_BOUNCED };

#define OB_REPLY_MAX 512

struct ob_rcpt {
	size_t index;                   /* in the queue envelope */
	char addr[ADDR_BUF];
	enum ob_result result;
	char status[SMTP_STATUS_BUF];   /* enhanced status, "5.1.1" */
	char reply[OB_REPLY_MAX];       /* the remote reply, or our reason */
};

/* One message for one destination. */
struct ob_msg {
	struct ob_msg *next;            /* in its destination's queue */
	char id[QUEUE_ID_BUF];
	char sender[ADDR_BUF];
	char path[PATH_MAX];            /* the queue file */
	off_t content_offset;
	off_t size;                     /* of the message content */
	time_t created;
	int tls_policy;                 /* CONF_TLS_MAY, _ENCRYPT, _VERIFY */
	int body_8bit;                  /* send BODY=8BITMIME (RFC 6152) */
	int smtputf8;                   /* needs SMTPUTF8 (RFC 6531) */
	char relay[320];                /* "host[ip]:port" of the last try */
	struct ob_rcpt *rcpts;
	size_t nrcpt;
};

/* Called from the loop once every recipient of m has a result; the
 * callee owns m then (ob_msg_free). */
typedef void outbound_done_fn(struct ob_msg *m, void *arg);

struct outbound *outbound_new(struct event_base *base, const struct conf *conf,
    struct dns *dns, outbound_done_fn *done, void *arg);
/* Queues m for destination (a domain). */
void outbound_submit(struct outbound *ob, const char *destination,
    struct ob_msg *m);
void outbound_free(struct outbound **ob);
/* tern queue flush: destinations that failed are tried again at once. */
void outbound_forget_failures(struct outbound *ob);

void ob_msg_free(struct ob_msg *m);

#endif
