/*
 * The smtpd process: SMTP sessions in one libevent loop.  It trusts nothing
 * from the network; it trusts lookup and queue only as far as their
 * messages pass the ipc_reader checks.  Shared here by smtpd.c (the
 * process), session.c (connection, lines, state), session_cmd.c (one
 * function per command) and session_data.c (DATA and the queue file).
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "queue/queue_file.h"
#include "smtpd/data_reader.h"
#include "smtpd/smtp_parse.h"
#include "util/buf.h"

struct event_base;
struct event;
struct bufferevent;
struct ipc_chan;
struct evconnlistener;

#define SMTPD_MAX_SESSIONS   4096
#define SMTPD_LINE_MAX       512     /* a command line, CRLF included */
#define SMTPD_ERROR_LIMIT    10      /* client errors before 421 */
#define SMTPD_OUTPUT_MAX     (64 * 1024) /* pending replies before we stop reading */
#define SMTPD_SHUTDOWN_GRACE 5       /* seconds sessions get to finish */
#define SMTPD_HELO_MAX       255

enum session_state {
	SESSION_INIT,           /* greeted, no HELO/EHLO yet */
	SESSION_HELO,           /* HELO/EHLO seen, no transaction */
	SESSION_MAIL,           /* MAIL accepted */
	SESSION_RCPT,           /* at least one RCPT accepted */
	SESSION_DATA,           /* reading the message */
	SESSION_CLOSING,        /* reply flushed, then closed */
};

/* Why a session waits instead of reading on. */
enum session_wait {
	WAIT_NONE,
	WAIT_LOOKUP,            /* a resolve request is out */
	WAIT_COMMIT,            /* message written; waiting for the group sync */
};

struct smtpd;

struct session {
	struct smtpd *sd;
	uint32_t slot;
	uint32_t gen;
	char id[QUEUE_ID_BUF];          /* session id in logs */
	struct bufferevent *bev;
	char client_ip[64];
	unsigned client_port;
	enum session_state state;
	enum session_wait wait;
	int esmtp;
	char helo[SMTPD_HELO_MAX + 1];
	int discarding;                 /* inside an over-long line */
	unsigned errors;
	unsigned ncommands;

	/* the transaction */
	struct smtp_path mail;
	struct queue_env env;           /* sender and resolved recipients */
	unsigned nrcpt_cmds;            /* accepted RCPT commands */
	char rcpt_pending[ADDR_BUF];    /* the RCPT waiting for lookup */

	/* DATA */
	struct data_reader dr;
	int data_fd;
	char data_tmp[512];
	struct buf data_out;
	int data_too_big;
	int data_write_error;
	struct session *commit_next;    /* in smtpd's commit list */
};

struct smtpd {
	const struct conf *conf;
	struct event_base *base;
	struct ipc_chan *ctl;
	struct ipc_chan *lookup;
	struct ipc_chan *queue;
	struct evconnlistener *listeners[16];
	size_t nlisteners;
	struct session *slots[SMTPD_MAX_SESSIONS];
	uint32_t next_gen;
	size_t nsessions;
	int stopping;
	char queue_dir[512];
	char queue_tmp[512];
	struct session *commit_head;    /* messages waiting for the group sync */
	struct event *commit_ev;
	struct event *stop_ev;
};

/* session.c */
void session_new(struct smtpd *sd, int fd, const char *ip, unsigned port);
void session_free(struct session *s);
void session_reply(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_client_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_enter_state(struct session *s, enum session_state state);
void session_close_after_reply(struct session *s);
void session_resume(struct session *s);
void session_reset_transaction(struct session *s);
struct session *session_by_ref(struct smtpd *sd, uint32_t ref);
uint32_t session_ref(const struct session *s);

/* session_cmd.c */
void session_command(struct session *s, char *line);
struct ipc_reader;
void session_lookup_reply(struct session *s, struct ipc_reader *r);

/* session_data.c */
void session_data_begin(struct session *s);
void session_data_feed(struct session *s);
void session_data_abort(struct session *s);
void smtpd_commit(struct smtpd *sd);

#endif
