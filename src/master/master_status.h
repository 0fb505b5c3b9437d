/*
 * The control socket, state_dir/control.sock, and the one question it
 * answers: `tern status`.  master answers from what its children last
 * reported (net/stats.h) and from its own stress decision, so the command
 * never waits on a busy child.  The socket is the server user's, mode
 * 0600: that user and root may ask.
 */
#ifndef TERN_MASTER_STATUS_H
#define TERN_MASTER_STATUS_H

#include <sys/types.h>
#include <time.h>

#include "conf/conf.h"
#include "master/master_stress.h"
#include "net/stats.h"

#define MASTER_STATUS_SOCKET "control.sock"
#define MASTER_STATUS_PROCS  8

/* What master knows, for one answer. */
struct master_status {
	const struct conf *conf;
	pid_t pid;
	time_t started;                 /* wall clock */
	const struct master_stress *stress;
	time_t now;                     /* the stress clock (monotonic) */
	size_t nprocs;
	struct master_status_proc {
		const char *name;
		pid_t pid;              /* 0: not running */
		const struct stats *stats;
	} procs[MASTER_STATUS_PROCS];
};

/* Binds the socket (a stale one is replaced).  Its fd, or -1 (logged:
 * the server runs on without it). */
int master_status_listen(const struct conf *conf);
/* Takes one connection from the socket and answers it: at most a second
 * for the question, a second for the answer. */
void master_status_answer(int lfd, const struct master_status *st);
void master_status_close(const struct conf *conf, int lfd);

#endif
