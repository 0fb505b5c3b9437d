/*
 * One policy service as an smtpd process sees it: one persistent
 * connection (inet:HOST:PORT or unix:PATH), requests serialised on it
 * with a queue of waiting requests, each attempt bounded by
 * policy_timeout, retried policy_try_limit times policy_retry_delay
 * apart, the connection closed after policy_max_idle unused and not
 * reused past policy_max_ttl.  As Postfix's attr_clnt does.
 */
#ifndef TERN_POLICY_CONN_H
#define TERN_POLICY_CONN_H

#include <stddef.h>

struct event_base;
struct policy_service;
struct policy_job;

#define POLICY_SPEC_MAX 200

struct policy_limits {
	unsigned timeout;       /* seconds, each attempt: connect, write, read */
	unsigned try_limit;     /* attempts */
	unsigned retry_delay;   /* seconds between attempts */
	unsigned max_idle;      /* seconds an unused connection stays open */
	unsigned max_ttl;       /* seconds a connection is used for */
};

/* ok 1: action is the reply's action; ok 0: the request failed (why).
 * Called from the event loop, never from inside policy_service_ask(). */
typedef void policy_done_fn(void *arg, int ok, const char *action);

/* "inet:HOST:PORT", "inet:[V6]:PORT" or "unix:PATH".  0, or -1 with why
 * filled.  HOST may be a name, resolved once when the service is made. */
int policy_spec_check(const char *spec, char *why, size_t whylen);

/* NULL (logged) when spec cannot be used.  lim is kept, not copied: its
 * owner may change it (a reload) while the service lives. */
struct policy_service *policy_service_new(struct event_base *base,
    const char *spec, const struct policy_limits *lim);
void policy_service_free(struct policy_service **svc);
const char *policy_service_name(const struct policy_service *svc);
/* How many connections were opened so far (for the log). */
unsigned long policy_service_connects(const struct policy_service *svc);

/* Queues a request (len bytes, copied).  done is called once, later. */
struct policy_job *policy_service_ask(struct policy_service *svc,
    const char *req, size_t len, policy_done_fn *done, void *arg);
/* done will not be called; the job is freed when it is safe. */
void policy_job_cancel(struct policy_job *job);

#endif
