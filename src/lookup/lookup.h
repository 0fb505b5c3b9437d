/*
 * Private to the lookup process: its state, shared by lookup_server.c (the
 * process and its channels) and lookup_auth.c (logins and senders).
 */
#ifndef TERN_LOOKUP_H
#define TERN_LOOKUP_H

#include "conf/conf.h"
#include "lookup/auth_throttle.h"
#include "lookup/crypt_pool.h"
#include "lookup/directory.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "net/ipc_chan_set.h"

struct lookup {
	struct conf *conf;
	struct event_base *base;
	struct directory *dir;
	struct ipc_chan *ctl;
	struct ipc_chan_set smtpds;     /* each may resolve, log in, check senders */
	struct ipc_chan_set queues;     /* each may resolve, ask TLS policies */
	struct auth_throttle *throttle;
	struct crypt_pool *crypt;
};

void lookup_auth(struct lookup *lk, struct ipc_chan *chan, struct ipc_msg *msg);
void lookup_sender(struct lookup *lk, struct ipc_chan *chan,
    struct ipc_msg *msg);

/* 1 when a peer of that kind (enum ipc_peer_kind) may send a request of
 * that type (lookup_proto.h), else 0. */
int lookup_peer_may(uint32_t peer, uint32_t type);

#endif
