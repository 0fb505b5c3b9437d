/*
 * The queue's questions to lookup: where does an address go (a bounce's
 * recipient is the original sender, resolved like any recipient).  The
 * answers are checked like any IPC input; a lookup that goes away fails
 * every open question with DIR_RESOLVE_TEMPFAIL.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "lookup/directory.h"
#include "lookup/lookup_proto.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "queue/queue.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define QUEUE_LOOKUP_MAX 1024   /* questions open at once */

struct queue_lookup_req {
	struct queue_lookup_req *next;
	uint32_t id;
	queue_resolve_fn *fn;           /* a resolve question */
	queue_policy_fn *policy_fn;     /* or a TLS policy question */
	void *arg;
};

static size_t queue_lookup_open;

static struct queue_lookup_req *
queue_lookup_take(struct queue *q, uint32_t id)
{
	for (struct queue_lookup_req **p = &q->lookup_reqs; *p; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct queue_lookup_req *r = *p;
			*p = r->next;
			queue_lookup_open--;
			return r;
		}
	}
	return NULL;
}

static void
queue_lookup_policy_reply(struct queue *q, struct ipc_msg *msg)
{
	struct ipc_reader r;
	struct queue_lookup_req *req;

	ipc_reader_init(&r, msg);
	uint32_t id = ipc_get_u32(&r), found = ipc_get_u32(&r);
	uint32_t policy = ipc_get_u32(&r);
	if ((req = queue_lookup_take(q, id)) == NULL)
		return;
	if (ipc_reader_end(&r) < 0 || req->policy_fn == NULL || policy > 2 ||
	    found > 2) {
		log_warn("malformed TLS policy reply from lookup");
		found = 2;
	}
	if (req->policy_fn != NULL)
		req->policy_fn(req->arg, found == 1 ? (int)policy :
		    found == 0 ? QUEUE_POLICY_NONE : QUEUE_POLICY_UNKNOWN);
	free(req);
}

static void
queue_lookup_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	static struct dir_target targets[DIR_RESOLVE_MAX];
	struct queue *q = arg;
	struct ipc_reader r;
	struct queue_lookup_req *req;

	(void)chan;
	if (msg->fd >= 0)
		close(msg->fd);
	if (msg->type == IPC_LOOKUP_TLS_POLICIED) {
		queue_lookup_policy_reply(q, msg);
		return;
	}
	if (msg->type != IPC_LOOKUP_RESOLVED) {
		log_warn("unexpected message %u from lookup", msg->type);
		return;
	}
	ipc_reader_init(&r, msg);
	uint32_t id = ipc_get_u32(&r), status = ipc_get_u32(&r), n = ipc_get_u32(&r);
	for (uint32_t i = 0; i < n && i < DIR_RESOLVE_MAX && !r.error; i++) {
		targets[i].remote = (int)ipc_get_u32(&r);
		ipc_get_str(&r, targets[i].addr, sizeof(targets[i].addr));
	}
	if ((req = queue_lookup_take(q, id)) == NULL)
		return;
	if (n > DIR_RESOLVE_MAX || ipc_reader_end(&r) < 0) {
		log_warn("malformed resolve reply from lookup");
		status = DIR_RESOLVE_TEMPFAIL;
		n = 0;
	}
	req->fn(req->arg, status, targets, status == DIR_RESOLVE_OK ? n : 0);
	free(req);
}

/* Every open question gets TEMPFAIL, from a fresh list (a callback may
 * ask again). */
static void
queue_lookup_fail_all(struct queue *q)
{
	struct queue_lookup_req *list = q->lookup_reqs;

	q->lookup_reqs = NULL;
	queue_lookup_open = 0;
	while (list != NULL) {
		struct queue_lookup_req *r = list;
		list = r->next;
		if (r->policy_fn != NULL)
			r->policy_fn(r->arg, QUEUE_POLICY_UNKNOWN);
		else
			r->fn(r->arg, DIR_RESOLVE_TEMPFAIL, NULL, 0);
		free(r);
	}
}

static void
queue_lookup_closed(struct ipc_chan *chan, void *arg)
{
	struct queue *q = arg;

	(void)chan;
	log_warn("lookup channel closed; waiting for a new one");
	ipc_chan_free(&q->lookup);
	queue_lookup_fail_all(q);
}

void
queue_lookup_set(struct queue *q, int fd)
{
	ipc_chan_free(&q->lookup);
	queue_lookup_fail_all(q);
	q->lookup = ipc_chan_new(q->base, fd, queue_lookup_msg,
	    queue_lookup_closed, q);
}

/* Stopping: open questions are answered "unavailable", so that what
 * waits on them is released (and stays in the queue for the next start). */
void
queue_lookup_free(struct queue *q)
{
	ipc_chan_free(&q->lookup);
	queue_lookup_fail_all(q);
}

/* The answer to a question that could not be asked, from the loop. */
struct queue_lookup_later {
	queue_resolve_fn *fn;
	queue_policy_fn *policy_fn;
	void *arg;
};

static void
queue_lookup_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct queue_lookup_later *l = arg;

	(void)fd;
	(void)what;
	if (l->policy_fn != NULL)
		l->policy_fn(l->arg, QUEUE_POLICY_UNKNOWN);
	else
		l->fn(l->arg, DIR_RESOLVE_TEMPFAIL, NULL, 0);
	free(l);
}

/* Sends one question; -1 when it cannot go now. */
static int
queue_lookup_ask(struct queue *q, uint32_t type, const char *text,
    queue_resolve_fn *fn, queue_policy_fn *policy_fn, void *arg)
{
	struct queue_lookup_req *req;
	struct buf b;
	int r;

	if (q->lookup == NULL || queue_lookup_open >= QUEUE_LOOKUP_MAX)
		return -1;
	req = xcalloc(1, sizeof(*req));
	req->id = ++q->lookup_next_id;
	req->fn = fn;
	req->policy_fn = policy_fn;
	req->arg = arg;
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u32(&b, req->id);
	ipc_put_str(&b, text);
	r = ipc_chan_send(q->lookup, type, b.data, b.len, -1);
	buf_free(&b);
	if (r < 0) {
		free(req);
		return -1;
	}
	req->next = q->lookup_reqs;
	q->lookup_reqs = req;
	queue_lookup_open++;
	return 0;
}

static void
queue_lookup_later(struct queue *q, queue_resolve_fn *fn,
    queue_policy_fn *policy_fn, void *arg)
{
	struct queue_lookup_later *l = xcalloc(1, sizeof(*l));

	l->fn = fn;
	l->policy_fn = policy_fn;
	l->arg = arg;
	if (event_base_once(q->base, -1, EV_TIMEOUT, queue_lookup_later_cb, l,
	    NULL) < 0)
		fatal("cannot schedule an event");
}

void
queue_tls_policy(struct queue *q, const char *domain, queue_policy_fn *fn,
    void *arg)
{
	if (queue_lookup_ask(q, IPC_LOOKUP_TLS_POLICY, domain, NULL, fn, arg) < 0)
		queue_lookup_later(q, NULL, fn, arg);
}

void
queue_resolve(struct queue *q, const char *addr, queue_resolve_fn *fn,
    void *arg)
{
	/* Never answered from inside the caller. */
	if (queue_lookup_ask(q, IPC_LOOKUP_RESOLVE, addr, fn, NULL, arg) < 0)
		queue_lookup_later(q, fn, NULL, arg);
}
