/*
 * The queue process's view of one delivery pass, shared by queue.c (the
 * process: what is due, when) and queue_deliver.c (one message: each
 * recipient delivered or deferred).
 */
#ifndef TERN_QUEUE_H
#define TERN_QUEUE_H

#include <time.h>

#include "conf/conf.h"
#include "deliver/maildir.h"
#include "queue/queue_file.h"

#define QUEUE_BATCH_MAX  256    /* messages per pass of the loop */

/* What a pass did to a recipient, until the pass is finished. */
enum { QUEUE_JOB_UNTOUCHED, QUEUE_JOB_COPIED, QUEUE_JOB_DEFERRED };

/* One message being delivered in the current pass. */
struct queue_job {
	const struct conf *conf;
	struct queue_env env;
	int force;              /* flush: ignore next_attempt */
	int loaded;
	size_t delivered;       /* local copies awaiting the batch commit */
	unsigned char *pending; /* per recipient: what this pass did */
};

/* Delivers what is due of job's recipients into batch; the copies count
 * only once the batch commits (queue_deliver_finish). */
void queue_deliver_start(const struct conf *conf, const char *queue_dir,
    struct queue_job *job, struct maildir_batch *batch);

/* After the batch commit (ok says whether it succeeded): marks recipients
 * done or deferred, removes a finished message or saves its state.
 * Returns the next attempt time, or 0 when the message is gone. */
time_t queue_deliver_finish(const char *queue_dir, struct queue_job *job,
    int ok);

/* The wait before attempt number attempts+1: queue_retry_min, doubling
 * up to queue_retry_max. */
time_t queue_backoff(const struct conf *conf, unsigned attempts);

#endif
