/*
 * The group commit, off the session loop: a thread syncs each finished
 * message (fdatasync), renames it from queue/tmp into the queue, and after
 * a whole batch syncs the queue folder once.  Meanwhile the loop goes on
 * reading other sessions' DATA, so the next batch gathers while this one
 * is on its way to the disk.  Only when a message's batch is synced does
 * its client hear 250.
 */
#include <errno.h>
#include <fcntl.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "queue/queue_hold.h"
#include "queue/queue_proto.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_counts.h"
#include "plugin/filter.h"
#include "util/durable.h"
#include "util/log.h"
#include "util/side_by_side.h"
#include "util/workpool.h"
#include "util/xmalloc.h"

#define COMMIT_BATCH_MAX 4096
#define COMMIT_SYNC_THREADS 4   /* fdatasyncs under way at once, besides the committer's */

struct commit_job {
	struct work work;       /* first: the pool's handle */
	uint32_t ref;           /* the session, if it is still there */
	int fd;
	char tmp[600];
	char dst[600];
	char id[QUEUE_ID_BUF];
	int held;               /* into queue/hold: a plugin held it */
	int renamed;
	int ok;
	int err;
};

/* The committer thread's own: where it renames into, its helpers for the
 * syncs, and room to line a batch up for them. */
struct commit_disk {
	const char *queue_dir;
	struct side_by_side *syncer;
	struct commit_job *jobs[COMMIT_BATCH_MAX];
};

/* A head start only (no wait, no flush): fdatasync is what makes it
 * durable, and reports the errors. */
