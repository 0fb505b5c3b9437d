/*
 * Sender binding: an authenticated session may use, as MAIL FROM and in
 * the header From, Sender, Resent-From and Resent-Sender (and in their
 * display names), only the addresses its account owns or was granted; on port 25 an unauthenticated client may not claim one of our
 * own domains.  lookup answers (and counts what tern audit shows); here
 * the answer becomes a reply, or, with sender_binding = warn, a log line
 * saying what enforce would have done.
 */
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>

#include "lookup/lookup_proto.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "smtpd/header_from.h"
#include "smtpd/smtpd.h"
#include "util/log.h"

/* Asks lookup about addrs; the session waits in state why. */
static int
session_sender_ask(struct session *s, const char *const *addrs, size_t n,
    enum session_wait why)
{
	struct buf req;

	session_lookup_request(s, &req);
	ipc_put_str(&req, s->authenticated ? s->auth_login : "");
	ipc_put_str(&req, s->client_ip);
	ipc_put_u32(&req, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		ipc_put_str(&req, addrs[i]);
	return session_ask_lookup(s, IPC_LOOKUP_SENDER, &req, why);
}

/* MAIL passed tern's checks and the plugins': 250, or the plugin's
 * refusal, which ends the transaction it began. */
static void
session_mail_done(struct session *s, const struct plugin_verdict *v)
{
	if (v != NULL) {
		session_reset_transaction(s);
		session_plugin_refuse(s, v, "MAIL");
		return;
	}
	session_enter_state(s, SESSION_MAIL);
	session_reply(s, "250 2.1.0 Ok");
}

/* The queue id is the message's from MAIL on, as with Postfix: milters
 * and policy services see it from then. */
static void
session_mail_accept(struct session *s)
{
	queue_id_new(s->env.id);
	snprintf(s->env.sender, sizeof(s->env.sender), "%s", s->mail.addr);
	session_plugin_run(s, PLUGIN_MAIL, session_mail_done);
}

/* MAIL FROM has parsed: who may use it? */
void
session_mail_check(struct session *s)
{
	const struct conf *conf = s->sd->conf;
	const char *addr = s->mail.addr;

	/* relay_networks clients (scanners, printers, legacy applications)
	 * are exempt from the local-sender rule, as with Postfix's
	 * mynetworks. */
	if (!s->authenticated && (s->mail.null_path || s->relay_network ||
	    !conf->reject_unauthenticated_local_sender)) {
		session_mail_accept(s);
		return;
	}
	if (session_sender_ask(s, &addr, 1, WAIT_SENDER) < 0) {
		log_warn("%s: lookup unavailable for MAIL FROM", s->id);
		session_reply(s, "451 4.3.0 Error: temporary lookup failure");
	}
}

static void
session_mail_verdict(struct session *s, uint32_t v)
{
	char login[3 * DIR_LOGIN_MAX];

	log_escape(login, sizeof(login), s->auth_login, strlen(s->auth_login));
	switch (v) {
	case LOOKUP_SENDER_OK:
		session_mail_accept(s);
		return;
	case LOOKUP_SENDER_LOCAL_UNAUTH:
		log_info("%s: reject MAIL from [%s]: unauthenticated local sender from=<%s>",
		    s->id, s->client_ip, s->mail.addr);
		session_client_error(s, "553 5.7.1 <%s>: Sender address rejected: local senders must authenticate",
		    s->mail.addr);
		return;
	case LOOKUP_SENDER_NOT_OWNED:
		if (s->sd->conf->sender_binding == CONF_WARN) {
			log_info("%s: sender outside binding login=%s from=<%s> client=[%s] action=would-refuse",
			    s->id, login, s->mail.addr, s->client_ip);
			session_mail_accept(s);
			return;
		}
		log_info("%s: reject MAIL: sender outside binding login=%s from=<%s> client=[%s] action=refused",
		    s->id, login, s->mail.addr, s->client_ip);
		session_client_error(s, "553 5.7.1 <%s>: Sender address rejected: not owned by the authenticated user",
		    s->mail.addr);
		return;
	default:
		session_reply(s, "451 4.3.0 Error: temporary lookup failure");
		return;
	}
}

/* The end of DATA in an authenticated session: header From and Sender.
 * Returns 1 when a check is under way (the session waits), 0 when the
 * message may be committed now, -1 when it was refused (replied). */
int
session_header_check(struct session *s)
{
	const char *addrs[HEADER_FROM_MAX_ADDRS];
	size_t n;

	if (!s->authenticated || s->hf == NULL)
		return 0;
	header_from_end(s->hf);
	/* A message without From spoofs no one: it passes, as Postfix lets
	 * it (a Sender in it is still checked). */
	if (s->hf->from_fields == 0 && s->hf->error != NULL &&
	    strcmp(s->hf->error, HEADER_FROM_ERR_NO_FROM) == 0)
		s->hf->error = NULL;
	if (s->hf->error != NULL || s->hf->from_fields > 1 ||
	    s->hf->sender_fields > 1) {
		const char *why = s->hf->error ? s->hf->error :
		    s->hf->from_fields > 1 ? "several From fields" :
		    "several Sender fields";
		log_info("%s: reject DATA: %s login=%s client=[%s]", s->id, why,
		    s->auth_login, s->client_ip);
		session_client_error(s, "550 5.7.1 Error: message refused: %s",
		    why);
		return -1;
	}
	n = s->hf->naddrs;
	for (size_t i = 0; i < n; i++)
		addrs[i] = s->hf->addrs[i].addr;
	if (n == 0)
		return 0;
	if (session_sender_ask(s, addrs, n, WAIT_HEADER) < 0) {
		log_warn("%s: lookup unavailable for the header check", s->id);
		session_reply(s, "451 4.3.0 Error: temporary lookup failure");
		return -1;
	}
	return 1;
}

static void
session_header_verdict(struct session *s, uint32_t v, uint32_t index,
    uint32_t refused)
{
	char addr[ADDR_BUF], login[3 * DIR_LOGIN_MAX];
	int warn = s->sd->conf->sender_binding == CONF_WARN;

	/* Copied: the refusal below frees the collector it lives in. */
	snprintf(addr, sizeof(addr), "%s",
	    index < s->hf->naddrs ? s->hf->addrs[index].addr : "?");
	log_escape(login, sizeof(login), s->auth_login, strlen(s->auth_login));
	if (v == LOOKUP_SENDER_NOT_OWNED) {
		/* One line for each address the binding refuses. */
		for (size_t i = 0; i < s->hf->naddrs && i < 32; i++)
			if (refused & (1u << i))
				log_info("%s: %sheader sender outside binding login=%s address=<%s> client=[%s] action=%s field=%s%s",
				    s->id, warn ? "" : "reject DATA: ", login,
				    s->hf->addrs[i].addr, s->client_ip,
				    warn ? "would-refuse" : "refused",
				    header_from_kind_name(s->hf->addrs[i].kind),
				    s->hf->addrs[i].in_name ?
				    " in=display-name" : "");
		if (warn)
			v = LOOKUP_SENDER_OK;
	}
	if (v == LOOKUP_SENDER_OK) {
		session_data_ready(s);
		/* A commit that failed has replied 451 and waits for nothing. */
		if (s->wait == WAIT_NONE)
			session_resume(s);
		return;
	}
	if (v == LOOKUP_SENDER_NOT_OWNED) {
		session_data_abort(s);
		session_reset_transaction(s);
		session_client_error(s, "550 5.7.1 <%s>: header From or Sender not owned by the authenticated user",
		    addr);
	} else {
		session_data_abort(s);
		session_reset_transaction(s);
		session_reply(s, "451 4.3.0 Error: temporary lookup failure");
	}
	session_resume(s);
}

void
session_sender_reply(struct session *s, struct ipc_reader *r)
{
	enum session_wait why = s->wait;
	uint32_t v = ipc_get_u32(r), index = ipc_get_u32(r);
	uint32_t refused = ipc_get_u32(r);

	session_wait_for(s, WAIT_NONE);
	if (ipc_reader_end(r) < 0) {
		log_warn("%s: malformed sender reply from lookup", s->id);
		v = LOOKUP_SENDER_TEMPFAIL;
	}
	if (why == WAIT_HEADER) {
		session_header_verdict(s, v, index, refused);
		return;
	}
	session_mail_verdict(s, v);
	session_resume(s);
}
