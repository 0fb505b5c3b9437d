/*
 * The common start of every child process: see child.h.
 */
#include "master/child.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "net/ipc.h"
#include "util/log.h"
#include "util/privsep.h"

void
child_setup(const char *name, const struct conf *conf)
{
	log_init(name);
	/* A child whose master is gone (kill -9) must not linger holding the
	 * ports and the queue.  SIGTERM makes smtpd stop at once; every child
	 * also ends its loop when its control channel closes, which happens
	 * when master dies, even before this prctl (and getppid() == 1 would
	 * not tell: master is PID 1 in a container). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		fatal("prctl: cannot ask for a signal when master dies");
	signal(SIGPIPE, SIG_IGN);
	if (privsep_drop(conf->user) < 0)
		exit(1);
}

void
child_master_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
}

void
child_signals_ready(void)
{
	sigset_t set;

	child_master_signals(&set);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
		fatal("sigprocmask: %s", strerror(errno));
}

void
child_ignore_stop_signals(void)
{
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
}

void
child_reload_conf(struct conf *conf)
{
	struct conf fresh;
	char err[512];

	if (conf_load(&fresh, conf->path, err, sizeof(err)) < 0) {
		log_warn("reload: keeping the running config: %s", err);
		return;
	}
	/* Keep what only a restart can change; master has named each one
	 * that changed, once for all processes. */
	conf_keep_restart_only(&fresh, conf, NULL, NULL);
	conf_free(conf);
	*conf = fresh;
	log_set_level(conf->log_level);
	log_info("reload: config read again");
}

int
child_stress_msg(const struct ipc_msg *msg)
{
	int on;

	if (ipc_ctl_stress_parse(msg, &on) < 0) {
		log_warn("malformed stress message from master");
		if (msg->fd >= 0)
			close(msg->fd);
		return -1;
	}
	if (on == conf_stress_active())
		return 0;
	conf_stress_set(on);
	return 1;
}

void
child_ctl_rest(const struct ipc_msg *msg)
{
	if (msg->type == IPC_CTL_STRESS) {
		(void)child_stress_msg(msg);
		return;
	}
	if (msg->fd >= 0)
		close(msg->fd);
	log_warn("unexpected control message %u", msg->type);
}
