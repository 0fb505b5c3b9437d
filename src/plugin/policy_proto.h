/*
 * Postfix's policy delegation protocol (SMTPD_POLICY_README), the pure
 * part: writing a request, reading a reply line by line, and turning the
 * reply's action into what smtpd does, with the reply text, status code
 * and enhanced status code Postfix's check_table_result() would give.
 * No I/O here; policy_conn.c moves the bytes and policy.c decides.
 * Everything read is from the policy server: bounded and not trusted.
 */
#ifndef TERN_POLICY_PROTO_H
#define TERN_POLICY_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define POLICY_LINE_MAX     2048        /* Postfix's line_length_limit */
#define POLICY_ATTRS_MAX    100         /* name=value lines in one reply */
#define POLICY_REQUEST_MAX  (64 * 1024)
#define POLICY_SMTP_REPLY_MAX 510       /* one SMTP reply line, no CRLF */

/* The attributes of one request, as Postfix names them; NULL is sent as
 * an empty value. */
struct policy_request {
	const char *protocol_state;     /* CONNECT, EHLO, HELO, MAIL, RCPT,
	                                 * DATA, END-OF-MESSAGE */
	const char *protocol_name;      /* SMTP or ESMTP */
	const char *client_address;
	const char *client_name;
	unsigned client_port;
	const char *reverse_client_name;
	const char *server_address;
	unsigned server_port;
	const char *helo_name;
	const char *queue_id;
	const char *sender;
	const char *recipient;
	unsigned recipient_count;
	const char *instance;
	uint64_t size;
	const char *etrn_domain;
	const char *stress;             /* "yes" or "" */
	const char *sasl_method;
	const char *sasl_username;
	const char *sasl_sender;
	const char *encryption_protocol;
	const char *encryption_cipher;
	unsigned encryption_keysize;
	const char *policy_context;
};

/* Appends the request (name=value lines and the empty line) to out.  0, or
 * -1 when a value holds a newline (*bad_r names the attribute; Postfix's
 * plain attribute format cannot carry one) or out is full (*bad_r
 * "request too long"); out then holds part of a request: reset it. */
int policy_request_format(const struct policy_request *rq, struct buf *out,
    const char **bad_r);

/* A reply being read: "name=value" lines up to an empty line.  Only
 * action= matters (the first one); others are counted and skipped. */
struct policy_reply {
	size_t nattrs;
	int have_action;
	char action[POLICY_LINE_MAX];
};

void policy_reply_init(struct policy_reply *r);
/* One line without its LF.  0: more to come; 1: the empty line ended a
 * reply that has an action; -1: broken (*why_r says how, static): a
 * line too long, a NUL, no '=', an empty name, too many attributes, or
 * no action. */
int policy_reply_line(struct policy_reply *r, const char *line, size_t len,
    const char **why_r);

enum policy_act {
	POLICY_ACT_DUNNO,               /* no opinion: ask the next service */
	POLICY_ACT_OK,                  /* permit: the other services are not asked */
	POLICY_ACT_REPLY,               /* reply (4xx, 5xx) instead of tern's */
	POLICY_ACT_CLOSE,               /* reply 421/521, then close */
	POLICY_ACT_HOLD,                /* queue the message on hold */
	POLICY_ACT_DISCARD,             /* accept and drop the message (permits) */
	POLICY_ACT_PREPEND,             /* add the header in text */
	POLICY_ACT_WARN,                /* log text, go on */
	POLICY_ACT_INFO,                /* log text, go on */
	POLICY_ACT_DEFER_IF_REJECT,     /* logged, go on: tern's checks passed */
	POLICY_ACT_UNSUPPORTED,         /* anything else: logged, taken as DUNNO */
};

struct policy_action {
	enum policy_act act;
	/* REPLY, CLOSE: one reply line, "450 4.7.1 <name>: Class rejected:
	 * text", printable ASCII, at most POLICY_SMTP_REPLY_MAX bytes. */
	char reply[POLICY_SMTP_REPLY_MAX + 1];
	/* PREPEND: the header "Name: value"; HOLD, DISCARD, WARN, INFO,
	 * DEFER_IF_REJECT: the text; UNSUPPORTED: why. */
	char text[POLICY_LINE_MAX];
};

/*
 * What the action means where it was asked: reply_name is what a refusal
 * names in <...> (the recipient at RCPT, the sender at MAIL, the HELO
 * name, "unknown[addr]" at connect, "DATA", "END-OF-MESSAGE") and
 * reply_class Postfix's "Recipient address", "Sender address", "Helo
 * command", "Client host", "Data command" or "End-of-data".
 */
void policy_action_eval(const char *action, const char *reply_name,
    const char *reply_class, struct policy_action *out);
const char *policy_act_name(enum policy_act act);

/* 1 if text is a header "Name: value" as Postfix's is_header() wants
 * (a name of printable ASCII but ':' and blanks, then ':'), with no
 * control byte but TAB in it. */
int policy_is_header(const char *text);

#endif
