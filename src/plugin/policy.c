/*
 * Policy delegation as a plugin kind (see policy.h).  At each stage in
 * policy_stages the session's services (smtpd_policy_services on port 25,
 * submission_policy_services on 587 and 465) are asked in order, as
 * Postfix evaluates check_policy_service restrictions: DUNNO and the
 * actions that only mark (HOLD, PREPEND, WARN, INFO) go on to the next
 * service, OK and DISCARD end the asking, a refusal answers the command.
 * A service that cannot answer gets policy_default_action, judged like a
 * reply.  Trusts the session; every byte from a service is logged
 * escaped.
 */
#include "plugin/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "net/hostport.h"
#include "plugin/msg_edit.h"
#include "plugin/policy_conf.h"
#include "plugin/policy_int.h"
#include "plugin/policy_proto.h"
#include "smtpd/smtpd.h"
#include "util/list_word.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct policy_set {
	struct policy_limits lim;       /* the services keep a pointer */
	struct policy_service **smtp;   /* smtpd_policy_services */
	size_t nsmtp;
	struct policy_service **sub;    /* submission_policy_services */
	size_t nsub;
	unsigned seqno;                 /* for instance */
};

static void policy_ask_next(struct policy_sess *ps);

/* The live limits: a reload changes them for the next request. */
static void
policy_limits_update(struct policy_set *set, const struct conf *c)
{
	set->lim.timeout = c->policy_timeout;
	set->lim.try_limit = c->policy_try_limit;
	set->lim.retry_delay = c->policy_retry_delay;
	set->lim.max_idle = c->policy_max_idle;
	set->lim.max_ttl = c->policy_max_ttl;
}

static int
policy_list_make(struct smtpd *sd, struct policy_set *set, const char *list,
    struct policy_service ***svcs_r, size_t *n_r)
{
	char word[POLICY_SPEC_MAX + 8];
	int rc;

	while ((rc = list_word(&list, word, sizeof(word))) != 0) {
		struct policy_service *svc;
		if (rc < 0 || (svc = policy_service_new(sd->base, word,
		    &set->lim)) == NULL)
			return -1;
		*svcs_r = xreallocarray(*svcs_r, *n_r + 1, sizeof(**svcs_r));
		(*svcs_r)[(*n_r)++] = svc;
	}
	return 0;
}

static void
policy_free(struct smtpd *sd)
{
	struct policy_set *set = sd->policies;

	if (set == NULL)
		return;
	for (size_t i = 0; i < set->nsmtp; i++)
		policy_service_free(&set->smtp[i]);
	for (size_t i = 0; i < set->nsub; i++)
		policy_service_free(&set->sub[i]);
	free(set->smtp);
	free(set->sub);
	free(set);
	sd->policies = NULL;
}

static int
policy_init(struct smtpd *sd)
{
	const struct conf *c = sd->conf;
	struct policy_set *set;

	if (c->smtpd_policy_services[0] == '\0' &&
	    c->submission_policy_services[0] == '\0')
		return 0;
	set = xcalloc(1, sizeof(*set));
	sd->policies = set;
	policy_limits_update(set, c);
	if (policy_list_make(sd, set, c->smtpd_policy_services, &set->smtp,
	    &set->nsmtp) < 0 ||
	    policy_list_make(sd, set, c->submission_policy_services,
	    &set->sub, &set->nsub) < 0) {
		policy_free(sd);
		return -1;
	}
	return 0;
}

static void
policy_fail_cb(evutil_socket_t fd, short what, void *arg);

/* The session's state, made at its first stage. */
static struct policy_sess *
policy_sess_get(struct session *s)
{
	struct policy_sess *ps = s->policy;
	struct policy_set *set = s->sd->policies;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (ps != NULL)
		return ps;
	ps = xcalloc(1, sizeof(*ps));
	ps->s = s;
	buf_init(&ps->req, POLICY_REQUEST_MAX);
	ps->fail_ev = evtimer_new(s->sd->base, policy_fail_cb, ps);
	if (ps->fail_ev == NULL)
		fatal("policy: cannot make an event");
	if (s->kind == LISTEN_SMTP) {
		ps->svcs = set->smtp;
		ps->nsvcs = set->nsmtp;
	} else {
		ps->svcs = set->sub;
		ps->nsvcs = set->nsub;
	}
	snprintf(ps->server_addr, sizeof(ps->server_addr), "?");
	if (getsockname(bufferevent_getfd(s->bev), (struct sockaddr *)&ss,
	    &sl) == 0)
		hostport_from_sockaddr((struct sockaddr *)&ss, ps->server_addr,
		    sizeof(ps->server_addr), &ps->server_port);
	s->policy = ps;
	return ps;
}

/* Postfix's instance: new for every message, the same for all the
 * requests about it. */
