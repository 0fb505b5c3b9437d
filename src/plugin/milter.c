/*
 * The milter plugin kind: a session's milters, in the order configured,
 * asked at each stage as Postfix asks them, one after the other; the
 * first that rejects, tempfails, discards or shuts down decides and the
 * rest are not asked.  Every step of a stage, and its end, runs from the
 * kick event, never from run() and never nested in another step, so that
 * session_plugin_answer() is called once, from the event loop, as the
 * last thing done (the session may be gone after it).  Trusts nothing a
 * milter sends: a milter that breaks the protocol, closes or stays silent
 * gets milter_default_action, and one log line says which and why.
 */
#include "plugin/milter.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/milter_int.h"
#include "plugin/milter_macros.h"
#include "plugin/msg_edit.h"
#include "smtpd/smtpd.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MILTER_REJECT  "550 5.7.1 Command rejected"
#define MILTER_TEMPFAIL "451 4.7.1 Service unavailable - try again later"
#define MILTER_SHUTDOWN "421 4.7.0 Server closing connection"
#define MILTER_DEF_REJECT "550 5.5.0 Service unavailable"

static void milter_kick(evutil_socket_t fd, short what, void *arg);

const char *
milter_peer_stage(const struct milter_peer *p)
{
	return p->ms->busy ? plugin_stage_name(p->ms->stage) : "idle";
}

static int
milter_is_current(const struct milter_peer *p)
{
	return p->ms->busy && &p->ms->peers[p->ms->cur] == p;
}

static void
milter_verdict_set(struct plugin_verdict *v, enum plugin_action a,
    const char *reply)
{
	memset(v, 0, sizeof(*v));
	v->action = a;
	if (reply != NULL)
		snprintf(v->reply, sizeof(v->reply), "%s", reply);
}

void
milter_peer_verdict(struct milter_peer *p, const struct plugin_verdict *v)
{
	struct milter_sess *ms = p->ms;

	if (!milter_is_current(p))
		return;
	ms->verdict = *v;
	snprintf(ms->verdict.who, sizeof(ms->verdict.who), "milter %s",
	    p->ep->name);
	ms->has_verdict = 1;
	event_active(ms->kick, EV_TIMEOUT, 1);
}

/* What milter_default_action makes of a broken milter. */
static void
milter_default_verdict(const struct session *s, struct plugin_verdict *v,
    const char **name_r)
{
	switch (s->sd->conf->milter_default_action) {
	case CONF_MILTER_ACCEPT:
		milter_verdict_set(v, PLUGIN_CONTINUE, NULL);
		*name_r = "accept";
		break;
	case CONF_MILTER_REJECT:
		milter_verdict_set(v, PLUGIN_REPLY, MILTER_DEF_REJECT);
		*name_r = "reject";
		break;
	case CONF_MILTER_SHUTDOWN:
		milter_verdict_set(v, PLUGIN_CLOSE, MILTER_SHUTDOWN);
		*name_r = "shutdown";
		break;
	default:
		milter_verdict_set(v, PLUGIN_REPLY, MILTER_TEMPFAIL);
		*name_r = "tempfail";
		break;
	}
}

void
milter_peer_fail(struct milter_peer *p, const char *why)
{
	struct plugin_verdict v;
	const char *action;
	char safe[256];

	milter_default_verdict(p->ms->s, &v, &action);
	log_escape(safe, sizeof(safe), why, strlen(why));
	log_warn("%s: milter %s: stage=%s %s; default action %s",
	    p->ms->s->id, p->ep->name, milter_peer_stage(p), safe, action);
	milter_conn_close(p, 0);
	p->state = MILTER_FAILED;
	buf_reset(&p->mods);
	milter_peer_verdict(p, &v);
}

