/*
 * Starting one filter program (see master_filter.h) and the two control
 * messages about filters.  The forked child keeps nothing of master: its
 * descriptors above stderr are closed, its signal mask and dispositions
 * are reset, and it dies with master.  A filter is trusted with nothing
 * but its own socket.
 */
#include "master/master_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/ipc.h"
#include "util/buf.h"
#include "util/log.h"

/* In the child: the socket as stdin and stdout, nothing else of master's,
 * then the program.  Never returns. */
static void
master_filter_exec(const struct filter_conf *f, int sock)
{
	sigset_t none;

	if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0) {
		log_error("filter %s: dup2: %s", f->name, strerror(errno));
		_exit(127);
	}
	/* stderr stays: what a filter says there lands in tern's log. */
	if (close_range(3, ~0U, 0) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			(void)close(fd);
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		_exit(127);
	execv(f->argv[0], f->argv);
	log_error("filter %s: cannot run %s: %s", f->name, f->argv[0],
	    strerror(errno));
	_exit(127);
}

pid_t
master_filter_spawn(const struct filter_conf *f, int *tern_end_r)
{
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		log_error("filter %s: socketpair: %s", f->name, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("filter %s: fork: %s", f->name, strerror(errno));
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		master_filter_exec(f, sp[1]);
	}
	close(sp[1]);
	*tern_end_r = sp[0];
	return pid;
}

void
master_filter_put(struct buf *b, uint32_t index, uint32_t gen)
{
	ipc_put_u32(b, index);
	ipc_put_u32(b, gen);
}

int
master_filter_parse(const struct ipc_msg *msg, uint32_t *index_r,
    uint32_t *gen_r)
{
	struct ipc_reader r;

	if (msg->type != IPC_CTL_FILTER || msg->fd < 0)
		return -1;
	ipc_reader_init(&r, msg);
	*index_r = ipc_get_u32(&r);
	*gen_r = ipc_get_u32(&r);
	return ipc_reader_end(&r);
}

void
master_filter_stop_put(struct buf *b, uint32_t index, uint32_t gen,
    uint32_t restart)
{
	ipc_put_u32(b, index);
	ipc_put_u32(b, gen);
	ipc_put_u32(b, restart);
}

int
master_filter_stop_parse(const struct ipc_msg *msg, uint32_t *index_r,
    uint32_t *gen_r, uint32_t *restart_r)
{
	struct ipc_reader r;

	if (msg->type != IPC_CTL_FILTER_STOP || msg->fd >= 0)
		return -1;
	ipc_reader_init(&r, msg);
	*index_r = ipc_get_u32(&r);
	*gen_r = ipc_get_u32(&r);
	*restart_r = ipc_get_u32(&r);
	if (ipc_reader_end(&r) < 0 || *restart_r > 1)
		return -1;
	return 0;
}
