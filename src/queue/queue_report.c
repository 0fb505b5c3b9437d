/*
 * The queue's results for the filters (see queue_report.h).  The set of
 * smtpd channels is the queue's own, kept here for the process's life, so
 * that the places that log a result need no queue pointer to report it.
 * Strings are cut to what the IPC message holds; smtpd checks them again.
 */
#include "queue/queue_report.h"

#include <stdio.h>

#include "conf/conf.h"
#include "net/ipc.h"
#include "net/ipc_chan_set.h"
#include "queue/queue_proto.h"
#include "util/buf.h"

static struct ipc_chan_set *queue_report_to;

void
queue_report_init(struct ipc_chan_set *smtpds, const struct conf *conf)
{
	queue_report_to = conf->filters[0] != '\0' ? smtpds : NULL;
}

void
queue_report(enum filter_event ev, const char *id, const char *rcpt,
    const char *detail)
{
	char cut[1000];
	struct buf b;

	if (queue_report_to == NULL)
		return;
	snprintf(cut, sizeof(cut), "%s", detail);
	buf_init(&b, IPC_MAX_PAYLOAD);
	ipc_put_u32(&b, (uint32_t)ev);
	ipc_put_str(&b, id);
	ipc_put_str(&b, rcpt);
	ipc_put_str(&b, cut);
	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++)
		if (queue_report_to->chans[i] != NULL)
			(void)ipc_chan_send(queue_report_to->chans[i],
			    IPC_QUEUE_REPORT, b.data, b.len, -1);
	buf_free(&b);
}
