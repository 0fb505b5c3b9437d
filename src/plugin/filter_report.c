/*
 * The report lines (docs/filters.md, "Report events"): one line per event,
 * "report EVENT ID FIELD...", every field escaped by filter_field, so that
 * no byte a client or a remote server sent can make a space or a line
 * end.  Written only to the filters that asked for the event; a line is
 * built only when one did.  Trusts the queue's IPC message no more than
 * the network: read through ipc_reader, sizes checked.
 */
#include "plugin/filter.h"
#include "plugin/filter_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lookup/directory.h"
#include "lookup/lookup_proto.h"
#include "net/ipc.h"
#include "queue/queue_proto.h"
#include "smtpd/smtpd.h"
#include "util/log.h"

/* The set when some filter asked for ev, else NULL. */
static struct filter_set *
filter_report_set(struct smtpd *sd, enum filter_event ev)
{
	if (sd->filters == NULL || !filter_report_wanted(sd->filters, ev))
		return NULL;
	return sd->filters;
}

static void
filter_report_begin(struct buf *b, enum filter_event ev, const char *id)
{
	buf_init(b, FILTER_REPORT_LINE_MAX);
	(void)buf_appendf(b, "report %s", filter_event_name(ev));
	(void)filter_field_sp(b, id);
}

/* Ends the line and sends it; a line past the bound is not sent (the
 * fields are cut nowhere: a half line could be misread). */
static void
filter_report_end(struct filter_set *set, enum filter_event ev,
    struct buf *b, int ok, const char *id)
{
	if (ok && buf_append(b, "\n", 1) == 0)
		filter_report_send(set, ev, b);
	else
		log_warn("%s: report %s too long for the filters: not sent", id,
		    filter_event_name(ev));
	buf_free(b);
}

static const char *
filter_listener_name(enum listen_kind k)
{
	return k == LISTEN_SMTP ? "smtp" : k == LISTEN_SUBMISSION ?
	    "submission" : "submissions";
}

/* connect, helo, mail, rcpt: from filter_kind, once the stage passed. */
void
filter_report_stage(struct session *s, enum plugin_stage stage)
{
	static const enum filter_event evs[PLUGIN_STAGES] = {
		[PLUGIN_CONNECT] = FILTER_EV_CONNECT, [PLUGIN_HELO] = FILTER_EV_HELO,
		[PLUGIN_MAIL] = FILTER_EV_MAIL, [PLUGIN_RCPT] = FILTER_EV_RCPT,
		[PLUGIN_DATA] = FILTER_EV_COUNT, [PLUGIN_EOM] = FILTER_EV_COUNT,
	};
	enum filter_event ev = evs[stage];
	struct filter_set *set;
	char port[16];
	struct buf b;
	int ok = 0;

	if (ev == FILTER_EV_COUNT || (set = filter_report_set(s->sd, ev)) == NULL)
		return;
	filter_report_begin(&b, ev, s->id);
	switch (ev) {
	case FILTER_EV_CONNECT:
		snprintf(port, sizeof(port), "%u", s->client_port);
		ok = filter_field_sp(&b, s->client_ip) == 0 &&
		    filter_field_sp(&b, port) == 0 &&
		    filter_field_sp(&b, filter_listener_name(s->kind)) == 0;
		break;
	case FILTER_EV_HELO:
		ok = filter_field_sp(&b, s->helo) == 0;
		break;
	case FILTER_EV_MAIL:
		ok = filter_field_sp(&b, s->env.id) == 0 &&
		    filter_field_sp(&b, s->mail.addr) == 0;
		break;
	default:
		ok = filter_field_sp(&b, s->env.id) == 0 &&
		    filter_field_sp(&b, s->rcpt_pending) == 0;
		break;
	}
	filter_report_end(set, ev, &b, ok, s->id);
}

void
filter_report_disconnect(struct session *s)
{
	struct filter_set *set = filter_report_set(s->sd, FILTER_EV_DISCONNECT);
	struct buf b;

	if (set == NULL)
		return;
	filter_report_begin(&b, FILTER_EV_DISCONNECT, s->id);
	filter_report_end(set, FILTER_EV_DISCONNECT, &b, 1, s->id);
}

