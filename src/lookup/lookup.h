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
#include "lookup/lookup_proto.h"
#include "lookup/lookup_sock.h"
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
	struct lookup_sock *sock;       /* auth.sock, for IMAP and POP3 */
};

#define LOOKUP_CLIENT_MAX 64    /* bytes of a client address, with NUL */

/* One login to check, as a door hands it over. */
struct lookup_login_req {
	const char *proto;      /* "smtp", "imap", "pop3": a static string */
	const char *login;      /* < DIR_LOGIN_MAX bytes */
	const char *password;   /* <= PASSWORD_MAX bytes; the caller wipes it */
	const char *client;     /* < LOOKUP_CLIENT_MAX bytes */
};

/* What the policy says of it. */
struct lookup_login_answer {
	enum lookup_auth_result res;
	enum dir_auth_status st;        /* the reason, for the door's log */
	const char *existing;   /* the login that exists, on a case mismatch */
	const char *login;      /* the account logged in to ("" unless ok) */
	unsigned delay;         /* seconds before the door answers */
	uint32_t flags;         /* LOOKUP_AUTH_REPEAT */
};

/* ref and id are the door's own, handed back with the answer. */
typedef void lookup_login_done_fn(struct lookup *lk, uint64_t ref,
    uint32_t id, const struct lookup_login_answer *a);

/* The one decision on a login, for every door: exact logins, login_case,
 * the brake, known clients, the audit.  done is called once, now or
 * from the loop once the password is checked (the answer's strings live
 * only during the call).  The fields must fit their bounds (the door
 * checks them first). */
void lookup_login(struct lookup *lk, const struct lookup_login_req *req,
    lookup_login_done_fn *done, uint64_t ref, uint32_t id);

void lookup_auth(struct lookup *lk, struct ipc_chan *chan, struct ipc_msg *msg);
void lookup_sender(struct lookup *lk, struct ipc_chan *chan,
    struct ipc_msg *msg);

/* 1 when a peer of that kind (enum ipc_peer_kind) may send a request of
 * that type (lookup_proto.h), else 0. */
int lookup_peer_may(uint32_t peer, uint32_t type);

#endif
