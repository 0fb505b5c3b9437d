/*
 * A policy service's one connection and its queue of requests (see
 * policy_conn.h).  One request is in flight at a time; the others wait in
 * order.  An attempt that fails (cannot connect, the peer closes, a
 * broken reply, policy_timeout) closes the connection, and the request is
 * sent again on a new one after policy_retry_delay, up to
 * policy_try_limit attempts.  Trusts nothing the service sends: lines are
 * bounded before they are copied (policy_proto.c reads them), bytes
 * arriving with no request in flight break the connection.
 */
#include "plugin/policy_conn.h"

#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "plugin/policy_proto.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct policy_job {
	TAILQ_ENTRY(policy_job) entry;
	struct policy_service *svc;
	char *req;
	size_t len;
	unsigned tries;
	policy_done_fn *done;   /* NULL once cancelled */
	void *arg;
	int queued;             /* in svc->jobs (else in flight or freed) */
};

enum policy_phase {
	POLICY_IDLE,            /* no request in flight */
	POLICY_CONNECTING,
	POLICY_WAITING,         /* request written, reply being read */
	POLICY_RETRY_WAIT,      /* an attempt failed; the next one is timed */
	POLICY_FAIL_SOON,       /* failed at once; reported from the loop */
};

struct policy_service {
	char name[POLICY_SPEC_MAX];
	struct event_base *base;
	const struct policy_limits *lim; /* its owner's: a reload changes it */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct bufferevent *bev;
	double opened_at;               /* monotonic seconds */
	unsigned long connects;
	enum policy_phase phase;
	char fail_why[64];
	struct policy_job *cur;
	struct policy_reply reply;
	TAILQ_HEAD(, policy_job) jobs;
	struct event *timer_ev;         /* attempt timeout, retry delay */
	struct event *idle_ev;          /* policy_max_idle */
};

static void policy_kick(struct policy_service *svc);
static void policy_attempt(struct policy_service *svc);

static double
policy_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The host and port of "HOST:PORT" or "[V6]:PORT" into host, port. */
static int
policy_split_inet(const char *hp, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *h = hp;
	size_t hl;

	if (hp[0] == '[') {
		const char *close = strchr(hp, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		h = hp + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(hp, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - hp);
	}
	if (hl == 0 || hl >= hostlen || strlen(colon + 1) >= portlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);        /* fits: checked above */
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	if (port[0] == '\0' || strlen(port) > 5 || atoi(port) < 1 ||
	    atoi(port) > 65535)
		return -1;
	return 0;
}

int
policy_spec_check(const char *spec, char *why, size_t whylen)
{
	char host[256], port[8];

	if (strlen(spec) >= POLICY_SPEC_MAX) {
		snprintf(why, whylen, "policy service too long: %.40s...", spec);
		return -1;
	}
	if (strncmp(spec, "inet:", 5) == 0) {
		if (policy_split_inet(spec + 5, host, sizeof(host), port,
		    sizeof(port)) < 0) {
			snprintf(why, whylen, "%s: want inet:HOST:PORT", spec);
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/' || strlen(spec + 5) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(why, whylen, "%s: want unix:/absolute/path",
			    spec);
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "%s: want inet:HOST:PORT or unix:PATH", spec);
	return -1;
}

static int
policy_resolve(struct policy_service *svc, const char *spec)
{
	char host[256], port[8];
	struct addrinfo hints, *res = NULL;
	int err;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&svc->addr;
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", spec + 5);
		svc->addrlen = sizeof(*sun);
		return 0;
	}
	if (policy_split_inet(spec + 5, host, sizeof(host), port,
	    sizeof(port)) < 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((err = getaddrinfo(host, port, &hints, &res)) != 0 || res == NULL) {
		log_error("policy %s: cannot resolve %s: %s", spec, host,
		    gai_strerror(err));
		return -1;
	}
	if (res->ai_addrlen > sizeof(svc->addr)) {
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&svc->addr, res->ai_addr, res->ai_addrlen);
	svc->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
policy_close(struct policy_service *svc)
{
	if (svc->bev != NULL) {
		bufferevent_free(svc->bev);
		svc->bev = NULL;
	}
}

/* The request in flight is over: ok with the action, or failed (why). */
static void
policy_finish(struct policy_service *svc, int ok, const char *text)
{
	struct policy_job *job = svc->cur;
	policy_done_fn *done = job->done;
	void *arg = job->arg;
	struct timeval idle = { svc->lim->max_idle, 0 };

	/* Detached and freed before done runs: done may ask again. */
	svc->cur = NULL;
	svc->phase = POLICY_IDLE;
	evtimer_del(svc->timer_ev);
	free(job->req);
	free(job);
	if (svc->bev != NULL && TAILQ_EMPTY(&svc->jobs))
		evtimer_add(svc->idle_ev, &idle);
	if (done != NULL)
		done(arg, ok, text);
	policy_kick(svc);
}

static void
policy_attempt_failed(struct policy_service *svc, const char *why)
{
	struct policy_job *job = svc->cur;
	struct timeval delay = { svc->lim->retry_delay, 0 };

	policy_close(svc);
	job->tries++;
	if (job->done == NULL) {        /* cancelled: nobody waits */
		policy_finish(svc, 0, why);
		return;
	}
	if (job->tries >= svc->lim->try_limit || svc->lim->try_limit == 0) {
		log_warn("policy %s: %s (attempt %u of %u, giving up)",
		    svc->name, why, job->tries, svc->lim->try_limit);
		policy_finish(svc, 0, why);
		return;
	}
	log_warn("policy %s: %s (attempt %u of %u, retrying in %us)",
	    svc->name, why, job->tries, svc->lim->try_limit,
	    svc->lim->retry_delay);
	svc->phase = POLICY_RETRY_WAIT;
	evtimer_del(svc->timer_ev);
	evtimer_add(svc->timer_ev, &delay);
}

static void
policy_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policy_service *svc = arg;

	(void)fd;
	(void)what;
	switch (svc->phase) {
	case POLICY_CONNECTING:
	case POLICY_WAITING:
		policy_attempt_failed(svc, "timeout");
		break;
	case POLICY_RETRY_WAIT:
		if (svc->cur->done == NULL)     /* cancelled meanwhile */
			policy_finish(svc, 0, "cancelled");
		else
			policy_attempt(svc);
		break;
	case POLICY_FAIL_SOON:
		policy_attempt_failed(svc, svc->fail_why);
		break;
	case POLICY_IDLE:
		break;
	}
}

static void
policy_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct policy_service *svc = arg;

	(void)fd;
	(void)what;
	if (svc->cur == NULL && svc->bev != NULL) {
		log_debug("policy %s: closing idle connection", svc->name);
		policy_close(svc);
	}
}

