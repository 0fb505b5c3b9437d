/*
 * The smtpd process: SMTP sessions in one libevent loop.  It trusts nothing
 * from the network; it trusts lookup and queue only as far as their
 * messages pass the ipc_reader checks.  Shared here by smtpd.c (the
 * process), session.c (connection, lines, state), session_cmd.c (one
 * function per command), session_data.c (DATA and the queue file) and
 * session_deadline.c (the clocks a trickling client cannot stretch).
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lookup/directory.h"
#include "master/child.h"
#include "queue/queue_file.h"
#include "net/load_report.h"
#include "net/stats.h"
#include "plugin/plugin.h"
#include "queue/queue_spare.h"
#include "screen/screen_proto.h"
#include "smtpd/data_reader.h"
#include "smtpd/smtp_parse.h"
#include "util/buf.h"

struct event_base;
struct event;
struct bufferevent;
struct ipc_chan;
struct ipc_msg;
struct evconnlistener;
struct header_from;
struct cidr_list;
struct workpool;
struct commit_disk;
struct client_table;
struct client_entry;
typedef struct ssl_ctx_st SSL_CTX;

#define SMTPD_SLOT_BITS      16      /* of a session's ref: CONF_SESSIONS_MAX */
#define SMTPD_LINE_MAX       512     /* a command line, CRLF included */
#define SMTPD_AUTH_LINE_MAX  12288   /* an AUTH line (RFC 4954 section 4) */
#define SMTPD_TLS_DESC_MAX   160
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
	WAIT_TLS,               /* the TLS handshake is under way */
	WAIT_AUTH,              /* lookup checks a login */
	WAIT_SENDER,            /* lookup checks MAIL FROM */
	WAIT_HEADER,            /* lookup checks the header From and Sender */
	WAIT_DELAY,             /* a slowed or throttled login waits for its answer */
	WAIT_PLUGIN,            /* a milter, policy service or filter decides */
	WAIT_EDIT,              /* lookup resolves a recipient a plugin added */
};

/* Where an AUTH exchange stands. */
enum auth_step {
	AUTH_NONE,
	AUTH_PLAIN,             /* 334 sent; the PLAIN response comes next */
	AUTH_LOGIN_USER,        /* 334 Username: sent */
	AUTH_LOGIN_PASS,        /* 334 Password: sent */
};

struct smtpd;
struct milter_sess;
struct policy_sess;
struct filter_sess;
struct milter_set;
struct policy_set;
struct filter_set;
struct msg_edits;
typedef void session_plugin_done_fn(struct session *s,
    const struct plugin_verdict *v);

struct session {
	struct smtpd *sd;
	uint32_t slot;
	uint32_t gen;
	char id[QUEUE_ID_BUF];          /* session id in logs */
	struct bufferevent *bev;
	char client_ip[64];
	unsigned client_port;
	enum listen_kind kind;
	int tls;                        /* the session runs inside TLS */
	char tls_desc[SMTPD_TLS_DESC_MAX];
	int authenticated;
	int relay_network;              /* the client is in relay_networks */
	int screened;                   /* came through the screen: */
	struct screen_handoff screen;   /* what it said */
	struct client_entry *client;    /* its count in sd->clients, or NULL */
	char auth_login[DIR_LOGIN_MAX]; /* the account's login, once in */
	enum auth_step auth_step;
	char auth_mech[8];
	char auth_user[DIR_LOGIN_MAX];  /* AUTH LOGIN: the name, before the password */
	struct session_auth_verdict {   /* lookup's answer, held while delayed */
		uint32_t res, st, flags;
		char existing[DIR_LOGIN_MAX];
	} auth_verdict;
	struct event *delay_ev;
	struct event *close_ev;         /* TLS: frees once the last bytes are out */
	enum session_state state;
	enum session_wait wait;
	int esmtp;
	char helo[SMTPD_HELO_MAX + 1];
	struct event *deadline_ev;      /* session_deadline.c */
	int deadline_kind;
	double deadline_start;          /* monotonic seconds */
	uint64_t deadline_bytes;        /* sent inside DATA so far */
	int discarding;                 /* inside an over-long line */
	unsigned errors;                /* toward smtpd_hard_error_limit */
	unsigned junk;                  /* toward smtpd_junk_command_limit */
	int tls_first_command;          /* TLS begun: no command inside it yet */
	unsigned ncommands;

