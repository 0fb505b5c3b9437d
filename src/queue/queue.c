/*
 * The queue process: knows every message in state_dir/queue and when each
 * is due, and runs delivery passes.  New messages are announced by smtpd;
 * at start the whole folder is read again, so that nothing accepted before
 * a crash is forgotten.  An smtpd that dies between writing a message and
 * announcing it (or writes one while the queue is away) leaves a file
 * nobody told us about: the folder is read again for such files every
 * queue_scan_interval, when a new smtpd arrives and at a flush.  A pass
 * takes up to QUEUE_BATCH_MAX due messages, delivers them, syncs every
 * Maildir folder touched once, and only then marks recipients done.
 * SIGUSR1 (tern queue flush) makes everything due.  SIGUSR2 says tern
 * queue changed the folder (delete, hold, release): the messages whose
 * file is gone are forgotten, the ones that came back are due.  Held
 * messages (queue/hold, queue_hold.h) are never read here.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "master/child.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "net/ipc_chan_set.h"
#include "deliver/outbound.h"
#include "net/dns.h"
#include "queue/queue_report.h"
#include "queue/queue.h"
#include "queue/queue_counts.h"
#include "queue/queue_hold.h"
#include "queue/queue_proto.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct queue_item *
queue_item(struct queue *q, const char *id)
{
	return queue_items_find(q->items, id);
}

void
queue_add(struct queue *q, const char *id, time_t next)
{
	queue_items_add(q->items, id, next);
}

/* Reads the queue folder: every whole message we do not know yet is due
 * now; the ones we know keep their time.  Returns how many were new, or
 * -1 when the folder cannot be read.  (queue/tmp is master's to empty,
 * before smtpd starts writing there.)  When each is not NULL, every new
 * one is logged with it, and is due now whatever its recipients' next
 * attempts say (released: the postmaster wants it tried). */
static long
queue_scan_each(struct queue *q, const char *each)
{
	struct dirent *de;
	long found = 0;
	DIR *d;

	if ((d = opendir(q->dir)) == NULL) {
		log_error("cannot read %s: %s", q->dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name) || queue_item(q, de->d_name) != NULL)
			continue;
		queue_add(q, de->d_name, 0);
		if (each != NULL) {
			queue_items_force(q->items, queue_item(q, de->d_name));
			log_info("%s: %s", de->d_name, each);
		}
		found++;
	}
	closedir(d);
	return found;
}

static long
queue_scan(struct queue *q)
{
	return queue_scan_each(q, NULL);
}

/* After the start: a message found now was never announced. */
static void
queue_scan_unannounced(struct queue *q, const char *why)
{
	long found = queue_scan(q);

	if (found > 0) {
		log_warn("found %ld messages never announced to the queue (%s)",
		    found, why);
		event_active(q->run_ev, 0, 0);
	}
}

static void
queue_scan_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	queue_scan_unannounced(arg, "periodic scan");
}

/* Every queue_scan_interval; again after a reload that changed it. */
static void
queue_scan_schedule(struct queue *q)
{
	struct timeval tv = { (time_t)q->conf->queue_scan_interval, 0 };

	if (evtimer_add(q->scan_ev, &tv) < 0)
		fatal("cannot schedule the queue scan");
}

/* Takes the due items out of the queue's items, earliest first, and loads
 * up to max of them.  One that cannot be loaded is forgotten (gone: tern
 * queue delete) and leaves its place to the next. */
static size_t
queue_take_due(struct queue *q, struct queue_job *jobs, size_t max)
{
	struct queue_item due[QUEUE_BATCH_MAX];
	time_t now = time(NULL);
	size_t n = 0, ndue;
	char err[512];

	if (max > QUEUE_BATCH_MAX)
		bug("queue_take_due: %zu jobs", max);
	while (n < max &&
	    (ndue = queue_items_take_due(q->items, now, due, max - n)) > 0) {
		for (size_t i = 0; i < ndue; i++) {
			memset(&jobs[n], 0, sizeof(jobs[n]));
			if (queue_env_load(q->dir, due[i].id, &jobs[n].env, err,
			    sizeof(err)) == 0) {
				jobs[n].conf = q->conf;
				jobs[n].force = due[i].force;
				jobs[n].loaded = 1;
				n++;
			} else if (errno != ENOENT) {
				/* Known still, so that a scan does not take it
				 * for new; tried again later. */
				log_error("%s", err);
				queue_add(q, due[i].id, now +
				    (time_t)q->conf->queue_retry_max);
			}
		}
	}
	return n;
}

