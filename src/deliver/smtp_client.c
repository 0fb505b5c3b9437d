/*
 * One outbound SMTP connection, the dialogue half (see smtp_conn.h):
 * EHLO (HELO when refused), STARTTLS as the policy asks, AUTH at the
 * relayhost, then messages one after another, pipelined when the server
 * offers PIPELINING.  Each state that awaits a reply has its handler; the
 * state changes only in smtpc_enter_state(), which also sets the timers
 * the new state asks for.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver/smtp_conn.h"
#include "util/base64.h"
#include "util/log.h"

static void smtpc_take_message(struct smtp_conn *c);

void
smtpc_body_fill(struct smtp_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	char in[SMTPC_CHUNK], buf[2 * SMTPC_CHUNK + 8];

	while (!c->body_done && evbuffer_get_length(out) < SMTPC_OUT_HIGH) {
		ssize_t n = pread(c->fd, in, sizeof(in), c->offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			smtpc_fail(c, 0, "cannot read the queue file: %s",
			    strerror(errno));
			return;
		}
		size_t o = 0;
		for (ssize_t i = 0; i < n; i++) {
			/* Dot-stuffing (RFC 5321 4.5.2). */
			if (c->at_line_start && in[i] == '.')
				buf[o++] = '.';
			buf[o++] = in[i];
			c->at_line_start = in[i] == '\n';
		}
		c->offset += n;
		if (n == 0) {
			/* The queue keeps whole lines: the message ends in CRLF. */
			if (!c->at_line_start)
				buf[o++] = '\r', buf[o++] = '\n';
			memcpy(buf + o, ".\r\n", 3);
			o += 3;
			c->body_done = 1;
			smtpc_enter_state(c, SC_DOT);
		}
		evbuffer_add(out, buf, o);
	}
}

static void
smtpc_start_body(struct smtp_conn *c)
{
	c->fd = open(c->msg->path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0) {
		smtpc_fail(c, 0, "cannot open the queue file: %s", strerror(errno));
		return;
	}
	c->offset = c->msg->content_offset;
	c->at_line_start = 1;
	c->body_done = 0;
	smtpc_enter_state(c, SC_BODY);
	smtpc_body_fill(c);
}

/* MAIL FROM with what the message declares and the server offers.  An
 * 8-bit body goes as it is to a server without 8BITMIME (no conversion
 * to 7bit, as Postfix with disable_mime_output_conversion = yes; see
 * docs/operations.md). */
static void
smtpc_send_mail(struct smtp_conn *c, const struct ob_msg *m)
{
	char size[32] = "";

	if (c->ext.esmtp && c->ext.size_max > 0)
		snprintf(size, sizeof(size), " SIZE=%lld", (long long)m->size);
	smtpc_send(c, "MAIL FROM:<%s>%s%s%s", m->sender, size,
	    m->body_8bit && c->ext.eightbit ? " BODY=8BITMIME" : "",
	    m->smtputf8 && c->ext.smtputf8 ? " SMTPUTF8" : "");
}

/* 1 if this server can take m.  If not, m's recipients bounce without a
 * word to the server; the caller goes on with the next message (in a
 * loop, not by recursion: a whole queue may bounce here). */
static int
smtpc_msg_fits(struct smtp_conn *c, struct ob_msg *m)
{
	const char *status = NULL;
	char why[OB_REPLY_MAX];

	if (c->ext.size_max > 0 && (unsigned long long)m->size > c->ext.size_max) {
		status = "5.3.4";
		snprintf(why, sizeof(why), "message too big for the receiving server");
	} else if (m->smtputf8 && !c->ext.smtputf8) {
		/* UTF-8 addresses or headers cannot go without SMTPUTF8 and
		 * there is no downgrade (RFC 6530 4): bounced, as Postfix does. */
		status = "5.6.7";
		snprintf(why, sizeof(why),
		    "SMTPUTF8 is required, but was not offered by host %s[%s]",
		    smtpc_host(c), c->ip);
	}
	if (status == NULL)
		return 1;
	snprintf(m->relay, sizeof(m->relay), "%s[%s]:%u", smtpc_host(c), c->ip,
	    c->dest->port);
	outbound_finish_msg(m, OB_BOUNCED, status, why);
	outbound_msg_done(c->ob, m);
	return 0;
}

