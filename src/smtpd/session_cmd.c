/*
 * One function per SMTP command, and the table that says which command is
 * allowed in which state.  Arguments are parsed by smtp_parse.c; nothing
 * the client sent is echoed unless it passed that parser.
 */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lookup/directory.h"
#include "lookup/lookup_proto.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/smtpd.h"
#include "util/log.h"

typedef void session_cmd_fn(struct session *s, const char *arg);

/* HELO/EHLO passed tern's checks and the plugins': the reply. */
static void
session_helo_done(struct session *s, const struct plugin_verdict *v)
{
	const struct conf *conf = s->sd->conf;

	if (session_plugin_refuse(s, v, "HELO"))
		return;
	if (!s->esmtp) {
		session_reply(s, "250 %s", conf->hostname);
		if (s->helo_repeated)
			session_junk_command(s);
		return;
	}
	session_reply(s, "250-%s", conf->hostname);
	session_reply(s, "250-PIPELINING");
	session_reply(s, "250-SIZE %llu", (unsigned long long)conf->max_message_size);
	session_reply(s, "250-8BITMIME");
	session_reply(s, "250-ENHANCEDSTATUSCODES");
	if (!s->tls && s->sd->tls != NULL)
		session_reply(s, "250-STARTTLS");
	/* AUTH only inside TLS: a password never crosses in the clear. */
	if (s->tls && session_auth_offered(s) && !s->authenticated)
		session_reply(s, "250-AUTH PLAIN LOGIN");
	session_reply(s, "250 SMTPUTF8");
	if (s->helo_repeated)
		session_junk_command(s);
}

