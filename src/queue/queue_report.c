/*
 * The queue's results for the filters (see queue_report.h).  The set of
 * smtpd channels is the queue's own, kept here for the process's life, so
 * that the places that log a result need no queue pointer to report it.
 * While no smtpd is there (it restarts, or has not yet been handed over
 * at start), reports wait in a bounded backlog and go when one comes;
 * past the bound they are dropped and counted.  Strings are cut to what
 * the IPC message holds; smtpd checks them again.
 */
#include "queue/queue_report.h"

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "net/ipc.h"
#include "net/ipc_chan_set.h"
#include "queue/queue_proto.h"
#include "util/buf.h"
#include "util/log.h"

#define QUEUE_REPORT_BACKLOG (256 * 1024)     /* bytes of waiting reports */

static struct ipc_chan_set *queue_report_to;
static struct buf queue_report_backlog;        /* u32 len, payload; ... */
static unsigned long queue_report_dropped;

void
queue_report_init(struct ipc_chan_set *smtpds, const struct conf *conf)
{
	queue_report_to = conf->filters[0] != '\0' ? smtpds : NULL;
	buf_init(&queue_report_backlog, QUEUE_REPORT_BACKLOG);
}

/* 1 when it went to some smtpd. */
static int
queue_report_post(const char *data, size_t len)
{
	int sent = 0;

	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++)
		if (queue_report_to->chans[i] != NULL &&
		    ipc_chan_send(queue_report_to->chans[i], IPC_QUEUE_REPORT,
		    data, len, -1) == 0)
			sent = 1;
	return sent;
}

void
queue_report_flush(void)
{
	struct buf *bl = &queue_report_backlog;
	size_t off = 0;

	if (queue_report_to == NULL || bl->len == 0)
		return;
	while (off + 4 <= bl->len) {
		uint32_t len;
		memcpy(&len, bl->data + off, 4);
		if (!queue_report_post(bl->data + off + 4, len))
			break;
		off += 4 + (size_t)len;
	}
	memmove(bl->data, bl->data + off, bl->len - off);
	bl->len -= off;
	bl->data[bl->len] = '\0';
	if (queue_report_dropped > 0) {
		log_warn("filters: %lu reports dropped while no smtpd was there",
		    queue_report_dropped);
		queue_report_dropped = 0;
	}
}

void
queue_report(enum filter_event ev, const char *id, const char *rcpt,
    const char *detail)
{
	char cut[1000];
	uint32_t len;
	struct buf b;

	if (queue_report_to == NULL)
		return;
	snprintf(cut, sizeof(cut), "%s", detail);
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u32(&b, (uint32_t)ev);
	ipc_put_str(&b, id);
	ipc_put_str(&b, rcpt);
	ipc_put_str(&b, cut);
	/* In order: what waits goes first. */
	if (queue_report_backlog.len > 0)
		queue_report_flush();
	if (queue_report_backlog.len > 0 || !queue_report_post(b.data, b.len)) {
		len = (uint32_t)b.len;
		if (queue_report_backlog.len + 4 + b.len > QUEUE_REPORT_BACKLOG ||
		    buf_append(&queue_report_backlog, &len, 4) < 0 ||
		    buf_append(&queue_report_backlog, b.data, b.len) < 0)
			queue_report_dropped++;
	}
	buf_free(&b);
}