/* The decision of a milter, logged: one line per decision. */
static void
milter_decide(struct milter_peer *p, enum plugin_action a, const char *what,
    const char *reply)
{
	struct plugin_verdict v;
	char safe[PLUGIN_REPLY_MAX];

	milter_verdict_set(&v, a, reply);
	if (a == PLUGIN_DISCARD)
		snprintf(v.reason, sizeof(v.reason), "discarded by milter %s",
		    p->ep->name);
	if (a != PLUGIN_CONTINUE || strcmp(what, "continue") != 0) {
		log_escape(safe, sizeof(safe), reply != NULL ? reply : "",
		    reply != NULL ? strlen(reply) : 0);
		log_info("%s: milter %s: stage=%s action=%s%s%s%s",
		    p->ms->s->id, p->ep->name, milter_peer_stage(p), what,
		    reply != NULL ? " reply=\"" : "", reply != NULL ? safe : "",
		    reply != NULL ? "\"" : "");
	}
	milter_peer_verdict(p, &v);
}

/* Macros, then cmd with data unless the milter asked not to get it
 * (no_flag); waits for the reply unless it said it sends none (nr_flag).
 * 1: waiting (or failed: the verdict comes), 0: nothing to wait for. */
static int
milter_send_cmd(struct milter_peer *p, char cmd, enum milter_macro_class cls,
    const struct buf *data, uint32_t no_flag, uint32_t nr_flag)
{
	struct session *s = p->ms->s;
	struct buf out;
	size_t start;
	int rc;

	buf_init(&out, 64 * 1024);
	rc = milter_macros_put(&out, s, cmd, p->has_list[cls] ? p->list[cls] :
	    milter_macro_conf_list(s, cls));
	if (rc == 0 && !(p->protocol & no_flag)) {
		rc = milter_put_begin(&out, cmd, &start);
		if (rc == 0)
			rc = milter_put_bytes(&out, data->data, data->len);
		if (rc == 0)
			milter_put_end(&out, start);
	}
	if (rc < 0 || (out.len > 0 && milter_conn_send(p, &out) < 0)) {
		buf_free(&out);
		milter_peer_fail(p, "could not be written to");
		return 1;
	}
	buf_free(&out);
	if ((p->protocol & no_flag) || (p->protocol & nr_flag))
		return 0;
	milter_conn_await(p, cmd, s->sd->conf->milter_command_timeout);
	return 1;
}

static void
milter_data_str(struct buf *d, const char *str)
{
	(void)buf_append(d, str, strlen(str) + 1);
}

/* SMFIC_CONNECT: the client as Postfix describes one it has no name
 * for: "[addr]", family, port, address. */
