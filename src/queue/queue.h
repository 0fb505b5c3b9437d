/*
 * The queue process's view of one delivery pass, shared by queue.c (the
 * process: what is due, when) and queue_deliver.c (one message: each
 * recipient delivered or deferred).
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <time.h>

#include <limits.h>

#include "conf/conf.h"
#include "deliver/maildir.h"
#include "net/ipc_chan_set.h"
#include "net/stats.h"
#include "queue/queue_file.h"
#include "queue/queue_items.h"

struct outbound;
struct ob_msg;
struct dns;
struct ipc_chan;
struct queue_lookup_req;

/* The queue process. */
struct queue {
	struct conf *conf;
	struct event_base *base;
	struct ipc_chan *ctl;
	struct ipc_chan_set clients;
	struct ipc_chan *lookup;        /* for bounces: resolving the sender */
	struct queue_lookup_req *lookup_reqs;
	uint32_t lookup_next_id;
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
	struct queue_items *items;      /* every message known, by id and due time */
	struct stats_report *stats;     /* for tern status */
	struct event *run_ev;
	struct event *tick_ev;
	struct event *scan_ev;          /* every queue_scan_interval */
	struct maildir_batch *batch;
	struct dns *dns;
	struct outbound *ob;
};

/* queue.c: knows id again, due at next (0: now); queue_items_add. */
void queue_add(struct queue *q, const char *id, time_t next);
/* The item of id, NULL if it is not known; queue_items_find. */
struct queue_item *queue_item(struct queue *q, const char *id);

#define QUEUE_BATCH_MAX  256    /* messages per pass of the loop */

/* What a pass did to a recipient, until the pass is finished. */
enum { QUEUE_JOB_UNTOUCHED, QUEUE_JOB_COPIED, QUEUE_JOB_DEFERRED,
    QUEUE_JOB_OUTBOUND };

/* One message being delivered in the current pass. */
struct queue_job {
	const struct conf *conf;
	struct queue_env env;
	int force;              /* flush: ignore next_attempt */
	int loaded;
	unsigned outbound;      /* outbound attempts started */
	unsigned char *pending; /* per recipient: what this pass did */
	int *synced;            /* per recipient: its copy is on disk (the commit) */
	struct ob_msg *expired; /* local recipients failed past queue_lifetime */
};

/* Delivers what is due of job's recipients into batch; the copies count
 * only once the batch commits (queue_deliver_finish). */
void queue_deliver_start(struct queue *q, struct queue_job *job);

/* After the batch commit: marks recipients done (their copy synced) or
 * deferred, removes a finished message or saves its state.
 * Returns the next attempt time, 0 when the message is gone, or -1 while
 * outbound attempts are under way (their results reschedule it). */
time_t queue_deliver_finish(const char *queue_dir, struct queue_job *job);

/* The earliest next attempt of env's unfinished recipients, 0 if none. */
time_t queue_next_attempt(const struct queue_env *env);

/* queue_outbound.c: hands the due remote recipients of job to outbound
 * (one attempt per destination domain); returns how many it started. */
unsigned queue_outbound_start(struct queue *q, struct queue_job *job);
/* outbound's callback: one attempt's results, applied to the message. */
void queue_outbound_done(struct ob_msg *m, void *arg);
/* Local recipient i of job failed, past queue_lifetime: its result joins
 * job->expired, which queue_outbound_post_expired hands, at the end of
 * queue_deliver_start, to queue_outbound_done on the next turn of the
 * loop.  So it bounces (4.4.7, with a DSN) exactly as a remote recipient
 * whose lifetime ran out.  Returns the results to wait for (0 or 1). */
void queue_outbound_local_failed(struct queue *q, struct queue_job *job,
    size_t i, const char *why);
unsigned queue_outbound_post_expired(struct queue *q, struct queue_job *job);

/* queue_lookup.c: asks lookup to resolve addr; fn is called from the
 * loop with lookup's answer (DIR_RESOLVE_TEMPFAIL when it is away). */
struct dir_target;
typedef void queue_resolve_fn(void *arg, unsigned status,
    const struct dir_target *targets, size_t n);
void queue_resolve(struct queue *q, const char *addr, queue_resolve_fn *fn,
    void *arg);
/* The TLS policy of a destination domain (tern tls-policy): fn gets it,
 * QUEUE_POLICY_NONE when the domain has none, QUEUE_POLICY_UNKNOWN when
 * lookup is away or failed (the mail must wait: the domain's policy may
 * be stricter than smtp_tls_policy). */
#define QUEUE_POLICY_NONE    (-1)
#define QUEUE_POLICY_UNKNOWN (-2)
typedef void queue_policy_fn(void *arg, int policy);
void queue_tls_policy(struct queue *q, const char *domain,
    queue_policy_fn *fn, void *arg);
void queue_lookup_set(struct queue *q, int fd);
void queue_lookup_free(struct queue *q);

/* queue_bounce.c: a DSN for the recipients of env that failed for good,
 * to env's sender.  then(arg, 1) once it is safely in the queue, or when
 * none is due (null sender, a sender that cannot be reached);
 * then(arg, 0) when it could not be queued now (the recipients wait and
 * bounce again later).  Always called from the loop.  remote_mta is the
 * host that gave the failure ("" when none did), for the DSN's Remote-MTA. */
void queue_bounce(struct queue *q, const struct queue_env *env,
    const size_t *failed, size_t nfailed, const char *remote_mta,
    void (*then)(void *arg, int queued), void *arg);

/* The wait before attempt number attempts+1: queue_retry_min, doubling
 * up to queue_retry_max. */
time_t queue_backoff(const struct conf *conf, unsigned attempts);

#endif
