/*
 * The queue's side of outbound delivery: due remote recipients go to the
 * scheduler, one attempt per destination domain; each attempt's results
 * come back here and are written to the message's state.  A recipient that
 * failed for good, or whose queue_lifetime has passed, is reported to the
 * sender in a DSN, which is safely queued before the recipient is marked
 * done: a crash in between can only repeat the DSN.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "deliver/outbound.h"
#include "queue/queue_report.h"
#include "queue/queue.h"
#include "queue/queue_counts.h"
#include "queue/queue_hold.h"
#include "queue/queue_utf8.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define QUEUE_OB_DOMAINS 64     /* destinations started per message and pass */
/* One result line: id, two addresses, relay host, reasons and words. */
#define QUEUE_OB_LINE (4 * ADDR_BUF + 2 * OB_REPLY_MAX + 256)

static struct ob_msg *
queue_ob_msg(const struct queue *q, const struct queue_job *job)
{
	struct ob_msg *m = xcalloc(1, sizeof(*m));

	snprintf(m->id, sizeof(m->id), "%s", job->env.id);
	snprintf(m->sender, sizeof(m->sender), "%s", job->env.sender);
	snprintf(m->path, sizeof(m->path), "%s/%s", q->dir, job->env.id);
	m->content_offset = job->env.content_offset;
	m->size = job->env.file_size - job->env.content_offset;
	m->created = job->env.created;
	m->tls_policy = q->conf->smtp_tls_policy;
	/* SMTPUTF8 lets the body hold 8-bit text (RFC 6531 3.1): said
	 * with BODY=8BITMIME when the message goes without SMTPUTF8. */
	m->body_8bit = job->env.body_8bit || job->env.smtputf8;
	m->smtputf8 = job->env.smtputf8;
	return m;
}