static void
policy_instance(struct policy_sess *ps)
{
	struct session *s = ps->s;
	struct timeval tv;

	if (s->env.id[0] == '\0' || strcmp(s->env.id, ps->instance_id) == 0)
		return;
	gettimeofday(&tv, NULL);
	snprintf(ps->instance, sizeof(ps->instance), "%x.%lx.%lx.%x",
	    (unsigned)getpid(), (unsigned long)tv.tv_sec,
	    (unsigned long)tv.tv_usec, s->sd->policies->seqno++);
	snprintf(ps->instance_id, sizeof(ps->instance_id), "%s", s->env.id);
}

static void
policy_log(const struct policy_sess *ps, const char *svc, const char *what,
    const char *peer_text)
{
	char esc[2 * POLICY_LINE_MAX];

	log_escape(esc, sizeof(esc), peer_text, strlen(peer_text));
	log_info("%s: policy %s %s: %s%s%s", ps->s->id, svc,
	    plugin_stage_name(ps->stage), what, *esc ? " " : "", esc);
}

static void
policy_verdict(struct plugin_verdict *v, enum plugin_action action,
    const char *svc, const char *text)
{
	memset(v, 0, sizeof(*v));
	v->action = action;
	snprintf(v->who, sizeof(v->who), "policy %s", svc);
	if (action == PLUGIN_REPLY || action == PLUGIN_CLOSE)
		snprintf(v->reply, sizeof(v->reply), "%s", text);
	else
		snprintf(v->reason, sizeof(v->reason), "%s", text);
}

/* The asking is over; the answer goes to the session last of all, as the
 * session may go on (or away) inside it. */
static void
policy_answer_marks(struct policy_sess *ps)
{
	struct plugin_verdict v;

	if (ps->discard)
		policy_verdict(&v, PLUGIN_DISCARD, ps->discard_by,
		    ps->discard_why);
	else if (ps->hold)
		policy_verdict(&v, PLUGIN_HOLD, ps->hold_by, ps->hold_why);
	else
		policy_verdict(&v, PLUGIN_CONTINUE, "", "");
	session_plugin_answer(ps->s, &v);
}

/* PREPEND: once per message, however many services or recipients ask
 * for the same header. */
static void
policy_prepend(struct policy_sess *ps, const char *svc, const char *header)
{
	struct session *s = ps->s;
	const char *colon = strchr(header, ':');
	char name[POLICY_LINE_MAX];
	size_t nlen = (size_t)(colon - header);
	int rc;

	for (size_t i = 0; i < ps->nprepended; i++)
		if (strcmp(ps->prepended[i], header) == 0) {
			policy_log(ps, svc, "PREPEND already done:", header);
			return;
		}
	while (nlen > 0 && (header[nlen - 1] == ' ' || header[nlen - 1] == '\t'))
		nlen--;
	memcpy(name, header, nlen);     /* fits: header < POLICY_LINE_MAX */
	name[nlen] = '\0';
	colon++;
	while (*colon == ' ' || *colon == '\t')
		colon++;
	if (ps->nprepended >= POLICY_PREPEND_MAX)
		rc = -1;
	else if (ps->stage == PLUGIN_EOM)
		rc = s->edits == NULL ? -1 :
		    msg_edit_header_insert(s->edits, 0, name, colon);
	else
		rc = session_plugin_prepend(s, header);
	if (rc < 0) {
		policy_log(ps, svc, "PREPEND refused (too many or malformed):",
		    header);
		return;
	}
	ps->prepended[ps->nprepended++] = xstrdup(header);
	policy_log(ps, svc, "PREPEND", header);
}

/* Outside a transaction (CONNECT, HELO) there is no message to mark, as
 * in Postfix with smtpd_delay_reject = no: the action is skipped. */
static int
policy_no_message(struct policy_sess *ps, const char *svc, const char *what)
{
	char msg[64];

	if (ps->stage != PLUGIN_CONNECT && ps->stage != PLUGIN_HELO)
		return 0;
	snprintf(msg, sizeof(msg), "%s skipped: no message yet", what);
	policy_log(ps, svc, msg, "");
	return 1;
}

static void
policy_mark(struct policy_sess *ps, const char *svc,
    const struct policy_action *a)
{
	int hold = a->act == POLICY_ACT_HOLD;

	/* Logged by session_plugin.c when the stage's answer marks the
	 * message. */
	if (policy_no_message(ps, svc, hold ? "HOLD" : "DISCARD"))
		return;
	if (hold) {
		ps->hold = 1;
		snprintf(ps->hold_by, sizeof(ps->hold_by), "%s", svc);
		snprintf(ps->hold_why, sizeof(ps->hold_why), "%s", a->text);
	} else {
		ps->discard = 1;
		snprintf(ps->discard_by, sizeof(ps->discard_by), "%s", svc);
		snprintf(ps->discard_why, sizeof(ps->discard_why), "%s",
		    a->text);
	}
}

