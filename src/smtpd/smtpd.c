/*
 * The smtpd process: accepts connections on the listening sockets master
 * bound, runs every session in one event loop, and talks to lookup (to
 * resolve recipients) and queue (to announce new messages).  On SIGTERM it
 * stops accepting at once, gives sessions SMTPD_SHUTDOWN_GRACE seconds to
 * finish, then says 421 to the rest.  Messages already answered 250 are on
 * disk, so stopping loses nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lookup/lookup_proto.h"
#include "master/child.h"
#include "net/hostport.h"
#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "plugin/milter_conf.h"
#include "smtpd/smtpd.h"
#include "smtpd/smtpd_counts.h"
#include "plugin/filter.h"
#include "queue/queue_proto.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void smtpd_peer_closed(struct ipc_chan *chan, void *arg);

void
smtpd_accept_socket(struct smtpd *sd, int fd, const char *ip, unsigned port,
    enum listen_kind kind, const struct screen_handoff *h)
{
	int one = 1;

	/* Replies are small and each group is written at once: do not let
	 * Nagle hold the last one back. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		log_debug("TCP_NODELAY: %s", strerror(errno));
	session_new(sd, fd, ip, port, kind, h);
}

static void
smtpd_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct smtpd_listener *lst = arg;
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	(void)l;
	(void)salen;
	hostport_from_sockaddr(sa, ip, sizeof(ip), &port);
	smtpd_accept_socket(lst->sd, fd, ip, port, lst->kind, NULL);
}

/* lookup's answers, each for the session that asked, if it still waits
 * for that kind of answer (it may have gone meanwhile). */
static void
smtpd_lookup_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct smtpd *sd = arg;
	struct ipc_reader r;

	(void)chan;
	if (msg->fd >= 0)
		close(msg->fd);
	ipc_reader_init(&r, msg);
	uint32_t ref = ipc_get_u32(&r);
	struct session *s = session_by_ref(sd, ref);
	/* A closing session has let go of what the answer is about (its
	 * header parser, its transaction). */
	if (s == NULL || s->state == SESSION_CLOSING)
		return;
	switch (msg->type) {
	case IPC_LOOKUP_RESOLVED:
		if (s->wait == WAIT_LOOKUP)
			session_lookup_reply(s, &r);
		else if (s->wait == WAIT_EDIT)
			session_edit_reply(s, &r);
		return;
	case IPC_LOOKUP_AUTHED:
		if (s->wait == WAIT_AUTH)
			session_auth_reply(s, &r);
		return;
	case IPC_LOOKUP_SENDER_OK:
		if (s->wait == WAIT_SENDER || s->wait == WAIT_HEADER)
			session_sender_reply(s, &r);
		return;
	}
	log_warn("unexpected message %u from lookup", msg->type);
}

static void
smtpd_queue_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	(void)chan;
	if (msg->type == IPC_QUEUE_REPORT) {    /* for the filters */
		filter_report_queue_msg(arg, msg);
		return;
	}
	if (msg->fd >= 0)
		close(msg->fd);
	log_warn("unexpected message %u from queue", msg->type);
}

/* Lookup went away (master restarts it): every session waiting for it
 * hears a temporary failure and may retry. */
static void
smtpd_fail_lookups(struct smtpd *sd)
{
	for (size_t i = 0; i < sd->nslots; i++) {
		struct session *s = sd->slots[i];
		if (s == NULL)
			continue;
		switch (s->wait) {
		case WAIT_LOOKUP:
			log_warn("%s: lookup went away: 451 to=<%s>", s->id,
			    s->rcpt_pending);
			session_reply(s, "451 4.3.0 <%s>: Temporary lookup failure",
			    s->rcpt_pending);
			break;
		case WAIT_AUTH:
			log_warn("%s: lookup went away during AUTH", s->id);
			session_reply(s, "454 4.7.0 Temporary authentication failure");
			break;
		case WAIT_SENDER:
			log_warn("%s: lookup went away during MAIL", s->id);
			session_reply(s, "451 4.3.0 Error: temporary lookup failure");
			break;
		case WAIT_EDIT:
			session_edit_failed(s);
			break;
		case WAIT_HEADER:
			log_warn("%s: lookup went away during the header check", s->id);
			session_data_abort(s);
			session_reset_transaction(s);
			session_reply(s, "451 4.3.0 Error: temporary lookup failure");
			break;
		default:
			continue;
		}
		session_wait_for(s, WAIT_NONE);
		session_resume(s);
	}
}

