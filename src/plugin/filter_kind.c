/*
 * The filters in the plugin chain (plugin.h): at each stage the filters
 * that registered its hook are asked in the order of the `filters`
 * setting; the first that rejects, defers or disconnects decides, hold
 * and add-header let the rest be asked.  A filter that cannot answer gets
 * its default action.  Once a stage has passed, the report of it goes to
 * the filters that asked (filter_report.c).  Trusts the replies only as
 * filter_proto.c checked them.
 */
#include "plugin/filter.h"
#include "plugin/filter_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/msg_edit.h"
#include "smtpd/smtpd.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct filter_sess {
	struct session *s;
	struct filter_call *call;       /* in flight, or NULL */
	enum plugin_stage stage;
	size_t next;                    /* the next filter to ask */
	int hold;                       /* a filter said hold */
	char hold_why[256];
	char hold_who[PLUGIN_WHO_MAX];
	int connected;                  /* connect reported: disconnect too */
};

static const int filter_stage_hook[PLUGIN_STAGES] = {
	[PLUGIN_CONNECT] = FILTER_HOOK_CONNECT, [PLUGIN_HELO] = FILTER_HOOK_HELO,
	[PLUGIN_MAIL] = FILTER_HOOK_MAIL, [PLUGIN_RCPT] = FILTER_HOOK_RCPT,
	[PLUGIN_DATA] = -1, [PLUGIN_EOM] = FILTER_HOOK_DATA_END,
};

static int
filter_kind_init(struct smtpd *sd)
{
	(void)filter_set_get(sd);
	return 0;
}

static void
filter_kind_free(struct smtpd *sd)
{
	filter_set_free(sd);
}

/* The fields of a hook line after its name; -1 past the bound. */
static int
filter_hook_fields(struct session *s, enum filter_hook hook, struct buf *b,
    off_t size)
{
	char num[32];
	int ok = filter_field_sp(b, s->id) == 0;

	switch (hook) {
	case FILTER_HOOK_CONNECT:
		snprintf(num, sizeof(num), "%u", s->client_port);
		return ok && filter_field_sp(b, s->client_ip) == 0 &&
		    filter_field_sp(b, num) == 0 &&
		    filter_field_sp(b, s->kind == LISTEN_SMTP ? "smtp" :
		    s->kind == LISTEN_SUBMISSION ? "submission" :
		    "submissions") == 0 ? 0 : -1;
	case FILTER_HOOK_HELO:
		return ok && filter_field_sp(b, s->helo) == 0 ? 0 : -1;
	case FILTER_HOOK_MAIL:
		return ok && filter_field_sp(b, s->env.id) == 0 &&
		    filter_field_sp(b, s->mail.addr) == 0 &&
		    filter_field_sp(b, s->auth_login) == 0 ? 0 : -1;
	case FILTER_HOOK_RCPT:
		return ok && filter_field_sp(b, s->env.id) == 0 &&
		    filter_field_sp(b, s->rcpt_pending) == 0 &&
		    filter_field_sp(b, s->auth_login) == 0 ? 0 : -1;
	default:
		snprintf(num, sizeof(num), "%lld", (long long)size);
		return ok && filter_field_sp(b, s->env.id) == 0 &&
		    filter_field_sp(b, num) == 0 &&
		    filter_field_sp(b, s->auth_login) == 0 ? 0 : -1;
	}
}

/* The message for data-end: a file of its own for each filter, read-only,
 * positioned where tern's Received header begins; its size from there. */
static int
filter_message_fd(struct session *s, off_t *size_r)
{
	off_t received_at, message_at;
	struct stat st;
	int fd = session_plugin_message(s, &received_at, &message_at);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || st.st_size < received_at ||
	    lseek(fd, received_at, SEEK_SET) < 0) {
		log_warn("%s: cannot position the message for the filters",
		    s->id);
		close(fd);
		return -1;
	}
	*size_r = st.st_size - received_at;
	return fd;
}

static void filter_kind_answer(void *arg, struct filter_peer *p,
    const struct filter_line *reply);

/* Asks the next filter that wants this stage's hook: 1 when one was
 * asked, 0 when none is left. */
static int
filter_kind_next(struct filter_sess *fs)
{
	struct session *s = fs->s;
	struct filter_set *set = s->sd->filters;
	enum filter_hook hook = (enum filter_hook)filter_stage_hook[fs->stage];

	while (fs->next < set->n) {
		struct filter_peer *p = &set->peers[fs->next++];
		off_t size = 0;
		int fd = -1;
		struct buf b;

		/* Opened for every filter that may be asked, a starting one
		 * included (its call waits for its handshake); a filter that
		 * is not asked closes it at once in filter_call_start. */
		if (hook == FILTER_HOOK_DATA_END && p->state != FILTER_PEER_REFUSED &&
		    (fd = filter_message_fd(s, &size)) < 0)
			continue;       /* logged; the message is tern's to keep */
		buf_init(&b, FILTER_REPORT_LINE_MAX);
		if (filter_hook_fields(s, hook, &b, size) < 0)
			bug("filter hook fields past their bound");
		fs->call = filter_call_start(p, hook, &b, fd, filter_kind_answer, fs);
		buf_free(&b);
		if (fs->call != NULL)
			return 1;
	}
	return 0;
}

