/*
 * The plugin chain.  At each stage of a session, once tern's own checks
 * have passed and before its reply goes out, every plugin kind is asked in
 * the order of plugin_kinds[]: milters, then policy services, then tern's
 * filters, as Postfix asks its restrictions before its milters see the
 * command.  The first kind that refuses decides and the rest are not
 * asked; a discard or a hold marks the message and the chain goes on.  The
 * session reads nothing from its client while a kind thinks.
 */
#include <errno.h>
#include <event2/bufferevent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/filter.h"
#include "plugin/msg_edit.h"
#include "plugin/plugin.h"
#include "plugin/milter.h"
#include "plugin/policy.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_counts.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define PLUGIN_PREPEND_MAX 64           /* headers above our Received */

/* Asked in this order. */
static const struct plugin_kind *const plugin_kinds[] = {
	&milter_kind,
	&policy_kind,
	&filter_kind,
	NULL
};

static const char *const plugin_stage_names[PLUGIN_STAGES] = {
	"connect", "helo", "mail", "rcpt", "data", "end-of-message",
};

const char *
plugin_stage_name(enum plugin_stage stage)
{
	return stage < PLUGIN_STAGES ? plugin_stage_names[stage] : "?";
}

/* A kind whose settings cannot work fails closed: every session hears
 * a temporary refusal rather than mail passing unchecked. */
void
session_plugins_init(struct smtpd *sd)
{
	for (size_t i = 0; plugin_kinds[i] != NULL; i++)
		if (plugin_kinds[i]->init != NULL &&
		    plugin_kinds[i]->init(sd) < 0) {
			log_error("%s: the settings cannot work; every session "
			    "is refused with 451 until they are fixed",
			    plugin_kinds[i]->name);
			sd->plugin_broken = plugin_kinds[i]->name;
		}
}

void
session_plugins_free(struct smtpd *sd)
{
	for (size_t i = 0; plugin_kinds[i] != NULL; i++)
		if (plugin_kinds[i]->free != NULL)
			plugin_kinds[i]->free(sd);
}

/* The chain is over: the stage's own ending runs, and a session that
 * waited reads on unless that ending made it wait again. */
static void
session_plugin_finish(struct session *s, const struct plugin_verdict *v,
    int waited)
{
	session_plugin_done_fn *done = s->plugin_done;

	s->plugin_done = NULL;
	if (waited)
		session_wait_for(s, WAIT_NONE);
	done(s, v);
	if (waited && s->wait == WAIT_NONE)
		session_resume(s);
}

/* Asks the kinds not yet asked; stops at the first that will answer. */
static void
session_plugin_next(struct session *s, int waited)
{
	while (plugin_kinds[s->plugin_next] != NULL) {
		const struct plugin_kind *k = plugin_kinds[s->plugin_next++];
		if (k->run != NULL && k->run(s, s->plugin_stage)) {
			session_wait_for(s, WAIT_PLUGIN);
			return;
		}
	}
	session_plugin_finish(s, NULL, waited);
}

void
session_plugin_run(struct session *s, enum plugin_stage stage,
    session_plugin_done_fn *done)
{
	static struct plugin_verdict broken = { .action = PLUGIN_REPLY,
	    .reply = "451 4.3.5 Server configuration problem" };

	s->plugin_stage = stage;
	s->plugin_next = 0;
	s->plugin_done = done;
	if (stage == PLUGIN_CONNECT && s->sd->plugin_broken != NULL) {
		snprintf(broken.who, sizeof(broken.who), "%s",
		    s->sd->plugin_broken);
		session_plugin_finish(s, &broken, 0);
		return;
	}
	session_plugin_next(s, 0);
}

void
session_plugin_answer(struct session *s, const struct plugin_verdict *v)
{
	char reason[4 * sizeof(v->reason)];

	if (s->wait != WAIT_PLUGIN || s->plugin_done == NULL) {
		log_warn("%s: %s answered when not asked; ignored", s->id,
		    v->who);
		return;
	}
	/* The reason may hold any byte the plugin sent. */
	log_escape(reason, sizeof(reason), v->reason, strlen(v->reason));
	switch (v->action) {
	case PLUGIN_DISCARD:
		if (!s->plugin_discard)
			log_info("%s: discard at %s by %s: %s", s->id,
			    plugin_stage_name(s->plugin_stage), v->who,
			    reason);
		s->plugin_discard = 1;
		break;
	case PLUGIN_HOLD:
		if (!s->plugin_hold) {
			log_info("%s: hold at %s by %s: %s", s->id,
			    plugin_stage_name(s->plugin_stage), v->who,
			    reason);
			snprintf(s->plugin_hold_reason,
			    sizeof(s->plugin_hold_reason), "%s", v->reason);
		}
		s->plugin_hold = 1;
		break;
	case PLUGIN_REPLY:
	case PLUGIN_CLOSE:
		session_plugin_finish(s, v, 1);
		return;
	case PLUGIN_CONTINUE:
		break;
	}
	session_plugin_next(s, 1);
}

