/*
 * master: supervision.  It forks the children, wires them (master_wire is
 * the one place that says who talks to whom), and restarts one that dies,
 * with back-off, handing its peers fresh channels.  master runs no event
 * library, only poll over a signalfd and the control channels, so a forked
 * child inherits no loop state.  It trusts its children no more than it
 * must: the one message it reads from them is their load (IPC_CTL_LOAD),
 * taken only through ipc_ctl_load_parse; from it master decides stress
 * mode (master_stress.c) and tells every child.
 */
#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "master/child.h"
#include "master/master.h"
#include "master/master_filter.h"
#include "master/master_int.h"
#include "master/master_log.h"
#include "master/master_status.h"
#include "master/master_stress.h"
#include "master/metrics_http.h"
#include "master/metrics_text.h"
#include "mailbox/dovecot.h"
#include "net/ipc.h"
#include "net/tls.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/privsep.h"

#define MASTER_STOP_WAIT   15   /* seconds before the stragglers get SIGKILL */
#define MASTER_BACKOFF_MAX 10   /* seconds between restarts of a crashing child */

/* In the order they start: each one's peers are up before it.  The
 * filters of the `filters` setting follow, from PROC_COUNT on: they start
 * once smtpd runs, which gets their sockets. */
enum proc_kind { PROC_LOOKUP, PROC_QUEUE, PROC_SMTPD, PROC_SCREEN, PROC_COUNT };
#define PROC_MAX (PROC_COUNT + FILTER_MAX)

struct proc {
	const char *name;
	enum ipc_peer_kind peer_kind;
	int (*main)(struct conf *, const struct child_fds *);
	pid_t pid;
	int ctl;                /* master's end of the control channel */
	time_t started;
	time_t restart_at;      /* when to start it again; 0 = not waiting */
	unsigned backoff;
	int ctl_eof;            /* the child closed its end: poll it no more */
	struct master_load load; /* what it reported; dropped when it dies */
	struct stats stats;     /* its figures for tern status */
	int has_stats;
	int filter;             /* its index in the filters setting; -1: none */
	uint32_t gen;           /* filters: counts its starts */
	int disabled;           /* filters: refused, not restarted */
	char label[FILTER_NAME_MAX + 8];
};

struct master {
	struct conf *conf;
	struct proc procs[PROC_MAX];
	size_t nprocs;          /* PROC_COUNT and the filters */
	struct filter_confs filters;
	int listeners[CHILD_MAX_LISTENERS];
	enum listen_kind listener_kinds[CHILD_MAX_LISTENERS];
	size_t nlisteners;
	SSL_CTX *tls;
	int stopping;
	int stopping_rest;      /* smtpd is gone: lookup and queue told */
	time_t stop_deadline;
	int sigfd;              /* signalfd of the signals master handles */
	struct master_stress stress;
	/* The process that runs Dovecot (mailbox/dovecot_run.c): forked
	 * before master drops root, so master cannot start it again. */
	pid_t dovecot;
	int dovecot_ctl;        /* closed: it stops Dovecot; -1 when closed */
	int status_fd;          /* the control socket; -1: none */
	struct metrics_http metrics;    /* the metrics page, when listening */
	time_t started;         /* wall clock, for tern status */
};

/* Who talks to whom: each pair gets a socketpair when the later of the two
 * starts. */
static const enum proc_kind links[][2] = {
	{ PROC_SMTPD, PROC_LOOKUP },
	{ PROC_SMTPD, PROC_QUEUE },
	{ PROC_QUEUE, PROC_LOOKUP },    /* bounces: where the sender is */
	{ PROC_SCREEN, PROC_SMTPD },    /* the clients that passed */
};

static int *
child_fd_for(struct child_fds *fds, enum proc_kind peer)
{
	switch (peer) {
	case PROC_LOOKUP:
		return &fds->lookup;
	case PROC_QUEUE:
		return &fds->queue;
	case PROC_SMTPD:
		return &fds->smtpd;
	case PROC_SCREEN:
		return &fds->screen;
	default:
		bug("no channel for peer %d", (int)peer);
	}
}

