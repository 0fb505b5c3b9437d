/*
 * Plugins as a session sees them.  Three kinds talk to programs outside
 * tern: milters (milter.c), policy services (policy.c) and tern's own
 * filters (filter.c).  At each stage of a session, after tern's own checks
 * have passed and before its reply is sent, session_plugin.c asks each kind
 * in that order; the first one that objects decides, and the rest are not
 * asked.  A kind answers asynchronously: the session waits (WAIT_PLUGIN)
 * and reads nothing from the client meanwhile.
 */
#ifndef TERN_PLUGIN_H
#define TERN_PLUGIN_H

#include <stddef.h>
#include <sys/types.h>

struct session;
struct smtpd;

enum plugin_stage {
	PLUGIN_CONNECT,         /* before the greeting's final line */
	PLUGIN_HELO,            /* HELO/EHLO accepted; s->helo is set */
	PLUGIN_MAIL,            /* MAIL accepted; s->mail, s->env.id set */
	PLUGIN_RCPT,            /* one RCPT accepted: s->rcpt_pending and
	                         * the targets it added to s->env */
	PLUGIN_DATA,            /* DATA, before 354 */
	PLUGIN_EOM,             /* the final dot: the message is in
	                         * s->data_tmp (see session_plugin_message) */
	PLUGIN_STAGES
};

enum plugin_action {
	PLUGIN_CONTINUE,        /* no objection: the next kind is asked */
	PLUGIN_REPLY,           /* reply (4xx or 5xx) instead of tern's own;
	                         * at CONNECT and HELO it answers every later
	                         * MAIL, RCPT and DATA of the session */
	PLUGIN_CLOSE,           /* reply (421 or 521), then close */
	PLUGIN_DISCARD,         /* the message is accepted and dropped; the
	                         * next kinds are still asked */
	PLUGIN_HOLD,            /* the message is queued on hold; the next
	                         * kinds are still asked */
};

#define PLUGIN_REPLY_MAX 2048
#define PLUGIN_WHO_MAX   160

struct plugin_verdict {
	enum plugin_action action;
	/* REPLY, CLOSE: one or more complete reply lines ("550 5.7.1 text"
	 * or "550-5.7.1 text"), joined by CRLF, without a final CRLF; each
	 * line already checked (3 digits, 4xx/5xx, printable). */
	char reply[PLUGIN_REPLY_MAX];
	/* For the log line: "milter inet:127.0.0.1:8891", "policy ...". */
	char who[PLUGIN_WHO_MAX];
	/* DISCARD, HOLD: why, for the log. */
	char reason[256];
};

/*
 * One kind of plugin.  run() starts a stage for a session and returns 0
 * when the kind has nothing to do there (the chain goes on at once), or 1
 * when it will call session_plugin_answer() later, exactly once and never
 * from inside run().  reset() says the transaction ended (RSET, HELO, a
 * message finished or refused); end() that the session is going away, also
 * while a stage is in flight: no answer is expected after it.  init() and
 * free() are once per smtpd process; init() returns -1 (logged) when the
 * settings cannot work.
 */
struct plugin_kind {
	const char *name;
	int (*init)(struct smtpd *sd);
	void (*free)(struct smtpd *sd);
	int (*run)(struct session *s, enum plugin_stage stage);
	void (*reset)(struct session *s);
	void (*end)(struct session *s);
};

/* session_plugin.c */
void session_plugin_answer(struct session *s, const struct plugin_verdict *v);
/* The message at PLUGIN_EOM: an fd open for reading on s->data_tmp (the
 * caller closes it); *received_at is where the header as tern wrote it
 * begins (s->nprepend PREPEND fields, then tern's own Received field) and
 * *message_at where the client's message begins (its header, the blank
 * line, its body; CRLF line ends, dots unstuffed).  -1 when it cannot be
 * opened (logged). */
int session_plugin_message(struct session *s, off_t *received_at,
    off_t *message_at);
/* A header line ("Name: value", no CRLF) to put above tern's Received
 * header when the message is written (policy's PREPEND before DATA).
 * 0, or -1 when the message has too many already. */
int session_plugin_prepend(struct session *s, const char *header);
const char *plugin_stage_name(enum plugin_stage stage);

#endif