/* MAIL, and with PIPELINING the RCPTs and DATA, of a message that fits. */
static void
smtpc_start_msg(struct smtp_conn *c, struct ob_msg *m)
{
	c->reused = c->state == SC_IDLE;
	c->msg = m;
	snprintf(m->relay, sizeof(m->relay), "%s[%s]:%u", smtpc_host(c), c->ip,
	    c->dest->port);
	c->rcpt_i = 0;
	c->accepted = 0;
	c->fd = -1;
	smtpc_send_mail(c, m);
	smtpc_enter_state(c, SC_MAIL);
	if (c->ext.pipelining) {
		for (size_t i = 0; i < m->nrcpt; i++)
			smtpc_send(c, "RCPT TO:<%s>", m->rcpts[i].addr);
		smtpc_send(c, "DATA");
	}
}

static void
smtpc_idle_expired(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_conn *c = arg;

	(void)fd;
	(void)what;
	outbound_idle_remove(c->dest, c);
	smtpc_send(c, "QUIT");
	smtpc_enter_state(c, SC_QUIT);
}

/* Next message for this destination, or idle a moment, then QUIT. */
static void
smtpc_take_message(struct smtp_conn *c)
{
	struct timeval tv = { SMTPC_IDLE, 0 };
	struct ob_msg *m;

	if (!c->ready) {
		c->ready = 1;
		outbound_conn_ready(c->dest);
	}
	while ((m = outbound_next_msg(c->dest)) != NULL) {
		if (smtpc_msg_fits(c, m)) {
			smtpc_start_msg(c, m);
			return;
		}
	}
	smtpc_enter_state(c, SC_IDLE);
	outbound_conn_idle(c->dest, c);
	outbound_kick(c->ob);
	if (c->idle_ev == NULL)
		c->idle_ev = evtimer_new(c->ob->base, smtpc_idle_expired, c);
	if (c->idle_ev == NULL || evtimer_add(c->idle_ev, &tv) < 0)
		smtpc_idle_expired(-1, 0, c);
}

void
smtp_conn_send(struct smtp_conn *c, struct ob_msg *m)
{
	if (c->idle_ev != NULL && evtimer_del(c->idle_ev) < 0)
		log_debug("cannot stop the idle timer");
	if (!smtpc_msg_fits(c, m)) {
		smtpc_take_message(c);
		return;
	}
	smtpc_start_msg(c, m);
}

/* The reply to the final dot (or to MAIL or DATA when they failed). */
static void
smtpc_message_done(struct smtp_conn *c, int code, const char *text)
{
	struct ob_msg *m = c->msg;
	enum ob_result r = code / 100 == 2 ? OB_SENT : code / 100 == 5 ?
	    OB_BOUNCED : OB_DEFERRED;

	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	outbound_finish_msg(m, r, NULL, text);
	c->msg = NULL;
	c->sent_any = 1;
	outbound_msg_done(c->ob, m);
}

static int
smtpc_auth(struct smtp_conn *c)
{
	struct outbound *ob = c->ob;
	unsigned char plain[520];
	char b64[800];
	size_t ll = strlen(ob->relay_login), pl = strlen(ob->relay_password);

	if (ll + pl + 2 > sizeof(plain))
		return -1;
	plain[0] = '\0';
	memcpy(plain + 1, ob->relay_login, ll);
	plain[1 + ll] = '\0';
	memcpy(plain + 2 + ll, ob->relay_password, pl);
	int r = base64_encode(plain, ll + pl + 2, b64, sizeof(b64));
	explicit_bzero(plain, sizeof(plain));
	if (r < 0)
		return -1;
	smtpc_send(c, "AUTH PLAIN %s", b64);
	explicit_bzero(b64, sizeof(b64));
	smtpc_enter_state(c, SC_AUTH);
	return 0;
}

/* After EHLO (or HELO): TLS as the policy wants, AUTH at the relayhost,
 * then the first message. */