void
filter_report_tls(struct session *s)
{
	struct filter_set *set = filter_report_set(s->sd, FILTER_EV_TLS);
	struct buf b;

	if (set == NULL)
		return;
	filter_report_begin(&b, FILTER_EV_TLS, s->id);
	filter_report_end(set, FILTER_EV_TLS, &b,
	    filter_field_sp(&b, s->tls_desc) == 0, s->id);
}

/* ok, fail (a wrong login or password: the reason says which) or
 * tempfail (tern could not check). */
void
filter_report_auth(struct session *s, uint32_t res, uint32_t st)
{
	struct filter_set *set = filter_report_set(s->sd, FILTER_EV_AUTH);
	const char *result, *reason;
	struct buf b;

	if (set == NULL)
		return;
	switch (res) {
	case LOOKUP_AUTH_OK:
		result = "ok";
		reason = st == DIR_AUTH_CASE_MISMATCH ? "case-mismatch" : "ok";
		break;
	case LOOKUP_AUTH_FAIL:
		result = "fail";
		reason = st == DIR_AUTH_CASE_MISMATCH ? "case-mismatch" :
		    dir_auth_reason((enum dir_auth_status)st);
		break;
	case LOOKUP_AUTH_THROTTLED:
		result = "fail";
		reason = "throttled";
		break;
	default:
		result = "tempfail";
		reason = "tempfail";
		break;
	}
	filter_report_begin(&b, FILTER_EV_AUTH, s->id);
	filter_report_end(set, FILTER_EV_AUTH, &b,
	    filter_field_sp(&b, s->client_ip) == 0 &&
	    filter_field_sp(&b, result) == 0 &&
	    filter_field_sp(&b, s->auth_mech) == 0 &&
	    filter_field_sp(&b, s->auth_user) == 0 &&
	    filter_field_sp(&b, reason) == 0, s->id);
}

void
filter_report_queued(struct session *s, off_t size)
{
	struct filter_set *set = filter_report_set(s->sd, FILTER_EV_QUEUED);
	char num[32];
	struct buf b;
	int ok;

	if (set == NULL)
		return;
	filter_report_begin(&b, FILTER_EV_QUEUED, s->id);
	snprintf(num, sizeof(num), "%lld", (long long)size);
	ok = filter_field_sp(&b, s->env.id) == 0 &&
	    filter_field_sp(&b, num) == 0;
	snprintf(num, sizeof(num), "%zu", s->env.nrcpt);
	ok = ok && filter_field_sp(&b, num) == 0;
	for (size_t i = 0; ok && i < s->env.nrcpt; i++)
		ok = filter_field_sp(&b, s->env.rcpts[i].addr) == 0;
	filter_report_end(set, FILTER_EV_QUEUED, &b, ok, s->id);
}

/* IPC_QUEUE_REPORT: u32 event, str queue id, str recipient, str detail. */
void
filter_report_queue_msg(struct smtpd *sd, const struct ipc_msg *msg)
{
	char id[64], rcpt[ADDR_BUF], detail[1024];
	struct ipc_reader r;
	struct filter_set *set;
	uint32_t ev;
	struct buf b;

	if (msg->fd >= 0)
		close(msg->fd);
	ipc_reader_init(&r, msg);
	ev = ipc_get_u32(&r);
	ipc_get_str(&r, id, sizeof(id));
	ipc_get_str(&r, rcpt, sizeof(rcpt));
	ipc_get_str(&r, detail, sizeof(detail));
	if (ipc_reader_end(&r) < 0 || (ev != FILTER_EV_DELIVERED &&
	    ev != FILTER_EV_DEFERRED && ev != FILTER_EV_BOUNCED)) {
		log_warn("malformed report from the queue");
		return;
	}
	if ((set = filter_report_set(sd, (enum filter_event)ev)) == NULL)
		return;
	filter_report_begin(&b, (enum filter_event)ev, id);
	filter_report_end(set, (enum filter_event)ev, &b,
	    filter_field_sp(&b, rcpt) == 0 && filter_field_sp(&b, detail) == 0,
	    id);
}