static void
queue_run(struct queue *q)
{
	static struct queue_job jobs[QUEUE_BATCH_MAX];
	size_t n = queue_take_due(q, jobs, QUEUE_BATCH_MAX);

	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		queue_deliver_start(q, &jobs[i]);
	(void)maildir_batch_commit(q->batch);    /* each copy's fate: job->synced */
	for (size_t i = 0; i < n; i++) {
		time_t next = queue_deliver_finish(q->dir, &jobs[i]);
		if (next == -1) {
			/* Outbound results will reschedule it. */
			queue_items_flight_start(q->items,
			    queue_items_add(q->items, jobs[i].env.id, 0),
			    jobs[i].outbound);
		} else if (next != 0) {
			queue_add(q, jobs[i].env.id, next);
		}
		queue_counts_created(q->items, jobs[i].env.id, jobs[i].env.created);
		queue_env_free(&jobs[i].env);
		free(jobs[i].pending);
		free(jobs[i].synced);
	}
	/* More may be due already: go on in the next turn of the loop, so
	 * that new messages and signals are not starved. */
	if (n == QUEUE_BATCH_MAX)
		event_active(q->run_ev, 0, 0);
}

static void
queue_run_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	queue_run(arg);
}

static void
queue_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	queue_run(arg);
}

static void
queue_client_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct queue *q = arg;
	char id[QUEUE_ID_BUF + 1];

	(void)chan;
	if (msg->fd >= 0)
		close(msg->fd);
	if (msg->type != IPC_QUEUE_NEW || msg->len != QUEUE_ID_LEN) {
		log_warn("unexpected message %u from smtpd", msg->type);
		return;
	}
	memcpy(id, msg->data, QUEUE_ID_LEN);
	id[QUEUE_ID_LEN] = '\0';
	if (!queue_id_valid(id)) {
		log_warn("bad queue id from smtpd");
		return;
	}
	queue_add(q, id, 0);
	event_active(q->run_ev, 0, 0);
}

static void
queue_ctl_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct queue *q = arg;
	uint32_t kind;

	(void)chan;
	if (ipc_ctl_peer_parse(msg, &kind) == 0 &&
	    (kind == IPC_PEER_LOOKUP || kind == IPC_PEER_SMTPD)) {
		if (kind == IPC_PEER_LOOKUP) {
			queue_lookup_set(q, msg->fd);
		} else {
			ipc_chan_set_add(&q->clients, msg->fd);
			queue_report_flush();
			/* A new smtpd: the one before may have died between
			 * writing a message and announcing it. */
			queue_scan_unannounced(q, "smtpd restarted");
		}
		return;
	}
	child_ctl_rest(msg);
}

static void
queue_ctl_closed(struct ipc_chan *chan, void *arg)
{
	struct queue *q = arg;

	(void)chan;
	event_base_loopbreak(q->base);
}

/* Keeps it unless its file is gone (deleted, or held), with the log line
 * the postmaster looks for.  One that an attempt holds is forgotten when
 * its results come back. */
static int
queue_keep_undeleted(const struct queue_item *it, void *arg)
{
	const struct queue *q = arg;
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", q->dir, it->id);
	if (it->inflight > 0 || stat(path, &st) == 0 || errno != ENOENT)
		return 1;
	if (queue_hold_has(q->dir, it->id) == 1)
		log_info("%s: put on hold by tern queue hold", it->id);
	else
		log_info("%s: removed from the queue by tern queue delete", it->id);
	return 0;
}

/* tern queue delete, hold or release changed the folder (SIGUSR2): the
 * messages whose file is gone are forgotten, the released ones are due
 * now.  (A message smtpd has just written but not yet announced is taken
 * for released: it is due now either way.) */
