/*
 * One message's delivery pass: local recipients get a Maildir copy with
 * Return-Path, Delivered-To and X-Original-To in front; remote ones wait,
 * deferred, for the outbound client.  A recipient is marked done only
 * after the batch that holds its copy has been synced, so a crash at any
 * point can duplicate a copy but never lose one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_report.h"
#include "queue/queue.h"
#include "queue/queue_counts.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xmalloc.h"

time_t
queue_backoff(const struct conf *conf, unsigned attempts)
{
	time_t wait = conf->queue_retry_min, max = conf->queue_retry_max;

	for (unsigned i = 1; i < attempts && wait < max; i++)
		wait *= 2;
	return wait < max ? wait : max;
}

/* Keeps an error line safe for the state file: no tabs, no line ends. */
static void
queue_set_error(struct queue_rcpt *rc, const char *err)
{
	snprintf(rc->last_error, sizeof(rc->last_error), "%s", err);
	for (char *p = rc->last_error; *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
}

/* Marks recipient i deferred; its log line waits until the state file
 * says so too (queue_deliver_finish), so that the log never runs ahead of
 * what `tern queue list` shows. */
static void
queue_defer(struct queue_job *job, size_t i, const char *why)
{
	struct queue_rcpt *rc = &job->env.rcpts[i];

	rc->state = QUEUE_RCPT_DEFERRED;
	rc->attempts++;
	rc->next_attempt = time(NULL) + queue_backoff(job->conf, rc->attempts);
	queue_set_error(rc, why);
	job->pending[i] = QUEUE_JOB_DEFERRED;
}

static void
queue_log_deferred(const struct queue_job *job)
{
	for (size_t i = 0; i < job->env.nrcpt; i++) {
		const struct queue_rcpt *rc = &job->env.rcpts[i];
		if (job->pending[i] == QUEUE_JOB_DEFERRED) {
			queue_count(QUEUE_COUNT_DEFERRED);
			log_info("%s: to=<%s> orig_to=<%s> status=deferred attempts=%u (%s)",
			    job->env.id, rc->addr, rc->orig, rc->attempts,
			    rc->last_error);
		}
		if (job->pending[i] == QUEUE_JOB_DEFERRED)
			queue_report(FILTER_EV_DEFERRED, job->env.id, rc->addr,
			    rc->last_error);
	}
}

/* A Maildir copy for local recipient i; -1 with the reason in err. */
static int
queue_deliver_local(const struct conf *conf, struct queue_job *job, size_t i,
    int fd, struct maildir_batch *batch, char *err, size_t errlen)
{
	struct queue_rcpt *rc = &job->env.rcpts[i];
	char maildir[PATH_MAX];
	struct buf hdr;
	int r;

	if (maildir_path(conf->state_dir, rc->addr, maildir, sizeof(maildir)) < 0) {
		snprintf(err, errlen, "mailbox path too long");
		return -1;
	}
	buf_init(&hdr, 4 * ADDR_BUF);
	if (buf_appendf(&hdr, "Return-Path: <%s>\nDelivered-To: %s\nX-Original-To: %s\n",
	    job->env.sender, rc->addr, rc->orig) < 0)
		bug("delivery headers larger than their buffer");
	r = maildir_deliver(maildir, hdr.data, hdr.len, fd,
	    job->env.content_offset, job->env.file_size, batch, &job->synced[i],
	    err, errlen);
	buf_free(&hdr);
	if (r < 0)
		log_error("%s: %s", job->env.id, err);
	return r;
}

void
queue_deliver_start(struct queue *q, struct queue_job *job)
{
	const struct conf *conf = q->conf;
	const char *queue_dir = q->dir;
	struct maildir_batch *batch = q->batch;
	char path[PATH_MAX];
	time_t now = time(NULL);
	char err[512];
	int fd = -1;

	job->pending = xcalloc(job->env.nrcpt, 1);
	job->synced = xcalloc(job->env.nrcpt, sizeof(*job->synced));
	for (size_t i = 0; i < job->env.nrcpt; i++) {
		struct queue_rcpt *rc = &job->env.rcpts[i];
		if (rc->state == QUEUE_RCPT_DONE)
			continue;
		if (rc->state == QUEUE_RCPT_DEFERRED && !job->force &&
		    rc->next_attempt > now)
			continue;
		if (rc->remote)
			continue;       /* queue_outbound_start's */
		/* Opened for the first local copy only: a relayed message
		 * is read by the SMTP client, not here. */
		if (fd < 0) {
			snprintf(path, sizeof(path), "%s/%s", queue_dir, job->env.id);
			if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
				log_warn("%s: cannot open: %s", job->env.id,
				    strerror(errno));
				return;
			}
		}
		if (queue_deliver_local(conf, job, i, fd, batch, err, sizeof(err)) == 0) {
			job->pending[i] = QUEUE_JOB_COPIED;
		} else if (now - job->env.created >= (time_t)conf->queue_lifetime) {
			queue_outbound_local_failed(q, job, i, err);
		} else {
			queue_defer(job, i, err);
		}
	}
	if (fd >= 0)
		close(fd);
	job->outbound = queue_outbound_start(q, job);
	job->outbound += queue_outbound_post_expired(q, job);
}

time_t
queue_deliver_finish(const char *queue_dir, struct queue_job *job)
{
	time_t next = 0, now = time(NULL);
	size_t left = 0, changed = 0;

	for (size_t i = 0; i < job->env.nrcpt; i++) {
		struct queue_rcpt *rc = &job->env.rcpts[i];
		/* What went to outbound is recorded when its result comes. */
		if (job->pending != NULL && job->pending[i] != QUEUE_JOB_UNTOUCHED &&
		    job->pending[i] != QUEUE_JOB_OUTBOUND)
			changed++;
		if (job->pending != NULL && job->pending[i] == QUEUE_JOB_COPIED) {
			if (job->synced[i]) {
				rc->state = QUEUE_RCPT_DONE;
				queue_count(QUEUE_COUNT_SENT);
				log_info("%s: to=<%s> orig_to=<%s> relay=local delay=%llds status=sent (delivered to maildir)",
				    job->env.id, rc->addr, rc->orig,
				    (long long)(now - job->env.created));
				queue_report(FILTER_EV_DELIVERED, job->env.id,
				    rc->addr, "local");
			} else {
				queue_defer(job, i, "cannot sync the Maildir");
			}
		}
		if (rc->state == QUEUE_RCPT_DONE)
			continue;
		left++;
		if (next == 0 || rc->next_attempt < next)
			next = rc->next_attempt;
	}
	if (left == 0) {
		if (queue_remove(queue_dir, job->env.id) < 0)
			log_error("%s: cannot remove from the queue: %s",
			    job->env.id, strerror(errno));
		else
			log_info("%s: removed", job->env.id);
		return 0;
	}
	/* Nothing decided yet (all of it is with outbound): the state file
	 * says what it said, and costs no sync. */
	if (changed > 0 && queue_state_save(queue_dir, &job->env) < 0)
		log_error("%s: cannot save its state: %s", job->env.id,
		    strerror(errno));
	queue_log_deferred(job);
	if (job->outbound > 0)
		return -1;
	return next > now ? next : now + 1;
}

time_t
queue_next_attempt(const struct queue_env *env)
{
	time_t next = 0;

	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct queue_rcpt *rc = &env->rcpts[i];
		if (rc->state == QUEUE_RCPT_DONE)
			continue;
		if (next == 0 || rc->next_attempt < next)
			next = rc->next_attempt;
	}
	return next;
}