static void
smtpc_ready(struct smtp_conn *c)
{
	int policy = c->policy;

	if (!c->tls && c->ext.starttls) {
		smtpc_send(c, "STARTTLS");
		smtpc_enter_state(c, SC_STARTTLS);
		return;
	}
	if (!c->tls && policy != CONF_TLS_MAY) {
		smtpc_fail(c, 0, "TLS is required (smtp_tls_policy %s) but %s does not offer STARTTLS",
		    policy == CONF_TLS_VERIFY ? "verify" : "encrypt", smtpc_host(c));
		return;
	}
	if (c->dest->relayhost && c->ob->relay_login[0] != '\0' && c->tls &&
	    c->ext.auth_plain && c->state != SC_AUTH) {
		if (smtpc_auth(c) == 0)
			return;
	}
	smtpc_take_message(c);
}

/* ---- replies: one handler per state that awaits one ---- */

static void
smtpc_on_greeting(struct smtp_conn *c, int code, const char *text)
{
	if (code != 220) {
		smtpc_try_next(c, "%s[%s] greeted: %s", smtpc_host(c), c->ip, text);
		return;
	}
	smtpc_send(c, "EHLO %s", c->ob->conf->hostname);
	smtpc_enter_state(c, SC_EHLO);
}

static void
smtpc_on_ehlo(struct smtp_conn *c, int code, const char *text)
{
	(void)text;
	if (code / 100 != 2) {
		smtpc_forget_ext(c);    /* lines of a refusal offer nothing */
		smtpc_send(c, "HELO %s", c->ob->conf->hostname);
		smtpc_enter_state(c, SC_HELO);
		return;
	}
	c->ext.esmtp = 1;
	smtpc_ready(c);
}

static void
smtpc_on_helo(struct smtp_conn *c, int code, const char *text)
{
	if (code / 100 != 2) {
		smtpc_try_next(c, "%s[%s] refused HELO: %s", smtpc_host(c), c->ip, text);
		return;
	}
	smtpc_ready(c);
}

static void
smtpc_on_starttls(struct smtp_conn *c, int code, const char *text)
{
	if (code == 220) {
		smtpc_start_tls(c);
		return;
	}
	if (c->policy != CONF_TLS_MAY) {
		smtpc_fail(c, 0, "STARTTLS refused by %s: %s", smtpc_host(c), text);
		return;
	}
	c->ext.starttls = 0;
	smtpc_ready(c);
}

static void
smtpc_on_auth(struct smtp_conn *c, int code, const char *text)
{
	if (code != 235) {
		smtpc_fail(c, 0, "authentication at the relayhost failed: %s", text);
		return;
	}
	smtpc_take_message(c);
}

/* The message is over without being sent (refused before DATA): the
 * connection goes on after an RSET. */
static void
smtpc_abandon_msg(struct smtp_conn *c)
{
	struct ob_msg *m = c->msg;

	c->msg = NULL;
	outbound_msg_done(c->ob, m);
	smtpc_send(c, "RSET");
	smtpc_enter_state(c, SC_RSET);
}

static void
smtpc_on_mail(struct smtp_conn *c, int code, const char *text)
{
	struct ob_msg *m = c->msg;

	if (code / 100 != 2) {
		outbound_finish_msg(m, code / 100 == 5 ? OB_BOUNCED :
		    OB_DEFERRED, NULL, text);
		c->mail_failed = 1;
		if (c->ext.pipelining)
			smtpc_enter_state(c, SC_RCPT); /* their replies follow */
		else
			smtpc_abandon_msg(c);
		return;
	}
	c->mail_failed = 0;
	smtpc_enter_state(c, SC_RCPT);
	if (!c->ext.pipelining)
		smtpc_send(c, "RCPT TO:<%s>", m->rcpts[0].addr);
}

