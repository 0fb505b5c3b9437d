/*
 * Inside the milter client, shared by milter.c (the plugin kind and the
 * stages), milter_conn.c (one connection, its bytes and its clocks) and
 * milter_msg.c (the message at end of DATA, and the changes a milter asks
 * for).  Trusts nothing a milter sends.
 */
#ifndef TERN_MILTER_INT_H
#define TERN_MILTER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plugin/milter_conf.h"
#include "plugin/milter_proto.h"
#include "plugin/plugin.h"
#include "util/buf.h"

/* Bytes queued to a milter before the message stage waits for them to
 * drain (a milter that wants no replies could otherwise be sent a whole
 * message into memory). */
#define MILTER_OUT_HIGH (256 * 1024)
/* The client's header section read at end of DATA; past it the rest is
 * sent as body. */
#define MILTER_HDR_MAX  (1024 * 1024)

struct bufferevent;
struct event;
struct session;

/* Per smtpd process: the endpoints of each list, looked up at start. */
struct milter_set {
	struct milter_endpoint smtp[MILTER_MAX];
	int nsmtp;
	struct milter_endpoint submission[MILTER_MAX];
	int nsubmission;
};

enum milter_state {
	MILTER_IDLE,            /* not connected yet */
	MILTER_CONNECTING,      /* TCP or unix connect under way */
	MILTER_NEGOTIATING,     /* OPTNEG sent */
	MILTER_READY,           /* talking */
	MILTER_FINISHED,        /* accepted or refused the whole session:
	                         * closed, no more events */
	MILTER_FAILED,          /* broke: closed; the default action answers
	                         * for it from now on */
};

/* What the message stage has sent a milter so far. */
enum milter_msg_phase {
	MSG_HEADERS, MSG_EOH, MSG_BODY, MSG_EOB, MSG_REPLIES,
};

struct milter_sess;

/* One milter's connection within one session. */
struct milter_peer {
	struct milter_sess *ms;
	const struct milter_endpoint *ep;
	struct bufferevent *bev;
	struct event *timer;            /* the reply's (or connect's) clock */
	unsigned timeout;               /* seconds, of what is awaited */
	enum milter_state state;
	uint32_t version, actions, protocol;
	int has_list[MILTER_MACRO_CLASSES];     /* its own macro lists */
	char list[MILTER_MACRO_CLASSES][MILTER_SYMLIST_MAX];
	int awaiting;                   /* a reply is due */
	char awaiting_cmd;              /* to which command */
	int in_message;                 /* MAIL sent: ABORT at reset */
	int accepted;                   /* SMFIR_ACCEPT: done with this message */
	int skip_body;                  /* SMFIR_SKIP during the body */
	int draining;                   /* the stage waits for output to drain */
	int body_edit;                  /* 1 replacing the body, 2 done */
	/* end of DATA */
	enum milter_msg_phase phase;
	size_t hdr_pos;                 /* next header in ms->hdr */
	off_t body_pos;                 /* next body byte in the file */
	struct buf in;                  /* the packet being handled */
	struct buf mods;                /* change requests, raw, until final */
};

struct milter_sess {
	struct session *s;
	struct milter_peer peers[MILTER_MAX];
	int npeers;
	int busy;                       /* a stage is in flight */
	enum plugin_stage stage;
	int cur;                        /* the peer the stage is at */
	struct plugin_verdict verdict;  /* the current peer's, once given */
	int has_verdict;
	struct event *kick;             /* starts a stage outside run() */
	int *alive;                     /* cleared when ms is freed */
	int held;                       /* a HOLD to report at the end */
	char hold_who[PLUGIN_WHO_MAX];
	char hold_reason[256];
	/* the message, at end of DATA */
	int msg_fd;
	off_t body_at, msg_end;
	char *hdr;                      /* the client's header section */
	size_t hdr_len;
};

/* milter.c: a peer finished the stage with verdict v (CONTINUE, REPLY,
 * CLOSE, DISCARD); the stage goes on with the next peer or ends.  The
 * caller must not touch ms afterwards: the session may be gone. */
void milter_peer_verdict(struct milter_peer *p,
    const struct plugin_verdict *v);
/* milter.c: the peer broke (why, for the log): closed, and the default
 * action given for the stage.  Same rule: ms may be gone after it. */
void milter_peer_fail(struct milter_peer *p, const char *why);
/* milter.c: the connection is up and negotiated: go on with the stage. */
void milter_peer_ready(struct milter_peer *p);
/* milter.c: a reply packet arrived for the awaited command. */
void milter_peer_reply(struct milter_peer *p, const struct milter_pkt *pkt);
/* milter.c: the output drained: a stage that was writing goes on. */
void milter_peer_drained(struct milter_peer *p);
const char *milter_peer_stage(const struct milter_peer *p);

/* milter_conn.c */
void milter_conn_open(struct milter_peer *p);
/* Queues out's bytes to the milter; 0 or -1 (broken: failed). */
int milter_conn_send(struct milter_peer *p, struct buf *out);
/* Arms the clock for a reply to cmd. */
void milter_conn_await(struct milter_peer *p, char cmd, unsigned timeout);
void milter_conn_stop_clock(struct milter_peer *p);
size_t milter_conn_pending(const struct milter_peer *p);
/* Closes without a word (errors); QUIT first when quit and talking. */
void milter_conn_close(struct milter_peer *p, int quit);

/* milter_msg.c */
int milter_msg_load(struct milter_sess *ms, char *why, size_t whylen);
void milter_msg_free(struct milter_sess *ms);
/* Sends the next piece of the message to p: 1 when a reply is awaited or
 * the output must drain, 0 when the message has all been sent and the
 * reply to its end is awaited, -1 on error (p failed). */
int milter_msg_step(struct milter_peer *p);
/* A change request at end of DATA: kept in p->mods.  0, or -1 with why
 * (an action not negotiated, a malformed packet). */
int milter_msg_mod(struct milter_peer *p, const struct milter_pkt *pkt,
    char *why, size_t whylen);
/* The final reply came: p's changes go into s->edits.  0, or -1 with why
 * (a change msg_edit refuses: nothing of p's is kept then). */
int milter_msg_commit(struct milter_peer *p, char *why, size_t whylen);

#endif
