/*
 * The queue's results for tern's filters: delivered, deferred and bounced,
 * one message per recipient to smtpd (IPC_QUEUE_REPORT), which writes the
 * report lines to the filters that asked (plugin/filter_report.c).  Only
 * when the `filters` setting names any: otherwise nothing is sent.
 */
#ifndef TERN_QUEUE_REPORT_H
#define TERN_QUEUE_REPORT_H

#include "plugin/filter_proto.h"

struct ipc_chan_set;
struct conf;

/* Once at start: where the reports go, and whether any filter exists. */
void queue_report_init(struct ipc_chan_set *smtpds, const struct conf *conf);
/* ev: FILTER_EV_DELIVERED, _DEFERRED or _BOUNCED. */
void queue_report(enum filter_event ev, const char *id, const char *rcpt,
    const char *detail);
/* An smtpd channel came: the reports that waited for one go now. */
void queue_report_flush(void);

#endif