void
queue_outbound_local_failed(struct queue *q, struct queue_job *job, size_t i,
    const char *why)
{
	struct ob_msg *m = job->expired;
	struct ob_rcpt *r;

	if (m == NULL) {
		m = job->expired = queue_ob_msg(q, job);
		snprintf(m->relay, sizeof(m->relay), "local");
	}
	m->rcpts = xreallocarray(m->rcpts, m->nrcpt + 1, sizeof(*m->rcpts));
	r = &m->rcpts[m->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->index = i;
	snprintf(r->addr, sizeof(r->addr), "%s", job->env.rcpts[i].addr);
	r->result = OB_DEFERRED;        /* queue_ob_apply finds it expired */
	snprintf(r->status, sizeof(r->status), "4.3.0");
	snprintf(r->reply, sizeof(r->reply), "%s", why);
	job->pending[i] = QUEUE_JOB_OUTBOUND;
}

struct queue_ob_posted {
	struct queue *q;
	struct ob_msg *m;
};

static void
queue_ob_posted(evutil_socket_t fd, short what, void *arg)
{
	struct queue_ob_posted *p = arg;

	(void)fd;
	(void)what;
	queue_outbound_done(p->m, p->q);
	free(p);
}

unsigned
queue_outbound_post_expired(struct queue *q, struct queue_job *job)
{
	struct queue_ob_posted *p;
	struct timeval now = { 0, 0 };

	if (job->expired == NULL)
		return 0;
	p = xcalloc(1, sizeof(*p));
	p->q = q;
	p->m = job->expired;
	job->expired = NULL;
	/* After this pass has saved the message's state: the results are
	 * applied to what is on disk, as an attempt's are. */
	if (event_base_once(q->base, -1, EV_TIMEOUT, queue_ob_posted, p, &now) < 0)
		fatal("cannot schedule the results of a local delivery");
	return 1;
}

/* A message for one domain, waiting for the domain's TLS policy. */
struct queue_ob_policy {
	struct queue *q;
	struct ob_msg *m;
	char domain[ADDR_BUF];
};

/* tern tls-policy for the domain, else smtp_tls_policy: then it goes.
 * Not known (lookup away or failing): it waits, deferred, rather than go
 * under a policy that may be weaker than the domain's. */
static void
queue_ob_policy_known(void *arg, int policy)
{
	struct queue_ob_policy *p = arg;

	if (policy == QUEUE_POLICY_UNKNOWN) {
		for (size_t k = 0; k < p->m->nrcpt; k++) {
			struct ob_rcpt *r = &p->m->rcpts[k];
			r->result = OB_DEFERRED;
			snprintf(r->status, sizeof(r->status), "4.3.0");
			snprintf(r->reply, sizeof(r->reply),
			    "TLS policy of %s unknown: lookup unavailable", p->domain);
		}
		queue_outbound_done(p->m, p->q);
	} else {
		if (policy >= 0)
			p->m->tls_policy = policy;
		outbound_submit(p->q->ob, p->domain, p->m);
	}
	free(p);
}

unsigned
queue_outbound_start(struct queue *q, struct queue_job *job)
{
	struct ob_msg *msgs[QUEUE_OB_DOMAINS];
	const char *domains[QUEUE_OB_DOMAINS];
	size_t nmsgs = 0;
	time_t now = time(NULL);

	for (size_t i = 0; i < job->env.nrcpt; i++) {
		struct queue_rcpt *rc = &job->env.rcpts[i];
		if (!rc->remote || rc->state == QUEUE_RCPT_DONE ||
		    (rc->state == QUEUE_RCPT_DEFERRED && !job->force &&
		    rc->next_attempt > now))
			continue;
		const char *domain = addr_domain(rc->addr);
		size_t k;
		for (k = 0; k < nmsgs; k++)
			if (strcasecmp(domains[k], domain) == 0)
				break;
		if (k == nmsgs) {
			/* The rest wait for the next pass. */
			if (nmsgs == QUEUE_OB_DOMAINS)
				continue;
			msgs[nmsgs] = queue_ob_msg(q, job);
			domains[nmsgs++] = domain;
		}
		struct ob_msg *m = msgs[k];
		m->rcpts = xreallocarray(m->rcpts, m->nrcpt + 1, sizeof(*m->rcpts));
		struct ob_rcpt *r = &m->rcpts[m->nrcpt++];
		memset(r, 0, sizeof(*r));
		r->index = i;
		snprintf(r->addr, sizeof(r->addr), "%s", rc->addr);
		job->pending[i] = QUEUE_JOB_OUTBOUND;
	}
	/* Declared SMTPUTF8, but it may not need it: decided once for the
	 * attempt, for every destination. */
	if (nmsgs > 0 && job->env.smtputf8) {
		int utf8 = queue_needs_smtputf8(msgs[0]->path, &job->env);
		for (size_t k = 0; k < nmsgs; k++)
			msgs[k]->smtputf8 = utf8;
	}
	for (size_t k = 0; k < nmsgs; k++) {
		struct queue_ob_policy *p = xcalloc(1, sizeof(*p));
		p->q = q;
		p->m = msgs[k];
		snprintf(p->domain, sizeof(p->domain), "%s", domains[k]);
		queue_tls_policy(q, p->domain, queue_ob_policy_known, p);
	}
	return (unsigned)nmsgs;
}

/* An attempt's results, kept while the DSN for its failures is written. */
struct queue_ob_done {
	struct queue *q;
	struct queue_env env;
	struct ob_msg *m;
	size_t *failed;
	size_t nfailed;
	struct buf log;         /* the result lines, logged once recorded */
};

/* Logs the attempt's result lines: only after the state file holds them,
 * so that the log never runs ahead of what `tern queue list` shows. */
static void
queue_ob_log(struct buf *log)
{
	char *line = log->data, *end = log->data + log->len, *nl;

	for (; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			break;
		log_info("%.*s", (int)(nl - line), line);
	}
	buf_free(log);
}

static const char *
ob_result_name(enum ob_result r)
{
	return r == OB_SENT ? "sent" : r == OB_BOUNCED ? "bounced" : "deferred";
}

/* The DSN is queued (or none was due): the failed recipients are done.
 * Not queued: they wait a retry and bounce then. */
static void
queue_ob_finish(void *arg, int queued)
{
	struct queue_ob_done *d = arg;
	struct queue *q = d->q;
	struct queue_item *it = queue_item(q, d->env.id);
	size_t left = 0;

	for (size_t k = 0; k < d->nfailed; k++) {
		struct queue_rcpt *rc = &d->env.rcpts[d->failed[k]];
		if (queued)
			rc->state = QUEUE_RCPT_DONE;
		else
			rc->next_attempt = time(NULL) + q->conf->queue_retry_min;
	}
	for (size_t i = 0; i < d->env.nrcpt; i++)
		left += d->env.rcpts[i].state != QUEUE_RCPT_DONE;
	if (left == 0) {
		if (queue_remove(q->dir, d->env.id) < 0 && errno != ENOENT)
			log_error("%s: cannot remove from the queue: %s",
			    d->env.id, strerror(errno));
		else
			log_info("%s: removed", d->env.id);
	} else if (queue_state_save(q->dir, &d->env) < 0) {
		log_error("%s: cannot save its state: %s", d->env.id, strerror(errno));
	}
	queue_ob_log(&d->log);
	if (it != NULL && it->inflight > 0 &&
	    queue_items_flight_end(q->items, it) == 0) {
		if (left == 0)
			queue_items_remove(q->items, it);       /* gone */
		else
			queue_items_set_next(q->items, it,
			    queue_next_attempt(&d->env));
	}
	queue_env_free(&d->env);
	ob_msg_free(d->m);
	free(d->failed);
	free(d);
}

/* One recipient's result, for the filters. */
static void
queue_ob_report(const struct queue_env *env, const struct queue_rcpt *rc,
    const struct ob_msg *m, enum ob_result res, const char *status,
    const char *why)
{
	char detail[OB_REPLY_MAX + 320];

	if (res == OB_SENT)
		snprintf(detail, sizeof(detail), "relay=%s", m->relay);
	else
		snprintf(detail, sizeof(detail), "%s %s", status, why);
	queue_report(res == OB_SENT ? FILTER_EV_DELIVERED : res == OB_BOUNCED ?
	    FILTER_EV_BOUNCED : FILTER_EV_DEFERRED, env->id, rc->addr, detail);
}

/* One recipient's result, into the envelope and the log. */
static int
queue_ob_apply(struct queue *q, struct queue_env *env, const struct ob_msg *m,
    const struct ob_rcpt *r, time_t now, struct buf *log)
{
	struct queue_rcpt *rc = &env->rcpts[r->index];
	enum ob_result res = r->result;
	const char *why = r->reply;
	char expired[OB_REPLY_MAX + 64];

	if (res == OB_DEFERRED && now - env->created >= (time_t)q->conf->queue_lifetime) {
		snprintf(expired, sizeof(expired), "delivery time expired: %s", r->reply);
		why = expired;
		res = OB_BOUNCED;
	}
	if (res == OB_DEFERRED)
		rc->attempts++;
	if (buf_appendf(log, "%s: to=<%s> orig_to=<%s> relay=%s delay=%llds dsn=%s status=%s attempts=%u (%s)\n",
	    env->id, rc->addr, rc->orig, m->relay,
	    (long long)(now - env->created),
	    res == OB_BOUNCED && why == expired ? "4.4.7" : r->status,
	    ob_result_name(res), rc->attempts + (res != OB_DEFERRED), why) < 0)
		log_warn("%s: to=<%s>: result line longer than its buffer", env->id, rc->addr);
	queue_count(res == OB_SENT ? QUEUE_COUNT_SENT : res == OB_BOUNCED ?
	    QUEUE_COUNT_BOUNCED : QUEUE_COUNT_DEFERRED);
	queue_ob_report(env, rc, m, res, why == expired ? "4.4.7" : r->status, why);
	switch (res) {
	case OB_SENT:
		rc->state = QUEUE_RCPT_DONE;
		return 0;
	case OB_BOUNCED:
		snprintf(rc->last_error, sizeof(rc->last_error), "%s %s",
		    why == expired ? "4.4.7" : r->status, why);
		rc->state = QUEUE_RCPT_DEFERRED;    /* done once the DSN is queued */
		return 1;
	default:
		rc->state = QUEUE_RCPT_DEFERRED;
		rc->next_attempt = now + queue_backoff(q->conf, rc->attempts);
		snprintf(rc->last_error, sizeof(rc->last_error), "%s %s",
		    r->status, why);
		return 0;
	}
}

/* The host name of "host[ip]:port", for the DSN's Remote-MTA; "" when
 * no server answered (DNS failed, nothing connected, local delivery). */
static const char *
queue_ob_relay_host(const struct ob_msg *m, char *host, size_t len)
{
	size_t n = strcspn(m->relay, "[");

	snprintf(host, len, "%.*s", m->relay[n] == '[' ? (int)n : 0, m->relay);
	return host;
}

void
queue_outbound_done(struct ob_msg *m, void *arg)
{
	struct queue *q = arg;
	struct queue_ob_done *d = xcalloc(1, sizeof(*d));
	time_t now = time(NULL);
	char err[512], host[sizeof(m->relay)];

	d->q = q;
	d->m = m;
	if (queue_env_load(q->dir, m->id, &d->env, err, sizeof(err)) < 0) {
		/* Deleted meanwhile (tern queue delete): nothing to record. */
		int deleted = errno == ENOENT;
		struct queue_item *it = queue_item(q, m->id);
		if (it != NULL && it->inflight > 0)
			queue_items_flight_end(q->items, it);
		if (deleted && queue_hold_has(q->dir, m->id) == 1)
			log_warn("%s: put on hold by tern queue hold while a "
			    "delivery attempt was under way; its results are "
			    "dropped (what it delivered is delivered again "
			    "after release)", m->id);
		else if (deleted)
			log_info("%s: removed from the queue by tern queue delete "
			    "(its delivery attempt has ended)", m->id);
		else
			log_info("%s: results of a delivery attempt dropped: %s",
			    m->id, err);
		ob_msg_free(m);
		free(d);
		return;
	}
	d->failed = xcalloc(m->nrcpt, sizeof(*d->failed));
	if (m->nrcpt > SIZE_MAX / QUEUE_OB_LINE)
		bug("recipient count %zu", m->nrcpt);
	buf_init(&d->log, m->nrcpt * QUEUE_OB_LINE);
	for (size_t k = 0; k < m->nrcpt; k++) {
		const struct ob_rcpt *r = &m->rcpts[k];
		if (r->index >= d->env.nrcpt ||
		    strcasecmp(d->env.rcpts[r->index].addr, r->addr) != 0)
			continue;       /* not the file it was read from */
		if (queue_ob_apply(q, &d->env, m, r, now, &d->log))
			d->failed[d->nfailed++] = r->index;
	}
	if (d->nfailed == 0) {
		queue_ob_finish(d, 1);
		return;
	}
	queue_bounce(q, &d->env, d->failed, d->nfailed,
	    queue_ob_relay_host(m, host, sizeof(host)), queue_ob_finish, d);
}