/* The reply of a default action. */
static void
filter_kind_default(struct filter_sess *fs, struct filter_peer *p,
    struct plugin_verdict *v)
{
	switch (filter_peer_default(p)) {
	case FILTER_DEFAULT_PROCEED:
		v->action = PLUGIN_CONTINUE;
		break;
	case FILTER_DEFAULT_REJECT:
		v->action = PLUGIN_REPLY;
		snprintf(v->reply, sizeof(v->reply),
		    "550 5.7.1 Refused: a filter is not available");
		break;
	default:
		v->action = PLUGIN_REPLY;
		snprintf(v->reply, sizeof(v->reply),
		    "451 4.7.1 Service unavailable - try again later");
		break;
	}
	log_info("%s: %s stage=%s action=default-%s", fs->s->id, p->who,
	    plugin_stage_name(fs->stage),
	    filter_default_name(filter_peer_default(p)));
}

/* What one reply does: a verdict that ends the stage (REPLY, CLOSE), or
 * CONTINUE to ask the next filter. */
static void
filter_kind_verdict(struct filter_sess *fs, struct filter_peer *p,
    const struct filter_line *l, struct plugin_verdict *v)
{
	struct session *s = fs->s;
	const char *stage = plugin_stage_name(fs->stage);
	char esc[3 * FILTER_TEXT_MAX];

	v->action = PLUGIN_CONTINUE;
	switch (l->action) {
	case FILTER_PROCEED:
		log_debug("%s: %s stage=%s action=proceed", s->id, p->who, stage);
		return;
	case FILTER_REJECT:
	case FILTER_DEFER:
	case FILTER_DISCONNECT:
		v->action = l->action == FILTER_DISCONNECT ? PLUGIN_CLOSE :
		    PLUGIN_REPLY;
		/* session_plugin.c logs the refusal. */
		snprintf(v->reply, sizeof(v->reply), "%u %s", l->code, l->text);
		return;
	case FILTER_ADD_HEADER:
		if (s->edits == NULL ||
		    msg_edit_header_add(s->edits, l->hname, l->hvalue) < 0) {
			log_warn("%s: %s stage=%s: header %s refused", s->id,
			    p->who, stage, l->hname);
			filter_kind_default(fs, p, v);
			return;
		}
		log_escape(esc, sizeof(esc), l->hvalue, strlen(l->hvalue));
		log_info("%s: %s stage=%s action=add-header header=\"%s: %s\"",
		    s->id, p->who, stage, l->hname, esc);
		return;
	case FILTER_HOLD:
		fs->hold = 1;
		snprintf(fs->hold_why, sizeof(fs->hold_why), "%s", l->text);
		snprintf(fs->hold_who, sizeof(fs->hold_who), "%s", p->who);
		return;         /* session_plugin.c logs the hold */
	}
}

static void
filter_kind_answer(void *arg, struct filter_peer *p,
    const struct filter_line *reply)
{
	struct filter_sess *fs = arg;
	struct plugin_verdict v;

	memset(&v, 0, sizeof(v));
	fs->call = NULL;
	snprintf(v.who, sizeof(v.who), "%s", p->who);
	if (reply == NULL)
		filter_kind_default(fs, p, &v);
	else
		filter_kind_verdict(fs, p, reply, &v);
	if (v.action == PLUGIN_CONTINUE) {
		if (filter_kind_next(fs))
			return;
		if (fs->hold) {
			v.action = PLUGIN_HOLD;
			snprintf(v.who, sizeof(v.who), "%s", fs->hold_who);
			snprintf(v.reason, sizeof(v.reason), "%s", fs->hold_why);
		}
		if (fs->stage != PLUGIN_CONNECT)     /* said before the hook */
			filter_report_stage(fs->s, fs->stage);
	}
	session_plugin_answer(fs->s, &v);
}

static int
filter_kind_run(struct session *s, enum plugin_stage stage)
{
	struct filter_set *set = s->sd->filters;
	struct filter_sess *fs = s->filter;

	if (set == NULL || set->n == 0)
		return 0;
	if (fs == NULL) {
		fs = s->filter = xcalloc(1, sizeof(*fs));
		fs->s = s;
	}
	if (stage == PLUGIN_CONNECT) {
		/* Before the hook: a filter counting connections sees every
		 * one, and the disconnect that ends it. */
		fs->connected = 1;
		filter_report_stage(s, stage);
	}
	if (filter_stage_hook[stage] < 0)
		return 0;
	fs->stage = stage;
	fs->next = 0;
	fs->hold = 0;
	if (filter_kind_next(fs))
		return 1;
	if (stage != PLUGIN_CONNECT)
		filter_report_stage(s, stage);
	return 0;
}

static void
filter_kind_reset(struct session *s)
{
	if (s->filter != NULL)
		s->filter->hold = 0;
}

static void
filter_kind_end(struct session *s)
{
	struct filter_sess *fs = s->filter;

	if (fs == NULL)
		return;
	filter_call_cancel(&fs->call);
	if (fs->connected)
		filter_report_disconnect(s);
	free(fs);
	s->filter = NULL;
}

const struct plugin_kind filter_kind = {
	.name = "filter",
	.init = filter_kind_init,
	.free = filter_kind_free,
	.run = filter_kind_run,
	.reset = filter_kind_reset,
	.end = filter_kind_end,
};