static void
smtpd_set_peer(struct smtpd *sd, uint32_t kind, int fd)
{
	if (kind == IPC_PEER_LOOKUP) {
		ipc_chan_free(&sd->lookup);
		sd->lookup = ipc_chan_new(sd->base, fd, smtpd_lookup_msg,
		    smtpd_peer_closed, sd);
	} else if (kind == IPC_PEER_QUEUE) {
		ipc_chan_free(&sd->queue);
		sd->queue = ipc_chan_new(sd->base, fd, smtpd_queue_msg,
		    smtpd_peer_closed, sd);
	} else if (kind == IPC_PEER_SCREEN) {
		smtpd_screen_set(sd, fd);
	} else {
		log_warn("unexpected peer kind %u", kind);
		close(fd);
	}
}

static void
smtpd_peer_closed(struct ipc_chan *chan, void *arg)
{
	struct smtpd *sd = arg;

	if (chan == sd->lookup) {
		log_warn("lookup channel closed; waiting for a new one");
		ipc_chan_free(&sd->lookup);
		smtpd_fail_lookups(sd);
	} else if (chan == sd->queue) {
		/* Messages stay in the queue folder; queue finds them at its
		 * start. */
		log_warn("queue channel closed; waiting for a new one");
		ipc_chan_free(&sd->queue);
	}
}

static void
smtpd_ctl_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	uint32_t kind;

	(void)chan;
	if (ipc_ctl_peer_parse(msg, &kind) == 0) {
		smtpd_set_peer(arg, kind, msg->fd);
		return;
	}
	if (msg->type == IPC_CTL_STRESS && msg->fd < 0) {
		smtpd_stress_msg(arg, msg);
		return;
	}
	if (msg->type == IPC_CTL_FILTER) {
		filter_channel_msg(arg, msg);
		return;
	}
	if (msg->fd >= 0)
		close(msg->fd);
	log_warn("unexpected control message %u", msg->type);
}

static void
smtpd_ctl_closed(struct ipc_chan *chan, void *arg)
{
	struct smtpd *sd = arg;

	(void)chan;
	event_base_loopbreak(sd->base);
}

/* The grace period is over: the sessions still open hear 421. */
static void
smtpd_stop_now(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd *sd = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < sd->nslots; i++) {
		struct session *s = sd->slots[i];
		if (s == NULL || s->state == SESSION_CLOSING || s->wait == WAIT_COMMIT)
			continue;
		session_reply(s, "421 4.3.2 %s Service shutting down",
		    sd->conf->hostname);
		session_close_after_reply(s);
	}
	struct timeval tv = { 2, 0 };
	event_base_loopexit(sd->base, &tv);
}

static void
smtpd_stop(struct smtpd *sd)
{
	struct timeval tv = { SMTPD_SHUTDOWN_GRACE, 0 };

	if (sd->stopping)
		return;
	sd->stopping = 1;
	for (size_t i = 0; i < sd->nlisteners; i++)
		evconnlistener_free(sd->listeners[i].l);
	sd->nlisteners = 0;
	log_info("stopping: %zu sessions open", sd->nsessions);
	if (sd->nsessions == 0) {
		event_base_loopbreak(sd->base);
		return;
	}
	sd->stop_ev = evtimer_new(sd->base, smtpd_stop_now, sd);
	if (sd->stop_ev == NULL || evtimer_add(sd->stop_ev, &tv) < 0)
		event_base_loopbreak(sd->base);
}

/* relay_networks was checked when the config was read: a failure here is
 * our own bug. */
static void
smtpd_load_relay_networks(struct smtpd *sd)
{
	char why[256];

	if (sd->relay_nets == NULL)
		sd->relay_nets = xmalloc(sizeof(*sd->relay_nets));
	if (cidr_list_parse(sd->conf->relay_networks, sd->relay_nets, why,
	    sizeof(why)) < 0)
		bug("relay_networks: %s", why);
}

static void
smtpd_signal(evutil_socket_t sig, short what, void *arg)
{
	struct smtpd *sd = arg;

	(void)what;
	if (sig == SIGHUP) {
		child_reload_conf((struct conf *)sd->conf);
		smtpd_load_relay_networks(sd);
		return;
	}
	smtpd_stop(sd);
}

/*
 * One descriptor per session, one more for its queue file during DATA,
 * its milters' (milter_fds_per_session) and a few for the channels and
 * listeners.  The soft limit is raised as
 * far as the hard one allows; when even that is short, the postmaster
 * reads why some connections will fail to be accepted.
 */
#define SMTPD_FDS_SPARE 64

static void
smtpd_raise_nofile(const struct conf *conf)
{
	rlim_t want = (rlim_t)conf->max_sessions * (2 + milter_fds_per_session(
	    conf->smtpd_milters, conf->submission_milters)) + SMTPD_FDS_SPARE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur >= want)
		return;
	rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want) ?
	    want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
	if (rl.rlim_cur < want)
		log_warn("max_sessions=%u needs about %llu open files; the "
		    "limit is %llu: raise it (ulimit -n, LimitNOFILE=) or "
		    "lower max_sessions", conf->max_sessions,
		    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

/* A session switches its reading and writing on and off several times per
 * message (a reply waits to go out; reading pauses for a lookup or the
 * group sync).  With epoll's change list libevent applies only the net
 * change of one turn of the loop, once, before it waits: fewer epoll_ctl
 * calls per message. */
static struct event_base *
smtpd_event_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	/* Only a cost: without it each enable and disable is its own call. */
	if (event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) != 0)
		log_warn("cannot ask for the epoll change list");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* tern status: the sessions, per port. */