/* Gives the running peer its end of a new pair through its control
 * channel; the other end is returned for the child being started. */
static int
master_link(struct master *m, enum proc_kind self, enum proc_kind peer)
{
	struct proc *p = &m->procs[peer];
	struct buf b;
	int sp[2];

	if (p->pid <= 0)
		return -1;
	if (ipc_socketpair(sp) < 0)
		fatal("socketpair: %s", strerror(errno));
	buf_init(&b, 16);
	ipc_put_u32(&b, m->procs[self].peer_kind);
	if (ipc_send(p->ctl, IPC_CTL_PEER, b.data, b.len, sp[1]) < 0)
		log_warn("cannot hand %s a channel: %s", p->name, strerror(errno));
	buf_free(&b);
	close(sp[1]);
	return sp[0];
}

/* Port 25 belongs to the screen, which hands smtpd the clients that
 * pass; the submission ports go to smtpd directly. */
static enum proc_kind
master_listener_owner(enum listen_kind kind)
{
	return kind == LISTEN_SMTP ? PROC_SCREEN : PROC_SMTPD;
}

static void
master_wire(struct master *m, enum proc_kind self, struct child_fds *fds)
{
	fds->lookup = fds->queue = fds->smtpd = fds->screen = -1;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (links[i][0] == self)
			*child_fd_for(fds, links[i][1]) = master_link(m, self, links[i][1]);
		else if (links[i][1] == self)
			*child_fd_for(fds, links[i][0]) = master_link(m, self, links[i][0]);
	}
	fds->nlisteners = 0;
	fds->tls = NULL;
	for (size_t i = 0; i < m->nlisteners; i++) {
		if (master_listener_owner(m->listener_kinds[i]) != self)
			continue;
		fds->listeners[fds->nlisteners] = m->listeners[i];
		fds->listener_kinds[fds->nlisteners++] = m->listener_kinds[i];
	}
	if (self == PROC_SMTPD)
		fds->tls = m->tls;
}

/* In the new child: what master held for others is not the child's. */
static void
child_close_others(struct master *m, enum proc_kind self)
{
	for (int k = 0; k < PROC_COUNT; k++)
		if (k != (int)self && m->procs[k].ctl >= 0)
			close(m->procs[k].ctl);
	close(m->sigfd);
	master_log_close_in_child();
	if (m->status_fd >= 0)
		close(m->status_fd);
	metrics_http_close(&m->metrics);
	/* Held by master alone, so that its closing is seen. */
	if (m->dovecot_ctl >= 0)
		close(m->dovecot_ctl);
	for (size_t i = 0; i < m->nlisteners; i++)
		if (master_listener_owner(m->listener_kinds[i]) != self)
			close(m->listeners[i]);
	if (self != PROC_SMTPD) {
		/* Only smtpd needs the private key. */
		SSL_CTX_free(m->tls);
		m->tls = NULL;
	}
}

/* A filter starts only while smtpd runs (it takes the filter's socket)
 * and was not refused. */
static int
master_may_start(const struct master *m, size_t k)
{
	const struct proc *p = &m->procs[k];

	return p->filter < 0 || (!p->disabled && m->procs[PROC_SMTPD].pid > 0 &&
	    m->procs[PROC_SMTPD].ctl >= 0);
}

/* Forks the filter and hands smtpd its socket, tagged with a generation
 * so that smtpd's word about an instance never reaches the next one. */
static void
master_start_filter(struct master *m, struct proc *p)
{
	struct proc *sd = &m->procs[PROC_SMTPD];
	struct buf b;
	int end;

	p->started = time(NULL);
	p->pid = master_filter_spawn(&m->filters.items[p->filter], &end);
	if (p->pid < 0) {
		p->pid = 0;
		p->backoff = p->backoff ? p->backoff * 2 : 1;
		if (p->backoff > MASTER_BACKOFF_MAX)
			p->backoff = MASTER_BACKOFF_MAX;
		p->restart_at = p->started + p->backoff;
		return;
	}
	p->gen++;
	p->restart_at = 0;
	buf_init(&b, 16);
	master_filter_put(&b, (uint32_t)p->filter, p->gen);
	if (ipc_send(sd->ctl, IPC_CTL_FILTER, b.data, b.len, end) < 0)
		log_warn("cannot hand smtpd the socket of %s: %s", p->name,
		    strerror(errno));
	buf_free(&b);
	close(end);
	log_info("started %s pid=%d", p->name, (int)p->pid);
}