/* A reply's lines, escaped, for the log: they came from outside. */
static void
session_plugin_log_refusal(struct session *s, const struct plugin_verdict *v,
    const char *what)
{
	char reply[2 * PLUGIN_REPLY_MAX];

	log_escape(reply, sizeof(reply), v->reply, strlen(v->reply));
	log_info("%s: reject %s from [%s] by %s: %s%s", s->id, what,
	    s->client_ip, v->who, reply,
	    v->action == PLUGIN_CLOSE ? "; closing" : "");
	smtpd_count_reject(SMTPD_REJECT_PLUGIN);
}

int
session_plugin_refuse(struct session *s, const struct plugin_verdict *v,
    const char *what)
{
	if (v == NULL)
		return 0;
	session_plugin_log_refusal(s, v, what);
	if (v->action == PLUGIN_CLOSE) {
		session_reply(s, "%s", v->reply);
		session_close_after_reply(s);
		return 1;
	}
	/* At CONNECT and HELO the whole session is refused, as Postfix
	 * does for a milter: every later transaction hears it too. */
	if ((s->plugin_stage == PLUGIN_CONNECT ||
	    s->plugin_stage == PLUGIN_HELO) && s->plugin_refusal == NULL)
		s->plugin_refusal = xstrdup(v->reply);
	if (s->plugin_stage == PLUGIN_CONNECT)
		return 1;       /* the greeting goes out as usual */
	session_client_error(s, "%s", v->reply);
	return 1;
}

int
session_plugin_refused_before(struct session *s)
{
	if (s->plugin_refusal == NULL)
		return 0;
	session_client_error(s, "%s", s->plugin_refusal);
	return 1;
}

/* "Name: value" on one line: a field name, a colon, and no control byte
 * but HTAB, so that nothing a plugin says can start another field. */
static int
plugin_header_ok(const char *h)
{
	size_t name = strcspn(h, ":");

	if (name == 0 || h[name] != ':')
		return 0;
	for (size_t i = 0; i < name; i++)
		if (h[i] < 33 || h[i] > 126)
			return 0;
	for (const unsigned char *p = (const unsigned char *)h + name; *p; p++)
		if ((*p < 32 && *p != '\t') || *p == 127)
			return 0;
	return 1;
}

int
session_plugin_prepend(struct session *s, const char *header)
{
	size_t len = strlen(header);

	if (!plugin_header_ok(header) || len > 998 ||
	    s->nprepend >= PLUGIN_PREPEND_MAX ||
	    buf_append(&s->prepend, header, len) < 0 ||
	    buf_append(&s->prepend, "\r\n", 2) < 0)
		return -1;
	s->nprepend++;
	return 0;
}

int
session_plugin_message(struct session *s, off_t *received_at,
    off_t *message_at)
{
	int fd = open(s->data_tmp, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		log_error("%s: cannot read %s: %s", s->id, s->data_tmp,
		    strerror(errno));
		return -1;
	}
	*received_at = s->data_received_at;
	*message_at = s->data_message_at;
	return fd;
}

/* The transaction is over: what plugins said about it goes with it. */
void
session_plugin_reset(struct session *s)
{
	for (size_t i = 0; plugin_kinds[i] != NULL; i++)
		if (plugin_kinds[i]->reset != NULL)
			plugin_kinds[i]->reset(s);
	s->plugin_discard = s->plugin_hold = 0;
	s->plugin_hold_reason[0] = '\0';
	buf_reset(&s->prepend);
	s->nprepend = 0;
	msg_edits_free(s->edits);
	s->edits = NULL;
}

void
session_plugin_end(struct session *s)
{
	for (size_t i = 0; plugin_kinds[i] != NULL; i++)
		if (plugin_kinds[i]->end != NULL)
			plugin_kinds[i]->end(s);
	s->plugin_done = NULL;
	free(s->plugin_refusal);
	s->plugin_refusal = NULL;
	msg_edits_free(s->edits);
	s->edits = NULL;
}
