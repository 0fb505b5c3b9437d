/*
 * A policy request filled from the session, attribute by attribute as
 * Postfix's smtpd fills it (smtpd_check.c, check_policy_service): what a
 * stage does not know yet is empty; recipient_count is counted only at
 * DATA and END-OF-MESSAGE, where recipient is given only when there is
 * one.  tern looks up no client names at smtpd, so client_name and
 * reverse_client_name are "unknown", as Postfix says when it has none.
 * Trusts the session; the values themselves may come from the client, and
 * policy_proto.c refuses any that would break a line.
 */
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "plugin/policy_int.h"
#include "plugin/policy_proto.h"
#include "smtpd/smtpd.h"

static const char *
policy_state_name(const struct policy_sess *ps)
{
	switch (ps->stage) {
	case PLUGIN_CONNECT: return "CONNECT";
	case PLUGIN_HELO:    return ps->s->esmtp ? "EHLO" : "HELO";
	case PLUGIN_MAIL:    return "MAIL";
	case PLUGIN_RCPT:    return "RCPT";
	case PLUGIN_DATA:    return "DATA";
	case PLUGIN_EOM:     return "END-OF-MESSAGE";
	default:             return "";
	}
}

static void
policy_request_tls(struct session *s, struct policy_request *rq)
{
	SSL *ssl;

	rq->encryption_protocol = rq->encryption_cipher = "";
	if (!s->tls || (ssl = bufferevent_openssl_get_ssl(s->bev)) == NULL)
		return;
	rq->encryption_protocol = SSL_get_version(ssl);
	rq->encryption_cipher = SSL_get_cipher_name(ssl);
	int bits = SSL_get_cipher_bits(ssl, NULL);
	rq->encryption_keysize = bits > 0 ? (unsigned)bits : 0;
}

/* The envelope, from MAIL on. */
static void
policy_request_envelope(struct policy_sess *ps, struct policy_request *rq)
{
	struct session *s = ps->s;
	int after_data = ps->stage == PLUGIN_DATA || ps->stage == PLUGIN_EOM;

	if (ps->stage < PLUGIN_MAIL)
		return;
	rq->queue_id = s->env.id;
	rq->sender = s->mail.addr;
	rq->instance = ps->instance;
	if (ps->stage == PLUGIN_RCPT)
		rq->recipient = s->rcpt_pending;
	else if (after_data && s->nrcpt_cmds == 1 && s->env.nrcpt > 0)
		rq->recipient = s->env.rcpts[0].orig;
	if (after_data)
		rq->recipient_count = (unsigned)s->nrcpt_cmds;
	if (ps->stage == PLUGIN_EOM)
		rq->size = s->dr.size;
	else if (s->mail.has_size)
		rq->size = s->mail.size;
}

int
policy_request_build(struct policy_sess *ps, const char **bad_r)
{
	struct session *s = ps->s;
	struct policy_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.protocol_state = policy_state_name(ps);
	rq.protocol_name = s->esmtp ? "ESMTP" : "SMTP";
	rq.client_address = s->client_ip;
	rq.client_port = s->client_port;
	rq.client_name = rq.reverse_client_name = "unknown";
	rq.server_address = ps->server_addr;
	rq.server_port = ps->server_port;
	rq.helo_name = s->helo;
	rq.instance = "";
	rq.stress = conf_stress_active() ? "yes" : "";
	if (s->authenticated) {
		rq.sasl_method = s->auth_mech;
		rq.sasl_username = s->auth_login;
	}
	policy_request_envelope(ps, &rq);
	policy_request_tls(s, &rq);
	buf_reset(&ps->req);
	return policy_request_format(&rq, &ps->req, bad_r);
}

void
policy_reply_names(const struct policy_sess *ps, const char **name_r,
    const char **class_r, char *buf, size_t buflen)
{
	const struct session *s = ps->s;

	switch (ps->stage) {
	case PLUGIN_CONNECT:
		snprintf(buf, buflen, "unknown[%s]", s->client_ip);
		*name_r = buf;
		*class_r = "Client host";
		break;
	case PLUGIN_HELO:
		*name_r = s->helo;
		*class_r = "Helo command";
		break;
	case PLUGIN_MAIL:
		*name_r = s->mail.addr;
		*class_r = "Sender address";
		break;
	case PLUGIN_RCPT:
		*name_r = s->rcpt_pending;
		*class_r = "Recipient address";
		break;
	case PLUGIN_DATA:
		*name_r = "DATA";
		*class_r = "Data command";
		break;
	default:
		*name_r = "END-OF-MESSAGE";
		*class_r = "End-of-data";
		break;
	}
}
