/*
 * The lookup process: the only process that opens tern.db.  It answers
 * smtpd and the queue over their channels, and IMAP and POP3 logins from
 * Dovecot on auth.sock (lookup_sock.c); a request is checked like
 * network input (ipc_reader) because a compromised smtpd is exactly what
 * this separation guards against.  Each peer may ask only its own
 * questions (lookup_requests): smtpd does not learn TLS policies, the
 * queue does not check passwords; a peer that asks anything else has its
 * channel closed.  SIGHUP reopens the directory.
 */
#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lookup/lookup.h"
#include "lookup/lookup_counts.h"
#include "lookup/lookup_proto.h"
#include "master/child.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "net/ipc_chan_set.h"
#include "net/stats.h"
#include "util/log.h"
#include "util/xmalloc.h"


static void
lookup_open_directory(struct lookup *lk)
{
	char err[DIR_ERR_MAX];

	dir_close(&lk->dir);
	if (dir_open(lk->conf->state_dir, &lk->dir, err, sizeof(err)) < 0)
		fatal("cannot open the directory: %s", err);
}

/*
 * RFC 5321 4.5.1: <postmaster> without a domain must be accepted.  It is
 * the postmaster of this host's own domain: the hostname, or the nearest
 * parent of it that is a local domain (mx.example.org -> example.org).
 */
static enum dir_resolve_status
lookup_resolve_postmaster(struct lookup *lk, const char *local,
    struct dir_target *targets, size_t *n_r)
{
	const char *domain = lk->conf->hostname;
	char addr[ADDR_BUF];

	if (strcasecmp(local, "postmaster") != 0)
		return DIR_RESOLVE_UNKNOWN;
	while (domain != NULL && strchr(domain, '.') != NULL) {
		int len = snprintf(addr, sizeof(addr), "postmaster@%s", domain);
		if (len > 0 && (size_t)len < sizeof(addr)) {
			enum dir_resolve_status st = dir_resolve(lk->dir, addr,
			    targets, DIR_RESOLVE_MAX, n_r);
			if (st != DIR_RESOLVE_NOT_LOCAL)
				return st;
		}
		domain = strchr(domain, '.') + 1;
	}
	return DIR_RESOLVE_UNKNOWN;
}

static void
lookup_resolve(struct lookup *lk, struct ipc_chan *chan, struct ipc_msg *msg)
{
	struct dir_target targets[DIR_RESOLVE_MAX];
	struct ipc_reader r;
	char addr[ADDR_BUF];
	size_t n = 0;
	struct buf out;

	ipc_reader_init(&r, msg);
	uint32_t id = ipc_get_u32(&r);
	ipc_get_str(&r, addr, sizeof(addr));
	if (ipc_reader_end(&r) < 0) {
		/* A broken smtpd: its session times out, nothing else. */
		log_warn("malformed resolve request ignored");
		return;
	}
	enum dir_resolve_status st = strchr(addr, '@') != NULL ?
	    dir_resolve(lk->dir, addr, targets, DIR_RESOLVE_MAX, &n) :
	    lookup_resolve_postmaster(lk, addr, targets, &n);
	if (st != DIR_RESOLVE_OK)
		n = 0;
	buf_init(&out, IPC_MAX_PAYLOAD);
	ipc_put_u32(&out, id);
	ipc_put_u32(&out, (uint32_t)st);
	ipc_put_u32(&out, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		ipc_put_u32(&out, (uint32_t)targets[i].remote);
		ipc_put_str(&out, targets[i].addr);
	}
	ipc_chan_send(chan, IPC_LOOKUP_RESOLVED, out.data, out.len, -1);
	buf_free(&out);
}

/* The queue asks which TLS policy a destination domain has. */
static void
lookup_tls_policy(struct lookup *lk, struct ipc_chan *chan, struct ipc_msg *msg)
{
	char domain[ADDR_BUF];
	struct ipc_reader r;
	struct buf out;
	int policy = 0, found;

	ipc_reader_init(&r, msg);
	uint32_t id = ipc_get_u32(&r);
	ipc_get_str(&r, domain, sizeof(domain));
	if (ipc_reader_end(&r) < 0) {
		log_warn("malformed TLS policy request ignored");
		return;
	}
	/* 1 found, 0 none, 2 unknown (a database error or a stored word we
	 * do not know): the queue defers rather than fall back to the global
	 * policy, which could be weaker than the domain's. */
	found = dir_tls_policy_get(lk->dir, domain, &policy);
	buf_init(&out, 64);
	ipc_put_u32(&out, id);
	ipc_put_u32(&out, found < 0 ? 2 : (uint32_t)found);
	ipc_put_u32(&out, (uint32_t)policy);
	ipc_chan_send(chan, IPC_LOOKUP_TLS_POLICIED, out.data, out.len, -1);
	buf_free(&out);
}

typedef void lookup_answer_fn(struct lookup *lk, struct ipc_chan *chan,
    struct ipc_msg *msg);

