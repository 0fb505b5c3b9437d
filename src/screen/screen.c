/*
 * The screen process: see screen.h.  One event loop holds every waiting
 * client; the listening sockets of listen_smtp are its, from master.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/ipc.h"
#include "net/ipc_chan.h"
#include "net/dns.h"
#include "screen/dnsbl.h"
#include "screen/screen.h"
#include "screen/screen_cache.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void screen_smtpd_closed(struct ipc_chan *chan, void *arg);

static void
screen_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)salen;
	screen_client_accept(arg, fd, sa);
}

#define SCREEN_TICK        5    /* seconds between purges of the store */
#define SCREEN_PURGE_STEP  5000 /* entries looked at per purge */
#define SCREEN_SAVE_EVERY  60   /* seconds between saves of a changed store */

void
screen_remember_fail(struct screen *sc, const char *ip, const char *reason)
{
	struct screen_addr a;

	if (screen_addr_parse(ip, &a) < 0)
		return;
	screen_cache_put_fail(sc->cache, &a, reason,
	    time(NULL) + (time_t)sc->conf->screen_fail_ttl);
}

/* The failures smtpd's own tests found inside a session. */
static int
screen_known_report(const char *reason)
{
	static const char *const known[] = {
		"non-smtp-command", "pipelining", "bare-lf",
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(reason, known[i]) == 0)
			return 1;
	return 0;
}

/* IPC_SCREEN_CLOSED: a client the screen counted has gone. */
static void
screen_smtpd_closed_client(struct screen *sc, struct ipc_chan *chan,
    const struct ipc_msg *msg)
{
	struct ipc_reader r;
	char ip[64];
	uint32_t gen;

	ipc_reader_init(&r, msg);
	ipc_get_str(&r, ip, sizeof(ip));
	gen = ipc_get_u32(&r);
	if (ipc_reader_end(&r) < 0) {
		log_warn("bad message %u from smtpd", msg->type);
		ipc_chan_close(chan);
		return;
	}
	screen_clients_closed(sc, ip, gen);
}

static void
screen_smtpd_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	struct screen *sc = arg;
	char ip[64], reason[SCREEN_REASON_MAX];
	struct ipc_reader r;

	if (msg->fd >= 0)
		close(msg->fd);
	if (msg->type == IPC_SCREEN_CLOSED) {
		screen_smtpd_closed_client(sc, chan, msg);
		return;
	}
	ipc_reader_init(&r, msg);
	ipc_get_str(&r, ip, sizeof(ip));
	ipc_get_str(&r, reason, sizeof(reason));
	if (msg->type != IPC_SCREEN_REPORT || ipc_reader_end(&r) < 0 ||
	    !screen_known_report(reason)) {
		log_warn("bad message %u from smtpd", msg->type);
		ipc_chan_close(chan);
		return;
	}
	log_info("FAIL [%s] reason=%s (found by smtpd)", ip, reason);
	sc->count.reported++;
	screen_remember_fail(sc, ip, reason);
}

static void
screen_save(struct screen *sc)
{
	if (!screen_cache_dirty(sc->cache))
		return;
	if (screen_cache_save(sc->cache, sc->conf->state_dir, SCREEN_CACHE_FILE,
	    time(NULL)) < 0)
		log_warn("cannot save %s/%s: %s", sc->conf->state_dir,
		    SCREEN_CACHE_FILE, strerror(errno));
	sc->saved_at = time(NULL);
}

/* A few thousand entries per tick, so the store is swept without a
 * pause; a changed store is saved once a minute, so a crash loses at
 * most a minute of verdicts. */
static void
screen_tick(evutil_socket_t fd, short what, void *arg)
{
	struct screen *sc = arg;
	time_t now = time(NULL);

	(void)fd;
	(void)what;
	screen_cache_purge(sc->cache, now, SCREEN_PURGE_STEP);
	if (now - sc->saved_at >= SCREEN_SAVE_EVERY)
		screen_save(sc);
}

/* DNS tries of 2 s, twice: a list that has not answered by then will not
 * before the greet wait ends; the check's own timeout bounds the rest. */
#define SCREEN_DNS_TRY_MS 2000
#define SCREEN_DNS_TRIES  2

/* The DNS lists' engine for screen_dnsbl_sites, or none.  At a reload
 * the running checks end first: their clients go on without a score. */
