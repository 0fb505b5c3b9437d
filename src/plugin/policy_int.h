/*
 * What policy.c and policy_request.c share: a session's policy state.
 */
#ifndef TERN_POLICY_INT_H
#define TERN_POLICY_INT_H

#include <stddef.h>

#include "plugin/plugin.h"
#include "plugin/policy_conn.h"
#include "queue/queue_file.h"
#include "util/addr.h"
#include "util/buf.h"

struct event;
struct session;

#define POLICY_PREPEND_MAX 32   /* distinct PREPEND headers per message */

struct policy_sess {
	struct session *s;
	enum plugin_stage stage;        /* the stage being asked */
	struct policy_service **svcs;   /* this session's listener's */
	size_t nsvcs;
	size_t next;                    /* the service asked now */
	struct policy_job *job;         /* in flight, or NULL */
	struct buf req;                 /* this stage's request */
	struct event *fail_ev;          /* a request that cannot be sent */
	char fail_why[64];
	/* this stage's marks: the last service that said them */
	int hold, discard;
	char hold_by[POLICY_SPEC_MAX], discard_by[POLICY_SPEC_MAX];
	char hold_why[256], discard_why[256];
	/* the message */
	char instance[64];              /* Postfix's: pid.sec.usec.seq */
	char instance_id[QUEUE_ID_BUF]; /* the queue id it was made for */
	char *prepended[POLICY_PREPEND_MAX]; /* PREPENDs done, once each */
	size_t nprepended;
	/* the session */
	char server_addr[64];
	unsigned server_port;
};

/* policy_request.c: the request for ps->stage into ps->req.  0, or -1
 * with *bad_r the attribute that cannot be sent (or "request too long"). */
int policy_request_build(struct policy_sess *ps, const char **bad_r);
/* Postfix's names for what a refusal at ps->stage names. */
void policy_reply_names(const struct policy_sess *ps, const char **name_r,
    const char **class_r, char *buf, size_t buflen);

#endif