/* One service's action; 1 when the asking goes on with the next. */
static int
policy_take(struct policy_sess *ps, const char *svc, const char *action)
{
	struct policy_action a;
	struct plugin_verdict v;
	const char *name, *class;
	char namebuf[96];

	policy_reply_names(ps, &name, &class, namebuf, sizeof(namebuf));
	policy_action_eval(action, name, class, &a);
	switch (a.act) {
	case POLICY_ACT_REPLY:
	case POLICY_ACT_CLOSE:
		/* session_plugin.c logs the refusal, naming the service. */
		policy_verdict(&v, a.act == POLICY_ACT_CLOSE ? PLUGIN_CLOSE :
		    PLUGIN_REPLY, svc, a.reply);
		session_plugin_answer(ps->s, &v);
		return 0;
	case POLICY_ACT_OK:
		policy_log(ps, svc, "OK:", action);
		policy_answer_marks(ps);
		return 0;
	case POLICY_ACT_DISCARD:
		policy_mark(ps, svc, &a);
		policy_answer_marks(ps);
		return 0;
	case POLICY_ACT_HOLD:
		policy_mark(ps, svc, &a);
		return 1;
	case POLICY_ACT_PREPEND:
		if (!policy_no_message(ps, svc, "PREPEND"))
			policy_prepend(ps, svc, a.text);
		return 1;
	case POLICY_ACT_WARN:
	case POLICY_ACT_INFO:
		policy_log(ps, svc, a.act == POLICY_ACT_WARN ? "WARN" : "INFO",
		    a.text);
		return 1;
	case POLICY_ACT_DEFER_IF_REJECT:
		/* tern's own checks passed before the services were asked:
		 * nothing is left to reject. */
		policy_log(ps, svc, "DEFER_IF_REJECT (nothing to reject):",
		    a.text);
		return 1;
	case POLICY_ACT_UNSUPPORTED:
		policy_log(ps, svc, "unsupported action taken as DUNNO:",
		    action);
		return 1;
	case POLICY_ACT_DUNNO:
		policy_log(ps, svc, "DUNNO", "");
		return 1;
	}
	return 1;
}

/* A service's answer, or its failure (policy_default_action then). */
static void
policy_done(void *arg, int ok, const char *action)
{
	struct policy_sess *ps = arg;
	const char *svc = policy_service_name(ps->svcs[ps->next]);

	ps->job = NULL;
	if (!ok) {
		char msg[128];
		snprintf(msg, sizeof(msg), "no answer (%s); "
		    "policy_default_action:", action);
		action = ps->s->sd->conf->policy_default_action;
		policy_log(ps, svc, msg, action);
	}
	if (!policy_take(ps, svc, action))
		return;
	ps->next++;
	policy_ask_next(ps);
}

static void
policy_fail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policy_sess *ps = arg;

	(void)fd;
	(void)what;
	policy_done(ps, 0, ps->fail_why);
}

static void
policy_ask_next(struct policy_sess *ps)
{
	if (ps->next >= ps->nsvcs) {
		policy_answer_marks(ps);
		return;
	}
	ps->job = policy_service_ask(ps->svcs[ps->next], ps->req.data,
	    ps->req.len, policy_done, ps);
}

static int
policy_run(struct session *s, enum plugin_stage stage)
{
	const struct conf *c = s->sd->conf;
	struct policy_sess *ps;
	const char *bad = NULL;

	if (s->sd->policies == NULL)
		return 0;
	ps = policy_sess_get(s);
	ps->stage = stage;
	policy_instance(ps);
	if (!(policy_stages_mask(c->policy_stages) & (1u << stage)) ||
	    ps->nsvcs == 0)
		return 0;
	policy_limits_update(s->sd->policies, c);
	ps->next = 0;
	ps->hold = ps->discard = 0;
	if (policy_request_build(ps, &bad) < 0) {
		/* Not sent: the service would read a forged attribute. */
		snprintf(ps->fail_why, sizeof(ps->fail_why),
		    "request not sent: %s %s", bad,
		    strcmp(bad, "request too long") == 0 ? "" :
		    "holds a newline");
		struct timeval now = { 0, 0 };
		evtimer_add(ps->fail_ev, &now);
		return 1;
	}
	policy_ask_next(ps);
	return 1;
}

/* The message is over: its PREPENDs may come again for the next. */
static void
policy_reset(struct session *s)
{
	struct policy_sess *ps = s->policy;

	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->nprepended; i++)
		free(ps->prepended[i]);
	ps->nprepended = 0;
}

static void
policy_end(struct session *s)
{
	struct policy_sess *ps = s->policy;

	if (ps == NULL)
		return;
	policy_reset(s);
	policy_job_cancel(ps->job);
	event_free(ps->fail_ev);
	buf_free(&ps->req);
	free(ps);
	s->policy = NULL;
}

const struct plugin_kind policy_kind = {
	.name = "policy",
	.init = policy_init,
	.free = policy_free,
	.run = policy_run,
	.reset = policy_reset,
	.end = policy_end,
};
