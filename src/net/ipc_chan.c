/*
 * IPC channel in an event loop: see ipc_chan.h.  Received messages are
 * handed on as they are; the callback validates them.
 */
#include "net/ipc_chan.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/xmalloc.h"

struct ipc_out {
	struct ipc_out *next;
	uint32_t type;
	int fd;
	size_t len;
	unsigned char data[];
};

struct ipc_chan {
	int fd;
	struct event *rev;
	struct event *wev;
	struct event *cev;      /* reports the break from a turn of its own */
	struct ipc_out *head, **tail;
	size_t queued;
	int broken;
	ipc_chan_msg_fn *on_msg;
	ipc_chan_close_fn *on_close;
	void *arg;
	struct ipc_msg *msg;    /* receive buffer, allocated once */
	uint64_t serial;
};

static void
ipc_chan_break(struct ipc_chan *chan)
{
	if (chan->broken)
		return;
	chan->broken = 1;
	event_del(chan->rev);
	event_del(chan->wev);
	/* Reported later, never from inside our own call stack, so that the
	 * owner may free the channel in its callback. */
	event_active(chan->cev, 0, 0);
}

static void
ipc_chan_closed(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan *chan = arg;

	(void)fd;
	(void)what;
	chan->on_close(chan, chan->arg);
}

static void
ipc_chan_read(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_chan *chan = arg;

	(void)what;
	/* Bounded: at most 64 messages a turn, so one peer cannot starve the
	 * rest of the loop. */
	for (int i = 0; i < 64 && !chan->broken; i++) {
		int r = ipc_recv(fd, chan->msg);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			if (r < 0)
				log_warn("ipc: receive failed: %s", strerror(errno));
			ipc_chan_break(chan);
			return;
		}
		chan->on_msg(chan, chan->msg, chan->arg);
	}
}

static void
ipc_chan_flush(struct ipc_chan *chan)
{
	while (chan->head != NULL) {
		struct ipc_out *o = chan->head;
		if (ipc_send(chan->fd, o->type, o->data, o->len, o->fd) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
				event_add(chan->wev, NULL);
				return;
			}
			log_warn("ipc: send failed: %s", strerror(errno));
			ipc_chan_break(chan);
			return;
		}
		chan->head = o->next;
		if (chan->head == NULL)
			chan->tail = &chan->head;
		chan->queued--;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
}

static void
ipc_chan_write(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ipc_chan_flush(arg);
}

struct ipc_chan *
ipc_chan_new(struct event_base *base, int fd, ipc_chan_msg_fn *on_msg,
    ipc_chan_close_fn *on_close, void *arg)
{
	static uint64_t serials;
	struct ipc_chan *chan = xcalloc(1, sizeof(*chan));
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		fatal("ipc: fcntl: %s", strerror(errno));
	chan->fd = fd;
	chan->serial = ++serials;
	chan->tail = &chan->head;
	chan->on_msg = on_msg;
	chan->on_close = on_close;
	chan->arg = arg;
	chan->msg = xmalloc(sizeof(*chan->msg));
	chan->rev = event_new(base, fd, EV_READ | EV_PERSIST, ipc_chan_read, chan);
	chan->wev = event_new(base, fd, EV_WRITE, ipc_chan_write, chan);
	chan->cev = event_new(base, -1, 0, ipc_chan_closed, chan);
	if (chan->rev == NULL || chan->wev == NULL || chan->cev == NULL || event_add(chan->rev, NULL) < 0)
		fatal("ipc: cannot set up events");
	return chan;
}

int
ipc_chan_send(struct ipc_chan *chan, uint32_t type, const void *data,
    size_t len, int fd)
{
	struct ipc_out *o;

	if (chan->broken || chan->queued >= IPC_CHAN_MAX_QUEUED) {
		if (fd >= 0)
			close(fd);
		if (!chan->broken) {
			log_warn("ipc: peer is not reading; closing the channel");
			ipc_chan_break(chan);
		}
		return -1;
	}
	if (len > IPC_MAX_PAYLOAD)
		bug("ipc_chan_send: payload of %zu bytes", len);
	o = xmalloc(sizeof(*o) + len);
	o->next = NULL;
	o->type = type;
	o->fd = fd;
	o->len = len;
	if (len)
		memcpy(o->data, data, len);
	*chan->tail = o;
	chan->tail = &o->next;
	chan->queued++;
	if (chan->head == o)
		ipc_chan_flush(chan);
	return chan->broken ? -1 : 0;
}

void
ipc_chan_free(struct ipc_chan **chanp)
{
	struct ipc_chan *chan = *chanp;

	if (chan == NULL)
		return;
	while (chan->head != NULL) {
		struct ipc_out *o = chan->head;
		chan->head = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	event_free(chan->rev);
	event_free(chan->wev);
	event_free(chan->cev);
	close(chan->fd);
	free(chan->msg);
	free(chan);
	*chanp = NULL;
}

void
ipc_chan_close(struct ipc_chan *chan)
{
	ipc_chan_break(chan);
}

uint64_t
ipc_chan_serial(const struct ipc_chan *chan)
{
	return chan->serial;
}