	/* the transaction */
	struct smtp_path mail;
	struct queue_env env;           /* sender and resolved recipients */
	unsigned nrcpt_cmds;            /* accepted RCPT commands */
	char rcpt_pending[ADDR_BUF];    /* the RCPT waiting for lookup */

	/* DATA */
	struct data_reader dr;
	struct header_from *hf;         /* authenticated: header From, Sender */
	int data_fd;
	off_t data_len;                 /* written to data_fd so far */
	int data_reused;                /* data_fd is a spare: cut to data_len */
	char data_tmp[512];
	struct buf data_out;
	int data_too_big;
	int data_write_error;
	int data_folded_start;          /* the message began with SP or HTAB */
	off_t data_received_at;         /* where tern's Received header begins */
	off_t data_message_at;          /* where the client's message begins */

	/* plugins (session_plugin.c); each kind owns its pointer */
	struct milter_sess *milter;
	struct policy_sess *policy;
	struct filter_sess *filter;
	enum plugin_stage plugin_stage; /* the stage the chain is at */
	size_t plugin_next;             /* the next kind to ask */
	session_plugin_done_fn *plugin_done; /* the stage's own ending */
	char *plugin_refusal;           /* a refusal at CONNECT or HELO: it
	                                 * answers every MAIL, RCPT, DATA */
	size_t plugin_rcpt_before;      /* recipients before this RCPT */
	int plugin_discard;             /* the message is accepted, dropped */
	int plugin_hold;                /* the message is queued on hold */
	char plugin_hold_reason[256];
	int helo_repeated;              /* this HELO/EHLO is not the first */
	struct buf prepend;             /* headers above tern's Received */
	size_t nprepend;
	struct msg_edits *edits;        /* changes asked at the final dot */
	size_t edit_next;               /* the added recipient to resolve */
};

struct smtpd {
	const struct conf *conf;
	struct event_base *base;
	struct ipc_chan *ctl;
	struct ipc_chan *lookup;
	struct ipc_chan *queue;
	struct ipc_chan *screen;        /* port 25's clients come from it */
	struct smtpd_listener {
		struct smtpd *sd;
		enum listen_kind kind;
		struct evconnlistener *l;
	} listeners[CHILD_MAX_LISTENERS];
	size_t nlisteners;
	SSL_CTX *tls;
	struct cidr_list *relay_nets;   /* relay_networks, parsed */
	struct client_table *clients;   /* smtpd_clients.c */
	uint64_t clients_full_logged;   /* when "table full" was last said, ms */
	struct session **slots;         /* max_sessions of them */
	size_t nslots;
	uint32_t next_gen;
	size_t nsessions;
	struct load_report load;        /* the session count, to master */
	struct stats_report *stats;     /* for tern status */
	int stopping;
	char queue_dir[512];
	char queue_tmp[512];
	struct queue_spares spares;     /* emptied queue files to reuse */
	struct workpool *committer;     /* the group commit's thread */
	struct commit_disk *commit_disk; /* what that thread works with */
	struct event *stop_ev;
	struct milter_set *milters;     /* each plugin kind's own state */
	struct policy_set *policies;
	struct filter_set *filters;
	const char *plugin_broken;      /* a kind whose settings cannot work */
};

/* smtpd.c: a client's socket, accepted here or handed over by the screen
 * (h: what the screen said; NULL for the submission ports). */
void smtpd_accept_socket(struct smtpd *sd, int fd, const char *ip,
    unsigned port, enum listen_kind kind, const struct screen_handoff *h);

/* smtpd_screen.c */
void smtpd_screen_set(struct smtpd *sd, int fd);
void smtpd_screen_report(struct session *s, const char *reason);
/* A client the screen handed over has gone (or was never served): the
 * screen stops counting it. */
void smtpd_screen_done(struct smtpd *sd, const char *ip,
    const struct screen_handoff *h);
void smtpd_screen_describe(const struct screen_handoff *h, char *out,
    size_t outlen);
int smtpd_screen_enforce(struct session *s, const struct smtp_cmd *cmd);

/* session.c */
void session_new(struct smtpd *sd, int fd, const char *ip, unsigned port,
    enum listen_kind kind, const struct screen_handoff *h);