/* smtpd found a filter broken (killed, restarted with back-off) or
 * speaking a version tern does not (killed, left stopped). */
static void
master_filter_stop(struct master *m, const struct ipc_msg *msg)
{
	uint32_t index, gen, restart;
	struct proc *p;

	if (master_filter_stop_parse(msg, &index, &gen, &restart) < 0 ||
	    index >= m->filters.n) {
		log_warn("smtpd: malformed filter stop message");
		return;
	}
	p = &m->procs[PROC_COUNT + index];
	if (p->gen != gen || p->pid <= 0)
		return;         /* about an instance already gone */
	if (!restart)
		p->disabled = 1;
	if (kill(p->pid, SIGKILL) < 0)
		log_warn("cannot stop %s: %s", p->name, strerror(errno));
}

static void
master_filters_kill(struct master *m, int sig)
{
	for (size_t k = PROC_COUNT; k < m->nprocs; k++)
		if (m->procs[k].pid > 0)
			kill(m->procs[k].pid, sig);
}

static void
master_start(struct master *m, enum proc_kind kind)
{
	struct proc *p = &m->procs[kind];
	struct child_fds fds;
	int ctl[2];
	sigset_t later;

	if (p->filter >= 0) {
		master_start_filter(m, p);
		return;
	}
	if (ipc_socketpair(ctl) < 0)
		fatal("socketpair: %s", strerror(errno));
	master_wire(m, kind, &fds);
	fds.ctl = ctl[1];
	p->pid = fork();
	if (p->pid < 0)
		fatal("fork: %s", strerror(errno));
	if (p->pid == 0) {
		char title[16];
		close(ctl[0]);
		/* ps, top and perf tell the children apart: tern-smtpd... */
		snprintf(title, sizeof(title), "tern-%s", p->name);
		if (prctl(PR_SET_NAME, title, 0, 0, 0) < 0)
			log_warn("cannot name the %s process: %s", p->name, strerror(errno));
		child_close_others(m, kind);
		/* SIGTERM and the rest as usual; what master sends a running
		 * child waits for its handlers (child_signals_ready). */
		child_master_signals(&later);
		if (sigprocmask(SIG_SETMASK, &later, NULL) < 0)
			fatal("sigprocmask: %s", strerror(errno));
		exit(p->main(m->conf, &fds));
	}
	close(ctl[1]);
	if (fds.lookup >= 0)
		close(fds.lookup);
	if (fds.queue >= 0)
		close(fds.queue);
	if (fds.smtpd >= 0)
		close(fds.smtpd);
	if (fds.screen >= 0)
		close(fds.screen);
	p->ctl = ctl[0];
	p->ctl_eof = 0;
	p->started = time(NULL);
	p->restart_at = 0;
	log_info("started %s pid=%d", p->name, (int)p->pid);
}

