/*
 * An SMTP session: the connection, the cutting of command lines, the state
 * and the replies.  Everything read here comes from the network: a command
 * line is acted on only when it is at most SMTPD_LINE_MAX bytes, ends in
 * CRLF, and holds no bare CR and no NUL (bare LF and bare CR are refused
 * by policy, never folded into line ends, and end the session).
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/smtp_line.h"
#include "smtpd/smtpd.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void session_read(struct bufferevent *bev, void *arg);
static void session_write(struct bufferevent *bev, void *arg);
static void session_event(struct bufferevent *bev, short what, void *arg);

/* The slot in the low SMTPD_SLOT_BITS, the generation above: an answer
 * for a session gone finds no session rather than the slot's next one. */
uint32_t
session_ref(const struct session *s)
{
	return s->slot | (s->gen << SMTPD_SLOT_BITS);
}

struct session *
session_by_ref(struct smtpd *sd, uint32_t ref)
{
	uint32_t slot = ref & ((1u << SMTPD_SLOT_BITS) - 1);
	struct session *s = slot < sd->nslots ? sd->slots[slot] : NULL;

	return (s != NULL && session_ref(s) == ref) ? s : NULL;
}

/*
 * No slot for one more session.  On ports 25 and 587 the client hears 421
 * in plain text; on 465 it expects a TLS ServerHello, and plain text would
 * be garbage to it, so the connection closes without a word (a handshake
 * just to say no would spend what is short).
 */
static void
session_refuse_busy(int fd, const char *ip, unsigned port,
    enum listen_kind kind)
{
	/* The same words as the screen's, for a client it handed over. */
	static const char busy[] = "421 4.3.2 All server ports are busy\r\n";

	if (kind == LISTEN_SUBMISSIONS) {
		log_warn("too many sessions: closing [%s]:%u on the TLS port "
		    "without a reply", ip, port);
	} else {
		log_warn("too many sessions: refusing [%s]:%u", ip, port);
		if (write(fd, busy, sizeof(busy) - 1) < 0)
			log_debug("refusal not sent: %s", strerror(errno));
	}
	close(fd);
}

void
session_new(struct smtpd *sd, int fd, const char *ip, unsigned port,
    enum listen_kind kind, const struct screen_handoff *h)
{
	char screen_desc[160];
	struct session *s;
	struct client_entry *client;
	uint32_t slot;

