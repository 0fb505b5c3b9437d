/*
 * A bounded set of IPC channels: see ipc_chan_set.h.
 */
#include "net/ipc_chan_set.h"

#include <unistd.h>

#include "util/log.h"

void
ipc_chan_set_init(struct ipc_chan_set *set, const char *what,
    struct event_base *base, ipc_chan_msg_fn *on_msg, void *arg)
{
	set->what = what;
	set->base = base;
	set->on_msg = on_msg;
	set->arg = arg;
	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++)
		set->chans[i] = NULL;
}

static void
ipc_chan_set_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct ipc_chan_set *set = arg;

	set->on_msg(chan, msg, set->arg);
}

static void
ipc_chan_set_closed(struct ipc_chan *chan, void *arg)
{
	struct ipc_chan_set *set = arg;

	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++)
		if (set->chans[i] == chan)
			ipc_chan_free(&set->chans[i]);
}

void
ipc_chan_set_add(struct ipc_chan_set *set, int fd)
{
	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++) {
		if (set->chans[i] == NULL) {
			set->chans[i] = ipc_chan_new(set->base, fd,
			    ipc_chan_set_msg, ipc_chan_set_closed, set);
			return;
		}
	}
	log_warn("too many %ss; refusing one", set->what);
	close(fd);
}

void
ipc_chan_set_free(struct ipc_chan_set *set)
{
	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++)
		ipc_chan_free(&set->chans[i]);
}

struct ipc_chan *
ipc_chan_set_find(const struct ipc_chan_set *set, uint64_t serial)
{
	for (size_t i = 0; i < IPC_CHAN_SET_MAX; i++)
		if (set->chans[i] != NULL && ipc_chan_serial(set->chans[i]) == serial)
			return set->chans[i];
	return NULL;
}