static void
cmd_helo(struct session *s, const char *arg, int esmtp)
{
	if (session_screen_pipelined(s, esmtp ? "EHLO" : "HELO"))
		return;
	if (*arg == '\0' || strlen(arg) > SMTPD_HELO_MAX || strchr(arg, ' ')) {
		session_client_error(s, "501 5.5.4 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	/* Kept for the Received header; printable ASCII only.  A second
	 * one inside the same TLS layer (or plain text) is junk. */
	s->helo_repeated = s->helo[0] != '\0';
	for (size_t i = 0; arg[i]; i++) {
		unsigned char c = (unsigned char)arg[i];
		s->helo[i] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
		s->helo[i + 1] = '\0';
	}
	s->esmtp = esmtp;
	session_enter_state(s, SESSION_HELO);
	session_reset_transaction(s);
	session_plugin_run(s, PLUGIN_HELO, session_helo_done);
}

static void
cmd_ehlo(struct session *s, const char *arg)
{
	cmd_helo(s, arg, 1);
}

static void
cmd_helo_plain(struct session *s, const char *arg)
{
	cmd_helo(s, arg, 0);
}

static void
cmd_mail(struct session *s, const char *arg)
{
	struct smtp_parse_error err;
	const struct conf *conf = s->sd->conf;

	if (smtp_parse_mail(arg, &s->mail, &err) < 0) {
		session_client_error(s, "%s", err.reply);
		return;
	}
	if (s->mail.has_size && s->mail.size > conf->max_message_size) {
		session_client_error(s, "552 5.3.4 Message size exceeds fixed maximum message size");
		return;
	}
	session_mail_check(s);
}

static void
cmd_rcpt(struct session *s, const char *arg)
{
	struct smtp_parse_error err;
	struct smtp_path path;
	struct buf req;

	if (smtp_parse_rcpt(arg, s->mail.smtputf8, &path, &err) < 0) {
		session_client_error(s, "%s", err.reply);
		return;
	}
	if (s->nrcpt_cmds >= s->sd->conf->max_recipients) {
		session_client_error(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	/* A bare <postmaster> goes to lookup as it is: lookup knows which
	 * local domain is this host's. */
	snprintf(s->rcpt_pending, sizeof(s->rcpt_pending), "%s", path.addr);
	session_lookup_request(s, &req);
	ipc_put_str(&req, s->rcpt_pending);
	if (session_ask_lookup(s, IPC_LOOKUP_RESOLVE, &req, WAIT_LOOKUP) < 0) {
		log_warn("%s: lookup unavailable: 451 to=<%s>", s->id, s->rcpt_pending);
		session_reply(s, "451 4.3.0 <%s>: Temporary lookup failure",
		    s->rcpt_pending);
	}
}

/* Adds a resolved mailbox to the transaction unless it is there already:
 * a mailbox reached twice in one message gets one copy. */
static void
session_add_target(struct session *s, const char *addr, int remote)
{
	for (size_t i = 0; i < s->env.nrcpt; i++)
		if (strcasecmp(s->env.rcpts[i].addr, addr) == 0)
			return;
	queue_env_add_rcpt(&s->env, s->rcpt_pending, addr, remote);
}

/* The recipient passed lookup and the plugins: 250, or the plugin's
 * refusal, which takes back the mailboxes this RCPT added. */
static void
session_rcpt_done(struct session *s, const struct plugin_verdict *v)
{
	if (v != NULL) {
		s->env.nrcpt = s->plugin_rcpt_before;
		session_plugin_refuse(s, v, "RCPT");
		return;
	}
	s->nrcpt_cmds++;
	session_enter_state(s, SESSION_RCPT);
	session_reply(s, "250 2.1.5 Ok");
}

void
session_lookup_reply(struct session *s, struct ipc_reader *r)
{
	uint32_t status = ipc_get_u32(r), n = ipc_get_u32(r);
	struct dir_target t;
	size_t before = s->env.nrcpt;

	session_wait_for(s, WAIT_NONE);
	for (uint32_t i = 0; i < n && i < DIR_RESOLVE_MAX && !r->error; i++) {
		t.remote = (int)ipc_get_u32(r);
		ipc_get_str(r, t.addr, sizeof(t.addr));
		if (!r->error && status == DIR_RESOLVE_OK)
			session_add_target(s, t.addr, t.remote);
	}
	if (n > DIR_RESOLVE_MAX || ipc_reader_end(r) < 0) {
		log_warn("%s: malformed lookup reply", s->id);
		status = DIR_RESOLVE_TEMPFAIL;
		s->env.nrcpt = before;
	}
	/* An authenticated session, or a client in relay_networks, may send
	 * anywhere: the address goes to the queue as it is, for outbound
	 * delivery. */
	if (status == DIR_RESOLVE_NOT_LOCAL &&
	    (s->authenticated || s->relay_network)) {
		session_add_target(s, s->rcpt_pending, 1);
		status = DIR_RESOLVE_OK;
	}
	switch (status) {
	case DIR_RESOLVE_OK:
		s->plugin_rcpt_before = before;
		session_plugin_run(s, PLUGIN_RCPT, session_rcpt_done);
		break;
	case DIR_RESOLVE_NOT_LOCAL:
		log_info("%s: reject RCPT from [%s]: relay access denied to=<%s>",
		    s->id, s->client_ip, s->rcpt_pending);
		session_client_error(s, "554 5.7.1 <%s>: Relay access denied",
		    s->rcpt_pending);
		break;
	case DIR_RESOLVE_UNKNOWN:
		log_info("%s: reject RCPT from [%s]: user unknown to=<%s>",
		    s->id, s->client_ip, s->rcpt_pending);
		session_client_error(s, "550 5.1.1 <%s>: Recipient address rejected: User unknown",
		    s->rcpt_pending);
		break;
	case DIR_RESOLVE_LOOP:
		log_warn("%s: alias loop or expansion too large for to=<%s>",
		    s->id, s->rcpt_pending);
		session_client_error(s, "550 5.4.6 <%s>: Alias expansion loops",
		    s->rcpt_pending);
		break;
	default:
		log_warn("%s: lookup failed: 451 to=<%s>", s->id, s->rcpt_pending);
		session_reply(s, "451 4.3.0 <%s>: Temporary lookup failure",
		    s->rcpt_pending);
		break;
	}
	session_resume(s);
}

static void
session_data_cmd_done(struct session *s, const struct plugin_verdict *v)
{
	if (!session_plugin_refuse(s, v, "DATA"))
		session_data_begin(s);
}

static void
cmd_data(struct session *s, const char *arg)
{
	if (*arg != '\0') {
		session_client_error(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	session_plugin_run(s, PLUGIN_DATA, session_data_cmd_done);
}

static void
cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	session_reset_transaction(s);
	session_reply(s, "250 2.0.0 Ok");
	session_junk_command(s);
}

static void
cmd_noop(struct session *s, const char *arg)
{
	(void)arg;
	session_reply(s, "250 2.0.0 Ok");
	session_junk_command(s);
}

static void
cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	session_reply(s, "221 2.0.0 Bye");
	session_close_after_reply(s);
}

static void
cmd_help(struct session *s, const char *arg)
{
	(void)arg;
	session_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP VRFY");
	session_junk_command(s);
}

static void
cmd_vrfy(struct session *s, const char *arg)
{
	(void)arg;
	/* Never says whether a user exists (RFC 5321 3.5.3). */
	session_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery");
	session_junk_command(s);
}

static void
cmd_not_offered(struct session *s, const char *arg)
{
	(void)arg;
	/* EXPN would enumerate users; BDAT needs CHUNKING, not advertised. */
	session_client_error(s, "502 5.5.1 Error: command not offered");
}

/*
 * What a command needs before it runs.  session_command() checks them in
 * this order, once, so that every command is refused the same way for the
 * same reason; the command's function then checks only its argument.
 */
enum {
	CMD_AUTH_PORT = 1 << 0,         /* AUTH is offered on this port */
	CMD_PLAIN = 1 << 1,             /* not inside TLS yet (STARTTLS) */
	CMD_TLS = 1 << 2,               /* inside TLS (AUTH: no password in clear) */
	CMD_HELO = 1 << 3,              /* after HELO/EHLO */
	CMD_UNAUTHENTICATED = 1 << 4,   /* not logged in yet (AUTH) */
	CMD_BEFORE_AUTH = 1 << 5,       /* allowed before AUTH on submission */
	CMD_IDLE = 1 << 6,              /* not inside a transaction */
	CMD_AFTER_MAIL = 1 << 7,        /* after MAIL (RCPT) */
	CMD_AFTER_RCPT = 1 << 8,        /* after a good RCPT (DATA) */
};

static const struct session_cmd_def {
	enum smtp_verb verb;
	session_cmd_fn *fn;
	unsigned needs;
} session_cmds[] = {
	{ SMTP_HELO, cmd_helo_plain, CMD_BEFORE_AUTH },
	{ SMTP_EHLO, cmd_ehlo, CMD_BEFORE_AUTH },
	{ SMTP_MAIL, cmd_mail, CMD_HELO | CMD_IDLE },
	{ SMTP_RCPT, cmd_rcpt, CMD_AFTER_MAIL },
	{ SMTP_DATA, cmd_data, CMD_AFTER_RCPT },
	{ SMTP_RSET, cmd_rset, CMD_BEFORE_AUTH },
	{ SMTP_NOOP, cmd_noop, CMD_BEFORE_AUTH },
	{ SMTP_QUIT, cmd_quit, CMD_BEFORE_AUTH },
	{ SMTP_HELP, cmd_help, CMD_BEFORE_AUTH },
	{ SMTP_VRFY, cmd_vrfy, CMD_BEFORE_AUTH },
	{ SMTP_EXPN, cmd_not_offered, CMD_BEFORE_AUTH },
	{ SMTP_STARTTLS, session_cmd_starttls,
	    CMD_PLAIN | CMD_HELO | CMD_BEFORE_AUTH },
	{ SMTP_AUTH, session_cmd_auth, CMD_AUTH_PORT | CMD_TLS | CMD_HELO |
	    CMD_UNAUTHENTICATED | CMD_BEFORE_AUTH | CMD_IDLE },
	{ SMTP_BDAT, cmd_not_offered, CMD_BEFORE_AUTH },
};

/* The reply to a command whose needs are not met, or NULL. */
static const char *
session_cmd_refusal(const struct session *s, const struct session_cmd_def *c)
{
	unsigned needs = c->needs;

	if ((needs & CMD_AUTH_PORT) && !session_auth_offered(s))
		return "503 5.5.1 Error: authentication not enabled";
	if ((needs & CMD_PLAIN) && s->tls)
		return "503 5.5.1 Error: TLS already active";
	if ((needs & CMD_TLS) && !s->tls)
		return "538 5.7.11 Encryption required for requested authentication mechanism";
	if ((needs & (CMD_HELO | CMD_AFTER_MAIL | CMD_AFTER_RCPT)) &&
	    s->state == SESSION_INIT)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if ((needs & CMD_UNAUTHENTICATED) && s->authenticated)
		return "503 5.5.1 Error: already authenticated";
	if (!(needs & CMD_BEFORE_AUTH) && s->kind != LISTEN_SMTP &&
	    !s->authenticated)
		return "530 5.7.0 Authentication required";
	if ((needs & CMD_IDLE) && s->state != SESSION_HELO)
		return c->verb == SMTP_MAIL ? "503 5.5.1 Error: nested MAIL command" :
		    "503 5.5.1 Error: MAIL transaction in progress";
	if ((needs & CMD_AFTER_MAIL) && s->state != SESSION_MAIL &&
	    s->state != SESSION_RCPT)
		return "503 5.5.1 Error: need MAIL command";
	if ((needs & CMD_AFTER_RCPT) && s->state == SESSION_MAIL)
		return "554 5.5.1 Error: no valid recipients";
	if ((needs & CMD_AFTER_RCPT) && s->state != SESSION_RCPT)
		return "503 5.5.1 Error: need RCPT command";
	return NULL;
}

void
session_command(struct session *s, char *line)
{
	const struct session_cmd_def *c;
	const char *refusal;
	struct smtp_cmd cmd;

	if (session_screen_command(s, line))
		return;
	smtp_cmd_parse(line, &cmd);
	if (smtpd_screen_enforce(s, &cmd))
		return;
	for (size_t i = 0; i < sizeof(session_cmds) / sizeof(session_cmds[0]); i++) {
		c = &session_cmds[i];
		if (c->verb != cmd.verb)
			continue;
		if ((refusal = session_cmd_refusal(s, c)) != NULL)
			session_client_error(s, "%s", refusal);
		else if ((c->needs & CMD_BEFORE_AUTH) ||
		    !session_plugin_refused_before(s))
			c->fn(s, cmd.arg);
		return;
	}
	session_client_error(s, "500 5.5.2 Error: command not recognized");
}