static void
master_reap(struct master *m)
{
	time_t now = time(NULL);
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (master_log_reaped(pid, status))
			continue;
		if (pid == m->dovecot) {
			m->dovecot = 0;
			if (!m->stopping || !WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0)
				log_error("the dovecot process pid=%d ended: IMAP "
				    "and POP3 are down until tern restarts",
				    (int)pid);
			continue;
		}
		for (size_t k = 0; k < m->nprocs; k++) {
			struct proc *p = &m->procs[k];
			if (p->pid != pid)
				continue;
			/* A filter master stopped at shutdown is no news. */
			if (WIFSIGNALED(status) && m->stopping && p->filter >= 0 &&
			    WTERMSIG(status) == SIGTERM)
				;
			else if (WIFSIGNALED(status))
				log_warn("%s pid=%d killed by signal %d", p->name,
				    (int)pid, WTERMSIG(status));
			else if (!m->stopping || WEXITSTATUS(status) != 0)
				log_warn("%s pid=%d exited with status %d", p->name,
				    (int)pid, WEXITSTATUS(status));
			p->pid = 0;
			if (p->ctl >= 0)
				close(p->ctl);
			p->ctl = -1;
			memset(&p->load, 0, sizeof(p->load));
			if (m->stopping)
				break;
			if (k == PROC_SMTPD)
				master_filters_kill(m, SIGTERM);
			if (p->disabled) {
				log_warn("%s is not restarted until tern "
				    "restarts", p->name);
				break;
			}
			/* A child that keeps dying waits longer each time. */
			p->backoff = (now - p->started < MASTER_BACKOFF_MAX) ?
			    (p->backoff ? p->backoff * 2 : 1) : 0;
			if (p->backoff > MASTER_BACKOFF_MAX)
				p->backoff = MASTER_BACKOFF_MAX;
			p->restart_at = now + p->backoff;
			log_info("restarting %s in %us", p->name, p->backoff);
		}
	}
}

/* SIGHUP (a reload) is for tern's own children: it would end a filter. */
static void
master_signal_children(struct master *m, int sig)
{
	for (size_t k = 0; k < (sig == SIGHUP ? PROC_COUNT : m->nprocs); k++)
		if (m->procs[k].pid > 0)
			kill(m->procs[k].pid, sig);
}

static int
master_children_left(struct master *m)
{
	int n = 0;

	for (size_t k = 0; k < m->nprocs; k++)
		n += m->procs[k].pid > 0;
	return n + (m->dovecot > 0);
}

/* Monotonic seconds, above 0: the stress clock must not jump with the
 * wall clock. */
static time_t
master_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		fatal("clock_gettime: %s", strerror(errno));
	return ts.tv_sec + 1;
}

/* The children's reports, added up. */
static void
master_load_sum(const struct master *m, struct master_load *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int k = 0; k < PROC_COUNT; k++) {
		const struct master_load *l = &m->procs[k].load;
		sum->sessions += l->sessions;
		sum->sessions_max += l->sessions_max;
		sum->screen += l->screen;
		sum->screen_max += l->screen_max;
	}
}

/* Tells every running child.  A child forked later inherits master's own
 * flag, set here too, so it starts knowing the state. */
static void
master_stress_tell(struct master *m)
{
	struct buf b;

	conf_stress_set(m->stress.on);
	buf_init(&b, 16);
	ipc_put_u32(&b, (uint32_t)m->stress.on);
	for (int k = 0; k < PROC_COUNT; k++) {
		struct proc *p = &m->procs[k];
		if (p->pid > 0 && p->ctl >= 0 && !p->ctl_eof &&
		    ipc_send(p->ctl, IPC_CTL_STRESS, b.data, b.len, -1) < 0)
			log_warn("cannot tell %s about stress mode: %s",
			    p->name, strerror(errno));
	}
	buf_free(&b);
}

static void
master_stress_check(struct master *m)
{
	struct master_load sum;

	master_load_sum(m, &sum);
	if (master_stress_update(&m->stress, m->conf, &sum, master_now()))
		master_stress_tell(m);
}

/* One message from a child's control channel: its load, or nothing else. */
static void
master_read_ctl(struct master *m, struct proc *p)
{
	static struct ipc_msg msg;
	uint32_t what, n, max;
	int r = ipc_recv(p->ctl, &msg);

	if (r == 0) {
		p->ctl_eof = 1;         /* it is dying: SIGCHLD follows */
		return;
	}
	if (r < 0) {
		log_warn("%s: bad control message: %s", p->name,
		    strerror(errno));
		/* Only a malformed message leaves the channel usable; on
		 * anything else poll would wake at once, again and again. */
		if (errno != EMSGSIZE)
			p->ctl_eof = 1;
		return;
	}
	if (msg.type == IPC_CTL_STATS) {
		if (stats_parse(&msg, &p->stats) < 0) {
			log_warn("%s: malformed figures", p->name);
			p->has_stats = 0;
			return;
		}
		p->has_stats = 1;
		return;
	}
	if (msg.type == IPC_CTL_FILTER_STOP && p == &m->procs[PROC_SMTPD]) {
		master_filter_stop(m, &msg);
		return;
	}
	if (ipc_ctl_load_parse(&msg, &what, &n, &max) < 0) {
		log_warn("%s: unexpected control message %u", p->name,
		    msg.type);
		if (msg.fd >= 0)
			close(msg.fd);
		return;
	}
	if (what == IPC_LOAD_SESSIONS) {
		p->load.sessions = n;
		p->load.sessions_max = max;
	} else {
		p->load.screen = n;
		p->load.screen_max = max;
	}
	master_stress_check(m);
}

