/*
 * What master hands each child: the config, the child's control channel
 * to master, and the channels to the peers it talks to.  The wiring itself
 * is in master_wiring.c, readable in one function.
 */
#ifndef TERN_CHILD_H
#define TERN_CHILD_H

#include <signal.h>

#include "conf/conf.h"

#define CHILD_MAX_LISTENERS 16

typedef struct ssl_ctx_st SSL_CTX;

/* What a listening socket is for. */
enum listen_kind {
	LISTEN_SMTP,            /* port 25: other servers; STARTTLS offered */
	LISTEN_SUBMISSION,      /* port 587: users, STARTTLS then AUTH */
	LISTEN_SUBMISSIONS,     /* port 465: users, TLS from the first byte */
};

struct child_fds {
	int ctl;                /* to master */
	int lookup;             /* smtpd, queue: to lookup */
	int queue;              /* smtpd, lookup: to queue */
	int smtpd;              /* lookup, queue, screen: to the smtpd */
	int screen;             /* smtpd: to the screen */
	int listeners[CHILD_MAX_LISTENERS];
	enum listen_kind listener_kinds[CHILD_MAX_LISTENERS];
	size_t nlisteners;
	SSL_CTX *tls;           /* smtpd: the server context master made */
};

/* Common start of every child: names the log, asks for SIGTERM when master
 * dies, and drops to conf->user (before any network input is read). */
void child_setup(const char *name, const struct conf *conf);

/* master forks each child with the signals it sends it (SIGHUP, SIGUSR1,
 * SIGUSR2) blocked: their default action ends a process, so one that came
 * before the child watches them would kill it.  Called once the child's
 * loop watches them: a signal that came meanwhile is delivered now. */
void child_signals_ready(void);
/* Those signals, as a set. */
void child_master_signals(sigset_t *set);

/* SIGTERM and SIGINT ignored from now on.  lookup and queue call it at
 * start: they leave stopping to master, which closes their control
 * channel once smtpd is gone.  Every child calls it when its loop has
 * ended: a second signal (the group's and master's, say) must not kill it
 * while it cleans up. */
void child_ignore_stop_signals(void);

/* SIGHUP in a child: reads the config file again and takes the settings
 * that can change while running; the ones that cannot (listen addresses,
 * TLS certificate and key, DNS servers, state_dir, user: see
 * conf_keep_restart_only) keep their running value.  master warns about
 * those, not the children. */
void child_reload_conf(struct conf *conf);

/* IPC_CTL_STRESS from master: sets the process's stress flag, which
 * conf_now() reads.  1 when it changed, 0 when it did not, -1 for a
 * malformed message (logged). */
struct ipc_msg;
int child_stress_msg(const struct ipc_msg *msg);

/*
 * A control message the child's own handler did not take: the stress flag
 * is kept (conf_now() reads the same in every process, even where stress
 * shortens nothing yet); anything else is refused with a warning.
 */
void child_ctl_rest(const struct ipc_msg *msg);

int lookup_main(struct conf *conf, const struct child_fds *fds);
int queue_main(struct conf *conf, const struct child_fds *fds);
int smtpd_main(struct conf *conf, const struct child_fds *fds);
int screen_main(struct conf *conf, const struct child_fds *fds);

#endif