	for (slot = 0; slot < sd->nslots; slot++)
		if (sd->slots[slot] == NULL)
			break;
	if (slot == sd->nslots || sd->stopping) {
		session_refuse_busy(fd, ip, port, kind);
		smtpd_screen_done(sd, ip, h);
		return;
	}
	if (smtpd_client_admit(sd, fd, ip, port, kind, h, &client) < 0) {
		smtpd_screen_done(sd, ip, h);
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->client = client;
	s->sd = sd;
	s->slot = slot;
	s->gen = (sd->next_gen++) & ((1u << (32 - SMTPD_SLOT_BITS)) - 1);
	s->kind = kind;
	s->data_fd = -1;
	queue_id_new(s->id);
	snprintf(s->client_ip, sizeof(s->client_ip), "%s", ip);
	s->client_port = port;
	buf_init(&s->data_out, 64 * 1024);
	buf_init(&s->prepend, 64 * 1024);
	session_deadline_init(s);
	s->relay_network = cidr_list_match(sd->relay_nets, ip);
	if (h != NULL) {
		s->screened = 1;
		s->screen = *h;
	}
	smtpd_screen_describe(h, screen_desc, sizeof(screen_desc));
	log_info("%s: connect from [%s]:%u port=%s%s%s", s->id, ip, port,
	    kind == LISTEN_SMTP ? "smtp" : kind == LISTEN_SUBMISSION ?
	    "submission" : "submissions",
	    s->relay_network ? " relay=network" : "", screen_desc);
	if (kind == LISTEN_SUBMISSIONS) {
		/* TLS from the first byte: the greeting waits for the
		 * handshake (session_tls_ready). */
		if (session_tls_accept(s, fd) < 0) {
			close(fd);
			smtpd_client_release(sd, &s->client);
			session_deadline_free(s);
			buf_free(&s->data_out);
			buf_free(&s->prepend);
			free(s);
			return;
		}
	} else {
		s->bev = bufferevent_socket_new(sd->base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (s->bev == NULL)
			fatal("cannot create a bufferevent");
	}
	sd->slots[slot] = s;
	sd->nsessions++;
	load_report_set(&sd->load, sd->nsessions);
	session_watch(s);
	session_enter_state(s, SESSION_INIT);
	if (kind != LISTEN_SUBMISSIONS)
		session_greet(s);
}

/* smtpd_starttls_timeout from the start of a TLS handshake to the first
 * command inside it, smtpd_timeout otherwise; each read through
 * conf_now(), so that stress mode shortens both. */
void
session_set_timeouts(struct session *s)
{
	const struct conf *conf = s->sd->conf;
	struct timeval tv = { 0, 0 };

	tv.tv_sec = s->tls_first_command ?
	    conf_now(conf, smtpd_starttls_timeout) :
	    conf_now(conf, smtpd_timeout);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

/* Callbacks and timeouts on the session's current bufferevent (a new one
 * after STARTTLS). */
void
session_watch(struct session *s)
{
	bufferevent_setcb(s->bev, session_read, session_write, session_event, s);
	session_set_timeouts(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* After the plugins' connect stage: a refusal there closes at once
 * (421, 521) or answers every later transaction (the greeting goes out
 * as usual, as Postfix does for a milter). */
static void
session_greet_done(struct session *s, const struct plugin_verdict *v)
{
	if (session_plugin_refuse(s, v, "CONNECT") &&
	    s->state == SESSION_CLOSING)
		return;
	session_reply(s, "220 %s ESMTP Tern", s->sd->conf->hostname);
}

void
session_greet(struct session *s)
{
	session_plugin_run(s, PLUGIN_CONNECT, session_greet_done);
}

void
session_free(struct session *s)
{
	struct smtpd *sd = s->sd;

	log_info("%s: disconnect from [%s]:%u commands=%u errors=%u", s->id,
	    s->client_ip, s->client_port, s->ncommands, s->errors);
	session_data_abort(s);
	session_plugin_end(s);
	/* A message with the committer stays its: commit_done finds the
	 * session gone by its ref. */
	queue_env_free(&s->env);
	buf_free(&s->data_out);
	buf_free(&s->prepend);
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	if (s->close_ev != NULL)
		event_free(s->close_ev);
	session_deadline_free(s);
	explicit_bzero(s->auth_user, sizeof(s->auth_user));
	bufferevent_free(s->bev);
	sd->slots[s->slot] = NULL;
	sd->nsessions--;
	smtpd_client_release(sd, &s->client);
	if (s->screened)
		smtpd_screen_done(sd, s->client_ip, &s->screen);
	free(s);
	load_report_set(&sd->load, sd->nsessions);
	if (sd->stopping && sd->nsessions == 0)
		event_base_loopbreak(sd->base);
}

/*
 * The one place a session starts and stops waiting.  While it waits (for
 * lookup, the group sync, the brake's delay) it reads nothing more, so
 * that what the client pipelined stays in the socket; a TLS handshake
 * reads on its own.  session_resume() reads on once the wait is over.
 */
void
session_wait_for(struct session *s, enum session_wait why)
{
	s->wait = why;
	if (why != WAIT_NONE && why != WAIT_TLS)
		bufferevent_disable(s->bev, EV_READ);
}

/* A request to lookup, its first field the session's reference, which
 * the answer carries back. */
void
session_lookup_request(struct session *s, struct buf *req)
{
	buf_init(req, IPC_MAX_PAYLOAD);
	ipc_put_u32(req, session_ref(s));
}

int
session_ask_lookup(struct session *s, uint32_t type, struct buf *req,
    enum session_wait why)
{
	int r = -1;

	if (s->sd->lookup != NULL)
		r = ipc_chan_send(s->sd->lookup, type, req->data, req->len, -1);
	/* An AUTH request holds a password. */
	if (req->len > 0)
		explicit_bzero(req->data, req->len);
	buf_free(req);
	if (r < 0)
		return -1;
	session_wait_for(s, why);
	return 0;
}

void
session_enter_state(struct session *s, enum session_state state)
{
	static const char *const names[] = {
		[SESSION_INIT] = "init", [SESSION_HELO] = "helo",
		[SESSION_MAIL] = "mail", [SESSION_RCPT] = "rcpt",
		[SESSION_DATA] = "data", [SESSION_CLOSING] = "closing",
	};

	if (state != s->state)
		log_debug("%s: state %s -> %s", s->id, names[s->state],
		    names[state]);
	s->state = state;
}

static void
session_vreply(struct session *s, const char *fmt, va_list ap)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);

	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
}

/* One more error; at smtpd_hard_error_limit (1 under stress) the session
 * hears 421 behind the reply just queued, and closes. */
static void
session_count_error(struct session *s)
{
	unsigned limit = conf_now(s->sd->conf, smtpd_hard_error_limit);

	if (++s->errors >= limit && s->state != SESSION_CLOSING) {
		log_info("%s: too many errors from [%s] errors=%u limit=%u%s",
		    s->id, s->client_ip, s->errors, limit,
		    conf_stress_active() ? " stress=on" : "");
		session_reply(s, "421 4.7.0 %s Too many errors",
		    s->sd->conf->hostname);
		session_close_after_reply(s);
	}
}

/* A 4xx/5xx reply to a client mistake: counts toward the error limit. */
void
session_client_error(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	session_vreply(s, fmt, ap);
	va_end(ap);
	session_count_error(s);
}

/* As Postfix: the commands that move no mail are free up to the limit,
 * then each is an error; the count starts again after a queued message. */
void
session_junk_command(struct session *s)
{
	if (++s->junk <= conf_now(s->sd->conf, smtpd_junk_command_limit))
		return;
	if (s->junk == conf_now(s->sd->conf, smtpd_junk_command_limit) + 1)
		log_info("%s: junk command limit reached from [%s] junk=%u",
		    s->id, s->client_ip, s->junk);
	session_count_error(s);
}

void
session_close_after_reply(struct session *s)
{
	session_data_abort(s);
	session_enter_state(s, SESSION_CLOSING);
	bufferevent_disable(s->bev, EV_READ);
	/* Every caller has just queued a reply, so session_write runs once
	 * it has drained and frees the session then, never under the
	 * caller's feet. */
}

void
session_reset_transaction(struct session *s)
{
	session_data_abort(s);
	session_plugin_reset(s);
	queue_env_free(&s->env);
	memset(&s->env, 0, sizeof(s->env));
	memset(&s->mail, 0, sizeof(s->mail));
	s->nrcpt_cmds = 0;
	if (s->state != SESSION_INIT && s->state != SESSION_CLOSING)
		session_enter_state(s, SESSION_HELO);
}

/*
 * A command line with a bare LF, a bare CR or a NUL ends the session after
 * the reply, as Postfix's smtpd_forbid_bare_newline does: a server in front
 * of or behind tern may cut the same bytes into other commands, and nothing
 * that follows can be trusted to start where the client meant it to.
 */
static void
session_bad_line(struct session *s, const char *what, const char *reply)
{
	log_info("%s: %s in a command from [%s]; closing", s->id, what,
	    s->client_ip);
	session_reply(s, "%s", reply);
	s->errors++;
	session_close_after_reply(s);
}

/*
 * Takes one command line out of the input, if a whole one is there.
 * Returns 1 and the line (CRLF removed) in line, 0 if more input is needed,
 * or -1 when a refused line was consumed (the reply has been sent).
 */
static int
session_take_line(struct session *s, char *line)
{
	struct smtp_line_cutter cut = { SMTPD_AUTH_LINE_MAX, s->discarding };
	size_t len = 0;
	enum smtp_line_result r;

	r = smtp_line_take(&cut, bufferevent_get_input(s->bev), line, &len);
	s->discarding = cut.discarding;
	switch (r) {
	case SMTP_LINE_MORE:
		return 0;
	case SMTP_LINE_TOO_LONG:
		session_client_error(s, "500 5.5.2 Error: line too long");
		return -1;
	case SMTP_LINE_BARE_LF:
		session_bad_line(s, "bare LF", "500 5.5.2 Error: bare <LF> received");
		smtpd_screen_report(s, "bare-lf");
		return -1;
	case SMTP_LINE_BARE_CR:
		session_bad_line(s, "bare CR or NUL",
		    "500 5.5.2 Error: bare <CR> or NUL received");
		return -1;
	case SMTP_LINE_OK:
		break;
	}
	/* Only AUTH and its responses may pass 512 bytes (RFC 4954). */
	if (len > SMTPD_LINE_MAX && s->auth_step == AUTH_NONE &&
	    strncasecmp(line, "AUTH ", 5) != 0) {
		session_client_error(s, "500 5.5.2 Error: line too long");
		return -1;
	}
	return 1;
}

/* Runs whatever complete input is buffered, until the session must wait
 * (a lookup, the group sync) or its pending replies are too many. */
static void
session_process(struct session *s)
{
	char line[SMTPD_AUTH_LINE_MAX + 1];

	while (s->state != SESSION_CLOSING && s->wait == WAIT_NONE) {
		/* Looked up each time: STARTTLS replaces the bufferevent. */
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) >
		    SMTPD_OUTPUT_MAX) {
			/* Stop reading until the client reads its replies. */
			bufferevent_disable(s->bev, EV_READ);
			return;
		}
		if (s->state == SESSION_DATA) {
			session_data_feed(s);
			if (s->state == SESSION_DATA)
				return;         /* needs more input */
			continue;
		}
		int r = session_take_line(s, line);
		if (r == 0) {
			session_deadline_line(s, s->discarding ||
			    evbuffer_get_length(bufferevent_get_input(s->bev)) > 0);
			return;
		}
		session_deadline_line_done(s);
		if (r < 0)
			continue;
		s->ncommands++;
		if (s->tls_first_command) {
			/* The first command inside TLS: smtpd_timeout again. */
			s->tls_first_command = 0;
			session_set_timeouts(s);
		}
		if (s->auth_step != AUTH_NONE)
			session_auth_line(s, line);
		else
			session_command(s, line);
		explicit_bzero(line, sizeof(line));
	}
}

void
session_resume(struct session *s)
{
	/* Still waiting (a plugin, the commit): reading waits too. */
	if (s->state == SESSION_CLOSING || s->wait != WAIT_NONE)
		return;
	bufferevent_enable(s->bev, EV_READ);
	session_process(s);
}

static void
session_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_process(arg);
}