static void
master_warn_restart_only(const char *name, const char *running,
    const char *file, void *arg)
{
	(void)arg;
	log_warn("reload: %s changes only at a restart: keeping '%s' "
	    "(the file says '%s')", name, running, file);
}

/* Read here first, so that a broken file is reported once and the
 * children keep running with what they have, and so that master, not
 * each child, names the settings that need a restart. */
static void
master_reload(struct master *m)
{
	struct conf fresh;
	char err[512];

	if (conf_load(&fresh, m->conf->path, err, sizeof(err)) < 0) {
		log_error("reload refused: %s", err);
		return;
	}
	conf_keep_restart_only(&fresh, m->conf, master_warn_restart_only, NULL);
	conf_free(m->conf);
	*m->conf = fresh;
	log_set_level(m->conf->log_level);
	log_info("reload: config read again");
	master_signal_children(m, SIGHUP);
	/* stress = on or off applies now. */
	master_stress_check(m);
}

/* lookup and queue stop when their control channel closes: that way a
 * signal to the whole process group stops them only after smtpd, and a
 * master that dies takes them along. */
static void
master_close_controls(struct master *m)
{
	for (int k = 0; k < PROC_COUNT; k++) {
		if (m->procs[k].ctl >= 0) {
			close(m->procs[k].ctl);
			m->procs[k].ctl = -1;
		}
	}
}

/* Stops in order: smtpd first, so that sessions finishing in their grace
 * period still have lookup and queue; then the rest.  The listening
 * sockets close at once, so new clients are refused rather than left
 * waiting for a greeting. */
static void
master_stop(struct master *m)
{
	log_info("stopping");
	m->stopping = 1;
	m->stop_deadline = time(NULL) + MASTER_STOP_WAIT;
	for (size_t i = 0; i < m->nlisteners; i++)
		close(m->listeners[i]);
	m->nlisteners = 0;
	/* The screen stops with smtpd: its waiting clients hear 421. */
	if (m->procs[PROC_SMTPD].pid > 0)
		kill(m->procs[PROC_SMTPD].pid, SIGTERM);
	if (m->procs[PROC_SCREEN].pid > 0)
		kill(m->procs[PROC_SCREEN].pid, SIGTERM);
	/* Dovecot stops beside them: it stops its own processes. */
	if (m->dovecot_ctl >= 0) {
		close(m->dovecot_ctl);
		m->dovecot_ctl = -1;
	}
}

static void
master_handle(struct master *m, int sig)
{
	switch (sig) {
	case SIGCHLD:
		master_reap(m);
		break;
	case SIGHUP:
		log_info("SIGHUP: reloading config and directory");
		master_reload(m);
		break;
	case SIGUSR1:           /* tern queue flush */
	case SIGUSR2:           /* tern queue delete */
		if (m->procs[PROC_QUEUE].pid > 0 &&
		    kill(m->procs[PROC_QUEUE].pid, sig) < 0)
			log_warn("cannot signal the queue: %s", strerror(errno));
		break;
	case SIGTERM:
	case SIGINT:
		if (!m->stopping)
			master_stop(m);
		break;
	}
}

/* Every signal waiting on the signalfd. */
static void
master_read_signals(struct master *m)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(m->sigfd, &si, sizeof(si))) == (ssize_t)sizeof(si))
		master_handle(m, (int)si.ssi_signo);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		fatal("signalfd: %s", strerror(errno));
}