void session_greet(struct session *s);
void session_watch(struct session *s);
void session_free(struct session *s);
void session_reply(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_client_error(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NOOP, RSET, VRFY, HELP, a repeated HELO/EHLO: past
 * smtpd_junk_command_limit each counts as an error.  Call after its reply. */
void session_junk_command(struct session *s);
/* The timeouts of the session's bufferevent, for what it waits for now. */
void session_set_timeouts(struct session *s);
void session_enter_state(struct session *s, enum session_state state);
void session_wait_for(struct session *s, enum session_wait why);
struct buf;
void session_lookup_request(struct session *s, struct buf *req);
/* Sends req (begun by session_lookup_request) to lookup and waits in why;
 * req is wiped and freed.  0, or -1 when lookup is away: no wait then. */
int session_ask_lookup(struct session *s, uint32_t type, struct buf *req,
    enum session_wait why);
void session_close_after_reply(struct session *s);
void session_resume(struct session *s);
void session_reset_transaction(struct session *s);
struct session *session_by_ref(struct smtpd *sd, uint32_t ref);
uint32_t session_ref(const struct session *s);

/* session_cmd.c */
void session_command(struct session *s, char *line);
struct ipc_reader;
void session_lookup_reply(struct session *s, struct ipc_reader *r);

/* session_tls.c */
int session_tls_accept(struct session *s, int fd);
void session_cmd_starttls(struct session *s, const char *arg);
void session_tls_ready(struct session *s);
int session_tls_finished(struct session *s);
void session_tls_failed(struct session *s);

/* session_auth.c */
int session_auth_offered(const struct session *s);
void session_cmd_auth(struct session *s, const char *arg);
void session_auth_line(struct session *s, const char *line);
void session_auth_reply(struct session *s, struct ipc_reader *r);

/* session_sender.c */
void session_mail_check(struct session *s);
void session_sender_reply(struct session *s, struct ipc_reader *r);
int session_header_check(struct session *s);

/* session_data.c */
void session_data_commit(struct session *s);
void session_data_flush(struct session *s);
void session_data_begin(struct session *s);
void session_data_feed(struct session *s);
void session_data_abort(struct session *s);
/* The message is whole and tern's checks passed: plugins, then commit. */
void session_data_ready(struct session *s);

/* session_deadline.c */
void session_deadline_init(struct session *s);
void session_deadline_free(struct session *s);
void session_deadline_stop(struct session *s);
void session_deadline_line(struct session *s, int pending);
void session_deadline_line_done(struct session *s);
void session_deadline_data_begin(struct session *s);
void session_deadline_data_bytes(struct session *s, size_t n);

/* session_screen.c: the screen's tests run inside the session */
int session_screen_command(struct session *s, const char *line);
int session_screen_pipelined(struct session *s, const char *verb);
/* smtpd_clients.c: 0 and the client counted (*entry_r, NULL when not
 * counted), or -1 when refused: the 421 said, fd closed and logged. */
void smtpd_clients_init(struct smtpd *sd);
void smtpd_clients_free(struct smtpd *sd);
int smtpd_client_exempt(const struct smtpd *sd, const char *ip,
    const struct screen_handoff *h);
int smtpd_client_admit(struct smtpd *sd, int fd, const char *ip,
    unsigned port, enum listen_kind kind, const struct screen_handoff *h,
    struct client_entry **entry_r);
void smtpd_client_release(struct smtpd *sd, struct client_entry **entry);
/* smtpd_load.c: master's word on stress mode. */
void smtpd_stress_msg(struct smtpd *sd, const struct ipc_msg *msg);

/* session_plugin.c: the plugin chain at each stage */
void session_plugins_init(struct smtpd *sd);
void session_plugins_free(struct smtpd *sd);
/* Asks every plugin kind about stage, in order; done(s, NULL) when none
 * objects, done(s, v) with the verdict that refused (REPLY or CLOSE).  done
 * may run before this returns.  The session waits meanwhile. */
void session_plugin_run(struct session *s, enum plugin_stage stage,
    session_plugin_done_fn *done);
/* Replies v (REPLY or CLOSE) and logs it; 1.  0 when v is NULL. */
int session_plugin_refuse(struct session *s, const struct plugin_verdict *v,
    const char *what);
/* MAIL, RCPT, DATA after a refusal at CONNECT or HELO: 1 when refused. */
int session_plugin_refused_before(struct session *s);
void session_plugin_reset(struct session *s);
void session_plugin_end(struct session *s);
void session_edit_reply(struct session *s, struct ipc_reader *r);
void session_edit_failed(struct session *s);

/* commit.c */
void smtpd_commit_start(struct smtpd *sd);
void smtpd_commit_stop(struct smtpd *sd);

#endif