static void
queue_folder_changed(struct queue *q)
{
	queue_items_filter(q->items, queue_keep_undeleted, q);
	if (queue_scan_each(q, "released from hold by tern queue release") > 0)
		event_active(q->run_ev, 0, 0);
}

static void
queue_signal(evutil_socket_t sig, short what, void *arg)
{
	struct queue *q = arg;

	(void)what;
	if (sig == SIGHUP) {
		child_reload_conf(q->conf);
		queue_scan_schedule(q);
		return;
	}
	if (sig == SIGUSR2) {
		queue_folder_changed(q);
		return;
	}
	queue_scan_unannounced(q, "flush");
	log_info("flush: every message is due now");
	outbound_forget_failures(q->ob);
	queue_items_force_all(q->items);
	event_active(q->run_ev, 0, 0);
}

/* tern status: the messages in the queue. */
static void
queue_stats(void *arg, struct stats *st)
{
	struct queue *q = arg;

	stats_add(st, "messages", queue_items_count(q->items));
	queue_counts_stats(q->items, time(NULL), st);
}

int
queue_main(struct conf *conf, const struct child_fds *fds)
{
	static struct queue q;
	const int signums[3] = { SIGHUP, SIGUSR1, SIGUSR2 };
	struct event *sigs[3];
	struct timeval second = { 1, 0 };
	char err[256];

	child_setup("queue", conf);
	child_ignore_stop_signals();
	q.conf = conf;
	snprintf(q.dir, sizeof(q.dir), "%s/queue", conf->state_dir);
	snprintf(q.tmp, sizeof(q.tmp), "%s/queue/tmp", conf->state_dir);
	if ((q.base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	for (size_t i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(q.base, signums[i], queue_signal, &q);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatal("cannot watch signals");
	}
	child_signals_ready();
	q.items = queue_items_new();
	q.batch = maildir_batch_new();
	q.dns = dns_new(q.base, conf->dns_servers, err, sizeof(err));
	if (q.dns == NULL)
		fatal("DNS: %s", err);
	q.ob = outbound_new(q.base, conf, q.dns, queue_outbound_done, &q);
	q.run_ev = event_new(q.base, -1, 0, queue_run_cb, &q);
	q.tick_ev = event_new(q.base, -1, EV_PERSIST, queue_tick, &q);
	q.scan_ev = event_new(q.base, -1, EV_PERSIST, queue_scan_cb, &q);
	if (q.run_ev == NULL || q.tick_ev == NULL || q.scan_ev == NULL ||
	    evtimer_add(q.tick_ev, &second) < 0)
		fatal("cannot set up queue events");
	queue_scan_schedule(&q);
	q.ctl = ipc_chan_new(q.base, fds->ctl, queue_ctl_msg, queue_ctl_closed, &q);
	ipc_chan_set_init(&q.clients, "queue client", q.base, queue_client_msg, &q);
	queue_report_init(&q.clients, conf);
	if (fds->smtpd >= 0)
		ipc_chan_set_add(&q.clients, fds->smtpd);
	if (fds->lookup >= 0)
		queue_lookup_set(&q, fds->lookup);
	if (queue_scan(&q) < 0)
		fatal("cannot read the queue");
	if (queue_items_count(q.items) > 0)
		log_info("recovered %zu messages from the queue",
		    queue_items_count(q.items));
	q.stats = stats_report_start(q.base, &q.ctl, queue_stats, &q);
	event_active(q.run_ev, 0, 0);
	event_base_dispatch(q.base);
	child_ignore_stop_signals();
	stats_report_free(&q.stats);
	ipc_chan_set_free(&q.clients);
	ipc_chan_free(&q.ctl);
	for (size_t i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_free(q.run_ev);
	event_free(q.tick_ev);
	event_free(q.scan_ev);
	maildir_batch_free(&q.batch);
	queue_lookup_free(&q);
	outbound_free(&q.ob);
	dns_free(&q.dns);
	queue_items_free(&q.items);
	event_base_free(q.base);
	return 0;
}