/* What tern status and the metrics page show. */
static void
master_status_fill(struct master *m, struct master_status *st)
{
	*st = (struct master_status){ .conf = m->conf, .pid = getpid(),
	    .started = m->started, .stress = &m->stress, .now = master_now() };
	for (int k = 0; k < PROC_COUNT; k++) {
		struct proc *p = &m->procs[k];
		st->procs[st->nprocs++] = (struct master_status_proc){ p->name,
		    p->pid > 0 ? p->pid : 0, p->has_stats ? &p->stats : NULL };
	}
}

/* tern status asks. */
static void
master_status(struct master *m)
{
	struct master_status st;

	master_status_fill(m, &st);
	master_status_answer(m->status_fd, &st);
}

/* A complete request for the metrics page. */
static int
master_metrics_render(struct buf *b, void *arg)
{
	struct master_status st;

	master_status_fill(arg, &st);
	return metrics_text_render(b, &st);
}

/* Waits up to 200 ms for a signal, a child's message or tern status, and
 * handles what came. */
static void
master_wait(struct master *m)
{
	struct pollfd fds[2 + PROC_COUNT + METRICS_HTTP_POLLFDS];
	struct proc *who[2 + PROC_COUNT];
	nfds_t n = 2, nctl;

	fds[0] = (struct pollfd){ m->sigfd, POLLIN, 0 };
	fds[1] = (struct pollfd){ m->status_fd, POLLIN, 0 };
	for (int k = 0; k < PROC_COUNT; k++) {
		struct proc *p = &m->procs[k];
		if (p->ctl < 0 || p->ctl_eof)
			continue;
		who[n] = p;
		fds[n++] = (struct pollfd){ p->ctl, POLLIN, 0 };
	}
	nctl = n;
	n += metrics_http_pollfds(&m->metrics, fds + n);
	if (poll(fds, n, 200) < 0) {
		if (errno != EINTR)
			fatal("poll: %s", strerror(errno));
		return;
	}
	if (fds[0].revents & POLLIN)
		master_read_signals(m);
	if ((fds[1].revents & POLLIN) && m->status_fd >= 0)
		master_status(m);
	for (nfds_t i = 2; i < nctl; i++) {
		/* A signal just handled may have closed it (a reaped child). */
		if (fds[i].revents != 0 && who[i]->ctl == fds[i].fd &&
		    !who[i]->ctl_eof)
			master_read_ctl(m, who[i]);
	}
	metrics_http_run(&m->metrics, fds + nctl, n - nctl,
	    m->conf->metrics_allow, master_metrics_render, m);
}

static void
master_loop(struct master *m)
{
	for (;;) {
		time_t now = time(NULL);
		if (m->stopping) {
			if (master_children_left(m) == 0)
				return;
			if (m->procs[PROC_SMTPD].pid == 0 &&
			    m->procs[PROC_SCREEN].pid == 0 && !m->stopping_rest) {
				m->stopping_rest = 1;
				master_close_controls(m);
				master_filters_kill(m, SIGTERM);
			}
			if (now >= m->stop_deadline) {
				log_warn("children still running: killing them");
				master_signal_children(m, SIGKILL);
				m->stop_deadline = now + 5;
			}
		} else {
			for (size_t k = 0; k < m->nprocs; k++)
				if (m->procs[k].pid == 0 && m->procs[k].restart_at <= now &&
				    master_may_start(m, k))
					master_start(m, (enum proc_kind)k);
			/* stress_hold_time runs out without a message. */
			master_stress_check(m);
			master_log_tick();
		}
		master_wait(m);
	}
}

