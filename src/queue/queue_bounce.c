/*
 * Bounces: the DSN (bounce.c composes it) goes into the queue as a message
 * of its own, from the null sender, to the original sender resolved like
 * any recipient (a local sender gets it in a Maildir, a remote one through
 * the SMTP client).  Never to the null sender, so never a bounce of a
 * bounce.  The DSN is written to queue/tmp, synced, renamed in and the
 * folder synced before the failed recipients are let go.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lookup/directory.h"
#include "queue/bounce.h"
#include "queue/queue.h"
#include "util/durable.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define QUEUE_BOUNCE_MAX (1024 * 1024)

struct queue_bounce_ctx {
	struct queue *q;
	char orig_id[QUEUE_ID_BUF];
	char sender[ADDR_BUF];
	struct buf dsn;
	void (*then)(void *arg, int queued);
	void *arg;
};

/* Writes env and content as a new queue file, durably, and tells the
 * queue about it. */
static int
queue_bounce_write(struct queue *q, struct queue_env *env, const struct buf *content)
{
	char tmp[PATH_MAX + 32];
	struct buf b;
	int r = -1;

	buf_init(&b, QUEUE_BOUNCE_MAX + 64 * 1024);
	queue_env_format(env, &b);
	if (buf_append(&b, content->data, content->len) < 0)
		goto done;
	snprintf(tmp, sizeof(tmp), "%s/%s", q->tmp, env->id);
	r = durable_create(tmp, q->dir, env->id, b.data, b.len);
done:
	buf_free(&b);
	return r;
}

/* Bytes >= 0x80: an address that only an SMTPUTF8 transaction carries. */
static int
queue_bounce_utf8_addr(const char *addr)
{
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p >= 0x80)
			return 1;
	return 0;
}

static void
queue_bounce_end(struct queue_bounce_ctx *c, int queued)
{
	c->then(c->arg, queued);
	buf_free(&c->dsn);
	free(c);
}

static void
queue_bounce_resolved(void *arg, unsigned status,
    const struct dir_target *targets, size_t n)
{
	struct queue_bounce_ctx *c = arg;
	struct queue_env env;
	int queued = 1;

	memset(&env, 0, sizeof(env));
	queue_id_new(env.id);
	env.created = time(NULL);
	/* The DSN's own content decides, not the original's 8BITMIME:
	 * bounce_compose quotes the original headers (and any UTF-8 address)
	 * as quoted-printable, so the DSN is 7bit, except when the sender is
	 * a UTF-8 address: that goes raw into To: and RCPT TO, which takes
	 * SMTPUTF8, and 8-bit header bytes are 8BITMIME content. */
	env.smtputf8 = env.body_8bit = queue_bounce_utf8_addr(c->sender);
	switch (status) {
	case DIR_RESOLVE_OK:
		for (size_t i = 0; i < n; i++)
			queue_env_add_rcpt(&env, c->sender, targets[i].addr,
			    targets[i].remote);
		break;
	case DIR_RESOLVE_NOT_LOCAL:
		queue_env_add_rcpt(&env, c->sender, c->sender, 1);
		break;
	case DIR_RESOLVE_TEMPFAIL:
		log_warn("%s: bounce to <%s> waits: lookup unavailable",
		    c->orig_id, c->sender);
		queued = 0;
		break;
	default:
		/* A local sender that does not exist: nobody to tell. */
		log_warn("%s: bounce to <%s> dropped: no such local address",
		    c->orig_id, c->sender);
		break;
	}
	if (env.nrcpt > 0) {
		if (queue_bounce_write(c->q, &env, &c->dsn) < 0) {
			log_error("%s: cannot queue the bounce: %s", c->orig_id,
			    strerror(errno));
			queued = 0;
		} else {
			log_info("%s: sender non-delivery notification: %s",
			    c->orig_id, env.id);
			queue_add(c->q, env.id, 0);
		}
	}
	queue_env_free(&env);
	queue_bounce_end(c, queued);
}

void
queue_bounce(struct queue *q, const struct queue_env *env,
    const size_t *failed, size_t nfailed, const char *remote_mta,
    void (*then)(void *arg, int queued), void *arg)
{
	struct queue_bounce_ctx *c = xcalloc(1, sizeof(*c));
	struct bounce_rcpt *br = xcalloc(nfailed, sizeof(*br));
	char (*status)[BOUNCE_STATUS_BUF] = xcalloc(nfailed ? nfailed : 1,
	    sizeof(*status));
	char path[PATH_MAX + 32], err[256];
	struct bounce_info info = {
		.reporting_mta = q->conf->hostname, .sender = env->sender,
		.queue_id = env->id, .arrival = env->created, .now = time(NULL),
	};
	int fd;

	c->q = q;
	c->then = then;
	c->arg = arg;
	snprintf(c->orig_id, sizeof(c->orig_id), "%s", env->id);
	snprintf(c->sender, sizeof(c->sender), "%s", env->sender);
	buf_init(&c->dsn, QUEUE_BOUNCE_MAX);
	if (env->sender[0] == '\0') {
		log_info("%s: no bounce: the sender is the null sender", env->id);
		queue_bounce_end(c, 1);
		free(br);
		free(status);
		return;
	}
	for (size_t k = 0; k < nfailed; k++) {
		const struct queue_rcpt *rc = &env->rcpts[failed[k]];
		/* last_error is "X.Y.Z reply" (queue_outbound.c writes it so):
		 * the bare reply goes to the report, the status beside it. */
		size_t sp = strcspn(rc->last_error, " ");
		const char *reply = rc->last_error[sp] == ' ' ?
		    rc->last_error + sp + 1 : rc->last_error;
		if (sp > 0 && sp < BOUNCE_STATUS_BUF)
			snprintf(status[k], BOUNCE_STATUS_BUF, "%.*s", (int)sp,
			    rc->last_error);
		else
			smtp_reply_status(reply, '5', status[k]);
		br[k].orig = rc->orig;
		br[k].addr = rc->addr;
		br[k].status = status[k];
		br[k].diagnostic = reply;
		br[k].remote_mta = remote_mta;
	}
	snprintf(path, sizeof(path), "%s/%s", q->dir, env->id);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    bounce_compose(&info, br, nfailed, fd, env->content_offset, &c->dsn,
	    err, sizeof(err)) < 0) {
		log_error("%s: cannot compose the bounce: %s", env->id,
		    fd < 0 ? strerror(errno) : err);
		if (fd >= 0)
			close(fd);
		free(br);
		free(status);
		/* What cannot be composed now will not be later: the failure is
		 * logged and the recipients let go, not retried for ever. */
		queue_bounce_end(c, 1);
		return;
	}
	close(fd);
	free(br);
	free(status);
	queue_resolve(q, c->sender, queue_bounce_resolved, c);
}