/* One line of the reply: 0 to read on, 1 when the request is over (or
 * the connection broke). */
static int
policy_read_line(struct policy_service *svc, struct evbuffer *in)
{
	struct evbuffer_ptr eol;
	char line[POLICY_LINE_MAX];
	const char *why = NULL;
	size_t len;
	int rc;

	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (evbuffer_get_length(in) >= POLICY_LINE_MAX) {
			policy_attempt_failed(svc, "reply line too long");
			return 1;
		}
		return 0;
	}
	if ((size_t)eol.pos >= POLICY_LINE_MAX) {
		policy_attempt_failed(svc, "reply line too long");
		return 1;
	}
	len = (size_t)eol.pos;
	if (evbuffer_remove(in, line, len) != (int)len ||
	    evbuffer_drain(in, 1) < 0) {
		policy_attempt_failed(svc, "cannot read reply");
		return 1;
	}
	line[len] = '\0';
	rc = policy_reply_line(&svc->reply, line, len, &why);
	if (rc < 0) {
		policy_attempt_failed(svc, why);
		return 1;
	}
	if (rc == 0)
		return 0;
	if (evbuffer_get_length(in) > 0) {
		/* More than one reply to one request: out of step. */
		policy_close(svc);
	}
	policy_finish(svc, 1, svc->reply.action);
	return 1;
}

static void
policy_read_cb(struct bufferevent *bev, void *arg)
{
	struct policy_service *svc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (svc->cur == NULL || svc->phase != POLICY_WAITING) {
		log_warn("policy %s: %zu bytes nobody asked for; closing",
		    svc->name, evbuffer_get_length(in));
		policy_close(svc);
		return;
	}
	while (policy_read_line(svc, in) == 0) {
		if (evbuffer_get_length(in) == 0)
			return;
		if (evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF).pos < 0 &&
		    evbuffer_get_length(in) < POLICY_LINE_MAX)
			return;
	}
}

static void
policy_send(struct policy_service *svc)
{
	struct timeval tv = { svc->lim->timeout, 0 };

	svc->phase = POLICY_WAITING;
	policy_reply_init(&svc->reply);
	evtimer_del(svc->timer_ev);
	evtimer_add(svc->timer_ev, &tv);
	if (bufferevent_write(svc->bev, svc->cur->req, svc->cur->len) < 0)
		policy_attempt_failed(svc, "cannot write");
}

