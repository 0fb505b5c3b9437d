/*
 * tern's filter protocol in smtpd (docs/filters.md): the filters' sockets
 * master hands over, the report events the sessions and the queue give
 * them, and the hooks, asked through the plugin chain as filter_kind.
 */
#ifndef TERN_FILTER_H
#define TERN_FILTER_H

#include <stdint.h>
#include <sys/types.h>

#include "plugin/plugin.h"

struct smtpd;
struct session;
struct ipc_msg;

extern const struct plugin_kind filter_kind;

/* IPC_CTL_FILTER from master: a (re)started filter's socket.  Takes the
 * message's fd in every case. */
void filter_channel_msg(struct smtpd *sd, const struct ipc_msg *msg);

/* Report events a session gives (filter_report.c): each is a no-op when
 * no filter asked for it. */
void filter_report_tls(struct session *s);
/* res, st: lookup's verdict (lookup_proto.h, directory.h). */
void filter_report_auth(struct session *s, uint32_t res, uint32_t st);
void filter_report_queued(struct session *s, off_t size);
/* IPC_QUEUE_REPORT from the queue: delivered, deferred, bounced. */
void filter_report_queue_msg(struct smtpd *sd, const struct ipc_msg *msg);

#endif