static void
commit_start_writeback(struct commit_job *j)
{
	(void)sync_file_range(j->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* This message's data on disk. */
static void
commit_sync(void *jobs, size_t i)
{
	struct commit_job *j = ((struct commit_job **)jobs)[i];

	j->ok = fdatasync(j->fd) == 0;
	if (!j->ok)
		j->err = errno;
	if (close(j->fd) < 0 && j->ok) {
		j->ok = 0;
		j->err = errno;
	}
	j->fd = -1;
}

/* Under its queue name, where the queue process takes it from. */
static void
commit_rename(struct commit_job *j)
{
	if (j->ok && rename(j->tmp, j->dst) < 0) {
		j->ok = 0;
		j->err = errno;
	}
	j->renamed = j->ok;
}

/* The folders a batch renamed into: the queue's, and queue/hold when a
 * message of the batch was held.  0 or -1 (errno). */
static int
commit_sync_dirs(struct work *batch, const char *queue_dir)
{
	char hold[600];

	if (durable_fsync_dir(queue_dir) < 0)
		return -1;
	for (struct work *w = batch; w != NULL; w = w->next)
		if (((struct commit_job *)w)->held) {
			queue_hold_dir(queue_dir, hold, sizeof(hold));
			return durable_fsync_dir(hold);
		}
	return 0;
}

/* On the thread, once per batch (its jobs have no work of their own):
 * every file synced, then every rename, then one sync of the queue folder
 * (and of queue/hold, if a message went there) for all of them.  With more
 * than one file, writeback starts for all before the first fdatasync
 * waits, so the writes go out together (measured: about 15% more relayed
 * messages a second), and the fdatasyncs run side by side; syncing and
 * renaming in turn made each fdatasync wait for the last rename. */
static void
commit_batch_end(struct work *batch, void *arg)
{
	struct commit_disk *disk = arg;
	struct work *w;
	size_t n = 0;
	int ok, err;

	for (w = batch; w != NULL && n < COMMIT_BATCH_MAX; w = w->next)
		disk->jobs[n++] = (struct commit_job *)w;
	if (n > 1)
		for (size_t i = 0; i < n; i++)
			commit_start_writeback(disk->jobs[i]);
	side_by_side_run(disk->syncer, commit_sync, disk->jobs, n);
	for (size_t i = 0; i < n; i++)
		commit_rename(disk->jobs[i]);
	ok = commit_sync_dirs(batch, disk->queue_dir) == 0;
	err = errno;
	for (size_t i = 0; i < n; i++) {
		struct commit_job *j = disk->jobs[i];
		if (!ok && j->ok) {
			j->ok = 0;
			j->err = err;
		}
	}
}

static void
commit_discard(struct work *w)
{
	struct commit_job *j = (struct commit_job *)w;

	if (j->fd >= 0)
		close(j->fd);
	free(j);
}

/* Back on the loop. */
static void
commit_done(struct work *w, void *arg)
{
	struct commit_job *j = (struct commit_job *)w;
	struct smtpd *sd = arg;
	struct session *s = session_by_ref(sd, j->ref);

	if (s != NULL && s->wait != WAIT_COMMIT)
		s = NULL;
	if (!j->ok) {
		log_error("%s: cannot queue %s: %s", s ? s->id : "-", j->id,
		    strerror(j->err));
		/* Not known to be on disk: the client must send it again. */
		if (!j->renamed && unlink(j->tmp) < 0 && errno != ENOENT)
			log_warn("cannot remove %s: %s", j->tmp, strerror(errno));
	} else if (!j->held && sd->queue != NULL) {
		/* Queued, whether or not its client is still there to hear.
		 * (A held one is not the queue's until tern queue release.) */
		ipc_chan_send(sd->queue, IPC_QUEUE_NEW, j->id, strlen(j->id), -1);
	}
	if (s != NULL) {
		session_wait_for(s, WAIT_NONE);
		if (j->ok) {
			log_info("%s: queued id=%s from=<%s> size=%llu nrcpt=%zu status=%s",
			    s->id, s->env.id, s->env.sender,
			    (unsigned long long)s->dr.size, s->env.nrcpt,
			    j->held ? "hold" : "queued");
			smtpd_count_accepted();
			filter_report_queued(s, (off_t)s->dr.size);
			session_reply(s, "250 2.0.0 Ok: queued as %s", s->env.id);
			s->junk = 0;    /* as Postfix: mail moved */
		} else {
			session_reply(s, "451 4.3.0 Error: queue file write error");
		}
		session_reset_transaction(s);
		session_resume(s);
	} else if (j->ok) {
		log_info("%s: queued status=queued (the client went away before the 250)",
		    j->id);
		smtpd_count_accepted();
	}
	free(j);
}

void
smtpd_commit_start(struct smtpd *sd)
{
	struct commit_disk *disk = xcalloc(1, sizeof(*disk));

	disk->queue_dir = sd->queue_dir;
	disk->syncer = side_by_side_new(COMMIT_SYNC_THREADS);
	sd->commit_disk = disk;
	sd->committer = workpool_new(sd->base, 1, COMMIT_BATCH_MAX,
	    sd->nslots, commit_batch_end, disk);
}

void
smtpd_commit_stop(struct smtpd *sd)
{
	workpool_free(&sd->committer, commit_discard);
	if (sd->commit_disk != NULL) {
		side_by_side_free(&sd->commit_disk->syncer);
		free(sd->commit_disk);
		sd->commit_disk = NULL;
	}
}

void
session_data_commit(struct session *s)
{
	struct commit_job *j;

	session_data_flush(s);
	/* A spare still holds its old message past what we wrote. */
	if (!s->data_write_error && s->data_reused &&
	    ftruncate(s->data_fd, s->data_len) < 0) {
		log_error("%s: cannot cut %s to length: %s", s->id, s->data_tmp,
		    strerror(errno));
		s->data_write_error = 1;
	}
	if (s->data_write_error) {
		log_error("%s: cannot queue %s: write error", s->id, s->env.id);
		session_data_abort(s);
		session_reset_transaction(s);
		session_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->work.run = NULL;             /* all is done per batch */
	j->work.done = commit_done;
	j->work.arg = s->sd;
	j->ref = session_ref(s);
	j->fd = s->data_fd;
	snprintf(j->tmp, sizeof(j->tmp), "%s", s->data_tmp);
	/* A plugin held it (session_plugin.c logged who and why). */
	j->held = s->plugin_hold;
	if (j->held)
		snprintf(j->dst, sizeof(j->dst), "%s/%s/%s", s->sd->queue_dir,
		    QUEUE_HOLD_SUBDIR, s->env.id);
	else
		snprintf(j->dst, sizeof(j->dst), "%s/%s", s->sd->queue_dir,
		    s->env.id);
	snprintf(j->id, sizeof(j->id), "%s", s->env.id);
	if (workpool_submit(s->sd->committer, &j->work) < 0) {
		free(j);
		log_error("%s: too many messages waiting for the disk", s->id);
		session_data_abort(s);
		session_reset_transaction(s);
		session_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	/* The job owns the file now. */
	s->data_fd = -1;
	session_wait_for(s, WAIT_COMMIT);
}