static void
smtpd_stats(void *arg, struct stats *st)
{
	struct smtpd *sd = arg;
	uint64_t per_kind[3] = { 0, 0, 0 };

	for (size_t i = 0; i < sd->nslots; i++)
		if (sd->slots[i] != NULL && sd->slots[i]->kind < 3)
			per_kind[sd->slots[i]->kind]++;
	stats_add(st, "sessions", sd->nsessions);
	stats_add(st, "max_sessions", sd->nslots);
	stats_add(st, "smtp", per_kind[LISTEN_SMTP]);
	stats_add(st, "submission", per_kind[LISTEN_SUBMISSION]);
	stats_add(st, "submissions", per_kind[LISTEN_SUBMISSIONS]);
	smtpd_counts_stats(st);
}

int
smtpd_main(struct conf *conf, const struct child_fds *fds)
{
	static struct smtpd sd;
	const int signums[3] = { SIGHUP, SIGTERM, SIGINT };
	struct event *sigs[3];

	child_setup("smtpd", conf);
	sd.conf = conf;
	/* max_sessions is restart-only: the table keeps its size. */
	sd.nslots = conf->max_sessions;
	sd.slots = xcalloc(sd.nslots, sizeof(*sd.slots));
	smtpd_raise_nofile(conf);
	snprintf(sd.queue_dir, sizeof(sd.queue_dir), "%s/queue", conf->state_dir);
	snprintf(sd.queue_tmp, sizeof(sd.queue_tmp), "%s/queue/tmp", conf->state_dir);
	queue_spares_init(&sd.spares, sd.queue_dir);
	if ((sd.base = smtpd_event_base()) == NULL)
		fatal("cannot create the event loop");
	for (size_t i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(sd.base, signums[i], smtpd_signal, &sd);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatal("cannot watch signals");
	}
	child_signals_ready();
	smtpd_commit_start(&sd);
	sd.ctl = ipc_chan_new(sd.base, fds->ctl, smtpd_ctl_msg, smtpd_ctl_closed, &sd);
	load_report_init(&sd.load, sd.base, conf, &sd.ctl, IPC_LOAD_SESSIONS,
	    sd.nslots);
	sd.stats = stats_report_start(sd.base, &sd.ctl, smtpd_stats, &sd);
	/* A peer that master is still waiting to restart has no channel
	 * yet: master hands it over when that peer starts. */
	if (fds->lookup >= 0)
		smtpd_set_peer(&sd, IPC_PEER_LOOKUP, fds->lookup);
	if (fds->queue >= 0)
		smtpd_set_peer(&sd, IPC_PEER_QUEUE, fds->queue);
	if (fds->screen >= 0)
		smtpd_set_peer(&sd, IPC_PEER_SCREEN, fds->screen);
	sd.tls = fds->tls;
	smtpd_load_relay_networks(&sd);
	smtpd_clients_init(&sd);
	session_plugins_init(&sd);
	for (size_t i = 0; i < fds->nlisteners; i++) {
		struct smtpd_listener *l = &sd.listeners[i];
		l->sd = &sd;
		l->kind = fds->listener_kinds[i];
		l->l = evconnlistener_new(sd.base, smtpd_accept, l,
		    LEV_OPT_CLOSE_ON_FREE, -1, fds->listeners[i]);
		if (l->l == NULL)
			fatal("cannot listen: %s", strerror(errno));
		sd.nlisteners++;
	}
	log_debug("ready");
	event_base_dispatch(sd.base);
	child_ignore_stop_signals();
	for (size_t i = 0; i < sd.nslots; i++)
		if (sd.slots[i] != NULL)
			session_free(sd.slots[i]);
	session_plugins_free(&sd);
	load_report_free(&sd.load);
	stats_report_free(&sd.stats);
	for (size_t i = 0; i < sd.nlisteners; i++)
		evconnlistener_free(sd.listeners[i].l);
	ipc_chan_free(&sd.lookup);
	ipc_chan_free(&sd.queue);
	ipc_chan_free(&sd.screen);
	ipc_chan_free(&sd.ctl);
	for (size_t i = 0; i < 3; i++)
		event_free(sigs[i]);
	if (sd.stop_ev)
		event_free(sd.stop_ev);
	smtpd_commit_stop(&sd);
	event_base_free(sd.base);
	free(sd.relay_nets);
	smtpd_clients_free(&sd);
	free(sd.slots);
	return 0;
}
