/*
 * Private to the SMTP client: one connection's data, shared by its two
 * halves.  smtp_conn.c is the connection (MX walk, connect, loop check,
 * TLS, timeouts and deadlines, reading replies); smtp_client.c is the
 * dialogue (a handler per state for the reply that state awaits, and the
 * message itself).  The state changes only through smtpc_enter_state().
 */
#ifndef TERN_SMTP_CONN_H
#define TERN_SMTP_CONN_H

#include <event2/event.h>
#include <sys/types.h>

#include "deliver/smtp_client.h"
#include "deliver/smtp_reply.h"
#include "net/dns.h"

#define SMTPC_REPLY_LINES 100
#define SMTPC_MAX_HOSTS   16
#define SMTPC_MAX_ADDRS   16
#define SMTPC_IDLE        2         /* seconds an idle connection waits */
#define SMTPC_CHUNK       (64 * 1024)
#define SMTPC_OUT_HIGH    (256 * 1024)

enum smtpc_state {
	SC_RESOLVE_MX, SC_RESOLVE_HOST, SC_CONNECT, SC_GREETING, SC_EHLO,
	SC_HELO, SC_STARTTLS, SC_TLS, SC_AUTH, SC_IDLE, SC_MAIL, SC_RCPT,
	SC_DATA, SC_BODY, SC_DOT, SC_RSET, SC_QUIT,
};

struct smtp_conn {
	struct ob_dest *dest;
	struct outbound *ob;
	struct smtp_conn *next_idle;
	struct smtp_conn *next_conn;    /* all of the destination's */
	enum smtpc_state state;
	struct dns_query *query;
	struct bufferevent *bev;
	struct event *idle_ev;
	struct event *deadline_ev;      /* the reply awaited must be whole by then */

	char hosts[SMTPC_MAX_HOSTS][HOSTPORT_HOST_MAX];
	size_t nhosts, host_i;
	struct dns_addr addrs[SMTPC_MAX_ADDRS];
	size_t naddrs, addr_i;
	char ip[64];
	char last_error[OB_REPLY_MAX];
	int last_permanent;     /* the last error means: bounce */
	int sent_any;           /* a message went through this connection */

	/* what the server offers */
	struct smtp_ext ext;            /* what the server offers */
	int tls;

	int policy;             /* CONF_TLS_MAY, _ENCRYPT, _VERIFY */
	int mail_failed;        /* MAIL refused: the rest of the transaction is void */
	int dead;               /* closed; freed from the loop (free_ev) */
	int ready;              /* has been ready for messages */
	int reused;             /* the message came to an idle connection */
	struct event *free_ev;
	struct smtp_conn *next_dead;    /* closed, waiting for free_ev */

	/* the reply being read */
	int code;
	char text[OB_REPLY_MAX];
	unsigned lines;

	/* the message being sent */
	struct ob_msg *msg;
	size_t rcpt_i;          /* RCPT replies read */
	size_t accepted;
	int fd;
	off_t offset;
	int at_line_start;
	int body_done;
};

/* smtp_conn.c: the connection */
const char *smtpc_host(const struct smtp_conn *c);
/* A command line; its reply is due within the command deadline. */
void smtpc_send(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The byte timeouts and the reply deadline that state st asks for. */
void smtpc_set_timers(struct smtp_conn *c, enum smtpc_state st);
/* Forgets what the server offered (a new EHLO follows). */
void smtpc_forget_ext(struct smtp_conn *c);
/* The connection is no good: see smtp_conn.c. */
void smtpc_fail(struct smtp_conn *c, int permanent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The host does not talk properly: the next address or MX host. */
void smtpc_try_next(struct smtp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtpc_start_tls(struct smtp_conn *c);

/* smtp_client.c: the dialogue */
void smtpc_enter_state(struct smtp_conn *c, enum smtpc_state st);
/* One complete reply, to the handler of the state that awaits it. */
void smtpc_reply(struct smtp_conn *c, int code, const char *text);
/* The TLS handshake is done: EHLO again. */
void smtpc_tls_up(struct smtp_conn *c);
/* The output has room: more of the message body. */
void smtpc_body_fill(struct smtp_conn *c);

#endif