static void
policy_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct policy_service *svc = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (svc->phase == POLICY_CONNECTING)
			policy_send(svc);
		return;
	}
	if (svc->cur == NULL || (svc->phase != POLICY_CONNECTING &&
	    svc->phase != POLICY_WAITING)) {
		/* The service closed an idle connection: reopened when
		 * next needed. */
		policy_close(svc);
		return;
	}
	if (what & BEV_EVENT_EOF)
		policy_attempt_failed(svc, svc->phase == POLICY_CONNECTING ?
		    "connection refused" : "connection closed before the reply");
	else
		policy_attempt_failed(svc, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

/* Reported from the loop, so that a failure never calls done from inside
 * policy_service_ask(). */
static void
policy_fail_soon(struct policy_service *svc, const char *why)
{
	struct timeval now = { 0, 0 };

	snprintf(svc->fail_why, sizeof(svc->fail_why), "%s", why);
	svc->phase = POLICY_FAIL_SOON;
	evtimer_del(svc->timer_ev);
	evtimer_add(svc->timer_ev, &now);
}

static void
policy_connect(struct policy_service *svc)
{
	struct timeval tv = { svc->lim->timeout, 0 };

	if (svc->addrlen == 0) {
		policy_fail_soon(svc, "address not resolved at start");
		return;
	}
	svc->bev = bufferevent_socket_new(svc->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (svc->bev == NULL) {
		policy_fail_soon(svc, "cannot make a socket");
		return;
	}
	bufferevent_setcb(svc->bev, policy_read_cb, NULL, policy_event_cb, svc);
	bufferevent_enable(svc->bev, EV_READ | EV_WRITE);
	svc->phase = POLICY_CONNECTING;
	svc->opened_at = policy_now();
	svc->connects++;
	evtimer_del(svc->timer_ev);
	evtimer_add(svc->timer_ev, &tv);
	if (bufferevent_socket_connect(svc->bev, (struct sockaddr *)&svc->addr,
	    (int)svc->addrlen) < 0) {
		char why[64];
		snprintf(why, sizeof(why), "cannot connect: %s", strerror(errno));
		policy_close(svc);
		policy_fail_soon(svc, why);
	}
}

static void
policy_attempt(struct policy_service *svc)
{
	if (svc->bev != NULL && policy_now() - svc->opened_at >=
	    (double)svc->lim->max_ttl) {
		log_debug("policy %s: connection past policy_max_ttl, "
		    "reopening", svc->name);
		policy_close(svc);
	}
	if (svc->bev == NULL)
		policy_connect(svc);
	else
		policy_send(svc);
}

static void
policy_kick(struct policy_service *svc)
{
	struct policy_job *job;

	if (svc->cur != NULL || (job = TAILQ_FIRST(&svc->jobs)) == NULL)
		return;
	TAILQ_REMOVE(&svc->jobs, job, entry);
	job->queued = 0;
	svc->cur = job;
	evtimer_del(svc->idle_ev);
	policy_attempt(svc);
}

struct policy_job *
policy_service_ask(struct policy_service *svc, const char *req, size_t len,
    policy_done_fn *done, void *arg)
{
	struct policy_job *job = xcalloc(1, sizeof(*job));

	job->svc = svc;
	job->req = xmalloc(len);
	memcpy(job->req, req, len);
	job->len = len;
	job->done = done;
	job->arg = arg;
	job->queued = 1;
	TAILQ_INSERT_TAIL(&svc->jobs, job, entry);
	policy_kick(svc);
	return job;
}

void
policy_job_cancel(struct policy_job *job)
{
	if (job == NULL)
		return;
	job->done = NULL;
	if (job->queued) {
		TAILQ_REMOVE(&job->svc->jobs, job, entry);
		free(job->req);
		free(job);
	}
	/* In flight: its reply is still read (the connection stays in
	 * step), then the job is freed without a word. */
}

struct policy_service *
policy_service_new(struct event_base *base, const char *spec,
    const struct policy_limits *lim)
{
	struct policy_service *svc;
	char why[256];

	if (policy_spec_check(spec, why, sizeof(why)) < 0) {
		log_error("policy: %s", why);
		return NULL;
	}
	svc = xcalloc(1, sizeof(*svc));
	snprintf(svc->name, sizeof(svc->name), "%s", spec);
	svc->base = base;
	svc->lim = lim;
	TAILQ_INIT(&svc->jobs);
	svc->timer_ev = evtimer_new(base, policy_timer_cb, svc);
	svc->idle_ev = evtimer_new(base, policy_idle_cb, svc);
	if (svc->timer_ev == NULL || svc->idle_ev == NULL) {
		policy_service_free(&svc);
		return NULL;
	}
	/* A name that does not resolve leaves the service in place, every
	 * request failing to policy_default_action: mail is not let through
	 * unchecked because a name was down when smtpd started. */
	if (policy_resolve(svc, spec) < 0)
		svc->addrlen = 0;
	return svc;
}

void
policy_service_free(struct policy_service **svcp)
{
	struct policy_service *svc = *svcp;
	struct policy_job *job;

	if (svc == NULL)
		return;
	while ((job = TAILQ_FIRST(&svc->jobs)) != NULL) {
		TAILQ_REMOVE(&svc->jobs, job, entry);
		free(job->req);
		free(job);
	}
	if (svc->cur != NULL) {
		free(svc->cur->req);
		free(svc->cur);
	}
	policy_close(svc);
	if (svc->timer_ev != NULL)
		event_free(svc->timer_ev);
	if (svc->idle_ev != NULL)
		event_free(svc->idle_ev);
	free(svc);
	*svcp = NULL;
}

const char *
policy_service_name(const struct policy_service *svc)
{
	return svc->name;
}

unsigned long
policy_service_connects(const struct policy_service *svc)
{
	return svc->connects;
}