/* Binds every listen setting, remembering what each socket is for. */
static int
master_listen_all(struct master *m)
{
	const struct {
		const char *list;
		enum listen_kind kind;
	} settings[] = {
		{ m->conf->listen_smtp, LISTEN_SMTP },
		{ m->conf->listen_submission, LISTEN_SUBMISSION },
		{ m->conf->listen_submissions, LISTEN_SUBMISSIONS },
	};

	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		size_t n;
		if (master_listen(settings[i].list, m->listeners + m->nlisteners,
		    CHILD_MAX_LISTENERS - m->nlisteners, &n) < 0)
			return -1;
		for (size_t j = 0; j < n; j++)
			m->listener_kinds[m->nlisteners + j] = settings[i].kind;
		m->nlisteners += n;
	}
	return 0;
}

/* One supervised child per item of the filters setting. */
static int
master_filters_init(struct master *m)
{
	char why[256];

	m->nprocs = PROC_COUNT;
	if (filter_confs_parse(m->conf->filters, &m->filters, why,
	    sizeof(why)) < 0) {
		log_error("filters: %s", why);
		return -1;
	}
	for (size_t i = 0; i < m->filters.n; i++) {
		struct proc *p = &m->procs[m->nprocs++];
		*p = (struct proc){ .ctl = -1, .filter = (int)i };
		snprintf(p->label, sizeof(p->label), "filter %s",
		    m->filters.items[i].name);
		p->name = p->label;
	}
	return 0;
}

int
master_main(struct conf *conf)
{
	static struct master m;
	sigset_t set;
	int lock;
	char p[512], err[512];

	log_init("master");
	m.conf = conf;
	m.status_fd = -1;
	m.dovecot_ctl = -1;
	metrics_http_init(&m.metrics);
	m.procs[PROC_LOOKUP] = (struct proc){ .name = "lookup", .peer_kind = IPC_PEER_LOOKUP,
	    .main = lookup_main, .ctl = -1 };
	m.procs[PROC_QUEUE] = (struct proc){ .name = "queue", .peer_kind = IPC_PEER_QUEUE,
	    .main = queue_main, .ctl = -1 };
	m.procs[PROC_SMTPD] = (struct proc){ .name = "smtpd", .peer_kind = IPC_PEER_SMTPD,
	    .main = smtpd_main, .ctl = -1 };
	m.procs[PROC_SCREEN] = (struct proc){ .name = "screen", .peer_kind = IPC_PEER_SCREEN,
	    .main = screen_main, .ctl = -1 };
	for (int k = 0; k < PROC_COUNT; k++)
		m.procs[k].filter = -1;
	if (master_filters_init(&m) < 0)
		return 1;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((m.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}
	if (master_prepare_state(conf) < 0 || (lock = master_lock(conf)) < 0)
		return 1;
	/* Locked, so that a second server rotates nobody's log; before
	 * anything else is forked, so that every process logs through it. */
	if (master_log_start(conf) < 0)
		return 1;
	if (master_listen_all(&m) < 0 ||
	    metrics_http_listen(&m.metrics, conf->metrics_listen) < 0)
		return 1;
	/* The key may be root's alone: read it before dropping. */
	if ((m.tls = tls_server_ctx(conf, err, sizeof(err))) == NULL) {
		log_error("TLS: %s", err);
		return 1;
	}
	/* Dovecot's master binds its own ports and switches its own users:
	 * the process that runs it is forked while master is still root. */
	if (conf->mailbox_server == CONF_MAILBOX_DOVECOT &&
	    (m.dovecot = dovecot_start(conf, &m.dovecot_ctl, err,
	    sizeof(err))) < 0) {
		log_error("%s", err);
		return 1;
	}
	/* Bound and locked: nothing more needs root. */
	if (privsep_drop(conf->user) < 0 || master_write_pid(conf) < 0)
		return 1;
	/* As the user: the folders are the user's, root need not go in. */
	master_clean_queue_tmp(conf);
	m.started = time(NULL);
	m.status_fd = master_status_listen(conf);
	log_info("tern starting: hostname=%s state_dir=%s", conf->hostname,
	    conf->state_dir);
	master_loop(&m);
	master_status_close(conf, m.status_fd);
	metrics_http_close(&m.metrics);
	snprintf(p, sizeof(p), "%s/tern.pid", conf->state_dir);
	unlink(p);
	log_info("stopped");
	master_log_stop();
	close(lock);
	return 0;
}