static void
smtpc_on_rcpt(struct smtp_conn *c, int code, const char *text)
{
	struct ob_msg *m = c->msg;

	if (!c->mail_failed) {
		struct ob_rcpt *r = &m->rcpts[c->rcpt_i];
		if (code / 100 == 2)
			c->accepted++;
		else
			outbound_rcpt_result(r, code / 100 == 5 ?
			    OB_BOUNCED : OB_DEFERRED, NULL, text);
	}
	if (++c->rcpt_i < m->nrcpt) {
		if (!c->ext.pipelining)
			smtpc_send(c, "RCPT TO:<%s>", m->rcpts[c->rcpt_i].addr);
		return;
	}
	if (c->ext.pipelining) {
		smtpc_enter_state(c, SC_DATA);  /* its reply follows */
	} else if (c->accepted == 0) {
		smtpc_abandon_msg(c);
	} else {
		smtpc_send(c, "DATA");
		smtpc_enter_state(c, SC_DATA);
	}
}

static void
smtpc_on_data(struct smtp_conn *c, int code, const char *text)
{
	if (code != 354) {
		if (!c->mail_failed)
			outbound_finish_msg(c->msg, code / 100 == 5 ? OB_BOUNCED :
			    OB_DEFERRED, NULL, text);
		smtpc_abandon_msg(c);
		return;
	}
	if (c->mail_failed || c->accepted == 0) {
		/* DATA accepted though nothing can go: an empty message ends
		 * it (RFC 2920 3.1). */
		smtpc_send(c, ".");
		c->mail_failed = 1;
		smtpc_enter_state(c, SC_DOT);
		return;
	}
	smtpc_start_body(c);
}

static void
smtpc_on_dot(struct smtp_conn *c, int code, const char *text)
{
	struct ob_msg *m = c->msg;

	if (c->mail_failed) {
		c->msg = NULL;
		if (m != NULL)
			outbound_msg_done(c->ob, m);
	} else {
		smtpc_message_done(c, code, text);
	}
	smtpc_take_message(c);
}

static void
smtpc_on_rset(struct smtp_conn *c, int code, const char *text)
{
	(void)code;
	(void)text;
	smtpc_take_message(c);
}

static void
smtpc_on_quit(struct smtp_conn *c, int code, const char *text)
{
	(void)code;
	(void)text;
	smtp_conn_free(c);
}

typedef void smtpc_reply_fn(struct smtp_conn *c, int code, const char *text);

/* The states, by name for the log, with the handler of the reply each
 * awaits (NULL: none is awaited; one that comes is ignored). */
static const struct {
	const char *name;
	smtpc_reply_fn *on_reply;
} smtpc_states[] = {
	[SC_RESOLVE_MX] = { "resolve-mx", NULL },
	[SC_RESOLVE_HOST] = { "resolve-host", NULL },
	[SC_CONNECT] = { "connect", NULL },
	[SC_GREETING] = { "greeting", smtpc_on_greeting },
	[SC_EHLO] = { "ehlo", smtpc_on_ehlo },
	[SC_HELO] = { "helo", smtpc_on_helo },
	[SC_STARTTLS] = { "starttls", smtpc_on_starttls },
	[SC_TLS] = { "tls", NULL },
	[SC_AUTH] = { "auth", smtpc_on_auth },
	[SC_IDLE] = { "idle", NULL },
	[SC_MAIL] = { "mail", smtpc_on_mail },
	[SC_RCPT] = { "rcpt", smtpc_on_rcpt },
	[SC_DATA] = { "data", smtpc_on_data },
	[SC_BODY] = { "body", NULL },
	[SC_DOT] = { "dot", smtpc_on_dot },
	[SC_RSET] = { "rset", smtpc_on_rset },
	[SC_QUIT] = { "quit", smtpc_on_quit },
};

void
smtpc_enter_state(struct smtp_conn *c, enum smtpc_state st)
{
	if (st != c->state)
		log_debug("outbound %s: state %s -> %s", c->dest->name,
		    smtpc_states[c->state].name, smtpc_states[st].name);
	c->state = st;
	smtpc_set_timers(c, st);
}

void
smtpc_reply(struct smtp_conn *c, int code, const char *text)
{
	smtpc_reply_fn *fn = smtpc_states[c->state].on_reply;

	if (fn != NULL)
		fn(c, code, text);
}

void
smtpc_tls_up(struct smtp_conn *c)
{
	c->tls = 1;
	smtpc_forget_ext(c);
	smtpc_send(c, "EHLO %s", c->ob->conf->hostname);
	smtpc_enter_state(c, SC_EHLO);
}
