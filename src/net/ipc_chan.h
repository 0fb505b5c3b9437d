/*
 * An IPC channel in a libevent loop: reads messages as they come and hands
 * each to a callback; queues what cannot be sent at once (the peer is busy)
 * and sends it when the socket drains, so that no process ever blocks on
 * another.  The queue is bounded: past IPC_CHAN_MAX_QUEUED the channel is
 * considered broken and closed.
 */
#ifndef TERN_IPC_CHAN_H
#define TERN_IPC_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "net/ipc.h"

struct event_base;
struct ipc_chan;

#define IPC_CHAN_MAX_QUEUED 100000

typedef void ipc_chan_msg_fn(struct ipc_chan *chan, struct ipc_msg *msg,
    void *arg);
/* Called once when the peer closes or the channel breaks; the callback
 * should ipc_chan_free() it. */
typedef void ipc_chan_close_fn(struct ipc_chan *chan, void *arg);

struct ipc_chan *ipc_chan_new(struct event_base *base, int fd,
    ipc_chan_msg_fn *on_msg, ipc_chan_close_fn *on_close, void *arg);
/* Queues a message (fd < 0 for none; a passed fd is closed here once
 * sent).  Returns 0, or -1 when the channel is broken. */
int ipc_chan_send(struct ipc_chan *chan, uint32_t type, const void *data,
    size_t len, int fd);
void ipc_chan_free(struct ipc_chan **chan);
/* Stops the channel (a peer that broke the protocol): nothing more is read
 * or sent, and its close callback comes from the loop, later, so that this
 * may be called from the message callback. */
void ipc_chan_close(struct ipc_chan *chan);
/* A number no other channel of this process has had, or will: unlike its
 * address, which a later channel may be given. */
uint64_t ipc_chan_serial(const struct ipc_chan *chan);

#endif
