/*
 * The channels of a process that serves several peers (lookup and queue
 * serve every smtpd): a bounded set that adds a channel when master hands
 * one over and drops it when its peer goes away.
 */
#ifndef TERN_IPC_CHAN_SET_H
#define TERN_IPC_CHAN_SET_H

#include "net/ipc_chan.h"

#define IPC_CHAN_SET_MAX 64

struct ipc_chan_set {
	const char *what;               /* for log lines: "lookup client" */
	struct event_base *base;
	ipc_chan_msg_fn *on_msg;
	void *arg;
	struct ipc_chan *chans[IPC_CHAN_SET_MAX];
};

void ipc_chan_set_init(struct ipc_chan_set *set, const char *what,
    struct event_base *base, ipc_chan_msg_fn *on_msg, void *arg);
/* Takes fd into the set; a full set closes it with a warning. */
void ipc_chan_set_add(struct ipc_chan_set *set, int fd);
void ipc_chan_set_free(struct ipc_chan_set *set);
/* The set's channel of that serial (ipc_chan_serial), or NULL when it is
 * gone: an answer computed off the loop may outlive the peer that asked,
 * and a new peer's channel may have the old one's address. */
struct ipc_chan *ipc_chan_set_find(const struct ipc_chan_set *set,
    uint64_t serial);

#endif