static void
screen_dnsbl_start(struct screen *sc)
{
	struct dnsbl_sites *sites = xmalloc(sizeof(*sites));
	struct screen_client *c;
	char why[256];

	TAILQ_FOREACH(c, &sc->waiting, entry) {
		dnsbl_cancel(c->check);
		c->check = NULL;
	}
	dnsbl_free(&sc->dnsbl);
	if (dnsbl_sites_parse(sc->conf->screen_dnsbl_sites, sites, why,
	    sizeof(why)) < 0)
		bug("screen_dnsbl_sites: %s", why);
	if (sites->n > 0) {
		if (sc->dns == NULL && (sc->dns = dns_new_timeout(sc->base,
		    sc->conf->dns_servers, SCREEN_DNS_TRY_MS, SCREEN_DNS_TRIES,
		    why, sizeof(why))) == NULL)
			fatal("DNS: %s", why);
		sc->dnsbl = dnsbl_new(sc->base, sc->dns, sites,
		    sc->conf->screen_dnsbl_min_ttl, sc->conf->screen_dnsbl_max_ttl,
		    sc->conf->screen_cache_size);
	}
	free(sites);
	/* A client whose check ended waits for its greet wait alone; one
	 * whose wait is over goes on now. */
	screen_client_checks_ended(sc);
}

static void
screen_cache_start(struct screen *sc)
{
	struct screen_cache_stats st;
	struct timeval tv = { SCREEN_TICK, 0 };
	time_t longest = (time_t)(sc->conf->screen_pass_ttl >
	    sc->conf->screen_fail_ttl ? sc->conf->screen_pass_ttl :
	    sc->conf->screen_fail_ttl);

	sc->cache = screen_cache_new(sc->conf->screen_cache_size);
	if (screen_cache_load(sc->cache, sc->conf->state_dir, SCREEN_CACHE_FILE,
	    time(NULL), longest, &st) < 0)
		log_warn("cannot read %s/%s: %s", sc->conf->state_dir,
		    SCREEN_CACHE_FILE, strerror(errno));
	log_info("remembered clients: %zu loaded, %zu expired, %zu bad lines",
	    st.loaded, st.expired, st.bad);
	sc->saved_at = time(NULL);
	sc->tick_ev = event_new(sc->base, -1, EV_PERSIST, screen_tick, sc);
	if (sc->tick_ev == NULL || event_add(sc->tick_ev, &tv) < 0)
		fatal("cannot start the screen's timer");
}

static void
screen_set_smtpd(struct screen *sc, int fd)
{
	ipc_chan_free(&sc->smtpd);
	sc->smtpd = ipc_chan_new(sc->base, fd, screen_smtpd_msg,
	    screen_smtpd_closed, sc);
}

/* smtpd went away (master restarts it): clients that pass meanwhile hear
 * 421 until master hands over the new smtpd's channel. */
static void
screen_smtpd_closed(struct ipc_chan *chan, void *arg)
{
	struct screen *sc = arg;

	(void)chan;
	log_warn("smtpd channel closed; waiting for a new one");
	ipc_chan_free(&sc->smtpd);
	/* Its sessions are gone, and the notices of their end with them. */
	screen_clients_reset(sc);
}

/* master's word on stress mode: the greet wait and the other settings
 * with a stress value take it for the clients that come from now on. */
static void
screen_stress_msg(struct screen *sc, const struct ipc_msg *msg)
{
	if (child_stress_msg(msg) <= 0)
		return;
	log_info("stress mode %s: waiting=%zu/%u greet_wait=%us",
	    conf_stress_active() ? "on" : "off", sc->nwaiting, sc->conf->screen_max_clients,
	    conf_now(sc->conf, screen_greet_wait));
}

static void
screen_ctl_msg(struct ipc_chan *chan, struct ipc_msg *msg, void *arg)
{
	uint32_t kind;

	(void)chan;
	if (ipc_ctl_peer_parse(msg, &kind) == 0 && kind == IPC_PEER_SMTPD) {
		screen_set_smtpd(arg, msg->fd);
		return;
	}
	if (msg->type == IPC_CTL_STRESS) {
		screen_stress_msg(arg, msg);
		return;
	}
	if (msg->fd >= 0)
		close(msg->fd);
	log_warn("unexpected control message %u", msg->type);
}

static void
screen_ctl_closed(struct ipc_chan *chan, void *arg)
{
	struct screen *sc = arg;

	(void)chan;
	event_base_loopbreak(sc->base);
}

/* Both lists were checked when the config was read: a failure here is
 * our own bug. */
static void
screen_load_lists(struct screen *sc)
{
	char why[256];

	if (screen_access_parse(sc->conf->screen_access, &sc->access, why,
	    sizeof(why)) < 0)
		bug("screen_access: %s", why);
	if (sc->relay_nets == NULL)
		sc->relay_nets = xmalloc(sizeof(*sc->relay_nets));
	if (cidr_list_parse(sc->conf->relay_networks, sc->relay_nets, why,
	    sizeof(why)) < 0)
		bug("relay_networks: %s", why);
}