static void
session_close_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_free(arg);
}

static void
session_underlying_drained(struct evbuffer *buf,
    const struct evbuffer_cb_info *info, void *arg)
{
	struct session *s = arg;

	(void)info;
	if (evbuffer_get_length(buf) == 0)
		event_active(s->close_ev, 0, 0);
}

/* Frees a closing session once its last reply is out.  After STARTTLS the
 * session's bufferevent is a filter whose output has only reached the
 * socket's bufferevent beneath it: the free waits for that one to drain
 * too, or the 221 would be lost. */
static void
session_close_when_flushed(struct session *s)
{
	struct bufferevent *under = bufferevent_get_underlying(s->bev);
	struct evbuffer *out;

	if (under == NULL ||
	    evbuffer_get_length(out = bufferevent_get_output(under)) == 0) {
		session_free(s);
		return;
	}
	if (s->close_ev != NULL)
		return;
	s->close_ev = event_new(s->sd->base, -1, 0, session_close_cb, s);
	if (s->close_ev == NULL || evbuffer_add_cb(out,
	    session_underlying_drained, s) == NULL)
		session_free(s);
}

static void
session_write(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->state == SESSION_CLOSING) {
		session_close_when_flushed(s);
		return;
	}
	if (s->wait == WAIT_NONE &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0) {
		bufferevent_enable(s->bev, EV_READ);
		session_process(s);
	}
}

static void
session_event(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		session_tls_ready(s);
		return;
	}
	if ((what & (BEV_EVENT_ERROR | BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) &&
	    s->wait == WAIT_TLS && !session_tls_finished(s)) {
		session_tls_failed(s);
		session_free(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("%s: timeout from [%s] state=%d reason=timeout", s->id,
		    s->client_ip, (int)s->state);
		if (s->state != SESSION_CLOSING) {
			session_reply(s, "421 4.4.2 %s Error: timeout exceeded",
			    s->sd->conf->hostname);
			session_close_after_reply(s);
			return;
		}
	}
	/* A TLS bufferevent reports a peer that just went away (no
	 * close_notify) as an error with errno 0: that is a lost connection. */
	if ((what & BEV_EVENT_ERROR) && errno != 0 &&
	    bufferevent_get_openssl_error(s->bev) == 0)
		log_info("%s: connection error from [%s]: %s", s->id,
		    s->client_ip, strerror(errno));
	else if (what & BEV_EVENT_ERROR)
		log_info("%s: lost connection from [%s]", s->id, s->client_ip);
	else if (what & BEV_EVENT_EOF && s->state != SESSION_CLOSING)
		log_info("%s: lost connection from [%s]", s->id, s->client_ip);
	session_free(s);
}