/* Who may ask what, and who answers it. */
static const struct {
	uint32_t peer;          /* enum ipc_peer_kind */
	uint32_t type;          /* enum lookup_msg_type */
	lookup_answer_fn *answer;
} lookup_requests[] = {
	{ IPC_PEER_SMTPD, IPC_LOOKUP_RESOLVE, lookup_resolve },
	{ IPC_PEER_SMTPD, IPC_LOOKUP_AUTH, lookup_auth },
	{ IPC_PEER_SMTPD, IPC_LOOKUP_SENDER, lookup_sender },
	{ IPC_PEER_QUEUE, IPC_LOOKUP_RESOLVE, lookup_resolve },
	{ IPC_PEER_QUEUE, IPC_LOOKUP_TLS_POLICY, lookup_tls_policy },
};

static lookup_answer_fn *
lookup_answer_for(uint32_t peer, uint32_t type)
{
	const size_t n = sizeof(lookup_requests) / sizeof(lookup_requests[0]);

	for (size_t i = 0; i < n; i++)
		if (lookup_requests[i].peer == peer && lookup_requests[i].type == type)
			return lookup_requests[i].answer;
	return NULL;
}

int
lookup_peer_may(uint32_t peer, uint32_t type)
{
	return lookup_answer_for(peer, type) != NULL;
}

static const char *
lookup_peer_name(uint32_t peer)
{
	return peer == IPC_PEER_SMTPD ? "smtpd" : peer == IPC_PEER_QUEUE ?
	    "queue" : "?";
}

/* A request from a peer of that kind.  One it may not make means a peer
 * that is broken or no longer ours: it is not answered again. */
static void
lookup_request(struct lookup *lk, uint32_t peer, struct ipc_chan *chan,
    struct ipc_msg *msg)
{
	lookup_answer_fn *answer = lookup_answer_for(peer, msg->type);

	if (msg->fd >= 0)
		close(msg->fd);
	if (answer == NULL) {
		log_warn("refused: message type %u from %s, which may not ask it; "
		    "closing its channel", msg->type, lookup_peer_name(peer));
		ipc_chan_close(chan);
		return;
	}
	answer(lk, chan, msg);
}

static void
lookup_smtpd_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	lookup_request(arg, IPC_PEER_SMTPD, chan, msg);
}

static void
lookup_queue_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	lookup_request(arg, IPC_PEER_QUEUE, chan, msg);
}

static void
lookup_ctl_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct lookup *lk = arg;
	uint32_t kind;

	(void)chan;
	if (ipc_ctl_peer_parse(msg, &kind) == 0) {
		if (kind == IPC_PEER_SMTPD) {
			ipc_chan_set_add(&lk->smtpds, msg->fd);
			return;
		}
		if (kind == IPC_PEER_QUEUE) {
			ipc_chan_set_add(&lk->queues, msg->fd);
			return;
		}
	}
	child_ctl_rest(msg);
}

static void
lookup_ctl_closed(struct ipc_chan *chan, void *arg)
{
	struct lookup *lk = arg;

	(void)chan;
	event_base_loopbreak(lk->base);
}

static void
lookup_signal(evutil_socket_t sig, short what, void *arg)
{
	struct lookup *lk = arg;

	(void)what;
	(void)sig;
	child_reload_conf(lk->conf);
	log_info("reloading the directory");
	lookup_open_directory(lk);
}

int
lookup_main(struct conf *conf, const struct child_fds *fds)
{
	static struct lookup lk;
	struct stats_report *stats;
	struct event *sigs[1];
	const int signums[1] = { SIGHUP };

	lk.conf = conf;
	child_setup("lookup", conf);
	child_ignore_stop_signals();
	if ((lk.base = event_base_new()) == NULL)
		fatal("cannot create the event loop");
	lookup_open_directory(&lk);
	/* Before the crypt threads: the umask it sets is the process's. */
	lk.sock = lookup_sock_open(&lk);
	lk.crypt = crypt_pool_new(lk.base);
	lk.throttle = auth_throttle_new();
	for (size_t i = 0; i < 1; i++) {
		sigs[i] = evsignal_new(lk.base, signums[i], lookup_signal, &lk);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatal("cannot watch signals");
	}
	child_signals_ready();
	lk.ctl = ipc_chan_new(lk.base, fds->ctl, lookup_ctl_msg,
	    lookup_ctl_closed, &lk);
	stats = stats_report_start(lk.base, &lk.ctl, lookup_counts_stats, NULL);
	ipc_chan_set_init(&lk.smtpds, "smtpd channel", lk.base,
	    lookup_smtpd_msg, &lk);
	ipc_chan_set_init(&lk.queues, "queue channel", lk.base,
	    lookup_queue_msg, &lk);
	if (fds->smtpd >= 0)
		ipc_chan_set_add(&lk.smtpds, fds->smtpd);
	if (fds->queue >= 0)
		ipc_chan_set_add(&lk.queues, fds->queue);
	log_debug("ready");
	event_base_dispatch(lk.base);
	child_ignore_stop_signals();
	stats_report_free(&stats);
	ipc_chan_set_free(&lk.smtpds);
	ipc_chan_set_free(&lk.queues);
	ipc_chan_free(&lk.ctl);
	for (size_t i = 0; i < 1; i++)
		event_free(sigs[i]);
	lookup_sock_free(&lk.sock);
	crypt_pool_free(&lk.crypt);
	auth_throttle_free(&lk.throttle);
	dir_close(&lk.dir);
	event_base_free(lk.base);
	return 0;
}