static void
milter_connect_data(struct session *s, struct buf *d)
{
	char host[80];
	char family = strchr(s->client_ip, ':') != NULL ? '6' : '4';
	uint16_t port = (uint16_t)s->client_port;
	uint8_t nport[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	snprintf(host, sizeof(host), "[%s]", s->client_ip);
	milter_data_str(d, host);
	(void)buf_append(d, &family, 1);
	(void)buf_append(d, nport, 2);
	milter_data_str(d, s->client_ip);
}

/* MAIL's arguments as the client gave them: <addr> then the parameters. */
static void
milter_mail_data(struct session *s, struct buf *d)
{
	char arg[ADDR_BUF + 4];

	snprintf(arg, sizeof(arg), "<%s>", s->mail.addr);
	milter_data_str(d, arg);
	if (s->mail.has_size) {
		snprintf(arg, sizeof(arg), "SIZE=%llu",
		    (unsigned long long)s->mail.size);
		milter_data_str(d, arg);
	}
	if (s->mail.body_8bit)
		milter_data_str(d, "BODY=8BITMIME");
	if (s->mail.smtputf8)
		milter_data_str(d, "SMTPUTF8");
}

/* The stage's event for a talking milter: 1 waiting, 0 nothing to do. */
static int
milter_peer_event(struct milter_peer *p)
{
	struct session *s = p->ms->s;
	struct buf d;
	int rc = 0;

	buf_init(&d, 4096);
	switch (p->ms->stage) {
	case PLUGIN_CONNECT:
		milter_connect_data(s, &d);
		rc = milter_send_cmd(p, SMFIC_CONNECT, SMFIM_CONNECT, &d,
		    SMFIP_NOCONNECT, SMFIP_NR_CONN);
		break;
	case PLUGIN_HELO:
		milter_data_str(&d, s->helo);
		rc = milter_send_cmd(p, SMFIC_HELO, SMFIM_HELO, &d,
		    SMFIP_NOHELO, SMFIP_NR_HELO);
		break;
	case PLUGIN_MAIL:
		p->in_message = 1;
		p->accepted = 0;
		milter_mail_data(s, &d);
		rc = milter_send_cmd(p, SMFIC_MAIL, SMFIM_ENVFROM, &d,
		    SMFIP_NOMAIL, SMFIP_NR_MAIL);
		break;
	case PLUGIN_RCPT:
		if (p->accepted)
			break;
		(void)buf_appendf(&d, "<%s>", s->rcpt_pending);
		(void)buf_append(&d, "", 1);
		rc = milter_send_cmd(p, SMFIC_RCPT, SMFIM_ENVRCPT, &d,
		    SMFIP_NORCPT, SMFIP_NR_RCPT);
		break;
	case PLUGIN_DATA:
		if (p->accepted)
			break;
		rc = milter_send_cmd(p, SMFIC_DATA, SMFIM_DATA, &d,
		    SMFIP_NODATA, SMFIP_NR_DATA);
		break;
	case PLUGIN_EOM:
		if (p->accepted)
			break;
		p->phase = MSG_HEADERS;
		p->hdr_pos = 0;
		p->skip_body = 0;
		(void)milter_msg_step(p);
		rc = 1;
		break;
	default:
		break;
	}
	buf_free(&d);
	return rc;
}

/* Starts the stage for p: 1 when its verdict will come, 0 when it has
 * nothing to do here. */
static int
milter_peer_start(struct milter_peer *p)
{
	struct plugin_verdict v;
	const char *action;

	switch (p->state) {
	case MILTER_IDLE:
		if (p->ms->stage != PLUGIN_CONNECT)
			return 0;
		milter_conn_open(p);
		return 1;
	case MILTER_READY:
		return milter_peer_event(p);
	case MILTER_FAILED:
		/* Broken earlier in the session: its default action stands
		 * for every later stage (as Postfix's def_reply does). */
		milter_default_verdict(p->ms->s, &v, &action);
		if (v.action == PLUGIN_CONTINUE)
			return 0;
		milter_peer_verdict(p, &v);
		return 1;
	default:
		return 0;
	}
}

void
milter_peer_ready(struct milter_peer *p)
{
	struct plugin_verdict v;

	if (!milter_is_current(p))
		return;
	if (milter_peer_event(p) == 0) {
		milter_verdict_set(&v, PLUGIN_CONTINUE, NULL);
		milter_peer_verdict(p, &v);
	}
}

void
milter_peer_drained(struct milter_peer *p)
{
	milter_conn_stop_clock(p);
	if (milter_is_current(p) && p->ms->stage == PLUGIN_EOM)
		(void)milter_msg_step(p);
}

static int
milter_in_connect(const struct milter_peer *p)
{
	return p->ms->stage == PLUGIN_CONNECT || p->ms->stage == PLUGIN_HELO;
}

/* After a reject at connect or HELO, or an accept there, the milter has
 * no more to say in this session: closed, as Postfix does. */
static void
milter_peer_done(struct milter_peer *p)
{
	milter_conn_close(p, 1);
	p->state = MILTER_FINISHED;
}

/* A reply that ends what the milter is asked (not a change, not
 * progress): its verdict. */
static void
milter_final(struct milter_peer *p, const struct milter_pkt *pkt)
{
	char reply[PLUGIN_REPLY_MAX], why[160];
	int eom = p->ms->stage == PLUGIN_EOM;

	if (pkt->cmd != SMFIR_REPLYCODE && pkt->len != 0) {
		snprintf(why, sizeof(why), "sent %s with %zu data bytes",
		    milter_reply_name(pkt->cmd), pkt->len);
		milter_peer_fail(p, why);
		return;
	}
	switch (pkt->cmd) {
	case SMFIR_CONTINUE:
		if (eom && milter_msg_commit(p, why, sizeof(why)) < 0) {
			milter_peer_fail(p, why);
			return;
		}
		milter_decide(p, PLUGIN_CONTINUE, "continue", NULL);
		return;
	case SMFIR_ACCEPT:
		if (eom && milter_msg_commit(p, why, sizeof(why)) < 0) {
			milter_peer_fail(p, why);
			return;
		}
		if (milter_in_connect(p))
			milter_peer_done(p);
		else
			p->accepted = 1;
		milter_decide(p, PLUGIN_CONTINUE, "accept", NULL);
		return;
	case SMFIR_DISCARD:
		if (milter_in_connect(p)) {
			milter_decide(p, PLUGIN_CONTINUE,
			    "discard-ignored-before-mail", NULL);
			return;
		}
		p->accepted = 1;
		milter_decide(p, PLUGIN_DISCARD, "discard", NULL);
		return;
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
		if (milter_in_connect(p))
			milter_peer_done(p);
		milter_decide(p, PLUGIN_REPLY, pkt->cmd == SMFIR_REJECT ?
		    "reject" : "tempfail", pkt->cmd == SMFIR_REJECT ?
		    MILTER_REJECT : MILTER_TEMPFAIL);
		return;
	case SMFIR_SHUTDOWN:
	case SMFIR_CONN_FAIL:
		milter_peer_done(p);
		milter_decide(p, PLUGIN_CLOSE, "shutdown", MILTER_SHUTDOWN);
		return;
	case SMFIR_REPLYCODE:
		if (milter_reply_text(pkt, reply, sizeof(reply), why,
		    sizeof(why)) < 0) {
			milter_peer_fail(p, why);
			return;
		}
		if (milter_in_connect(p) || strncmp(reply, "421", 3) == 0)
			milter_peer_done(p);
		milter_decide(p, strncmp(reply, "421", 3) == 0 ? PLUGIN_CLOSE :
		    PLUGIN_REPLY, "reply", reply);
		return;
	default:
		snprintf(why, sizeof(why), "sent unknown reply 0x%02x",
		    (unsigned char)pkt->cmd);
		milter_peer_fail(p, why);
		return;
	}
}

/* A reply while the message is being sent (to a header, end of header
 * or a body chunk): continue and skip go on with the message. */
static int
milter_msg_reply(struct milter_peer *p, const struct milter_pkt *pkt)
{
	if (p->phase == MSG_REPLIES || pkt->len != 0)
		return 0;
	if (pkt->cmd == SMFIR_SKIP && p->awaiting_cmd == SMFIC_BODY &&
	    p->phase == MSG_BODY) {
		p->skip_body = 1;
		(void)milter_msg_step(p);
		return 1;
	}
	if (pkt->cmd == SMFIR_CONTINUE) {
		(void)milter_msg_step(p);
		return 1;
	}
	return 0;
}

void
milter_peer_reply(struct milter_peer *p, const struct milter_pkt *pkt)
{
	char why[160], safe[160];
	char cmd = p->awaiting_cmd;

	p->awaiting = 0;
	milter_conn_stop_clock(p);
	if (pkt->cmd == SMFIR_PROGRESS) {
		milter_conn_await(p, cmd, p->timeout);
		return;
	}
	if (pkt->cmd == SMFIR_QUARANTINE) {
		if ((p->actions & SMFIF_QUARANTINE) == 0 ||
		    pkt->len == 0 || pkt->data[pkt->len - 1] != '\0') {
			milter_peer_fail(p, "sent a malformed or unasked "
			    "SMFIR_QUARANTINE");
			return;
		}
		log_escape(safe, sizeof(safe), (const char *)pkt->data,
		    pkt->len - 1);
		p->ms->held = 1;
		snprintf(p->ms->hold_who, sizeof(p->ms->hold_who),
		    "milter %s", p->ep->name);
		snprintf(p->ms->hold_reason, sizeof(p->ms->hold_reason),
		    "quarantined by milter %s: %s", p->ep->name, safe);
		log_info("%s: milter %s: stage=%s action=quarantine "
		    "reason=\"%s\"", p->ms->s->id, p->ep->name,
		    milter_peer_stage(p), safe);
		milter_conn_await(p, cmd, p->timeout);
		return;
	}
	if (p->ms->stage == PLUGIN_EOM && milter_msg_reply(p, pkt))
		return;
	if (p->ms->stage == PLUGIN_EOM && p->phase == MSG_REPLIES &&
	    pkt->cmd != SMFIR_CONTINUE && pkt->cmd != SMFIR_ACCEPT &&
	    pkt->cmd != SMFIR_DISCARD && pkt->cmd != SMFIR_REJECT &&
	    pkt->cmd != SMFIR_TEMPFAIL && pkt->cmd != SMFIR_REPLYCODE &&
	    pkt->cmd != SMFIR_SHUTDOWN && pkt->cmd != SMFIR_CONN_FAIL) {
		if (milter_msg_mod(p, pkt, why, sizeof(why)) < 0) {
			milter_peer_fail(p, why);
			return;
		}
		milter_conn_await(p, cmd, p->timeout);
		return;
	}
	if (p->ms->stage == PLUGIN_EOM && p->phase != MSG_REPLIES &&
	    pkt->cmd == SMFIR_ACCEPT && pkt->len == 0) {
		/* accepted before the end: the rest is not sent */
		p->accepted = 1;
		milter_decide(p, PLUGIN_CONTINUE, "accept", NULL);
		return;
	}
	milter_final(p, pkt);
}

/* Ends the stage with v; the session may be gone afterwards. */
static void
milter_finish(struct milter_sess *ms, struct plugin_verdict *v)
{
	struct session *s = ms->s;

	ms->busy = 0;
	if (v->action == PLUGIN_CONTINUE && ms->held) {
		v->action = PLUGIN_HOLD;
		snprintf(v->who, sizeof(v->who), "%s", ms->hold_who);
		snprintf(v->reason, sizeof(v->reason), "%s", ms->hold_reason);
	}
	if (ms->stage == PLUGIN_EOM)
		milter_msg_free(ms);
	session_plugin_answer(s, v);
}

static void
milter_kick(evutil_socket_t fd, short what, void *arg)
{
	struct milter_sess *ms = arg;
	struct plugin_verdict v;
	char why[160];

	(void)fd;
	(void)what;
	if (!ms->busy)
		return;
	if (ms->has_verdict) {
		ms->has_verdict = 0;
		v = ms->verdict;
		if (v.action != PLUGIN_CONTINUE) {
			milter_finish(ms, &v);
			return;
		}
		ms->cur++;
	} else if (ms->stage == PLUGIN_EOM && ms->hdr == NULL &&
	    milter_msg_load(ms, why, sizeof(why)) < 0) {
		log_warn("%s: milter: %s", ms->s->id, why);
		milter_verdict_set(&v, PLUGIN_REPLY,
		    "451 4.3.0 Error: queue file read error");
		milter_finish(ms, &v);
		return;
	}
	for (; ms->cur < ms->npeers; ms->cur++)
		if (milter_peer_start(&ms->peers[ms->cur]) != 0)
			return;
	milter_verdict_set(&v, PLUGIN_CONTINUE, NULL);
	milter_finish(ms, &v);
}

static struct milter_sess *
milter_sess_new(struct session *s)
{
	struct milter_set *set = s->sd->milters;
	const struct milter_endpoint *eps;
	struct milter_sess *ms;
	int n;

	if (set == NULL)
		return NULL;
	eps = s->kind == LISTEN_SMTP ? set->smtp : set->submission;
	n = s->kind == LISTEN_SMTP ? set->nsmtp : set->nsubmission;
	if (n == 0)
		return NULL;
	ms = xcalloc(1, sizeof(*ms));
	ms->s = s;
	ms->npeers = n;
	ms->msg_fd = -1;
	ms->kick = event_new(s->sd->base, -1, 0, milter_kick, ms);
	if (ms->kick == NULL)
		fatal("milter: out of memory for an event");
	for (int i = 0; i < n; i++) {
		struct milter_peer *p = &ms->peers[i];
		p->ms = ms;
		p->ep = &eps[i];
		buf_init(&p->in, MILTER_PKT_MAX + 8);
		/* changes: a new body as large as a message, and headers */
		buf_init(&p->mods, (size_t)(s->sd->conf->max_message_size +
		    MSG_EDIT_MAX * (size_t)(MSG_EDIT_FIELD_MAX / 8)));
	}
	return ms;
}

static int
milter_run(struct session *s, enum plugin_stage stage)
{
	struct milter_sess *ms;

	if (stage == PLUGIN_CONNECT && s->milter == NULL)
		s->milter = milter_sess_new(s);
	if ((ms = s->milter) == NULL)
		return 0;
	ms->busy = 1;
	ms->stage = stage;
	ms->cur = 0;
	ms->has_verdict = 0;
	ms->held = 0;
	event_active(ms->kick, EV_TIMEOUT, 1);
	return 1;
}

static void
milter_reset(struct session *s)
{
	static const char abort_pkt[5] = { 0, 0, 0, 1, SMFIC_ABORT };
	struct milter_sess *ms = s->milter;

	if (ms == NULL)
		return;
	if (ms->busy) {
		/* Not expected: the session waits for us.  A milter asked
		 * mid-reply cannot be put back in step: it is dropped. */
		struct milter_peer *p = &ms->peers[ms->cur];
		if (p->state == MILTER_READY || p->state == MILTER_CONNECTING ||
		    p->state == MILTER_NEGOTIATING) {
			milter_conn_close(p, 0);
			p->state = MILTER_FAILED;
		}
		ms->busy = 0;
	}
	for (int i = 0; i < ms->npeers; i++) {
		struct milter_peer *p = &ms->peers[i];
		if (p->state == MILTER_READY && p->in_message &&
		    p->bev != NULL)
			(void)bufferevent_write(p->bev, abort_pkt,
			    sizeof(abort_pkt));
		p->in_message = 0;
		p->accepted = 0;
		p->skip_body = 0;
		buf_reset(&p->mods);
	}
	milter_msg_free(ms);
}

static void
milter_end(struct session *s)
{
	struct milter_sess *ms = s->milter;

	if (ms == NULL)
		return;
	for (int i = 0; i < ms->npeers; i++) {
		milter_conn_close(&ms->peers[i], 1);
		buf_free(&ms->peers[i].in);
		buf_free(&ms->peers[i].mods);
	}
	milter_msg_free(ms);
	event_free(ms->kick);
	if (ms->alive != NULL)
		*ms->alive = 0;
	free(ms);
	s->milter = NULL;
}

static int
milter_init(struct smtpd *sd)
{
	struct milter_set *set = xcalloc(1, sizeof(*set));
	char why[256];
	int n;

	if ((n = milter_list_resolve(sd->conf->smtpd_milters, set->smtp, why,
	    sizeof(why))) < 0)
		goto fail;
	set->nsmtp = n;
	if ((n = milter_list_resolve(sd->conf->submission_milters,
	    set->submission, why, sizeof(why))) < 0)
		goto fail;
	set->nsubmission = n;
	sd->milters = set;
	return 0;
fail:
	log_error("milter: %s", why);
	free(set);
	return -1;
}

static void
milter_free(struct smtpd *sd)
{
	free(sd->milters);
	sd->milters = NULL;
}

const struct plugin_kind milter_kind = {
	.name = "milter",
	.init = milter_init,
	.free = milter_free,
	.run = milter_run,
	.reset = milter_reset,
	.end = milter_end,
};