/* Stops at once: no new client, and the waiting ones hear 421. */
static void
screen_stop(struct screen *sc)
{
	struct screen_client *c;

	if (sc->stopping)
		return;
	sc->stopping = 1;
	for (size_t i = 0; i < sc->nlisteners; i++)
		evconnlistener_free(sc->listeners[i]);
	sc->nlisteners = 0;
	log_info("stopping: %zu clients waiting", sc->nwaiting);
	while ((c = TAILQ_FIRST(&sc->waiting)) != NULL)
		screen_client_shutdown(c);
	event_base_loopbreak(sc->base);
}

static void
screen_signal(evutil_socket_t sig, short what, void *arg)
{
	struct screen *sc = arg;

	(void)what;
	if (sig == SIGHUP) {
		child_reload_conf(sc->conf);
		screen_load_lists(sc);
		screen_cache_set_max(sc->cache, sc->conf->screen_cache_size);
		screen_dnsbl_start(sc);
		sc->load.max = sc->conf->screen_max_clients;
		load_report_set(&sc->load, sc->nwaiting);
		return;
	}
	screen_stop(sc);
}

static void
screen_listen(struct screen *sc, const struct child_fds *fds)
{
	for (size_t i = 0; i < fds->nlisteners; i++) {
		struct evconnlistener *l = evconnlistener_new(sc->base,
		    screen_accept, sc, LEV_OPT_CLOSE_ON_FREE, -1,
		    fds->listeners[i]);
		if (l == NULL)
			fatal("cannot listen: %s", strerror(errno));
		sc->listeners[sc->nlisteners++] = l;
	}
}

/* tern status: who waits, who is remembered, and the verdicts since
 * start. */
static void
screen_stats(void *arg, struct stats *st)
{
	struct screen *sc = arg;
	const struct screen_counters *n = &sc->count;

	stats_add(st, "waiting", sc->nwaiting);
	stats_add(st, "max_clients", sc->conf->screen_max_clients);
	stats_add(st, "remembered", screen_cache_count(sc->cache));
	stats_add(st, "pass_new", n->pass_new);
	stats_add(st, "pass_old", n->pass_old);
	stats_add(st, "permitted", n->permitted);
	stats_add(st, "rejected", n->rejected);
	stats_add(st, "pregreet", n->pregreet);
	stats_add(st, "dnsbl_listed", n->dnsbl_listed);
	stats_add(st, "dnsbl_allowed", n->dnsbl_allowed);
	stats_add(st, "fail_old", n->failed_old);
	stats_add(st, "reported_by_smtpd", n->reported);
	stats_add(st, "refused_screen_full", n->busy);
	stats_add(st, "refused_server_busy", n->server_busy);
	stats_add(st, "refused_per_client", n->per_client);
}

/* The greet wait is timed with the precise clock: libevent's default,
 * the coarse one, would end it a few milliseconds early. */
static struct event_base *
screen_event_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	if (event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0)
		log_warn("cannot ask for the precise timer");
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int
screen_main(struct conf *conf, const struct child_fds *fds)
{
	static struct screen sc;
	const int signums[3] = { SIGHUP, SIGTERM, SIGINT };
	struct event *sigs[3];

	child_setup("screen", conf);
	sc.conf = conf;
	TAILQ_INIT(&sc.waiting);
	if ((sc.base = screen_event_base()) == NULL)
		fatal("cannot create the event loop");
	for (size_t i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(sc.base, signums[i], screen_signal, &sc);
		if (sigs[i] == NULL || event_add(sigs[i], NULL) < 0)
			fatal("cannot watch signals");
	}
	child_signals_ready();
	screen_load_lists(&sc);
	screen_clients_start(&sc);
	screen_cache_start(&sc);
	screen_dnsbl_start(&sc);
	sc.ctl = ipc_chan_new(sc.base, fds->ctl, screen_ctl_msg,
	    screen_ctl_closed, &sc);
	load_report_init(&sc.load, sc.base, conf, &sc.ctl, IPC_LOAD_SCREEN,
	    conf->screen_max_clients);
	sc.stats = stats_report_start(sc.base, &sc.ctl, screen_stats, &sc);
	if (fds->smtpd >= 0)
		screen_set_smtpd(&sc, fds->smtpd);
	screen_listen(&sc, fds);
	log_debug("ready");
	event_base_dispatch(sc.base);
	child_ignore_stop_signals();
	screen_stop(&sc);
	load_report_free(&sc.load);
	stats_report_free(&sc.stats);
	dnsbl_free(&sc.dnsbl);
	dns_free(&sc.dns);
	screen_save(&sc);
	screen_cache_free(&sc.cache);
	screen_clients_free(&sc);
	event_free(sc.tick_ev);
	ipc_chan_free(&sc.smtpd);
	ipc_chan_free(&sc.ctl);
	for (size_t i = 0; i < 3; i++)
		event_free(sigs[i]);
	event_base_free(sc.base);
	free(sc.relay_nets);
	return 0;
}
